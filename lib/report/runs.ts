// Reading finished runs from data/runs/<run-id>/: results.json (an array of result records, from
// lib/eval) and metrics.jsonl (one training log line per step). Plain records, no DataFrames.
import { existsSync, readdirSync, readFileSync } from 'fs';
import path from 'path';
import type { ResultRecord } from '../eval/index';
import { parseJsonFile, readJsonLines, RunFolder } from '../train/run-folder';
import type { EpochMetrics } from '../train/trainer';
import { runsDir } from '../util/fs';

export type { ResultRecord };

/** One line of metrics.jsonl. */
export type MetricRecord = EpochMetrics;

export interface LoadResultsOptions {
  /** Keep only records of this experiment. */
  experiment?: string;
  /** Keep only records of this scale profile. */
  profile?: string;
  /** Only these run ids. */
  runs?: string[];
  /** Default: data/runs (or $SAT_RUNS_DIR). */
  dir?: string;
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

/** The run ids (folder names) under the runs folder, sorted. */
export function listRuns(dir = runsDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/**
 * Result records of every run that has a results.json (runs still training have none yet),
 * filtered by experiment, profile or run id.
 */
export function loadResults(opts: LoadResultsOptions = {}): ResultRecord[] {
  const dir = opts.dir ?? runsDir();
  const wanted = opts.runs ? new Set(opts.runs) : undefined;
  const records: ResultRecord[] = [];
  for (const run of listRuns(dir)) {
    if (wanted && !wanted.has(run)) continue;
    const file = new RunFolder(path.join(dir, run)).files.results;
    if (!existsSync(file)) continue;
    for (const r of readResultsFile(file)) {
      if (opts.experiment !== undefined && r.experiment !== opts.experiment) continue;
      if (opts.profile !== undefined && r.profile !== opts.profile) continue;
      records.push(r);
    }
  }
  if (records.length === 0 && !opts.allowEmpty) {
    const filters = [opts.experiment && `experiment '${opts.experiment}'`, opts.profile && `profile '${opts.profile}'`, wanted && `runs ${[...wanted].join(', ')}`]
      .filter(Boolean)
      .join(', ');
    throw new Error(`no results${filters ? ` for ${filters}` : ''} in ${dir}: run the experiment first (npm run sat -- ...), or check the name`);
  }
  return records;
}

/** Reads and checks one results.json; errors name the file and the record. */
export function readResultsFile(file: string): ResultRecord[] {
  const parsed = parseJsonFile<unknown>(file, readFileSync(file, 'utf8'), 'Re-run the evaluation that wrote it, or delete the run folder.');
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
  const file = new RunFolder(path.join(dir, run)).files.metrics;
  if (!existsSync(file)) {
    throw new Error(`no training log ${file}: is '${run}' a run id under ${dir}? (runs there: ${listRuns(dir).join(', ') || 'none'})`);
  }
  // A run that is still writing (or was killed mid-write) has a last line without its newline:
  // dropped quietly here, since a report may read a run while it trains.
  return readJsonLines<MetricRecord>(file, () => {});
}
