// The worker: trains runs from their config files. Every executor runs this same entry.
//   node --import tsx lib/grid/worker.ts CONFIG.json   one run (Slurm array tasks, `sat grid print`)
//   forked with an IPC channel and no argument          a pool worker: one run at a time, as told
// For each run it copies its output into <config>.log and writes <config>.outcome.json. Exit
// codes of the one-run form: 0 trained or reused, 1 failed, 75 the run folder is locked by a
// live process elsewhere (not a failure: that process trains it), 130 stopped by a signal.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { initBackend, describeBackend } from '../backend';
import { datasetNames, isKnownDataset } from '../data';
import type { Profile } from '../experiments/profiles';
import { train, type TrainOptions } from '../train';
import type { TrainConfig } from '../train/config';
import { completeRun, findFinishedRun, type RunDeclarations } from '../results/store';
import { RunLockedError } from '../train/run-folder';
import { writeFileAtomic } from '../util/fs';
import { gridExperiment, isGridExperiment } from './experiments';
import { runSideFiles, studyDeclarations, WORKER_EXIT, type RunOutcome } from './plan';

export { WORKER_EXIT };


/** Parent to pool worker. */
export type WorkerRequest = { type: 'run'; configFile: string; reuse?: boolean; force?: boolean } | { type: 'exit' };
/** Pool worker to parent. */
export type WorkerMessage =
  | { type: 'ready'; pid: number; backend: string }
  | { type: 'epoch'; configFile: string; epoch: number; epochs: number; seconds: number }
  | { type: 'done'; configFile: string; outcome: RunOutcome };

const maxRssMB = () => Math.round(process.resourceUsage().maxRSS / 1024);

// Output goes to the current run's log (and, in the one-run form, on to the scheduler's log).
let logFd: number | null = null;
function teeOutput(echo: boolean): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (...a: unknown[]) => boolean;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (logFd !== null) {
        if (typeof chunk === 'string') fs.writeSync(logFd, chunk);
        else fs.writeSync(logFd, chunk);
      }
      if (echo) return original(chunk, ...rest);
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof stream.write;
  }
}

let current: AbortController | null = null;
let stopping = false;

/** Ctrl-C, SIGTERM (Slurm's scancel) or a vanished parent: stop at the next step, files intact. */
function stop(): void {
  if (stopping) return;
  stopping = true;
  if (!current) process.exit(WORKER_EXIT.interrupted);
  current.abort();
  // A trainer that cannot stop between steps is given a moment, then the process ends; its
  // files are whole either way (every write is atomic) and the next attempt resumes.
  setTimeout(() => process.exit(WORKER_EXIT.interrupted), 20_000).unref();
}

function readConfig(file: string): TrainConfig {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as TrainConfig;
  } catch (e) {
    throw new Error(`Cannot read the run config ${file}: ${(e as Error).message}. Write the grid again (sat grid submit ... or the notebook).`);
  }
}

class UnportableDataset extends Error {}

/** Data sets an experiment registers while listing its runs (e.g. MNIST resized) exist here too. */
async function ensureDataset(c: TrainConfig): Promise<void> {
  if (isKnownDataset(c.dataset)) return;
  if (isGridExperiment(c.experiment) && c.profile) (await gridExperiment(c.experiment)).runs(c.profile as Profile);
  if (!isKnownDataset(c.dataset)) {
    throw new UnportableDataset(
      `Data set '${c.dataset}' is unknown in a fresh process (known: ${datasetNames().join(', ')}): the process that planned this grid registered it at run time. ` +
        `Train this experiment in that process (runExperiment with executor 'inline'), or give the data set a name in lib/data.`,
    );
  }
}

/** What the run's experiment declares beyond training (none for an experiment `sat grid` does not know). */
async function declared(c: TrainConfig): Promise<RunDeclarations> {
  if (!isGridExperiment(c.experiment) || !c.profile) return { evaluations: [], store: false };
  return studyDeclarations(await gridExperiment(c.experiment), c.profile);
}

/** Trains one run; never throws (the outcome says how it ended). */
export async function runOne(configFile: string, opts: { reuse?: boolean; force?: boolean; onEpoch?: (epoch: number, epochs: number, seconds: number) => void } = {}): Promise<RunOutcome> {
  const side = runSideFiles(configFile);
  const startedAt = new Date();
  const cpu0 = process.cpuUsage();
  const outcome: RunOutcome = { status: 'running', host: os.hostname(), pid: process.pid, startedAt: startedAt.toISOString() };
  const finish = (o: Partial<RunOutcome>): RunOutcome => {
    const cpu = process.cpuUsage(cpu0);
    Object.assign(outcome, o, { endedAt: new Date().toISOString(), seconds: (Date.now() - startedAt.getTime()) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMB: maxRssMB() });
    writeFileAtomic(side.outcome, JSON.stringify(outcome, null, 2));
    return outcome;
  };
  logFd = fs.openSync(side.log, 'a');
  try {
    writeFileAtomic(side.outcome, JSON.stringify(outcome, null, 2));
    console.error(`[sat grid] ${startedAt.toISOString()} ${os.hostname()} pid ${process.pid}: ${configFile}; ${backendLine}; SAT_THREADS=${process.env.SAT_THREADS ?? 'unset'}`);
    const config = readConfig(configFile);
    await ensureDataset(config);
    current = new AbortController();
    const trainOpts: TrainOptions = {
      reuse: opts.reuse ?? true,
      force: opts.force,
      signal: current.signal,
      onEpoch: (m) => opts.onEpoch?.(m.epoch, config.epochs, m.seconds),
    };
    if (stopping) return finish({ status: 'interrupted' });
    // A finished run (the results store's first) is not trained again: only what it lacks runs.
    let dir = findFinishedRun(config);
    let reused = true;
    if (!dir) {
      // train() records the run's provenance (git commit, threads, data folder) at every start.
      const r = await train(config, trainOpts);
      r.model.dispose();
      ({ runDir: dir, reused } = r);
      console.error(`[sat grid] ${r.reused ? 'reused the finished run' : 'trained'} ${r.runDir}`);
    }
    if (stopping) return finish({ status: 'interrupted' });
    await completeRun(dir, config, await declared(config), (line) => console.error(line));
    return finish({ status: reused ? 'reused' : 'trained' });
  } catch (e) {
    if (e instanceof RunLockedError) {
      console.error(`[sat grid] running elsewhere: ${e.message}`);
      return finish({ status: 'elsewhere', holder: e.holder, error: e.message });
    }
    if (current?.signal.aborted) {
      console.error(`[sat grid] stopped: ${(e as Error).message}`);
      return finish({ status: 'interrupted', error: (e as Error).message });
    }
    console.error(`[sat grid] FAILED: ${(e as Error).stack ?? e}`);
    return finish({ status: 'failed', error: (e as Error).message, ...(e instanceof UnportableDataset ? { unportable: true } : {}) });
  } finally {
    current = null;
    fs.closeSync(logFd);
    logFd = null;
  }
}

/** The backend as every computing `sat` command chooses it (SAT_BACKEND, inherited). */
let backendLine = 'backend not initialised';
async function workerBackend() {
  // SAT_BACKEND, inherited from `sat grid --backend` or the environment, picks it.
  const b = await initBackend();
  backendLine = describeBackend(b);
  return b;
}

async function poolWorker(): Promise<void> {
  teeOutput(false);
  const backend = await workerBackend();
  const send = (m: WorkerMessage) => process.send?.(m);
  const queue: WorkerRequest[] = [];
  let busy = false;
  const next = async (): Promise<void> => {
    if (busy) return;
    const req = queue.shift();
    if (!req) return;
    if (req.type === 'exit') return process.disconnect();
    busy = true;
    const outcome = await runOne(req.configFile, {
      reuse: req.reuse,
      force: req.force,
      onEpoch: (epoch, epochs, seconds) => send({ type: 'epoch', configFile: req.configFile, epoch, epochs, seconds }),
    });
    send({ type: 'done', configFile: req.configFile, outcome });
    busy = false;
    if (stopping) process.exit(WORKER_EXIT.interrupted);
    return next();
  };
  process.on('message', (m: WorkerRequest) => {
    queue.push(m);
    void next();
  });
  send({ type: 'ready', pid: process.pid, backend: backend.name });
}

async function oneRun(configFile: string): Promise<number> {
  teeOutput(true);
  await workerBackend();
  const o = await runOne(configFile);
  const codes: Record<RunOutcome['status'], number> = {
    trained: WORKER_EXIT.ok, reused: WORKER_EXIT.ok, running: WORKER_EXIT.failed, failed: WORKER_EXIT.failed,
    elsewhere: WORKER_EXIT.elsewhere, interrupted: WORKER_EXIT.interrupted,
  };
  return codes[o.status];
}

if (require.main === module) {
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const args = process.argv.slice(2);
  if (args.length === 0 && process.send) {
    process.on('disconnect', stop);
    poolWorker().catch((e) => {
      console.error(`[sat grid] worker failed to start: ${(e as Error).stack ?? e}`);
      process.exit(WORKER_EXIT.failed);
    });
  } else if (args.length === 1 && !args[0].startsWith('-')) {
    oneRun(args[0]).then(
      (code) => process.exit(code),
      (e) => {
        console.error(`[sat grid] ${(e as Error).stack ?? e}`);
        process.exit(WORKER_EXIT.failed);
      },
    );
  } else {
    console.error('usage: node --import tsx lib/grid/worker.ts CONFIG.json   (a run config written by sat grid)');
    process.exit(2);
  }
}
