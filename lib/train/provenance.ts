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
