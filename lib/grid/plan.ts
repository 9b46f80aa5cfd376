// A grid: an experiment's run configs at one profile, each with its run folder (keyed by the
// config, as `train` names it) and its files in the grid's folder:
//   <grids>/<experiment>-<profile>/runs/<run-id>.json          the full config (the worker's input)
//   <grids>/<experiment>-<profile>/runs/<run-id>.log           what the worker printed for that run
//   <grids>/<experiment>-<profile>/runs/<run-id>.outcome.json  how its last attempt ended
// Every executor (local pool, Slurm, print) works from these files, so a run finished by any of
// them is found finished by the others and by a notebook.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { attackLabel, type AttackConfig } from '../attacks';
import type { Experiment } from '../experiments/types';
import { makeConfig, runId, type TrainConfig } from '../train/config';
import { missingEvaluations, type RunEvaluationSpec } from '../eval/run-evaluations';
import { resolveRunDir, type RunDeclarations } from '../results/store';
import { RunFolder } from '../train/run-folder';
import { runsDir, writeFileAtomic } from '../util/fs';

export interface GridRun {
  /** Position in the experiment's run list (0-based). */
  index: number;
  /** Of `total` runs. */
  total: number;
  id: string;
  config: TrainConfig;
  /** The run folder `train` uses for this config. */
  runDir: string;
  /** The config file a worker trains from. */
  configFile: string;
  /** What sets this run apart in its grid, e.g. 'relu, trainer smooth, seed 0'. */
  label: string;
  /** Evaluations the experiment declares for every finished run (e.g. AutoAttack on 1,000 images). */
  evaluations: RunEvaluationSpec[];
  /** Whether the finished run goes into the committed results store. */
  store: boolean;
}

export interface Grid {
  experiment: string;
  profile: string;
  dir: string;
  runs: GridRun[];
}

/** Where grid folders go: SAT_GRIDS_DIR, else `grids` beside the runs folder (data/grids). */
export function gridsDir(): string {
  return process.env.SAT_GRIDS_DIR ?? path.join(path.dirname(runsDir()), 'grids');
}

const FIELD_NAMES: Partial<Record<keyof TrainConfig, (v: unknown) => string>> = {
  activation: (v) => String(v),
  attackerGradient: (v) => `attacker ${v}`,
  trainerGradient: (v) => `trainer ${v}`,
  model: (v) => String(v),
  width: (v) => `width ${v}`,
  dataset: (v) => String(v),
  epochs: (v) => `${v} epoch${v === 1 ? '' : 's'}`,
  attack: (v) => (v ? `training attack ${attackLabel(v as AttackConfig)}` : 'standard training'),
  keep: (v) => (v === 'best-val-adv' ? 'keeps its best validation epoch' : 'keeps its last epoch'),
};

/**
 * A short label naming what varies across the grid (besides the seed), then the seed:
 * 'relu, attacker smooth, trainer own, seed 0'. An experiment may name its variants itself
 * with an optional `variantLabel(config)`.
 */
export function variantLabel(c: TrainConfig, all: TrainConfig[], exp?: Experiment): string {
  const own = (exp as (Experiment & { variantLabel?: (c: TrainConfig) => string }) | undefined)?.variantLabel;
  if (own) return `${own(c)}, seed ${c.seed}`;
  // Every field set in any run of the grid, so that one left unset here (keep) is named too where a formatter can say what unset means.
  const keys = [...new Set(all.flatMap((o) => Object.keys(o)))] as (keyof TrainConfig)[];
  const varying = keys.filter(
    (k) => k !== 'seed' && k !== 'experiment' && k !== 'profile' && (c[k] !== undefined || FIELD_NAMES[k]) && all.some((o) => JSON.stringify(o[k]) !== JSON.stringify(c[k])),
  );
  const parts = varying.map((k) => (FIELD_NAMES[k] ?? ((v: unknown) => `${k} ${JSON.stringify(v)}`))(c[k]));
  return `${(parts.length ? parts : [c.model, c.activation]).join(', ')}, seed ${c.seed}`;
}

/** What a study declares for its finished runs at a profile beyond training: evaluations, and whether they are stored. */
export function studyDeclarations(exp: Experiment, profile: string): RunDeclarations {
  const p = profile as Parameters<Experiment['runs']>[0];
  return { evaluations: exp.evaluations?.(p) ?? [], store: exp.storedProfiles?.includes(p) ?? false };
}

/** The grid of an experiment at a profile: full configs (as runExperiment trains them), ids, folders. */
export function planGrid(exp: Experiment, profile: string): Grid {
  const configs = exp.runs(profile as Parameters<Experiment['runs']>[0]).map((c) => makeConfig({ ...c, experiment: exp.name, profile }));
  const dir = path.join(gridsDir(), `${exp.name}-${profile}`);
  const ids = configs.map(runId);
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    if (seen.has(id)) throw new Error(`Experiment '${exp.name}' lists the same run twice at profile '${profile}' (runs ${seen.get(id)! + 1} and ${i + 1}, id ${id}): give each run its own seed or setting.`);
    seen.set(id, i);
  });
  const { evaluations, store } = studyDeclarations(exp, profile);
  const runs = configs.map((config, index) => ({
    index,
    total: configs.length,
    id: ids[index],
    config,
    // A run finished in the results store is read from there and never retrained.
    runDir: resolveRunDir(config),
    evaluations,
    store,
    configFile: path.join(dir, 'runs', `${ids[index]}.json`),
    label: variantLabel(config, configs, exp),
  }));
  return { experiment: exp.name, profile, dir, runs };
}

/** Writes every run's config file (unchanged files are left alone) and grid.json. */
export function writeGridFiles(grid: Grid): void {
  // Grid folders are machine output, like data/runs: keep them out of git wherever they are.
  const ignore = path.join(gridsDir(), '.gitignore');
  if (!fs.existsSync(ignore)) writeFileAtomic(ignore, '# written by sat grid: grid folders are outputs\n*\n');
  for (const r of grid.runs) {
    const text = JSON.stringify(r.config, null, 2);
    if (!fs.existsSync(r.configFile) || fs.readFileSync(r.configFile, 'utf8') !== text) writeFileAtomic(r.configFile, text);
  }
  writeFileAtomic(
    path.join(grid.dir, 'grid.json'),
    JSON.stringify({ experiment: grid.experiment, profile: grid.profile, runsDir: runsDir(), runs: grid.runs.map((r) => r.id) }, null, 2),
  );
}

/** The log and outcome files of the run whose config file this is. */
export function runSideFiles(configFile: string): { log: string; outcome: string } {
  const base = configFile.replace(/\.json$/, '');
  return { log: `${base}.log`, outcome: `${base}.outcome.json` };
}

/** A finished run: results and checkpoint written for exactly this config (what `train` reuses). */
export function isFinished(runDir: string, config: TrainConfig): boolean {
  return new RunFolder(runDir).isFinishedFor(config);
}

/** Finished, and holding every evaluation its experiment declares. */
export function isComplete(run: Pick<GridRun, 'runDir' | 'config' | 'evaluations'>): boolean {
  return isFinished(run.runDir, run.config) && missingEvaluations(run.runDir, run.evaluations).length === 0;
}

/** Exit codes of the one-run worker (lib/grid/worker.ts CONFIG). 75 (EX_TEMPFAIL): another live process trains the run. */
export const WORKER_EXIT = { ok: 0, failed: 1, elsewhere: 75, interrupted: 130 } as const;

/** How a worker's attempt at a run ended (written by the worker beside the config file). */
export interface RunOutcome {
  status: 'running' | 'trained' | 'reused' | 'failed' | 'elsewhere' | 'interrupted';
  host: string;
  pid: number;
  startedAt: string;
  endedAt?: string;
  seconds?: number;
  error?: string;
  /** The process holding the run folder's lock, for 'elsewhere'. */
  holder?: { host: string; pid: number; startedAt: string };
  /** CPU time (user + system) the worker spent on this run, s: with `seconds`, the share of a core it got. */
  cpuSeconds?: number;
  /** Peak resident memory of the worker process so far, MB. */
  maxRssMB?: number;
  /** The run's data set exists only in the process that planned the grid (registered at run time). */
  unportable?: boolean;
}

export function readOutcome(configFile: string): RunOutcome | null {
  try {
    return JSON.parse(fs.readFileSync(runSideFiles(configFile).outcome, 'utf8')) as RunOutcome;
  } catch {
    return null;
  }
}

/** The last `lines` lines of a log file ('' when there is none). */
export function logTail(file: string, lines = 15): string {
  if (!fs.existsSync(file)) return '';
  const text = fs.readFileSync(file, 'utf8');
  // Progress bars redraw with \r on a terminal; keep what the last redraw showed.
  return text
    .split('\n')
    .map((l) => l.slice(l.lastIndexOf('\r') + 1))
    .filter((l) => l.trim())
    .slice(-lines)
    .join('\n');
}
