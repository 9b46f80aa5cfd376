// The local executor: a pool of worker processes (lib/grid/worker.ts), each training one run at
// a time. The wasm backend uses one thread, so N workers use N cores. One display for the whole
// grid (done, running, failed, ETA); a failed run is reported with its log's tail and the others
// go on (unless failFast); Ctrl-C stops every worker at its next step with its files intact.
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RunFolder } from '../train/run-folder';
import { projectRoot, writeFileAtomic } from '../util/fs';
import { fmtTime } from '../util/progress';
import { isComplete, logTail, runSideFiles, writeGridFiles, type Grid, type GridRun, type RunOutcome } from './plan';
import type { WorkerMessage, WorkerRequest } from './worker';

export type PoolStatus = 'waiting' | 'running' | 'finished' | 'trained' | 'reused' | 'failed' | 'elsewhere' | 'interrupted';

export interface PoolRun {
  run: GridRun;
  /** 'finished': found finished before the pool started; 'reused': a worker found it finished. */
  status: PoolStatus;
  outcome?: RunOutcome;
  /** The last lines of the run's log, for failures. */
  logTail?: string;
}

export interface PoolWorkerStats {
  pid: number;
  runs: number;
  /** Peak resident memory of the worker process (MB), as the worker last reported it. */
  maxRssMB: number;
}

export interface PoolResult {
  runs: PoolRun[];
  workers: PoolWorkerStats[];
  seconds: number;
  /** Stopped by Ctrl-C/SIGTERM or by failFast before every run ended. */
  stopped: boolean;
}

export interface PoolOptions {
  /** Worker processes (default: SAT_WORKERS, else the number of cores); never more than runs to train. */
  workers?: number;
  /** Stop every worker at the first failed run. */
  failFast?: boolean;
  /** Passed to train(): reuse finished runs (default true) / discard earlier files. */
  reuse?: boolean;
  force?: boolean;
  /** Where event lines go (default stderr). */
  log?: (s: string) => void;
  /** 'tty' redraws one status line on stderr; 'lines' prints it every `statusEveryMs`; 'none'. */
  display?: 'tty' | 'lines' | 'none';
  statusEveryMs?: number;
  /** Runs whose folder another live process holds are retried when it lets go (default true). */
  waitForOthers?: boolean;
  /** Stops the pool as Ctrl-C does (which it also handles itself). */
  signal?: AbortSignal;
}

/** The worker count: the option, else SAT_WORKERS, else the cores this process may use. */
export function resolveWorkers(explicit?: number): number {
  const fromEnv = process.env.SAT_WORKERS;
  const n = explicit ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : availableCores());
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`The number of workers must be a positive integer, got '${explicit ?? fromEnv}' (from --workers or SAT_WORKERS).`);
  }
  return n;
}

export function availableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** SAT_THREADS for each of `workers` processes: the cores shared out, at least 1. */
export function threadsPerWorker(workers: number, cores = availableCores()): number {
  return Math.max(1, Math.floor(cores / workers));
}

/** How to start the worker entry under tsx: node's arguments before the worker's own. */
export function workerCommand(): { node: string; execArgv: string[]; script: string } {
  const tsxDir = path.dirname(require.resolve('tsx/package.json', { paths: [projectRoot()] }));
  return {
    node: process.execPath,
    execArgv: ['--import', pathToFileURL(path.join(tsxDir, 'dist', 'loader.mjs')).href],
    script: path.join(projectRoot(), 'lib', 'grid', 'worker.ts'),
  };
}

interface Worker {
  id: number;
  child: ChildProcess;
  ready: boolean;
  current: PoolRun | null;
  runs: number;
  maxRssMB: number;
  stderrTail: string[];
  startedRunAt: number;
  epochFraction: number;
}

export async function runPool(grid: Grid, opts: PoolOptions = {}): Promise<PoolResult> {
  const t0 = Date.now();
  const log = opts.log ?? ((s: string) => console.error(s));
  const display = opts.display ?? (opts.log === undefined && process.stderr.isTTY ? 'tty' : 'lines');
  const runs: PoolRun[] = grid.runs.map((run) => ({ run, status: isComplete(run) && opts.reuse !== false && !opts.force ? 'finished' : 'waiting' }));
  writeGridFiles(grid);
  const queue = runs.filter((r) => r.status === 'waiting');
  const blocked: { r: PoolRun; since: number }[] = [];
  const finishedBefore = runs.length - queue.length;
  const n = Math.min(resolveWorkers(opts.workers), queue.length);
  const threads = threadsPerWorker(Math.max(n, 1));
  const tag = `[grid ${grid.experiment} ${grid.profile}]`;
  log(`${tag} ${runs.length} runs: ${finishedBefore} already finished, ${queue.length} to train on ${n} worker process${n === 1 ? '' : 'es'} (SAT_THREADS=${threads}); logs in ${path.join(grid.dir, 'runs')}`);
  const workers: Worker[] = [];
  if (n === 0) return { runs, workers: [], seconds: 0, stopped: false };

  const durations: number[] = [];
  let stopped = false;
  let startupFailures = 0;
  let lastStatus = Date.now();
  const count = (...s: PoolStatus[]) => runs.filter((r) => s.includes(r.status)).length;
  const runTitle = (r: GridRun) => `run ${r.index + 1}/${r.total}: ${r.label}`;

  const eta = (): number => {
    const busy = workers.filter((w) => w.current);
    const perRun = durations.length
      ? durations.reduce((a, b) => a + b, 0) / durations.length
      : (() => {
          const est = busy.filter((w) => w.epochFraction > 0).map((w) => (Date.now() - w.startedRunAt) / 1000 / w.epochFraction);
          return est.length ? est.reduce((a, b) => a + b, 0) / est.length : NaN;
        })();
    const left = busy.reduce((s, w) => s + Math.max(0, perRun - (Date.now() - w.startedRunAt) / 1000), 0) + (queue.length + blocked.length) * perRun;
    return left / Math.max(1, workers.filter((w) => w.child.exitCode === null).length);
  };
  const statusLine = () => {
    const failed = count('failed');
    const elsewhere = blocked.length;
    return (
      `${tag} ${count('finished', 'trained', 'reused')}/${runs.length} done, ${count('running')} running, ${failed} failed, ${queue.length} waiting` +
      `${elsewhere ? `, ${elsewhere} running elsewhere` : ''} | ${fmtTime((Date.now() - t0) / 1000)} elapsed${stopped ? ', stopping' : `, ETA ${fmtTime(eta())}`}`
    );
  };
  /** An event line (above the status line on a terminal). */
  const say = (s: string) => {
    if (display === 'tty') process.stderr.write('\r\x1b[K');
    log(s);
    if (display === 'tty') process.stderr.write(`\r${statusLine()}\x1b[K`);
  };
  /** The status line: redrawn on a terminal, else printed every statusEveryMs. */
  const showStatus = () => {
    if (display === 'tty') process.stderr.write(`\r${statusLine()}\x1b[K`);
    else if (display === 'lines' && Date.now() - lastStatus >= (opts.statusEveryMs ?? 30_000)) {
      lastStatus = Date.now();
      log(statusLine());
    }
  };

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const checkDone = () => {
    if (workers.every((w) => w.child.exitCode !== null || w.child.signalCode !== null)) resolveDone();
  };

  const cmd = workerCommand();
  const spawn = (id: number): Worker => {
    const child = fork(cmd.script, [], {
      execPath: cmd.node,
      execArgv: cmd.execArgv,
      cwd: projectRoot(),
      env: { ...process.env, SAT_THREADS: String(threads) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const w: Worker = { id, child, ready: false, current: null, runs: 0, maxRssMB: 0, stderrTail: [], startedRunAt: 0, epochFraction: 0 };
    const keep = (chunk: Buffer) => {
      w.stderrTail.push(...chunk.toString().split('\n').filter(Boolean));
      w.stderrTail.splice(0, Math.max(0, w.stderrTail.length - 30));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (m: WorkerMessage) => onMessage(w, m));
    child.on('exit', (code, signal) => onExit(w, code, signal));
    return w;
  };
  const send = (w: Worker, m: WorkerRequest) => {
    if (w.child.connected) w.child.send(m);
  };
  const dispatch = (w: Worker) => {
    const r = stopped ? undefined : queue.shift();
    if (!r) {
      // Idle workers stay while runs wait on another process's lock; then they all go.
      if (stopped || blocked.length === 0) for (const x of workers) if (x.ready && !x.current) send(x, { type: 'exit' });
      return;
    }
    r.status = 'running';
    w.current = r;
    w.startedRunAt = Date.now();
    w.epochFraction = 0;
    say(`${runTitle(r.run)} (worker ${w.id})`);
    send(w, { type: 'run', configFile: r.run.configFile, reuse: opts.reuse, force: opts.force });
  };
  const onMessage = (w: Worker, m: WorkerMessage) => {
    if (m.type === 'ready') {
      w.ready = true;
      dispatch(w);
    } else if (m.type === 'epoch') {
      w.epochFraction = (m.epoch + 1) / m.epochs;
      showStatus();
    } else if (m.type === 'done') {
      const r = w.current;
      if (!r) return;
      w.current = null;
      w.runs++;
      w.maxRssMB = Math.max(w.maxRssMB, m.outcome.maxRssMB ?? 0);
      finishRun(r, m.outcome);
      dispatch(w);
    }
  };
  const finishRun = (r: PoolRun, o: RunOutcome) => {
    r.outcome = o;
    const took = `${fmtTime(o.seconds ?? 0)}`;
    switch (o.status) {
      case 'trained':
      case 'reused':
        r.status = o.status;
        if (o.status === 'trained') durations.push(o.seconds ?? 0);
        say(`${runTitle(r.run)}: ${o.status === 'trained' ? `trained in ${took}` : 'finished already (reused)'}`);
        break;
      case 'elsewhere':
        r.status = 'elsewhere';
        if (opts.waitForOthers ?? true) blocked.push({ r, since: Date.now() });
        say(`${runTitle(r.run)}: running elsewhere (process ${o.holder?.pid} on ${o.holder?.host})${opts.waitForOthers ?? true ? '; taken up again when it lets go' : ''}`);
        break;
      case 'interrupted':
        r.status = 'interrupted';
        say(`${runTitle(r.run)}: stopped after ${took}; the same command resumes it from its last checkpoint`);
        break;
      default:
        r.status = 'failed';
        r.logTail = logTail(runSideFiles(r.run.configFile).log);
        say(`${runTitle(r.run)}: FAILED after ${took}: ${o.error ?? 'see its log'}\n  log: ${runSideFiles(r.run.configFile).log}\n${indent(r.logTail)}`);
        if (opts.failFast) stopAll(`--fail-fast: stopping the other workers after the failure of run ${r.run.index + 1}`);
    }
  };
  const onExit = (w: Worker, code: number | null, signal: NodeJS.Signals | null) => {
    const r = w.current;
    w.current = null;
    if (r) {
      // The worker died mid-run (out of memory, a crash): its own log may lack the reason.
      const side = runSideFiles(r.run.configFile);
      const tail = w.stderrTail.join('\n');
      if (tail) fs.appendFileSync(side.log, `\n[sat grid] worker process output before it ended:\n${tail}\n`);
      const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const outcome: RunOutcome = {
        status: stopped ? 'interrupted' : 'failed', host: os.hostname(), pid: w.child.pid ?? 0, startedAt: new Date(w.startedRunAt).toISOString(),
        endedAt: new Date().toISOString(), seconds: (Date.now() - w.startedRunAt) / 1000, error: `the worker process ${how}`,
      };
      writeFileAtomic(side.outcome, JSON.stringify(outcome, null, 2)); // it could not say so itself
      finishRun(r, outcome);
    }
    if (!w.ready && !stopped) {
      startupFailures++;
      log(`${tag} a worker process ${signal ? `was killed by ${signal}` : `exited with code ${code}`} before it was ready:\n${indent(w.stderrTail.join('\n'))}`);
    }
    const pending = queue.length + blocked.length;
    if (!stopped && pending > 0 && startupFailures < 2 && workers.filter((x) => x.child.exitCode === null && x.child.signalCode === null).length < n) {
      workers.push(spawn(workers.length + 1)); // replace it
    } else if (!stopped && pending > 0 && startupFailures >= 2) {
      stopAll('worker processes fail to start (output above)');
    }
    checkDone();
  };
  const stopAll = (why: string) => {
    if (stopped) return;
    stopped = true;
    say(`${tag} ${why}`);
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGTERM');
  };
  // Ctrl-C reaches this process twice at once when a wrapper (bin/sat.mjs) forwards the signal
  // it got from the terminal too: only a second press, a moment later, kills the workers.
  let stoppedAt = 0;
  const onSignal = () => {
    if (stopped) {
      if (Date.now() - stoppedAt < 1500) return;
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
      return;
    }
    stoppedAt = Date.now();
    stopAll('stopping: each worker ends at its next step, its files whole (press Ctrl-C again to kill them now)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const onAbort = () => stopAll('stopping on request: each worker ends at its next step');
  opts.signal?.addEventListener('abort', onAbort);
  // Runs locked by another process: look again when their lock file goes (or every minute,
  // which also catches a lock whose process died on this host: the worker takes that over).
  const poll = setInterval(() => {
    for (let i = blocked.length - 1; i >= 0; i--) {
      const b = blocked[i];
      if (!new RunFolder(b.r.run.runDir).hasLock() || Date.now() - b.since > 60_000) {
        blocked.splice(i, 1);
        b.r.status = 'waiting';
        queue.push(b.r);
        const idle = workers.find((w) => w.ready && !w.current && w.child.connected);
        if (idle) dispatch(idle);
      }
    }
    showStatus();
  }, display === 'tty' ? 1000 : 2000);
  try {
    for (let i = 0; i < n; i++) workers.push(spawn(i + 1));
    if (opts.signal?.aborted) onAbort();
    await done;
  } finally {
    clearInterval(poll);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  // Anything never handed to a worker (stopped, or workers that could not start).
  for (const r of runs) if (r.status === 'waiting' || r.status === 'running') r.status = 'interrupted';
  if (display === 'tty') process.stderr.write(`\r${statusLine()}\x1b[K\n`);
  else if (display === 'lines') log(statusLine());
  return {
    runs,
    workers: workers.map((w) => ({ pid: w.child.pid ?? 0, runs: w.runs, maxRssMB: w.maxRssMB })),
    seconds: (Date.now() - t0) / 1000,
    stopped,
  };
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
