// A run's folder, and the only module that knows its layout: config.json (the TrainConfig),
// metrics.jsonl (one line per epoch), checkpoint.bin (and best.bin, the kept epoch: config.keep), results.json (result records),
// provenance.json (where and how it ran), cost.json (the CPU and wall time of each stage) and
// `lock` (who is training into it). The trainer,
// `sat eval` and lib/report read and write through here.
//
// A folder's state (empty, in progress, finished) is decided here, from one committed marker:
// results.json, written last (after the last checkpoint and metrics line) and removed first
// whenever the run is reopened for training, so a partial rewrite never looks finished.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CostEntry } from '../util/cost-meter';
import { writeFileAtomic } from '../util/fs';
import { describeWriteError } from '../util/fs-errors';

export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  checkpoint: 'checkpoint.bin',
  /** The kept epoch's weights of a run with config.keep (early stopping); checkpoint.bin stays the last epoch's, to resume from. */
  best: 'best.bin',
  results: 'results.json',
  provenance: 'provenance.json',
  cost: 'cost.json',
  lock: 'lock',
} as const;

export type RunFiles = { [K in keyof typeof RUN_FILES]: string };

/** The paths of a run folder's files. */
export function runFiles(dir: string): RunFiles {
  const at = (name: string) => path.join(dir, name);
  return {
    config: at(RUN_FILES.config), metrics: at(RUN_FILES.metrics), checkpoint: at(RUN_FILES.checkpoint), best: at(RUN_FILES.best), results: at(RUN_FILES.results),
    provenance: at(RUN_FILES.provenance), cost: at(RUN_FILES.cost), lock: at(RUN_FILES.lock),
  };
}

export interface LockHolder {
  host: string;
  pid: number;
  startedAt: string;
  /** The holder's start time in clock ticks since boot (/proc/<pid>/stat field 22), on Linux: tells a reused pid from the holder. */
  procStart?: string;
}

/** Another live process (on this machine or another) is training into the folder. */
export class RunLockedError extends Error {
  readonly holder: LockHolder;
  readonly dir: string;
  constructor(dir: string, holder: LockHolder, message: string) {
    super(message);
    this.name = 'RunLockedError';
    this.dir = dir;
    this.holder = holder;
  }
}

/** Parses JSON, or throws an error that names the file and what to do about it. */
export function parseJsonFile<T>(file: string, text: string, fix: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}). ${fix}`);
  }
}

function readJsonFile<T>(file: string, fix: string): T {
  return parseJsonFile<T>(file, fs.readFileSync(file, 'utf8'), fix);
}

/**
 * The lines of a JSON-lines log. A last line without its newline is a write cut short by a
 * crash (appends end with '\n'): it is dropped with a warning. Any other bad line is damage.
 */
export function readJsonLines<T>(file: string, warn: (s: string) => void = (s) => console.warn(s)): T[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const torn = lines.pop(); // '' when the file ends with a newline
  if (torn) warn(`[sat] warning: dropped the unfinished last line of ${file} (a write cut short by a crash): ${JSON.stringify(torn.slice(0, 60))}`);
  return lines.flatMap((line, i) => {
    if (!line.trim()) return [];
    return [parseJsonFile<T>(`${file} line ${i + 1}`, line, `Delete that line (or the run folder) and run again.`)];
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** A process's start time in clock ticks since boot (Linux /proc/<pid>/stat field 22), or null where there is no /proc. */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces or ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // field 22 of the whole line
  } catch {
    return null;
  }
}

/** Boot time (ms since the epoch), from /proc/stat, or null. */
function bootTimeMs(): number | null {
  try {
    const m = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
    return m ? Number(m[1]) * 1000 : null;
  } catch {
    return null;
  }
}

/** Linux reports /proc start times in USER_HZ, 100 on every architecture Node runs on. */
const USER_HZ = 100;

/**
 * Whether the lock's holder still runs on this host: its pid is alive AND is the same process.
 * A pid is reused after its process exits (pid 1 always lives), so the process start time must
 * match the one in the lock; a lock without one (older sat) counts as held only when the live
 * process started before the lock was written.
 */
export function holderAlive(holder: LockHolder): boolean {
  if (!processAlive(holder.pid)) return false;
  const ticks = processStartTicks(holder.pid);
  if (ticks === null) return true; // no /proc: the pid is all we can check
  if (holder.procStart !== undefined) return holder.procStart === ticks;
  const boot = bootTimeMs();
  const lockedAt = Date.parse(holder.startedAt);
  if (boot === null || Number.isNaN(lockedAt)) return true;
  return boot + (Number(ticks) * 1000) / USER_HZ <= lockedAt + 2000; // slack: btime is rounded to seconds
}

/** Locks held by this process, released on exit so an interrupted command leaves none behind. */
const held = new Set<string>();
process.once('exit', () => {
  for (const file of held) releaseLockFile(file);
});

function releaseLockFile(file: string): void {
  held.delete(file);
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    if (h.pid === process.pid && h.host === os.hostname()) fs.unlinkSync(file);
  } catch {
    // already gone, or taken over after we were presumed dead: not ours to remove
  }
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return typeof h.host === 'string' && Number.isInteger(h.pid) ? h : null;
  } catch {
    return null;
  }
}

export interface Lock {
  readonly file: string;
  release(): void;
}

/**
 * Takes the folder's lock: a file created exclusively (written beside it, then hard-linked into
 * place, which is atomic on local disks and NFS alike), holding host, pid and start time.
 * A lock of a process that is gone from this host is taken over with a warning; a lock from
 * another host is never taken over (we cannot see its processes): the error says how to remove it.
 */
export function acquireLock(dir: string, warn: (s: string) => void = (s) => console.warn(s)): Lock {
  const file = path.join(dir, RUN_FILES.lock);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw describeWriteError(e, file, 'train into another --out');
  }
  const procStart = processStartTicks(process.pid);
  const me: LockHolder = { host: os.hostname(), pid: process.pid, startedAt: new Date().toISOString(), ...(procStart !== null ? { procStart } : {}) };
  // Not *.tmp: the holder's stale-file cleanup must not remove another process's attempt.
  const draft = `${file}.${me.host}.${me.pid}.new`;
  try {
    fs.writeFileSync(draft, JSON.stringify(me) + '\n');
  } catch (e) {
    throw describeWriteError(e, draft, 'train into another --out');
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.linkSync(draft, file);
        held.add(file);
        return { file, release: () => releaseLockFile(file) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = readHolder(file);
      if (!holder) {
        // Our own protocol never leaves a lock without content, so this one was written by hand
        // or damaged: say so rather than guess whose it is.
        throw new Error(`${file} exists but is not a sat lock (unreadable). If no sat process is training into ${dir}, delete ${file} and run again.`);
      }
      const sameHost = holder.host === me.host;
      if (!sameHost || holderAlive(holder)) {
        const what = sameHost
          ? `Wait for it to finish, stop it (kill ${holder.pid}), or train into another --out.`
          : `It runs on another machine, so sat cannot check whether it is alive: if it is not (on ${holder.host}: ps -p ${holder.pid}), delete ${file} and run again; otherwise train into another --out.`;
        throw new RunLockedError(dir, holder, `${dir} is in use: process ${holder.pid} on ${holder.host} has been training into it since ${holder.startedAt}. ${what}`);
      }
      // Stale: move it aside (rename is atomic, so of two processes taking over, one wins) and
      // check that what we moved is the lock we judged stale, not a fresh one taken meanwhile.
      const aside = `${file}.stale.${me.pid}.new`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue; // someone else moved it first: look again
      }
      const moved = readHolder(aside);
      if (moved && (moved.pid !== holder.pid || moved.startedAt !== holder.startedAt || moved.host !== holder.host)) {
        try {
          fs.linkSync(aside, file); // put the live lock back
        } catch {
          // its owner is gone from the file; the next attempt sees whoever holds it now
        }
        fs.rmSync(aside, { force: true });
        continue;
      }
      fs.rmSync(aside, { force: true });
      warn(`[sat] warning: took over the lock of ${dir} from process ${holder.pid} (started ${holder.startedAt}), which is no longer running${processAlive(holder.pid) ? ` (pid ${holder.pid} now belongs to another process)` : ''}.`);
    }
    throw new Error(`Could not take the lock ${file} after several attempts (other processes keep taking it). Run again.`);
  } finally {
    fs.rmSync(draft, { force: true });
  }
}

/** Removes temporary files that a crash during an atomic write left behind (the lock holder only). */
export function removeStaleTemporaryFiles(dir: string, log: (s: string) => void = () => {}): string[] {
  if (!fs.existsSync(dir)) return [];
  const host = os.hostname();
  // A lock draft (lock.<host>.<pid>.new) is another process's attempt while that process lives.
  const deadDraft = (f: string) => {
    const m = /^lock\.(.+)\.(\d+)\.new$/.exec(f);
    return m !== null && m[1] === host && !processAlive(Number(m[2]));
  };
  const removed = fs.readdirSync(dir).filter((f) => f.endsWith('.tmp') || /\.stale\.\d+\.new$/.test(f) || deadDraft(f));
  for (const f of removed) fs.rmSync(path.join(dir, f), { force: true });
  if (removed.length) log(`[sat] removed ${removed.length} temporary file(s) left by an interrupted write in ${dir}: ${removed.join(', ')}`);
  return removed;
}

/** What a run folder holds: nothing of a run, a run not finished (or being trained), a finished run. */
export type RunState = 'empty' | 'in-progress' | 'finished';

/**
 * Where and how a run was trained, outside its config (which names the run: adding fields to it
 * would change every run id). Written by the trainer when a run starts or resumes; one record
 * per start, the last one first in `provenance.json`.
 */
export type { CostEntry };

export interface Provenance {
  /** The folder the data set was read from (IDX, CIFAR-10 or image folder), when it has one. */
  dataDir?: string;
  /** The data set's description (what and from where), as the loader gives it. */
  dataSource: string;
  /** `git rev-parse HEAD` of the project, or null outside a git checkout. */
  gitCommit: string | null;
  /** Threads of the native kernels (SAT_THREADS, else every core). */
  threads: number | null;
  backend: string;
  node: string;
  host: string;
  startedAt: string;
  /** Epochs done when this start began (0 for a fresh run, more for a resume). */
  fromEpoch: number;
}

export interface OpenOptions {
  /** Warnings (torn metrics line, stale lock) go here; default console.warn. */
  warn?: (s: string) => void;
}

/** A run folder: paths and typed access to its files, with errors that name the file and the fix. */
export class RunFolder {
  readonly dir: string;
  readonly files: RunFiles;
  private readonly warn: (s: string) => void;
  private lock: Lock | null = null;

  constructor(dir: string, opts: OpenOptions = {}) {
    this.dir = path.resolve(dir);
    this.files = runFiles(this.dir);
    this.warn = opts.warn ?? ((s) => console.warn(s));
  }

  /**
   * Opens the folder for writing: creates it, takes the lock (throws RunLockedError when a live
   * process holds it) and removes temporary files an interrupted write left.
   */
  openForWriting(log: (s: string) => void = this.warn): this {
    if (!this.lock) this.lock = acquireLock(this.dir, this.warn);
    removeStaleTemporaryFiles(this.dir, log);
    return this;
  }

  /** Releases the lock (safe to call twice). */
  close(): void {
    this.lock?.release();
    this.lock = null;
  }

  hasConfig(): boolean {
    return fs.existsSync(this.files.config);
  }
  hasCheckpoint(): boolean {
    return fs.existsSync(this.files.checkpoint);
  }
  /** The weights that are the run's model: best.bin for a run that keeps its best epoch (config.keep), else checkpoint.bin. */
  modelFile(): string {
    return this.modelFileOf(this.hasConfig() ? this.readConfig<{ keep?: string }>() : {});
  }
  private modelFileOf(config: { keep?: string }): string {
    return config.keep ? this.files.best : this.files.checkpoint;
  }
  /** Whether a lock file is there (a process trains into the folder, or one died holding it). */
  hasLock(): boolean {
    return fs.existsSync(this.files.lock);
  }
  hasResults(): boolean {
    return fs.existsSync(this.files.results);
  }

  /**
   * The folder's state, from its one committed marker: results.json is written last (after the
   * final checkpoint) and removed first when the run is reopened, so it alone says "finished".
   */
  state(): RunState {
    if (this.hasResults()) return 'finished';
    const any = [this.files.config, this.files.checkpoint, this.files.metrics].some((f) => fs.existsSync(f));
    return any ? 'in-progress' : 'empty';
  }

  isFinished(): boolean {
    return this.state() === 'finished';
  }

  /** The live process training into the folder, or null (no lock, or its holder is gone). */
  activeHolder(): LockHolder | null {
    const holder = readHolder(this.files.lock);
    if (!holder) return null;
    if (holder.host === os.hostname() && !holderAlive(holder)) return null;
    return holder.pid === process.pid && holder.host === os.hostname() ? null : holder;
  }

  /**
   * Why the folder does not hold a finished run that nobody is writing (null when it does): for
   * `sat eval` and `sat export`, which refuse such a run without --allow-unfinished.
   */
  unfinishedReason(): string | null {
    const holder = this.activeHolder();
    if (holder) return `process ${holder.pid} on ${holder.host} is training into it (since ${holder.startedAt}), so its checkpoint is not final`;
    if (!this.isFinished()) return `the run is not finished (no ${RUN_FILES.results}): its checkpoint is of an earlier epoch`;
    return null;
  }

  /**
   * Marks the run as not finished: called before any file of a finished run is rewritten, so an
   * interrupted rewrite never leaves a folder that looks finished.
   */
  reopen(): void {
    fs.rmSync(this.files.results, { force: true });
  }

  /** The config as written (its exact text, for comparing), or null when there is none. */
  configText(): string | null {
    return this.hasConfig() ? fs.readFileSync(this.files.config, 'utf8') : null;
  }

  readConfig<T>(): T {
    if (!this.hasConfig()) throw new Error(`${this.dir} has no ${RUN_FILES.config}: is it a run folder made by 'sat train' (data/runs/<run-id>)?`);
    return readJsonFile<T>(this.files.config, `It says which model and data the run used; restore it from a copy, or delete ${this.dir} and train again.`);
  }

  writeConfig(config: unknown): void {
    writeFileAtomic(this.files.config, JSON.stringify(config, null, 2));
  }

  readMetrics<T>(): T[] {
    return readJsonLines<T>(this.files.metrics, this.warn);
  }

  /** Replaces the log (atomically) with these lines. */
  writeMetrics(lines: unknown[]): void {
    writeFileAtomic(this.files.metrics, lines.map((m) => JSON.stringify(m) + '\n').join(''));
  }

  /** Appends one line; a crash mid-append leaves a torn last line, which readMetrics drops. */
  appendMetrics(line: unknown): void {
    try {
      fs.appendFileSync(this.files.metrics, JSON.stringify(line) + '\n');
    } catch (e) {
      throw describeWriteError(e, this.files.metrics, `the last checkpoint in ${this.dir} is whole: free the disk and continue with --resume`);
    }
  }

  readResults<T>(): T {
    return readJsonFile<T>(this.files.results, `Re-run the evaluation that wrote it (sat eval --run ${this.dir}), or delete the run folder.`);
  }

  writeResults(results: unknown): void {
    writeFileAtomic(this.files.results, JSON.stringify(results, null, 2));
  }

  /** The file of a named evaluation (e.g. 'autoattack-linf-0.1'): evaluations/<name>.json. */
  evaluationFile(name: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`Evaluation name '${name}' may hold only letters, digits, '.', '_' and '-'.`);
    return path.join(this.dir, EVALUATIONS_DIR, `${name}.json`);
  }

  /** Writes a named evaluation's records (atomically) beside the run's own results. */
  writeEvaluation(name: string, evaluation: unknown): string {
    const file = this.evaluationFile(name);
    writeFileAtomic(file, JSON.stringify(evaluation, null, 1) + '\n');
    return file;
  }

  hasEvaluation(name: string): boolean {
    return fs.existsSync(this.evaluationFile(name));
  }

  readEvaluation<T>(name: string): T {
    return readJsonFile<T>(this.evaluationFile(name), `Run the evaluation again (it overwrites the file), or delete it.`);
  }

  /** Names of the evaluations written into this folder, sorted. */
  listEvaluations(): string[] {
    const dir = path.join(this.dir, EVALUATIONS_DIR);
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();
  }

  /** Finished for exactly this config: results and checkpoint written, and the same config.json (what `train` reuses). */
  isFinishedFor(config: unknown): boolean {
    // The config is the folder's (same text), so it says which file is the model without reading config.json again.
    return this.hasResults() && this.hasCheckpoint() && this.configText() === JSON.stringify(config, null, 2) && fs.existsSync(this.modelFileOf(config as { keep?: string }));
  }

  /** The files that make up the run (for copying it whole): config, metrics, checkpoint, results, provenance, cost, evaluations. */
  storedFiles(): string[] {
    const own = [this.files.config, this.files.metrics, this.files.checkpoint, this.files.best, this.files.results, this.files.provenance, this.files.cost].filter((f) => fs.existsSync(f));
    return [...own, ...this.listEvaluations().map((n) => this.evaluationFile(n))];
  }

  /** Records where and how the run starts (provenance.json: this start first, then earlier ones). */
  writeProvenance(p: Provenance): void {
    writeFileAtomic(this.files.provenance, JSON.stringify([p, ...this.readProvenanceHistory()], null, 2) + '\n');
  }

  /** The latest start's provenance, or null for a run trained before provenance was recorded. */
  readProvenance(): Provenance | null {
    return this.readProvenanceHistory()[0] ?? null;
  }

  /** Every start's provenance, the latest first. */
  readProvenanceHistory(): Provenance[] {
    if (!fs.existsSync(this.files.provenance)) return [];
    const v = readJsonFile<Provenance[] | Provenance>(this.files.provenance, `It records where the run was trained; delete it (the run itself is intact).`);
    return Array.isArray(v) ? v : [v];
  }

  /** Appends what one stage of the run cost (cost.json, in the order measured). */
  recordCost(entry: CostEntry): void {
    writeFileAtomic(this.files.cost, JSON.stringify([...this.readCost(), entry], null, 2) + '\n');
  }

  /** Every measured stage, oldest first; empty for a run from before cost was recorded. */
  readCost(): CostEntry[] {
    if (!fs.existsSync(this.files.cost)) return [];
    return readJsonFile<CostEntry[]>(this.files.cost, `It records what the run cost; delete it (the run itself is intact).`);
  }

  /** Removes what an earlier run left (results first, then checkpoint, metrics, provenance, cost, evaluations), for --force. */
  discard(): void {
    this.reopen();
    for (const f of [this.files.checkpoint, this.files.best, this.files.metrics, this.files.provenance, this.files.cost]) fs.rmSync(f, { force: true });
    fs.rmSync(path.join(this.dir, EVALUATIONS_DIR), { recursive: true, force: true });
  }
}

/** Sub-folder of a run folder with its named evaluations (AutoAttack, sanity checks, diagnostics). */
export const EVALUATIONS_DIR = 'evaluations';
