// The Slurm executor: one job array per submission, one array task per unfinished run, each
// running the worker entry on its config file. Run folders must be on a filesystem that the
// compute nodes share; the run-folder lock keeps two tasks (or a task and a notebook) from
// training the same run. Status comes from squeue (queued and running tasks) and from the run
// folders and outcome files (finished, failed): sacct needs accounting, which many clusters lack.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { estimateCost, runCost } from '../report/run-cost';
import { RunFolder } from '../train/run-folder';
import { runsDir, projectRoot, writeFileAtomic } from '../util/fs';
import { missingEvaluations, runEvaluationName } from '../eval/run-evaluations';
import { studyStoreDir } from '../results/store';
import { isComplete, isFinished, readOutcome, runSideFiles, writeGridFiles, type Grid, type GridRun } from './plan';
import { workerCommand } from './worker-process';

/** Per-run resources of an array task. */
export interface SlurmResources {
  partition?: string;
  /** Slurm's time format: MM, HH:MM:SS or D-HH:MM:SS. */
  time: string;
  /** e.g. gpu:1 */
  gres?: string;
  /** e.g. 4G */
  mem: string;
  cpusPerTask: number;
}

/** What one run needs at each profile (the paper profile: one GPU-day of ResNet-50 per run). */
export function profileResources(profile: string): SlurmResources {
  switch (profile) {
    case 'smoke':
      return { time: '00:15:00', mem: '2G', cpusPerTask: 1 };
    case 'small':
      return { time: '02:00:00', mem: '4G', cpusPerTask: 1 };
    default:
      return { time: '2-00:00:00', mem: '64G', cpusPerTask: 8, gres: 'gpu:1' };
  }
}

export function validateResources(r: SlurmResources): void {
  if (!/^(\d+-)?\d+(:\d{1,2}){0,2}$/.test(r.time)) throw new Error(`--time '${r.time}' is not a Slurm time: use MM, HH:MM:SS or D-HH:MM:SS (e.g. 02:00:00).`);
  if (!/^\d+[KMGT]?$/i.test(r.mem)) throw new Error(`--mem '${r.mem}' is not a Slurm memory size: use a number with K, M, G or T (e.g. 4G).`);
  if (!Number.isInteger(r.cpusPerTask) || r.cpusPerTask < 1) throw new Error(`--cpus-per-task must be a positive integer, got ${r.cpusPerTask}.`);
  if (r.gres !== undefined && !/^[\w.:,-]+$/.test(r.gres)) throw new Error(`--gres '${r.gres}' is not a Slurm resource list (e.g. gpu:1).`);
  if (r.partition !== undefined && !/^[\w.,-]+$/.test(r.partition)) throw new Error(`--partition '${r.partition}' is not a partition name.`);
}

/** Single-quotes a word for bash. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The exact command that trains one run (what an array task or any other scheduler runs). */
export function runCommand(run: GridRun, threads = 1): string {
  const w = workerCommand();
  return `cd ${shellQuote(projectRoot())} && SAT_RUNS_DIR=${shellQuote(runsDir())} SAT_THREADS=${threads} ${shellQuote(w.node)} ${w.execArgv.map(shellQuote).join(' ')} ${shellQuote(w.script)} ${shellQuote(run.configFile)}`;
}

/** The job-array script: task i trains the run on line i+1 of the tasks file. */
export function slurmScript(grid: Grid, tasksFile: string, count: number, res: SlurmResources): string {
  const w = workerCommand();
  const q = shellQuote;
  const lines = [
    '#!/bin/bash',
    `# sat grid: ${grid.experiment} at profile ${grid.profile}, ${count} run(s); written by 'sat grid submit'.`,
    `#SBATCH --job-name=${q(`sat-${grid.experiment}-${grid.profile}`)}`,
    `#SBATCH --array=0-${count - 1}`,
    `#SBATCH --output=${q(path.join(grid.dir, 'slurm', '%A_%a.out'))}`,
    `#SBATCH --cpus-per-task=${res.cpusPerTask}`,
    `#SBATCH --mem=${res.mem}`,
    `#SBATCH --time=${res.time}`,
    ...(res.partition ? [`#SBATCH --partition=${res.partition}`] : []),
    ...(res.gres ? [`#SBATCH --gres=${res.gres}`] : []),
    'set -euo pipefail',
    `cd ${q(projectRoot())}`,
    `export SAT_RUNS_DIR=${q(runsDir())}`,
    '# The native kernels use the cores Slurm gave this task.',
    'export SAT_THREADS="${SLURM_CPUS_PER_TASK:-1}"',
    `config=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" ${q(tasksFile)})`,
    '# Exit 75: another live process holds the run folder (it trains the run); not a failure of this one.',
    `exec "\${SAT_NODE:-${w.node}}" ${w.execArgv.map(q).join(' ')} ${q(w.script)} "$config"`,
    '',
  ];
  return lines.join('\n');
}

interface Submission {
  jobId: string;
  at: string;
  script: string;
  runs: string[];
}

function submissionsFile(grid: Grid): string {
  return path.join(grid.dir, 'slurm', 'submissions.jsonl');
}

export function readSubmissions(grid: Grid): Submission[] {
  const f = submissionsFile(grid);
  if (!fs.existsSync(f)) return [];
  return fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Submission);
}

function slurmCommand(cmd: string, args: string[]): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`'${cmd}' was not found: run this on a machine where Slurm's client commands are installed (a login node), or use --executor print and your own scheduler.`);
  }
  return { ok: r.status === 0, stdout: r.stdout ?? '', stderr: (r.stderr ?? '').trim() };
}

/** Array tasks in the queue: `<job>_<task>` -> state (PENDING, RUNNING, ...). null when squeue fails. */
export function queuedTasks(): Map<string, string> | null {
  let r;
  try {
    r = slurmCommand('squeue', ['-h', '-r', '-o', '%i|%T']);
  } catch {
    return null;
  }
  if (!r.ok) return null;
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const [id, state] = line.trim().split('|');
    if (id && state) out.set(id, state);
  }
  return out;
}

/** Where each run of the grid stands in the queue (run id -> state and array task), from past submissions. */
function queueByRun(grid: Grid, queue: Map<string, string> | null): Map<string, { task: string; state: string }> {
  const out = new Map<string, { task: string; state: string }>();
  if (!queue) return out;
  for (const s of readSubmissions(grid)) {
    s.runs.forEach((id, i) => {
      const task = `${s.jobId}_${i}`;
      const state = queue.get(task);
      if (state) out.set(id, { task, state });
    });
  }
  return out;
}

export interface SubmitResult {
  jobId: string | null;
  script: string | null;
  submitted: GridRun[];
  finished: GridRun[];
  queued: GridRun[];
}

/**
 * Writes the grid's config files and a job-array script for the runs that are neither finished
 * nor already queued, and submits it with sbatch (unless dryRun).
 */
export function submitSlurm(grid: Grid, res: SlurmResources, opts: { dryRun?: boolean } = {}): SubmitResult {
  validateResources(res);
  writeGridFiles(grid);
  const inQueue = queueByRun(grid, opts.dryRun ? null : queuedTasks());
  const finished = grid.runs.filter((r) => isComplete(r));
  const queued = grid.runs.filter((r) => !finished.includes(r) && inQueue.has(r.id));
  const todo = grid.runs.filter((r) => !finished.includes(r) && !queued.includes(r));
  if (todo.length === 0) return { jobId: null, script: null, submitted: [], finished, queued };
  const n = readSubmissions(grid).length + 1;
  const dir = path.join(grid.dir, 'slurm');
  const tasksFile = path.join(dir, `tasks-${n}.txt`);
  const script = path.join(dir, `job-${n}.sh`);
  writeFileAtomic(tasksFile, todo.map((r) => r.configFile).join('\n') + '\n');
  writeFileAtomic(script, slurmScript(grid, tasksFile, todo.length, res));
  fs.chmodSync(script, 0o755);
  if (opts.dryRun) return { jobId: null, script, submitted: todo, finished, queued };
  const r = slurmCommand('sbatch', ['--parsable', script]);
  if (!r.ok) throw new Error(`sbatch refused ${script}: ${r.stderr || r.stdout}`);
  const jobId = r.stdout.trim().split(';')[0];
  if (!/^\d+$/.test(jobId)) throw new Error(`sbatch printed '${r.stdout.trim()}', not a job id.`);
  fs.appendFileSync(submissionsFile(grid), JSON.stringify({ jobId, at: new Date().toISOString(), script, runs: todo.map((r) => r.id) } satisfies Submission) + '\n');
  return { jobId, script, submitted: todo, finished, queued };
}

export type RunState = 'done' | 'pending' | 'running' | 'failed' | 'running elsewhere' | 'stopped' | 'not started';

export interface StatusRow {
  run: GridRun;
  state: RunState;
  /** The queue's own word (PENDING, RUNNING, COMPLETING, ...) and the array task, when queued. */
  queue?: { task: string; state: string };
  detail: string;
  log: string;
}

/** Each run's state: finished in its folder, else as squeue sees it, else its last outcome. */
export function gridStatus(grid: Grid, queue: Map<string, string> | null = queuedTasks()): StatusRow[] {
  const byRun = queueByRun(grid, queue);
  return grid.runs.map((run) => {
    const log = runSideFiles(run.configFile).log;
    const q = byRun.get(run.id);
    if (isComplete(run)) return { run, state: 'done', detail: run.runDir, log };
    if (isFinished(run.runDir, run.config) && !q) return { run, state: 'not started', detail: `trained; evaluations to run: ${missingEvaluations(run.runDir, run.evaluations).map(runEvaluationName).join(', ')}`, log };
    if (q) return { run, state: q.state === 'PENDING' ? 'pending' : 'running', queue: q, detail: `job ${q.task} ${q.state}`, log };
    const o = readOutcome(run.configFile);
    if (!o) return { run, state: 'not started', detail: '', log };
    switch (o.status) {
      case 'failed':
        return { run, state: 'failed', detail: o.error?.split('\n')[0] ?? '', log };
      case 'elsewhere':
        return { run, state: 'running elsewhere', detail: `process ${o.holder?.pid} on ${o.holder?.host}`, log };
      case 'running':
        // Not in the queue: a local worker, or a task that ended without a word (killed).
        return new RunFolder(run.runDir).hasLock()
          ? { run, state: 'running', detail: `process ${o.pid} on ${o.host} since ${o.startedAt}`, log }
          : { run, state: 'stopped', detail: `process ${o.pid} on ${o.host} ended without finishing (killed?)`, log };
      default:
        return { run, state: 'stopped', detail: o.error?.split('\n')[0] ?? `last attempt: ${o.status}`, log };
    }
  });
}

const cpuText = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} CPU-hours` : `${Math.ceil(s / 60)} CPU-minutes`);

/**
 * What the runs not done yet will cost. From the finished runs' cost records (cost.json) where
 * they have them: training in proportion to its passes (epochs x (attack steps + 1)), plus the
 * median evaluation cost of a run. Else from the CPU time of the worker's outcome files, per epoch.
 */
export function remainingCost(grid: Grid, rows: StatusRow[]): string {
  const left = rows.filter((r) => r.state !== 'done');
  if (left.length === 0) return 'nothing left to run.';
  const done = rows.filter((r) => r.state === 'done').map((r) => ({ cost: runCost(r.run.runDir), config: r.run.config }));
  const e = estimateCost(done, left.map((r) => r.run.config));
  if (e) {
    return `${left.length} runs left: about ${cpuText(e.cpuSeconds)} (from the cost records of ${e.recorded} finished run${e.recorded === 1 ? '' : 's'}: ${e.perPass.toFixed(1)} CPU-s per epoch and training pass, ${e.evaluation.toFixed(0)} CPU-s of evaluations per run).`;
  }
  const measured = rows.flatMap((r) => {
    const o = readOutcome(r.run.configFile);
    return o?.status === 'trained' && o.cpuSeconds ? [{ cpu: o.cpuSeconds, epochs: r.run.config.epochs }] : [];
  });
  if (measured.length === 0) return `${left.length} runs left; no run of this grid has finished here yet, so no measured cost.`;
  const perEpoch = measured.reduce((s, m) => s + m.cpu, 0) / measured.reduce((s, m) => s + m.epochs, 0);
  const cpu = left.reduce((s, r) => s + perEpoch * r.run.config.epochs, 0);
  return `${left.length} runs left: about ${cpuText(cpu)} (measured: ${perEpoch.toFixed(0)} CPU-s per epoch including evaluations, over ${measured.length} finished run${measured.length === 1 ? '' : 's'} of this grid).`;
}

/** A table for the terminal and a one-line summary. */
export function formatStatus(grid: Grid, rows: StatusRow[], queueAvailable: boolean): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const stored = rows.filter((r) => r.state === 'done' && path.dirname(r.run.runDir) === studyStoreDir(grid.experiment, grid.profile)).length;
  const summary = `${grid.experiment} at profile ${grid.profile}: ${rows.length} runs: ${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')}; ${stored} in the results store (${studyStoreDir(grid.experiment, grid.profile)})`;
  const w = Math.max(...rows.map((r) => r.run.label.length), 7);
  const table = rows.map((r) => `${String(r.run.index + 1).padStart(3)}  ${r.run.label.padEnd(w)}  ${r.state.padEnd(17)}  ${r.detail}`);
  const failed = rows.filter((r) => r.state === 'failed').map((r) => `  run ${r.run.index + 1} log: ${r.log}`);
  return [
    summary,
    `${'run'.padStart(3)}  ${'variant'.padEnd(w)}  ${'state'.padEnd(17)}  detail`,
    ...table,
    ...(failed.length ? ['failed runs (their logs end with the error):', ...failed] : []),
    remainingCost(grid, rows),
    ...(queueAvailable ? [] : ['(squeue is not available here: queued and running Slurm tasks show as not started or stopped)']),
  ].join('\n');
}
