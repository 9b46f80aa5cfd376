// Reading finished runs: each run folder's results.json (an array of result records, from
// lib/eval), the records of its named evaluations (evaluations/<name>.json: AutoAttack and the
// PGD beside it), and metrics.jsonl (one training log line per epoch). Runs are read from the
// committed results store and from data/runs; only RunFolder touches their files.
import { existsSync } from 'fs';
import path from 'path';
import type { ResultRecord } from '../eval/index';
import { storeStudyDirs, subfolders } from '../results/store';
import { RunFolder } from '../train/run-folder';
import type { EpochMetrics } from '../train/trainer';
import { runsDir } from '../util/fs';

export type { ResultRecord };

/** A loaded record; `evaluation` names the run's evaluation it comes from (e.g. 'autoattack-linf-0.1'), absent for the run's own results. */
export type LoadedRecord = ResultRecord & { evaluation?: string };

/** One line of metrics.jsonl. */
export type MetricRecord = EpochMetrics;

export interface LoadResultsOptions {
  /** Keep only records of this experiment. */
  experiment?: string;
  /** Keep only records of this scale profile. */
  profile?: string;
  /** Only these run ids. */
  runs?: string[];
  /**
   * One runs folder to read. Default: the results store's study folders (just the study's with
   * both experiment and profile) and data/runs (or $SAT_RUNS_DIR); a run in both is read once, from the store.
   */
  dir?: string;
  /** Also the records of each run's named evaluations (AutoAttack, ...); default true. */
  evaluations?: boolean;
  /** Return [] instead of throwing when nothing matches. */
  allowEmpty?: boolean;
}

const REQUIRED: Record<string, 'string' | 'number'> = {
  run: 'string',
  dataset: 'string',
  model: 'string',
  activation: 'string',
  seed: 'number',
  attack: 'string',
  eps: 'number',
  steps: 'number',
  accuracy: 'number',
  n: 'number',
};

/** The run ids (folder names) under a runs folder, sorted. */
export function listRuns(dir = runsDir()): string[] {
  return subfolders(dir);
}

/** The run folders to read, the store's first; a run id seen already is not read again. */
function runFolders(opts: LoadResultsOptions): RunFolder[] {
  const dirs = opts.dir !== undefined ? [opts.dir] : [...storeStudyDirs(opts.experiment, opts.profile), runsDir()];
  const seen = new Set<string>();
  return dirs.flatMap((dir) => listRuns(dir).flatMap((id) => {
    if (seen.has(id) || (opts.runs && !opts.runs.includes(id))) return [];
    seen.add(id);
    return [new RunFolder(path.join(dir, id))];
  }));
}

/**
 * Result records of every finished run (runs still training have no results.json yet), with the
 * records of their named evaluations, filtered by experiment, profile or run id.
 */
export function loadResults(opts: LoadResultsOptions = {}): LoadedRecord[] {
  const records: LoadedRecord[] = [];
  for (const folder of runFolders(opts)) {
    if (!folder.hasResults()) continue;
    const own: LoadedRecord[] = readRunResults(folder.dir);
    const named = opts.evaluations === false ? [] : folder.listEvaluations().flatMap((name) => evaluationRecords(folder, name));
    for (const r of [...own, ...named]) {
      if (opts.experiment !== undefined && r.experiment !== opts.experiment) continue;
      if (opts.profile !== undefined && r.profile !== opts.profile) continue;
      records.push(r);
    }
  }
  if (records.length === 0 && !opts.allowEmpty) {
    const filters = [opts.experiment && `experiment '${opts.experiment}'`, opts.profile && `profile '${opts.profile}'`, opts.runs && `runs ${opts.runs.join(', ')}`]
      .filter(Boolean)
      .join(', ');
    const where = opts.dir ?? `the results store or ${runsDir()}`;
    throw new Error(`no results${filters ? ` for ${filters}` : ''} in ${where}: run the experiment first (npm run sat -- ...), or check the name`);
  }
  return records;
}

/** The result records a named evaluation holds (AutoAttack's per stage and the PGD beside it), marked with its name; none for evaluations of other kinds. */
function evaluationRecords(folder: RunFolder, name: string): LoadedRecord[] {
  const e = folder.readEvaluation<{ records?: unknown }>(name);
  if (e.records === undefined) return [];
  return checkRecords(folder.evaluationFile(name), e.records).map((r) => ({ ...r, evaluation: name }));
}

/** Reads and checks a run folder's results.json; errors name the file and the record. */
export function readRunResults(runDir: string): ResultRecord[] {
  const folder = new RunFolder(runDir);
  return checkRecords(folder.files.results, folder.readResults<unknown>());
}

/** Checks that `parsed` is an array of result records; errors name the file and the record. */
function checkRecords(file: string, parsed: unknown): ResultRecord[] {
  if (!Array.isArray(parsed)) throw new Error(`${file} should hold an array of result records, but holds ${typeof parsed}`);
  parsed.forEach((r, i) => {
    for (const [key, type] of Object.entries(REQUIRED)) {
      if (typeof (r as Record<string, unknown>)?.[key] !== type) {
        throw new Error(`${file}: record ${i} has no ${type} '${key}' (got ${JSON.stringify((r as Record<string, unknown>)?.[key])})`);
      }
    }
  });
  return parsed as ResultRecord[];
}

/** The training log of one run (metrics.jsonl), in file order. */
export function loadMetrics(run: string, dir = runsDir()): MetricRecord[] {
  // A run that is still writing (or was killed mid-write) has a last line without its newline:
  // dropped quietly here, since a report may read a run while it trains.
  const folder = new RunFolder(path.join(dir, run), { warn: () => {} });
  if (!existsSync(folder.files.metrics)) {
    throw new Error(`no training log ${folder.files.metrics}: is '${run}' a run id under ${dir}? (runs there: ${listRuns(dir).join(', ') || 'none'})`);
  }
  return folder.readMetrics<MetricRecord>();
}
