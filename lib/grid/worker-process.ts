// A pool's worker processes: how many, the threads each gets (SAT_THREADS), and how one is
// started (lib/grid/worker.ts under tsx, with an IPC channel) and spoken to.
import { fork, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../util/fs';
import type { WorkerMessage, WorkerRequest } from './worker';

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

/** One worker process and the job it is doing; its last 30 lines of output are kept for when it dies. */
export class WorkerProcess<Job> {
  readonly child: ChildProcess;
  /** It said 'ready' (its backend is up). */
  ready = false;
  current: Job | null = null;
  /** When the current job began, and the share of its epochs done. */
  startedAt = 0;
  epochFraction = 0;
  /** Jobs done, and the peak resident memory (MB) it last reported. */
  jobs = 0;
  maxRssMB = 0;
  private readonly tail: string[] = [];
  /** It was told to exit: it gets no second message (its channel may be closing). */
  private leaving = false;

  constructor(readonly id: number, threads: number, on: { message: (m: WorkerMessage) => void; exit: (code: number | null, signal: NodeJS.Signals | null) => void }) {
    const cmd = workerCommand();
    this.child = fork(cmd.script, [], {
      execPath: cmd.node,
      execArgv: cmd.execArgv,
      cwd: projectRoot(),
      env: { ...process.env, SAT_THREADS: String(threads) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const keep = (chunk: Buffer) => {
      this.tail.push(...chunk.toString().split('\n').filter(Boolean));
      this.tail.splice(0, Math.max(0, this.tail.length - 30));
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('message', on.message);
    this.child.on('exit', on.exit);
    // A send that races the worker's exit fails with EPIPE; the 'exit' event accounts for the
    // worker, so the error is only noted (unhandled, it would end the whole pool).
    this.child.on('error', (e) => this.tail.push(`[pool] worker ${id}: ${e.message}`));
  }

  begin(job: Job): void {
    this.current = job;
    this.startedAt = Date.now();
    this.epochFraction = 0;
  }

  send(m: WorkerRequest): void {
    if (this.leaving || !this.child.connected) return;
    if (m.type === 'exit') this.leaving = true;
    this.child.send(m, (e) => e && this.tail.push(`[pool] worker ${this.id}: ${e.message}`));
  }

  /** Neither exited nor killed. */
  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waiting for a job: ready, without one, and still connected. */
  idle(): boolean {
    return this.ready && !this.current && !this.leaving && this.child.connected;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive()) this.child.kill(signal);
  }

  output(): string {
    return this.tail.join('\n');
  }
}
