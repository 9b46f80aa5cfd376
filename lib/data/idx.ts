// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte magic
// number (two zero bytes, a type code, the number of dimensions), one big-endian uint32 per
// dimension, then the values row-major. Files come gzip-compressed (*.gz) or plain; both read here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { ImageDataset } from './dataset';

/** The only IDX element type these data sets use. */
const UBYTE = 0x08;

export interface IdxArray {
  /** Size of each dimension, e.g. [60000, 28, 28] for images, [60000] for labels. */
  dims: number[];
  data: Uint8Array;
}

/**
 * Reads one IDX file of unsigned bytes (gzip or plain). `fix` is appended to every error
 * message: how to get a good copy of the file.
 */
export function readIdx(file: string, fix = 'download the file again'): IdxArray {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ${fix}`);
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = zlib.gunzipSync(raw);
    } catch (e) {
      throw new Error(`${file}: the gzip data is damaged or truncated (${(e as Error).message}); ${fix}`);
    }
  }
  return parseIdx(raw, file, fix);
}

/** Parses IDX bytes (already decompressed); `file` and `fix` name the source in errors. */
export function parseIdx(bytes: Uint8Array, file: string, fix = 'download the file again'): IdxArray {
  const fail = (why: string) => new Error(`${file}: ${why}; ${fix}`);
  if (bytes.length < 4) throw fail(`${bytes.length} bytes is too short for an IDX file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== UBYTE || bytes[3] < 1) {
    throw fail(`wrong magic number 0x${magic.toString(16).padStart(8, '0')} (an IDX file of unsigned bytes starts with 0x00000801 for labels or 0x00000803 for images): not an IDX file`);
  }
  const rank = bytes[3];
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw fail(`the header of ${rank} dimensions is cut off`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - header !== count) {
    throw fail(`the header promises ${dims.join('x')} = ${count} values but the file holds ${bytes.length - header} (truncated or damaged)`);
  }
  return { dims, data: bytes.subarray(header) };
}

/**
 * An image data set from an IDX images file (N x H x W bytes, 0 = background) and an IDX
 * labels file (N bytes). Pixels become float32 in [0, 1].
 */
export function loadIdxPair(
  imagesFile: string,
  labelsFile: string,
  meta: { name: string; classNames: string[]; fix: string },
): ImageDataset {
  const img = readIdx(imagesFile, meta.fix);
  const lab = readIdx(labelsFile, meta.fix);
  if (img.dims.length !== 3) throw new Error(`${imagesFile}: expected 3 dimensions (images x rows x columns), found ${img.dims.length}; is this a labels file? ${meta.fix}`);
  if (lab.dims.length !== 1) throw new Error(`${labelsFile}: expected 1 dimension (labels), found ${lab.dims.length}; is this an images file? ${meta.fix}`);
  const [n, height, width] = img.dims;
  if (lab.dims[0] !== n) {
    throw new Error(`${imagesFile} holds ${n} images but ${labelsFile} holds ${lab.dims[0]} labels: the two files are from different sets or one is damaged; ${meta.fix}`);
  }
  const numClasses = meta.classNames.length;
  for (let i = 0; i < n; i++) {
    if (lab.data[i] >= numClasses) throw new Error(`${labelsFile}: label ${lab.data[i]} at index ${i} is outside 0..${numClasses - 1}; ${meta.fix}`);
  }
  const images = new Float32Array(img.data.length);
  for (let i = 0; i < images.length; i++) images[i] = img.data[i] / 255;
  return { name: meta.name, images, labels: Int32Array.from(lab.data), n, height, width, channels: 1, numClasses, classNames: meta.classNames.slice() };
}

/** `dir/base.gz` if present, else `dir/base` if present, else null. */
export function findIdxFile(dir: string, base: string): string | null {
  for (const f of [`${base}.gz`, base]) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/** The standard file names of the MNIST family, by split. */
export const IDX_FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/** True when `dir` holds both files of both splits (gzip or plain). */
export function holdsIdxSet(dir: string): boolean {
  return Object.values(IDX_FILES).every((f) => findIdxFile(dir, f.images) && findIdxFile(dir, f.labels));
}

/** The first of `dirs` that holds a complete IDX set, or null. */
export function firstIdxDir(dirs: string[]): string | null {
  return dirs.find((d) => holdsIdxSet(d)) ?? null;
}

/** The image counts of the published MNIST and Fashion-MNIST splits. */
export const IDX_SPLIT_SIZES = { train: 60000, test: 10000 } as const;

/** SAT_DATA_SUBSET=1 says a folder holding fewer images than the published set is intended. */
export function dataSubsetAllowed(env = process.env.SAT_DATA_SUBSET): boolean {
  return ['1', 'true', 'yes', 'on'].includes((env ?? '').trim().toLowerCase());
}

/**
 * Loads one split of an MNIST-style IDX set from `dir`; `meta.fix` says how to get the files.
 * Missing files fail with the paths looked for. With `meta.expected`, a split of another size is
 * refused (a folder of 300 images is not 'mnist-full') unless SAT_DATA_SUBSET=1.
 */
export function loadIdxSplit(dir: string, split: 'train' | 'test', meta: { name: string; classNames: string[]; fix: string; expected?: Record<'train' | 'test', number> }): ImageDataset {
  const f = IDX_FILES[split];
  const images = findIdxFile(dir, f.images);
  const labels = findIdxFile(dir, f.labels);
  if (!images || !labels) {
    const missing = [!images && f.images, !labels && f.labels].filter(Boolean).map((b) => path.join(dir, `${b}.gz`));
    throw new Error(`${meta.name}: missing ${missing.join(' and ')} (or the same without .gz); ${meta.fix}`);
  }
  const ds = loadIdxPair(images, labels, meta);
  const want = meta.expected?.[split];
  if (want !== undefined && ds.n !== want && !dataSubsetAllowed()) {
    throw new Error(
      `${meta.name}: ${images} holds ${ds.n} ${split} images, but ${meta.name} has ${want}: the folder ${dir} holds another or a partial set. ` +
        `Point the data folder at the complete set (${meta.fix}), or set SAT_DATA_SUBSET=1 if a subset is intended (use --train-limit/--test-limit to train on fewer images of the full set).`,
    );
  }
  return ds;
}
