// One message for a file-system error: the path, the cause in words, and what to do. Node's own
// messages ("ENOENT: no such file or directory, mkdir '...'") name the call, not the cause: a new
// folder on a read-only mount fails with ENOENT, a file in place of a folder with EEXIST/ENOTDIR.
import * as fs from 'node:fs';
import * as path from 'node:path';

const CAUSES: Record<string, string> = {
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a part of the path is a file, not a folder',
  ENOENT: 'its folder does not exist',
};

/** The nearest existing folder (or file) on the way up from `p`. */
function nearestExisting(p: string): string {
  let at = path.resolve(p);
  while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  return at;
}

/** Why `file` cannot be written, judged from the path itself (null when nothing is visibly wrong). */
function causeFromPath(file: string, code: string): string | null {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) return `${file} is a folder, not a file`;
  const parent = path.dirname(path.resolve(file));
  const base = nearestExisting(parent);
  if (!fs.statSync(base).isDirectory()) return `${base} is a file, not a folder`;
  try {
    fs.accessSync(base, fs.constants.W_OK);
  } catch {
    return `${base} cannot be written (read-only file system or no permission)`;
  }
  if (base === parent && code === 'ENOENT') return `files cannot be created in ${parent} (a virtual or special file system)`;
  return null;
}

/**
 * Why `file` could not be written, checked before expensive work: a folder in its place, a file
 * in place of a folder on its path, or a folder that cannot be written. Null when it looks fine.
 */
export function writeProblem(file: string): string | null {
  try {
    return causeFromPath(file, 'EACCES');
  } catch (e) {
    return `${file} cannot be inspected (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

/** An error a user can act on: "cannot write FILE: CAUSE (CODE). FIX". */
export class FileSystemError extends Error {
  constructor(readonly path: string, readonly code: string, message: string) {
    super(message);
    this.name = 'FileSystemError';
  }
}

/**
 * Turns a Node file-system error met while writing `file` into one message naming the path and
 * the cause; other errors pass through unchanged.
 */
export function describeWriteError(e: unknown, file: string, fix = 'choose another path, or free or fix the disk, and run again'): Error {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err.code !== 'string' || !(err.code in CAUSES) || e instanceof FileSystemError) return e as Error;
  // The path tells more than the code when the code is ENOENT/EEXIST from mkdir or rename.
  let cause = CAUSES[err.code];
  if (['ENOENT', 'EEXIST', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'EROFS'].includes(err.code)) {
    try {
      cause = causeFromPath(file, err.code) ?? cause;
    } catch {
      // the path cannot even be inspected: keep the code's cause
    }
  }
  return new FileSystemError(file, err.code, `cannot write ${file}: ${cause} (${err.code}); ${fix}.`);
}
