// The local executor: a pool of worker processes (lib/grid/worker.ts), each training one run at
// a time. The wasm backend uses one thread, so N workers use N cores. One display for the whole
// grid (done, running, failed, ETA); a failed run is reported with its log's tail and the others
// go on (unless failFast); Ctrl-C stops every worker at its next step with its files intact.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunFolder } from '../train/run-folder';
import { writeFileAtomic } from '../util/fs';
import { fmtTime } from '../util/progress';
import { isComplete, logTail, runSideFiles, writeGridFiles, type Grid, type GridRun, type RunOutcome } from './plan';
import { PoolDisplay, poolEta, poolStatusLine, type PoolDisplayMode } from './pool-status';
import type { WorkerMessage } from './worker';
import { resolveWorkers, threadsPerWorker, WorkerProcess } from './worker-process';

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
  display?: PoolDisplayMode;
  statusEveryMs?: number;
  /** Runs whose folder another live process holds are retried when it lets go (default true). */
  waitForOthers?: boolean;
  /** Stops the pool as Ctrl-C does (which it also handles itself). */
  signal?: AbortSignal;
}

export async function runPool(grid: Grid, opts: PoolOptions = {}): Promise<PoolResult> {
  const runs: PoolRun[] = grid.runs.map((run) => ({ run, status: isComplete(run) && opts.reuse !== false && !opts.force ? 'finished' : 'waiting' }));
  writeGridFiles(grid);
  return new Pool(grid, runs, opts).run();
}

type Worker = WorkerProcess<PoolRun>;

/**
 * One runPool call. Its state: the runs and their status, the queue of runs to hand out, the runs
 * waiting on another process's lock, and the workers. Worker messages and exits, signals and a
 * timer move runs between them; run() returns once every worker has ended.
 */
class Pool {
  private readonly t0 = Date.now();
  private readonly log: (s: string) => void;
  private readonly display: PoolDisplay;
  private readonly queue: PoolRun[];
  private readonly blocked: { r: PoolRun; since: number }[] = [];
  private readonly workers: Worker[] = [];
  /** Seconds each trained run took, for the ETA. */
  private readonly durations: number[] = [];
  /** Worker processes to keep running. */
  private readonly size: number;
  private readonly threads: number;
  private readonly tag: string;
  private stopped = false;
  private stoppedAt = 0;
  private startupFailures = 0;
  private allEnded = () => {};

  constructor(private readonly grid: Grid, private readonly runs: PoolRun[], private readonly opts: PoolOptions) {
    this.log = opts.log ?? ((s: string) => console.error(s));
    const mode = opts.display ?? (opts.log === undefined && process.stderr.isTTY ? 'tty' : 'lines');
    this.display = new PoolDisplay(mode, this.log, () => this.statusLine(), opts.statusEveryMs);
    this.queue = runs.filter((r) => r.status === 'waiting');
    this.size = Math.min(resolveWorkers(opts.workers), this.queue.length);
    this.threads = threadsPerWorker(Math.max(this.size, 1));
    this.tag = `[grid ${grid.experiment} ${grid.profile}]`;
  }

  async run(): Promise<PoolResult> {
    const { runs, queue, size: n, opts } = this;
    this.log(`${this.tag} ${runs.length} runs: ${runs.length - queue.length} already finished, ${queue.length} to train on ${n} worker process${n === 1 ? '' : 'es'} (SAT_THREADS=${this.threads}); logs in ${path.join(this.grid.dir, 'runs')}`);
    if (n === 0) return { runs, workers: [], seconds: 0, stopped: false };
    const ended = new Promise<void>((resolve) => (this.allEnded = resolve));
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    opts.signal?.addEventListener('abort', this.onAbort);
    const poll = setInterval(() => this.retryBlocked(), this.display.mode === 'tty' ? 1000 : 2000);
    try {
      for (let i = 0; i < n; i++) this.spawn();
      if (opts.signal?.aborted) this.onAbort();
      await ended;
    } finally {
      clearInterval(poll);
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
      opts.signal?.removeEventListener('abort', this.onAbort);
    }
    // Anything never handed to a worker (stopped, or workers that could not start).
    for (const r of runs) if (r.status === 'waiting' || r.status === 'running') r.status = 'interrupted';
    this.display.end();
    const workers = this.workers.map((w) => ({ pid: w.child.pid ?? 0, runs: w.jobs, maxRssMB: w.maxRssMB }));
    return { runs, workers, seconds: (Date.now() - this.t0) / 1000, stopped: this.stopped };
  }

  private statusLine(): string {
    const count = (...s: PoolStatus[]) => this.runs.filter((r) => s.includes(r.status)).length;
    const now = Date.now();
    const running = this.workers.filter((w) => w.current).map((w) => ({ seconds: (now - w.startedAt) / 1000, epochFraction: w.epochFraction }));
    const pending = this.queue.length + this.blocked.length;
    return poolStatusLine(this.tag, {
      done: count('finished', 'trained', 'reused'), total: this.runs.length, running: count('running'), failed: count('failed'), waiting: this.queue.length,
      elsewhere: this.blocked.length, elapsedSeconds: (now - this.t0) / 1000, stopping: this.stopped,
      etaSeconds: this.stopped ? NaN : poolEta(this.durations, running, pending, this.workers.filter((w) => w.alive()).length),
    });
  }

  private spawn(): void {
    const w: Worker = new WorkerProcess(this.workers.length + 1, this.threads, {
      message: (m) => this.onMessage(w, m),
      exit: (code, signal) => this.onExit(w, code, signal),
    });
    this.workers.push(w);
  }

  /** Hands `w` the next run, or, with none left, lets the idle workers go. */
  private dispatch(w: Worker): void {
    const r = this.stopped ? undefined : this.queue.shift();
    if (!r) {
      // Idle workers stay while runs wait on another process's lock; then they all go.
      if (this.stopped || this.blocked.length === 0) for (const x of this.workers) if (x.idle()) x.send({ type: 'exit' });
      return;
    }
    r.status = 'running';
    w.begin(r);
    this.display.say(`${runTitle(r.run)} (worker ${w.id})`);
    w.send({ type: 'run', configFile: r.run.configFile, reuse: this.opts.reuse, force: this.opts.force });
  }

  private onMessage(w: Worker, m: WorkerMessage): void {
    if (m.type === 'ready') {
      w.ready = true;
      this.dispatch(w);
    } else if (m.type === 'epoch') {
      w.epochFraction = (m.epoch + 1) / m.epochs;
      this.display.tick();
    } else if (m.type === 'done' && w.current) {
      const r = w.current;
      w.current = null;
      w.jobs++;
      w.maxRssMB = Math.max(w.maxRssMB, m.outcome.maxRssMB ?? 0);
      this.finishRun(r, m.outcome);
      this.dispatch(w);
    }
  }

  private finishRun(r: PoolRun, o: RunOutcome): void {
    const say = (s: string) => this.display.say(`${runTitle(r.run)}: ${s}`);
    const waitForOthers = this.opts.waitForOthers ?? true;
    const took = fmtTime(o.seconds ?? 0);
    r.outcome = o;
    switch (o.status) {
      case 'trained':
      case 'reused':
        r.status = o.status;
        if (o.status === 'trained') this.durations.push(o.seconds ?? 0);
        say(o.status === 'trained' ? `trained in ${took}` : 'finished already (reused)');
        break;
      case 'elsewhere':
        r.status = 'elsewhere';
        if (waitForOthers) this.blocked.push({ r, since: Date.now() });
        say(`running elsewhere (process ${o.holder?.pid} on ${o.holder?.host})${waitForOthers ? '; taken up again when it lets go' : ''}`);
        break;
      case 'interrupted':
        r.status = 'interrupted';
        say(`stopped after ${took}; the same command resumes it from its last checkpoint`);
        break;
      default:
        r.status = 'failed';
        r.logTail = logTail(runSideFiles(r.run.configFile).log);
        say(`FAILED after ${took}: ${o.error ?? 'see its log'}\n  log: ${runSideFiles(r.run.configFile).log}\n${indent(r.logTail)}`);
        if (this.opts.failFast) this.stopAll(`--fail-fast: stopping the other workers after the failure of run ${r.run.index + 1}`);
    }
  }

  private onExit(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const r = w.current;
    w.current = null;
    if (r) this.finishRun(r, this.diedMidRun(w, r, signal ? `killed by ${signal}` : `exited with code ${code}`));
    if (!w.ready && !this.stopped) {
      this.startupFailures++;
      this.log(`${this.tag} a worker process ${signal ? `was killed by ${signal}` : `exited with code ${code}`} before it was ready:\n${indent(w.output())}`);
    }
    const pending = this.queue.length + this.blocked.length;
    if (!this.stopped && pending > 0 && this.startupFailures < 2 && this.workers.filter((x) => x.alive()).length < this.size) {
      this.spawn(); // replace it
    } else if (!this.stopped && pending > 0 && this.startupFailures >= 2) {
      this.stopAll('worker processes fail to start (output above)');
    }
    if (this.workers.every((x) => !x.alive())) this.allEnded();
  }

  /** The outcome of a run whose worker died (out of memory, a crash), which it could not write itself. */
  private diedMidRun(w: Worker, r: PoolRun, how: string): RunOutcome {
    // The run's own log may lack the reason: the worker's last output goes there.
    const side = runSideFiles(r.run.configFile);
    if (w.output()) fs.appendFileSync(side.log, `\n[sat grid] worker process output before it ended:\n${w.output()}\n`);
    const outcome: RunOutcome = {
      status: this.stopped ? 'interrupted' : 'failed', host: os.hostname(), pid: w.child.pid ?? 0, startedAt: new Date(w.startedAt).toISOString(),
      endedAt: new Date().toISOString(), seconds: (Date.now() - w.startedAt) / 1000, error: `the worker process ${how}`,
    };
    writeFileAtomic(side.outcome, JSON.stringify(outcome, null, 2));
    return outcome;
  }

  private stopAll(why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.display.say(`${this.tag} ${why}`);
    for (const w of this.workers) w.kill('SIGTERM');
  }

  // Ctrl-C reaches this process twice at once when a wrapper (bin/sat.mjs) forwards the signal
  // it got from the terminal too: only a second press, a moment later, kills the workers.
  private readonly onSignal = () => {
    if (!this.stopped) {
      this.stoppedAt = Date.now();
      this.stopAll('stopping: each worker ends at its next step, its files whole (press Ctrl-C again to kill them now)');
    } else if (Date.now() - this.stoppedAt >= 1500) {
      for (const w of this.workers) w.kill('SIGKILL');
    }
  };

  private readonly onAbort = () => this.stopAll('stopping on request: each worker ends at its next step');

  /**
   * Runs locked by another process go back to the queue when their lock file goes (or after a
   * minute, which also catches a lock whose process died on this host: the worker takes that over).
   */
  private retryBlocked(): void {
    for (let i = this.blocked.length - 1; i >= 0; i--) {
      const b = this.blocked[i];
      if (!new RunFolder(b.r.run.runDir).hasLock() || Date.now() - b.since > 60_000) {
        this.blocked.splice(i, 1);
        b.r.status = 'waiting';
        this.queue.push(b.r);
        const idle = this.workers.find((w) => w.idle());
        if (idle) this.dispatch(idle);
      }
    }
    this.display.tick();
  }
}

const runTitle = (r: GridRun) => `run ${r.index + 1}/${r.total}: ${r.label}`;

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
