// A run's folder, and the only module that knows its layout: config.json (the TrainConfig),
// metrics.jsonl (one line per epoch), checkpoint.bin, results.json (result records) and `lock`
// (who is training into it). The trainer, `sat eval` and lib/report read and write through here.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/fs';

export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  checkpoint: 'checkpoint.bin',
  results: 'results.json',
  lock: 'lock',
} as const;

export type RunFiles = { [K in keyof typeof RUN_FILES]: string };

/** The paths of a run folder's files. */
export function runFiles(dir: string): RunFiles {
  const at = (name: string) => path.join(dir, name);
  return { config: at(RUN_FILES.config), metrics: at(RUN_FILES.metrics), checkpoint: at(RUN_FILES.checkpoint), results: at(RUN_FILES.results), lock: at(RUN_FILES.lock) };
}

export interface LockHolder {
  host: string;
  pid: number;
  startedAt: string;
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
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, RUN_FILES.lock);
  const me: LockHolder = { host: os.hostname(), pid: process.pid, startedAt: new Date().toISOString() };
  // Not *.tmp: the holder's stale-file cleanup must not remove another process's attempt.
  const draft = `${file}.${me.host}.${me.pid}.new`;
  fs.writeFileSync(draft, JSON.stringify(me) + '\n');
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
      if (!sameHost || processAlive(holder.pid)) {
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
      warn(`[sat] warning: took over the lock of ${dir} from process ${holder.pid} (started ${holder.startedAt}), which is no longer running.`);
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
  hasResults(): boolean {
    return fs.existsSync(this.files.results);
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
    fs.appendFileSync(this.files.metrics, JSON.stringify(line) + '\n');
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
    fs.mkdirSync(path.dirname(file), { recursive: true });
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
    return this.hasResults() && this.hasCheckpoint() && this.configText() === JSON.stringify(config, null, 2);
  }

  /** The files that make up the run (for copying it whole): config, metrics, checkpoint, results, provenance, evaluations. */
  storedFiles(): string[] {
    const own = [this.files.config, this.files.metrics, this.files.checkpoint, this.files.results, path.join(this.dir, PROVENANCE_FILE)].filter((f) => fs.existsSync(f));
    return [...own, ...this.listEvaluations().map((n) => this.evaluationFile(n))];
  }

  /** Who made the run: code version, threads, backend, host (provenance.json; outside the hashed config). */
  writeProvenance(p: Provenance): void {
    writeFileAtomic(path.join(this.dir, PROVENANCE_FILE), JSON.stringify(p, null, 2) + '\n');
  }

  readProvenance(): Provenance | null {
    const file = path.join(this.dir, PROVENANCE_FILE);
    return fs.existsSync(file) ? readJsonFile<Provenance>(file, 'It only records who made the run; delete it if it is damaged.') : null;
  }

  /** Removes what an earlier run left (checkpoint, results, metrics, evaluations), for --force. */
  discard(): void {
    for (const f of [this.files.checkpoint, this.files.results, this.files.metrics]) fs.rmSync(f, { force: true });
    fs.rmSync(path.join(this.dir, EVALUATIONS_DIR), { recursive: true, force: true });
  }
}

/** Who made a run (not part of its config, so not part of its id). */
export interface Provenance {
  /** `git rev-parse HEAD` of the code that trained it, with '-dirty' when the tree had changes; null outside git. */
  gitCommit: string | null;
  /** oneDNN/worker threads (SAT_THREADS): results depend on it at float precision. */
  threads: number | null;
  backend: string;
  node: string;
  host: string;
  startedAt: string;
  /** Anything else a writer records (e.g. the data folder a run read). */
  [key: string]: unknown;
}

export const PROVENANCE_FILE = 'provenance.json';

/** Sub-folder of a run folder with its named evaluations (AutoAttack, sanity checks, diagnostics). */
export const EVALUATIONS_DIR = 'evaluations';
