// Who made a run: the code version (git commit, '-dirty' when the tree had changes), the
// thread count (results depend on it at float precision), backend, Node, host and start time.
// Kept beside the config (provenance.json), never in it, so it does not change a run's id.
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import type { Provenance } from '../train/run-folder';
import { projectRoot } from '../util/fs';

/** `git rev-parse HEAD` of the project, '-dirty' when tracked files differ; null outside a git checkout. */
export function gitCommit(root = projectRoot()): string | null {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (head.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.status === 0 && dirty.stdout.trim() ? '-dirty' : ''}`;
}

/** This process's provenance for a run it is about to train. */
export function currentProvenance(backend: string, extra: Record<string, unknown> = {}): Provenance {
  const t = Number(process.env.SAT_THREADS);
  return {
    gitCommit: gitCommit(),
    threads: Number.isInteger(t) && t > 0 ? t : null,
    backend,
    node: process.version,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    ...extra,
  };
}
