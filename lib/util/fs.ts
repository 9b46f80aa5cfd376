// File helpers: atomic writes (never a half-written file on a crash) and the project root.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeWriteError } from './fs-errors';

/**
 * Writes via a temporary file in the same folder, fsync, then rename: readers see old or new.
 * A failure removes the temporary file and says which path failed and why (disk full,
 * read-only, a folder in the way), in one message.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing was created, or the folder cannot be touched at all
    }
    throw describeWriteError(e, file);
  }
}

/** The folder holding this project's package.json (found from this file, not the cwd). */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** The project's data folder: data/ under the project root, or SAT_DATA_DIR (tests use a scratch folder). */
export function dataDir(): string {
  return process.env.SAT_DATA_DIR ? path.resolve(process.env.SAT_DATA_DIR) : path.join(projectRoot(), 'data');
}

/** `data/runs` under the project root, or SAT_RUNS_DIR. */
export function runsDir(): string {
  return process.env.SAT_RUNS_DIR ?? path.join(projectRoot(), 'data', 'runs');
}

/** The committed results store: `results/` under the project root, or SAT_RESULTS_DIR (tests use a scratch folder). */
export function resultsDir(): string {
  return process.env.SAT_RESULTS_DIR ? path.resolve(process.env.SAT_RESULTS_DIR) : path.join(projectRoot(), 'results');
}
