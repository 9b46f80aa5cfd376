// Runs every config of an experiment (reusing finished runs) and gathers the result records.
// By default the runs train on a local pool of worker processes (lib/grid), one per core; the
// results land in the run folders, from which they are loaded here, so runs finished earlier by
// any executor (a pool, a Slurm job array) are simply loaded.
import type { ResultRecord } from './eval';
import { isGridExperiment } from './grid/experiments';
import { isBuiltinDataset } from './data';
import { isComplete, isFinished, planGrid, runSideFiles, type Grid, type GridRun } from './grid/plan';
import { completeRun, resolveRunDir } from './results/store';
import { runPool } from './grid/pool';
import { train, type TrainOptions, type TrainResult } from './train';
import { type Profile, profileNote } from './experiments/profiles';
import type { Experiment } from './experiments/types';

export interface ExperimentResult {
  profile: Profile;
  runs: TrainResult[];
  records: ResultRecord[];
  /** Runs of the grid that are not finished (missing: 'skip'), in the grid's order. */
  pending: GridRun[];
  /** Runs the grid lists in all. */
  total: number;
}

export const EXECUTORS = ['local', 'inline'] as const;
export type Executor = (typeof EXECUTORS)[number];

export interface RunExperimentOptions extends Omit<TrainOptions, 'runDir'> {
  log?: (s: string) => void;
  /**
   * 'local' (default, or SAT_EXECUTOR): a pool of worker processes, one run each at a time;
   * 'inline': one run after another in this process.
   */
  executor?: Executor;
  /** Pool size (default SAT_WORKERS, else the number of cores). */
  workers?: number;
  /** Stop the other runs at the first failure (default: let them finish, then report). */
  failFast?: boolean;
  /**
   * What to do with runs that are neither in the results store nor finished in data/runs:
   * 'train' (default, or SAT_MISSING_RUNS) trains them; 'skip' renders what exists (a long
   * study trained by `sat grid submit`, shown as "k of N runs"); 'fail' throws naming them
   * (a fresh clone's notebooks must render from the store without training).
   */
  missing?: MissingRuns;
}

export const MISSING_RUNS = ['train', 'skip', 'fail'] as const;
export type MissingRuns = (typeof MISSING_RUNS)[number];

function resolveMissing(explicit?: MissingRuns): MissingRuns {
  const m = explicit ?? process.env.SAT_MISSING_RUNS ?? 'train';
  if (!MISSING_RUNS.includes(m as MissingRuns)) throw new Error(`SAT_MISSING_RUNS='${m}' is not one of ${MISSING_RUNS.join(', ')}.`);
  return m as MissingRuns;
}

/** Why the runs cannot go to worker processes, or null when they can. */
function inlineReason(exp: Experiment, grid: Grid, opts: RunExperimentOptions): string | null {
  if (opts.onEpoch || opts.stopAfterEpochs !== undefined || opts.signal || opts.resume !== undefined) return 'onEpoch/stopAfterEpochs/signal/resume apply to this process only';
  const foreign = [...new Set(grid.runs.map((r) => r.config.dataset))].filter((d) => !isBuiltinDataset(d));
  // An experiment `sat grid` knows registers its data sets in the worker too (see worker.ts).
  if (foreign.length && !isGridExperiment(exp.name)) return `data set ${foreign.join(', ')} was registered in this process, and a worker could not load it`;
  return null;
}

function resolveExecutor(explicit?: Executor): Executor {
  const e = explicit ?? process.env.SAT_EXECUTOR ?? 'local';
  if (!EXECUTORS.includes(e as Executor)) throw new Error(`Unknown executor '${e}' (from SAT_EXECUTOR). Use one of: ${EXECUTORS.join(', ')}.`);
  return e as Executor;
}

export async function runExperiment(exp: Experiment, profile: Profile, opts: RunExperimentOptions = {}): Promise<ExperimentResult> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const { log: _log, executor: _executor, workers, failFast, missing: _missing, ...trainOpts } = opts;
  const full = planGrid(exp, profile);
  const missing = resolveMissing(opts.missing);
  const done = full.runs.filter((r) => (missing === 'train' ? isFinished(r.runDir, r.config) : isComplete(r)));
  const pending = full.runs.filter((r) => !done.includes(r));
  if (pending.length && missing === 'fail') {
    throw new Error(
      `${pending.length} of ${full.runs.length} runs of ${exp.name} at ${profile} are neither in the results store nor finished (SAT_MISSING_RUNS=fail): ` +
        `${pending.slice(0, 3).map((r) => r.id).join(', ')}${pending.length > 3 ? ', ...' : ''}. Train them with: sat grid submit ${exp.name} --profile ${profile}`,
    );
  }
  const grid: Grid = missing === 'skip' ? { ...full, runs: done } : full;
  if (missing === 'skip' && pending.length) log(`[sat] ${done.length} of ${full.runs.length} runs finished; ${pending.length} pending are left out (train them with: sat grid submit ${exp.name} --profile ${profile})`);
  const executor = resolveExecutor(opts.executor);
  log(`[sat] ${exp.title}: ${grid.runs.length} runs; ${profileNote(profile)}`);
  const why = executor === 'local' ? inlineReason(exp, grid, opts) : 'executor inline';
  const runs: TrainResult[] = [];
  if (why === null) {
    const pool = await runPool(grid, { workers, failFast, reuse: opts.reuse, force: opts.force, log: opts.log });
    // Runs on a data set that only this process knows (registered at run time) train here.
    const here = pool.runs.filter((r) => r.status === 'failed' && r.outcome?.unportable);
    for (const r of here) {
      log(`[sat] run ${r.run.index + 1}/${r.run.total}: ${r.run.label} (in this process: its data set '${r.run.config.dataset}' exists only here)`);
      const t = await train(r.run.config, trainOpts);
      t.model.dispose();
      r.status = t.reused ? 'reused' : 'trained';
    }
    const bad = pool.runs.filter((r) => !['finished', 'trained', 'reused'].includes(r.status));
    if (bad.length) {
      const lines = bad.map((r) => `  run ${r.run.index + 1}/${r.run.total} (${r.run.label}): ${r.status}${r.outcome?.error ? `: ${r.outcome.error.split('\n')[0]}` : ''}; log ${runSideFiles(r.run.configFile).log}`);
      throw new Error(
        `${bad.length} of ${grid.runs.length} runs did not finish${pool.stopped ? ' (stopped)' : ''}:\n${lines.join('\n')}\n` +
          `Finished runs are kept and stopped ones resume from their last checkpoint: fix the cause and run this again.`,
      );
    }
    // Load every run from its folder (the results store's or data/runs): the same results whoever trained it.
    for (const r of pool.runs) {
      const loaded = await train({ ...r.run.config }, { reuse: true, quiet: true, runDir: resolveRunDir(r.run.config) });
      loaded.model.dispose();
      runs.push({ ...loaded, reused: r.status !== 'trained' });
    }
  } else {
    if (executor === 'local') log(`[sat] training in this process, one run at a time: ${why}`);
    for (const r of grid.runs) {
      log(`[sat] run ${r.index + 1}/${r.total}: ${r.label}`);
      const stored = isFinished(r.runDir, r.config) && !trainOpts.force;
      const t = await train(r.config, stored ? { ...trainOpts, reuse: true, runDir: r.runDir } : trainOpts);
      t.model.dispose();
      runs.push(t);
    }
  }
  // What the study declares beyond training, for runs that lack it (a worker completes the runs
  // it trains; runs trained here, or finished before the declaration, are completed now).
  for (const [i, r] of grid.runs.entries()) runs[i] = { ...runs[i], runDir: await completeRun(runs[i].runDir, r.config, r, log) };
  return { profile, runs, records: runs.flatMap((r) => r.results), pending, total: full.runs.length };
}
