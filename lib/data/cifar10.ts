// CIFAR-10 in its official binary format (cifar-10-batches-bin): each record is one label byte
// and 3072 pixel bytes, channel-planar (1024 R, 1024 G, 1024 B, each 32x32 row-major).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataDir } from '../util/fs';
import type { ImageDataset } from './dataset';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
export const CIFAR10_FOLDER = 'cifar-10-batches-bin';
export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILE = 'test_batch.bin';
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

const SIDE = 32;
const PLANE = SIDE * SIDE;
const PIXEL_BYTES = 3 * PLANE;
export const CIFAR10_RECORD_BYTES = 1 + PIXEL_BYTES;

const HOW_TO_GET =
  `get it with \`sat data cifar10\`, or download ${CIFAR10_URL}, unpack it and copy the folder ` +
  `${CIFAR10_FOLDER} into data/ (or set CIFAR10_DIR to that folder)`;

/** `dir` itself if it holds CIFAR-10 batch files, or its cifar-10-batches-bin child if that does, else null. */
function cifarFolderIn(dir: string): string | null {
  const holds = (d: string) =>
    fs.existsSync(path.join(d, CIFAR10_TEST_FILE)) || fs.existsSync(path.join(d, CIFAR10_TRAIN_FILES[0]));
  if (holds(dir)) return dir;
  const child = path.join(dir, CIFAR10_FOLDER);
  return holds(child) ? child : null;
}

/** Where CIFAR-10 is: CIFAR10_DIR, else data/cifar-10-batches-bin under the project root; null if absent. */
export function findCifar10(): string | null {
  const env = process.env.CIFAR10_DIR;
  if (env) return cifarFolderIn(path.resolve(env));
  return cifarFolderIn(dataDir());
}

function resolveDir(dir?: string): string {
  if (dir !== undefined) {
    const found = cifarFolderIn(path.resolve(dir));
    if (!found) throw new Error(`CIFAR-10 not found in ${path.resolve(dir)} (no ${CIFAR10_TEST_FILE} or ${CIFAR10_TRAIN_FILES[0]} there or in ${CIFAR10_FOLDER}/ below it); ${HOW_TO_GET}`);
    return found;
  }
  const found = findCifar10();
  if (found) return found;
  const looked = process.env.CIFAR10_DIR ? `CIFAR10_DIR=${process.env.CIFAR10_DIR}` : path.join(dataDir(), CIFAR10_FOLDER);
  throw new Error(`CIFAR-10 not found (looked in ${looked}); ${HOW_TO_GET}`);
}

/** Class names from batches.meta.txt when present (10 non-empty lines), else the standard names. */
function readClassNames(dir: string): string[] {
  const file = path.join(dir, 'batches.meta.txt');
  if (!fs.existsSync(file)) return CIFAR10_CLASSES.slice();
  const names = fs.readFileSync(file, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length !== 10) {
    throw new Error(`${file}: expected 10 class names (one per line), found ${names.length}; the file is damaged: ${HOW_TO_GET}`);
  }
  return names;
}

/** Number of records in a batch file, after checking that its size is a whole number of records. */
function recordCount(file: string): number {
  if (!fs.existsSync(file)) throw new Error(`CIFAR-10 file ${file} is missing; ${HOW_TO_GET}`);
  const bytes = fs.statSync(file).size;
  if (bytes === 0 || bytes % CIFAR10_RECORD_BYTES !== 0) {
    throw new Error(
      `CIFAR-10 file ${file} has ${bytes} bytes, not a positive multiple of ${CIFAR10_RECORD_BYTES} ` +
        `(1 label byte + 3072 pixel bytes per record; official files have 10000 records): ` +
        `it is truncated or not the CIFAR-10 binary version; ${HOW_TO_GET}`,
    );
  }
  return bytes / CIFAR10_RECORD_BYTES;
}

/** Decodes `count` records from `buf` into NHWC float pixels starting at image `first`. */
function decodeRecords(buf: Buffer, count: number, file: string, images: Float32Array, labels: Int32Array, first: number): void {
  const scale = new Float32Array(256);
  for (let v = 0; v < 256; v++) scale[v] = v / 255;
  for (let r = 0; r < count; r++) {
    const rec = r * CIFAR10_RECORD_BYTES;
    const label = buf[rec];
    if (label > 9) {
      throw new Error(`CIFAR-10 file ${file}: record ${r} has label ${label}, outside 0..9 (is this CIFAR-100's binary format?); ${HOW_TO_GET}`);
    }
    const i = first + r;
    labels[i] = label;
    const out = i * PIXEL_BYTES;
    for (let p = 0; p < PLANE; p++) {
      const o = out + p * 3;
      images[o] = scale[buf[rec + 1 + p]];
      images[o + 1] = scale[buf[rec + 1 + PLANE + p]];
      images[o + 2] = scale[buf[rec + 1 + 2 * PLANE + p]];
    }
  }
}

/** Reads `count` records from the start of `file`. */
function readRecords(file: string, count: number): Buffer {
  const buf = Buffer.alloc(count * CIFAR10_RECORD_BYTES);
  const fd = fs.openSync(file, 'r');
  try {
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) throw new Error(`CIFAR-10 file ${file} ended early while reading (${got} of ${buf.length} bytes); ${HOW_TO_GET}`);
      got += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}

export interface Cifar10Options {
  /** The cifar-10-batches-bin folder or its parent; default CIFAR10_DIR, else data/. */
  dir?: string;
  split: 'train' | 'test';
  /** Load only the first `limit` records (in file order; the official files are in random order). */
  limit?: number;
}

/** Loads a CIFAR-10 split as NHWC float32 pixels in [0,1]. Only the records needed are read. */
export function loadCifar10(opts: Cifar10Options): ImageDataset {
  if (opts.split !== 'train' && opts.split !== 'test') throw new Error(`CIFAR-10 split must be 'train' or 'test', got '${opts.split}'`);
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit > 0)) {
    throw new Error(`CIFAR-10 limit must be a positive integer, got ${opts.limit}`);
  }
  const dir = resolveDir(opts.dir);
  const files = (opts.split === 'train' ? CIFAR10_TRAIN_FILES : [CIFAR10_TEST_FILE]).map((f) => path.join(dir, f));
  const counts = files.map(recordCount); // validates every file before any large allocation
  const total = counts.reduce((a, b) => a + b, 0);
  const n = Math.min(total, opts.limit ?? total);
  const images = new Float32Array(n * PIXEL_BYTES);
  const labels = new Int32Array(n);
  let filled = 0;
  for (let f = 0; f < files.length && filled < n; f++) {
    const take = Math.min(counts[f], n - filled);
    decodeRecords(readRecords(files[f], take), take, files[f], images, labels, filled);
    filled += take;
  }
  return {
    name: 'cifar10',
    images,
    labels,
    n,
    height: SIDE,
    width: SIDE,
    channels: 3,
    numClasses: 10,
    classNames: readClassNames(dir),
  };
}
