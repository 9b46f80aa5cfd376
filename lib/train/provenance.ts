// Where and how a run is trained, for its run folder's provenance.json (RunFolder.writeProvenance):
// the data folder, the project's git commit, the native thread count, the backend, Node and host.
// Kept outside the TrainConfig, whose hash names the run.
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { DataSplits } from '../data';
import { threadsFromEnv } from '../kernels/native-addon';
import { projectRoot } from '../util/fs';
import type { Provenance } from './run-folder';

/** `git rev-parse HEAD` of the project with '-dirty' when tracked files differ from it, or null outside a git checkout (or without git). */
export function gitCommit(root = projectRoot()): string | null {
  const git = (args: string[]) => execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim();
  try {
    const head = git(['rev-parse', 'HEAD']);
    if (!head) return null;
    return git(['status', '--porcelain', '--untracked-files=no']) ? `${head}-dirty` : head;
  } catch {
    return null;
  }
}

/** Threads of the native kernels (SAT_THREADS, else every core); null when SAT_THREADS is invalid. */
function threads(): number | null {
  try {
    return threadsFromEnv();
  } catch {
    return null;
  }
}

/** This process's provenance for a run that starts (or resumes, after `fromEpoch` epochs) on `data`. */
export function collectProvenance({ data, fromEpoch }: { data: Pick<DataSplits, 'dir' | 'source'>; fromEpoch: number }): Provenance {
  return {
    ...(data.dir !== undefined ? { dataDir: data.dir } : {}),
    dataSource: data.source,
    gitCommit: gitCommit(),
    threads: threads(),
    backend: tf.getBackend(),
    node: process.version,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    fromEpoch,
  };
}

/** The native threads a run trained on, from its provenance history (one record per start, the latest first): "1 thread", or "1 thread (epochs 1-16), 2 threads (epochs 17-40)" for a run resumed on others; "threads unrecorded" without one. */
export function threadsByEpoch(history: readonly Provenance[], epochs: number): string {
  const starts = history.slice().reverse();
  const name = (n: number | null | undefined) => (n == null ? 'threads unrecorded' : `${n} thread${n === 1 ? '' : 's'}`);
  const segments = starts.filter((p, i) => i === 0 || p.threads !== starts[i - 1].threads);
  if (segments.length <= 1) return name(segments[0]?.threads);
  const span = (from: number, to: number) => (from === to ? `epoch ${from}` : `epochs ${from}-${to}`);
  return segments.map((p, i) => `${name(p.threads)} (${span(p.fromEpoch + 1, segments[i + 1]?.fromEpoch ?? epochs)})`).join(', ');
}

/**
 * A warning when a run resumes on another native thread count than it started on: threads sum in
 * another order, so from here its numbers differ at float precision from an uninterrupted run (a
 * ReLU input within float error of 0 can flip its mask). Undefined when they match or are unknown.
 */
export function threadsChangeWarning(history: readonly Provenance[], now: Provenance): string | undefined {
  const first = history[history.length - 1]?.threads;
  if (first == null || now.threads == null || first === now.threads) return undefined;
  return `[sat] warning: this run started on ${first} native thread(s) and resumes on ${now.threads}; from here its numbers differ at float precision from an uninterrupted run. Set SAT_THREADS=${first} to resume it as it started.`;
}
