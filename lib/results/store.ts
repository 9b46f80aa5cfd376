// The committed results store: finished runs of the studies, copied whole (config, metrics,
// results, named evaluations with per-image flags, provenance, and the checkpoint when it is
// small), so that a fresh clone renders every study without training and a long study
// accumulates across sessions. Layout: results/<experiment>-<profile>/<run-id>/ (a run folder).
// Grids look here first: a run finished in the store is never retrained.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { missingEvaluations, runEvaluation, runEvaluationName, type RunEvaluationSpec } from '../eval/run-evaluations';
import { runId, type TrainConfig } from '../train/config';
import { RunFolder } from '../train/run-folder';
import { resultsDir, runsDir } from '../util/fs';
import { startCostMeter } from '../util/cost-meter';

/** Checkpoints up to this size go into the store (the MNIST CNN at width 16: ~0.2 MB); larger runs are not stored. */
export const STORE_MAX_CHECKPOINT_BYTES = 2 * 1024 * 1024;

/** The store folder of one study at one profile. */
export function studyStoreDir(experiment: string, profile: string): string {
  return path.join(resultsDir(), `${experiment}-${profile}`);
}

/** Where this config's run lives in the store (whether or not it is there), or null for a run of no study. */
export function storedRunDir(config: TrainConfig): string | null {
  if (!config.experiment || !config.profile) return null;
  return path.join(studyStoreDir(config.experiment, config.profile), runId(config));
}

/** The folder a run is read from: the store's when it holds the finished run, else data/runs/<id>. */
export function resolveRunDir(config: TrainConfig): string {
  const stored = storedRunDir(config);
  if (stored && new RunFolder(stored).isFinishedFor(config)) return stored;
  return path.join(runsDir(), runId(config));
}

/** The folder of this config's finished run (the store's first, then data/runs), or undefined when there is none. */
export function findFinishedRun(config: TrainConfig): string | undefined {
  const dir = resolveRunDir(config);
  return new RunFolder(dir).isFinishedFor(config) ? dir : undefined;
}

export interface StoredRun {
  dir: string;
  bytes: number;
}

/**
 * Copies a finished run into the store (into a temporary folder first, then renamed, so a
 * reader sees all of it or none). Files the folder has beyond the known ones (locks, temporary
 * files) are left out. Refuses an unfinished run and a checkpoint over the size limit.
 */
export function storeRun(runDir: string, config: TrainConfig): StoredRun {
  const src = new RunFolder(runDir);
  if (!src.isFinishedFor(config)) throw new Error(`${runDir} is not a finished run of this config (results, checkpoint and the same config.json are needed): finish it first.`);
  const dest = storedRunDir(config);
  if (!dest) throw new Error(`The run in ${runDir} belongs to no study (its config names no experiment and profile), so it has no place in the results store.`);
  const size = fs.statSync(src.files.checkpoint).size;
  if (size > STORE_MAX_CHECKPOINT_BYTES) {
    throw new Error(`${runDir}'s checkpoint is ${(size / 1048576).toFixed(1)} MB, over the store's ${STORE_MAX_CHECKPOINT_BYTES / 1048576} MB limit: keep large runs outside git (data/runs).`);
  }
  if (path.resolve(runDir) === path.resolve(dest)) return { dir: dest, bytes: folderBytes(dest) };
  const tmp = `${dest}.${process.pid}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  for (const f of src.storedFiles()) {
    const rel = path.relative(src.dir, f);
    fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
    fs.copyFileSync(f, path.join(tmp, rel));
  }
  fs.rmSync(dest, { recursive: true, force: true });
  fs.renameSync(tmp, dest);
  return { dir: dest, bytes: folderBytes(dest) };
}

/** Names of the folders directly under `dir` (a runs folder, or the store), leaving out copies in progress (.tmp); sorted. */
export function subfolders(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.endsWith('.tmp')).map((d) => d.name).sort();
}

/** Ids of the finished runs a study's store folder holds. */
export function storedRunIds(experiment: string, profile: string): string[] {
  const dir = studyStoreDir(experiment, profile);
  return subfolders(dir).filter((d) => new RunFolder(path.join(dir, d)).hasResults());
}

/** The store's study folders (results/<experiment>-<profile>/), or just one study's when both are given. */
export function storeStudyDirs(experiment?: string, profile?: string): string[] {
  if (experiment !== undefined && profile !== undefined) return [studyStoreDir(experiment, profile)];
  return subfolders(resultsDir()).map((d) => path.join(resultsDir(), d));
}

/** Bytes under a folder (the store's size per study, for the README). */
export function folderBytes(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((s, e) => {
    const p = path.join(dir, e.name);
    return s + (e.isDirectory() ? folderBytes(p) : fs.statSync(p).size);
  }, 0);
}

/** What a study declares for a finished run beyond training (lib/grid/plan.ts studyDeclarations). */
export interface RunDeclarations {
  evaluations: RunEvaluationSpec[];
  store: boolean;
}

/**
 * Completes a finished run: the declared evaluations it lacks, written into its folder, then,
 * for a stored study, its copy in the results store. Returns the folder to read the run from.
 * Grid workers call it after training; runExperiment for runs trained in its own process.
 */
export async function completeRun(dir: string, config: TrainConfig, declared: RunDeclarations, log: (s: string) => void): Promise<string> {
  for (const spec of missingEvaluations(dir, declared.evaluations)) {
    log(`[sat] evaluating ${runEvaluationName(spec)} (${spec.n} test images) in ${dir}`);
    const meter = startCostMeter();
    const file = await runEvaluation(dir, config, spec, runEvaluationName(spec));
    const cost = meter.stop(runEvaluationName(spec));
    new RunFolder(dir).recordCost(cost);
    log(`[sat] wrote ${file} in ${cost.seconds.toFixed(0)} s (${cost.cpuSeconds.toFixed(0)} CPU-s)`);
  }
  if (!declared.store) return dir;
  const stored = storeRun(dir, config);
  if (stored.dir !== dir) log(`[sat] stored the run in ${stored.dir} (${(stored.bytes / 1024).toFixed(0)} KB)`);
  return stored.dir;
}
