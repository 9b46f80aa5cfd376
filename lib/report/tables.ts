// Result records as danfojs-node DataFrames: one row per record, mean ± std over seeds, the
// paper-style table (activations x attacks), describe, CSV. danfojs-node loads TensorFlow.js and
// takes about a second, so it is imported on first use, not when lib/ is loaded.
import { mkdirSync } from 'fs';
import path from 'path';
import type { DataFrame } from 'danfojs-node';
import { attackColumn } from '../eval/table';
import type { LoadedRecord } from './runs';
import { NO_INTERVAL, summarize } from './stats';

export type { DataFrame };

type Danfo = typeof import('danfojs-node');
let danfo: Promise<Danfo> | undefined;

/** danfojs-node, loaded once on first use. */
export function loadDanfo(): Promise<Danfo> {
  danfo ??= import('danfojs-node');
  return danfo;
}

/**
 * The columns of a results frame, in order; `attackLabel` reads like "PGD-10 8/255", and for a
 * record of a named evaluation "PGD-20 0.1 [autoattack-linf-0.1]" (other images than the run's
 * own results, so never averaged with them); `evaluation` is that name ('' for the run's own).
 */
export const RESULT_COLUMNS = [
  'run',
  'experiment',
  'profile',
  'dataset',
  'synthetic',
  'model',
  'activation',
  'seed',
  'attack',
  'eps',
  'steps',
  'attackLabel',
  'accuracy',
  'n',
  'evaluation',
] as const;

/** One row per result record; missing optional fields become '' (text) or false. */
export async function resultsFrame(records: LoadedRecord[]): Promise<DataFrame> {
  requireRecords(records, 'resultsFrame');
  const { DataFrame } = await loadDanfo();
  const rows = records.map((r) => [
    r.run,
    r.experiment ?? '',
    r.profile ?? '',
    r.dataset,
    r.synthetic === true,
    r.model,
    r.activation,
    r.seed,
    r.attack,
    r.eps,
    r.steps,
    r.evaluation ? `${attackColumn(r)} [${r.evaluation}]` : attackColumn(r),
    r.accuracy,
    r.n,
    r.evaluation ?? '',
  ]);
  return new DataFrame(rows, { columns: [...RESULT_COLUMNS] });
}

export interface MeanStdOptions {
  /** Columns that identify a setting; default dataset, model, activation, attackLabel. */
  by?: string[];
  /** The measured column; default accuracy. */
  value?: string;
}

/**
 * Mean and sample standard deviation over seeds for each setting (lib/report/stats summarize):
 * columns `by...`, mean, std (NaN with one seed: no spread to report), seeds, and `text`
 * ("71.3 ± 1.2", in percent for accuracies). Comparisons between settings go through
 * stats.pairedDifference, not through these columns.
 */
export async function meanStd(records: LoadedRecord[], opts: MeanStdOptions = {}): Promise<DataFrame> {
  const by = opts.by ?? ['dataset', 'model', 'activation', 'attackLabel'];
  const value = opts.value ?? 'accuracy';
  const df = await resultsFrame(records);
  for (const c of [...by, value]) {
    if (!df.columns.includes(c)) throw new Error(`meanStd: no column '${c}' (columns: ${df.columns.join(', ')})`);
  }
  // Groups in order of first appearance, summarized by the statistics module.
  const groups = new Map<string, { keys: unknown[]; values: number[] }>();
  const cols = df.columns;
  for (const row of df.values as unknown[][]) {
    const keys = by.map((c) => row[cols.indexOf(c)]);
    const k = JSON.stringify(keys);
    if (!groups.has(k)) groups.set(k, { keys, values: [] });
    groups.get(k)!.values.push(Number(row[cols.indexOf(value)]));
  }
  const { DataFrame } = await loadDanfo();
  const rows = [...groups.values()].map(({ keys, values }) => {
    const s = summarize(values);
    return [...keys, s.mean, s.sd, s.n, formatMeanStd(s.mean, s.sd, value === 'accuracy' ? 100 : 1)];
  });
  return new DataFrame(rows, { columns: [...by, 'mean', 'std', 'seeds', 'text'] });
}

/** "71.3 ± 1.2", or "71.3 (one seed: no interval)" when there is no spread to report. */
export function formatMeanStd(mean: number, std: number, scale = 1, digits = 1): string {
  const m = (mean * scale).toFixed(digits);
  return Number.isFinite(std) ? `${m} ± ${(std * scale).toFixed(digits)}` : `${m} (${NO_INTERVAL.oneSeed})`;
}

export interface PaperTableOptions {
  /** The row key; default activation. */
  rows?: string;
  /** Extra keys kept as leading columns (default dataset, model). */
  keep?: string[];
}

/**
 * The paper's table shape: one row per activation (and dataset/model), one column per attack
 * (clean, PGD-10 8/255, ...), each cell "mean ± std" in percent over seeds.
 */
export async function paperTable(records: LoadedRecord[], opts: PaperTableOptions = {}): Promise<DataFrame> {
  const rowKey = opts.rows ?? 'activation';
  const keep = opts.keep ?? ['dataset', 'model'];
  const stats = await meanStd(records, { by: [...keep, rowKey, 'attackLabel'] });
  const attacks: string[] = [];
  const rows = new Map<string, Record<string, unknown>>();
  const cols = stats.columns;
  for (const row of stats.values as unknown[][]) {
    const get = (c: string) => row[cols.indexOf(c)];
    const attack = String(get('attackLabel'));
    if (!attacks.includes(attack)) attacks.push(attack);
    const key = JSON.stringify([...keep, rowKey].map(get));
    const out = rows.get(key) ?? Object.fromEntries([...keep, rowKey].map((c) => [c, get(c)]));
    out[attack] = get('text');
    rows.set(key, out);
  }
  // clean first, then attacks in the order they appear
  attacks.sort((a, b) => Number(b === 'clean') - Number(a === 'clean'));
  const columns = [...keep, rowKey, ...attacks];
  const { DataFrame } = await loadDanfo();
  return new DataFrame(
    [...rows.values()].map((r) => columns.map((c) => r[c] ?? '')),
    { columns },
  );
}

/** danfo's describe() of the numeric columns (count, mean, std, min, median, max, variance). */
export async function describeResults(records: LoadedRecord[]): Promise<DataFrame> {
  const df = await resultsFrame(records);
  return df.loc({ columns: ['seed', 'eps', 'steps', 'accuracy', 'n'] }).describe();
}

/** Writes a frame as CSV (creating the folder); returns the path. */
export async function saveCSV(df: DataFrame, file: string): Promise<string> {
  const { toCSV } = await loadDanfo();
  const out = path.resolve(file);
  mkdirSync(path.dirname(out), { recursive: true });
  toCSV(df, { filePath: out });
  return out;
}

function requireRecords(records: LoadedRecord[], fn: string): void {
  if (!Array.isArray(records) || records.length === 0) {
    throw new Error(`${fn}: no result records: load them with loadResults({ experiment }) first`);
  }
}
