// ImageNet-style image folders (root/train/<class>/*.JPEG, root/val/<class>/*): decoding, the
// standard train/eval preprocessing, and streaming batches that decode one batch at a time.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Batch, ImageDataset } from './dataset';
import { dataDir } from '../util/fs';
import { SYNTHETIC_MARKER } from './synthetic';
import { makeRng, permutation, type Rng } from '../util/rng';

const IMAGE_FILE = /\.(jpe?g|png)$/i;
const LAYOUT =
  'expected root/train/<class>/*.JPEG|jpg|png and root/val/<class>/* (or a root holding class folders directly); ' +
  'for a small ImageNet subset get Imagenette from https://github.com/fastai/imagenette and unpack it, ' +
  'or generate a stand-in with syntheticImageFolder()';

/** Where an ImageNet-style folder is: IMAGENET_DIR, else data/imagenet under the project root; null if absent. */
export function findImageFolder(): string | null {
  const dir = process.env.IMAGENET_DIR ? path.resolve(process.env.IMAGENET_DIR) : path.join(dataDir(), 'imagenet');
  return fs.existsSync(dir) ? dir : null;
}

// ---------------------------------------------------------------------------------------------
// Listing files

export interface ImageFolderIndex {
  /** e.g. 'imagenette2-160' or 'synthetic-imagenet' (the root folder's name). */
  name: string;
  root: string;
  /** The folder whose subfolders are the classes. */
  dir: string;
  classNames: string[];
  /** Image paths and their class indices, grouped by class in sorted order. */
  files: string[];
  labels: Int32Array;
  synthetic: boolean;
}

export interface ScanOptions {
  root: string;
  split?: 'train' | 'val';
  /** At most this many images, spread over the classes round-robin. */
  limit?: number;
  /** At most this many images per class (the first in sorted file order). */
  perClass?: number;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function visibleEntries(dir: string): string[] {
  return fs.readdirSync(dir).filter((e) => !e.startsWith('.')).sort();
}

/** The folder holding the class folders for a split: root/<split>, or root itself when it holds classes directly. */
function classRoot(root: string, split: string): string {
  if (!isDir(root)) throw new Error(`image folder ${root} does not exist; ${LAYOUT}`);
  if (isDir(path.join(root, split))) return path.join(root, split);
  if (isDir(path.join(root, 'train')) || isDir(path.join(root, 'val'))) {
    throw new Error(`image folder ${root} has no '${split}' folder; ${LAYOUT}`);
  }
  return root;
}

function checkCount(what: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new Error(`image folder: ${what} must be a positive integer, got ${v}`);
}

/**
 * A copy of `s` stored as one flat string. path.join builds strings V8 keeps as ropes of their
 * parts: ImageNet's 1.28 M paths took 533 MB so and take 103 MB flat (measured with node 20).
 */
function flatString(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/** Lists an image folder's classes (sorted folder names give the class indices) and files. */
export function scanImageFolder(opts: ScanOptions): ImageFolderIndex {
  checkCount('limit', opts.limit);
  checkCount('perClass', opts.perClass);
  const root = path.resolve(opts.root);
  const dir = classRoot(root, opts.split ?? 'train');
  const classNames = visibleEntries(dir).filter((e) => isDir(path.join(dir, e)));
  if (classNames.length === 0) throw new Error(`image folder ${dir} has no class folders; ${LAYOUT}`);
  const perClassFiles = classNames.map((c) => {
    const entries = visibleEntries(path.join(dir, c));
    const files = entries.filter((f) => IMAGE_FILE.test(f));
    // Only entries that are not image files are stat'ed: ImageNet's 1.28 M files cost nothing extra.
    const nested = entries.filter((f) => !IMAGE_FILE.test(f) && isDir(path.join(dir, c, f)));
    if (nested.length) {
      throw new Error(`class folder ${path.join(dir, c)} holds sub-folders (${nested.slice(0, 3).join(', ')}${nested.length > 3 ? ', ...' : ''}) whose images would be left out: a class folder holds its images directly; move them up into ${path.join(dir, c)}, or remove the sub-folders`);
    }
    if (files.length === 0) throw new Error(`class folder ${path.join(dir, c)} has no images (.JPEG, .jpg, .jpeg or .png); remove it or add images`);
    return files.slice(0, opts.perClass ?? files.length).map((f) => path.join(dir, c, f));
  });
  // Round-robin over classes so that a limit keeps the classes balanced.
  const picked: number[][] = perClassFiles.map(() => []);
  let total = 0;
  const want = Math.min(opts.limit ?? Infinity, perClassFiles.reduce((a, f) => a + f.length, 0));
  for (let j = 0; total < want; j++) {
    for (let k = 0; k < classNames.length && total < want; k++) {
      if (j < perClassFiles[k].length) {
        picked[k].push(j);
        total++;
      }
    }
  }
  const files: string[] = [];
  const labels = new Int32Array(total);
  picked.forEach((js, k) => js.forEach((j) => {
    labels[files.length] = k;
    files.push(flatString(perClassFiles[k][j]));
  }));
  const name = path.basename(root);
  const synthetic = fs.existsSync(path.join(root, SYNTHETIC_MARKER)) || name.toLowerCase().includes('synthetic');
  return { name, root, dir, classNames, files, labels, synthetic };
}

export {
  type RgbImage, decodeImage, type Box, randomResizedCropBox, centerCropBox, resizeBox, type PreprocessMode, preprocessImage,
} from './stream/image-ops';
import { decodeImage, preprocessImage, type PreprocessMode } from './stream/image-ops';

// ---------------------------------------------------------------------------------------------
// Batches

export interface Progress {
  done: number;
  total: number;
  elapsedSec: number;
  imagesPerSec: number;
}
export type ProgressCallback = (p: Progress) => void;

/** A progress callback that draws one updating line on stderr (a line per 10% when not a terminal). */
export function progressBar(label = 'images', stream: NodeJS.WriteStream = process.stderr): ProgressCallback {
  let lastTenth = -1;
  return (p) => {
    const frac = p.total > 0 ? p.done / p.total : 1;
    const width = 30;
    const filled = Math.round(frac * width);
    const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.done}/${p.total} ${p.imagesPerSec.toFixed(1)} img/s`;
    if (stream.isTTY) {
      stream.write(`\r${line}${p.done >= p.total ? '\n' : ''}`);
    } else if (Math.floor(frac * 10) > lastTenth || p.done >= p.total) {
      lastTenth = Math.floor(frac * 10);
      stream.write(`${line}\n`);
    }
  };
}

/** Calls `onProgress` with rates measured from the moment this is created. */
function progressReporter(total: number, onProgress?: ProgressCallback): (done: number) => void {
  const started = Date.now();
  return (done) => {
    if (!onProgress) return;
    const elapsedSec = (Date.now() - started) / 1000;
    onProgress({ done, total, elapsedSec, imagesPerSec: elapsedSec > 0 ? done / elapsedSec : 0 });
  };
}

/** Reads, decodes and preprocesses the images `ids` of `index` into `pixels`/`labels` (from position 0). */
async function readImages(index: ImageFolderIndex, ids: ArrayLike<number>, size: number, mode: PreprocessMode, rng: Rng, pixels: Float32Array, labels: Int32Array, cropFraction?: number): Promise<void> {
  const files = Array.from(ids, (j) => index.files[j]);
  const bufs = await Promise.all(files.map((f) => fs.promises.readFile(f)));
  for (let i = 0; i < files.length; i++) {
    preprocessImage(decodeImage(bufs[i], files[i]), size, mode, rng, pixels, i * size * size * 3, cropFraction);
    labels[i] = index.labels[ids[i]];
  }
}

export interface StreamOptions {
  /** Output side length (e.g. 224). */
  size: number;
  batchSize: number;
  /** Default: 'train' augmentation for a train index, else 'eval'. */
  mode?: PreprocessMode;
  shuffleSeed?: number;
  augmentSeed?: number;
  /** Keep a last batch smaller than batchSize (default true). */
  keepLast?: boolean;
  /** 'eval' mode: the center crop's share of the resized shorter side (default 0.875). */
  cropFraction?: number;
  onProgress?: ProgressCallback;
}

export function numImageFolderBatches(index: ImageFolderIndex, opts: Pick<StreamOptions, 'batchSize' | 'keepLast'>): number {
  const n = index.files.length;
  return (opts.keepLast ?? true) ? Math.ceil(n / opts.batchSize) : Math.floor(n / opts.batchSize);
}

function defaultMode(index: ImageFolderIndex): PreprocessMode {
  return path.basename(index.dir) === 'train' ? 'train' : 'eval';
}

/**
 * Streams batches (x [N,size,size,3] in [0,1], y int32), reading and decoding only one batch
 * of files at a time. The caller owns each batch and must dispose it.
 */
export async function* imageFolderBatches(index: ImageFolderIndex, opts: StreamOptions): AsyncGenerator<Batch> {
  checkCount('size', opts.size);
  checkCount('batchSize', opts.batchSize);
  const n = index.files.length;
  const mode = opts.mode ?? defaultMode(index);
  const order = opts.shuffleSeed === undefined ? null : permutation(n, makeRng(opts.shuffleSeed));
  const rng = makeRng(opts.augmentSeed ?? opts.shuffleSeed ?? 0);
  const count = numImageFolderBatches(index, opts);
  const progress = progressReporter(Math.min(n, count * opts.batchSize), opts.onProgress);
  for (let b = 0; b < count; b++) {
    const start = b * opts.batchSize;
    const m = Math.min(opts.batchSize, n - start);
    const ids = Int32Array.from({ length: m }, (_, i) => (order ? order[start + i] : start + i));
    const pixels = new Float32Array(m * opts.size * opts.size * 3);
    const labels = new Int32Array(m);
    await readImages(index, ids, opts.size, mode, rng, pixels, labels, opts.cropFraction);
    progress(start + m);
    yield { x: tf.tensor4d(pixels, [m, opts.size, opts.size, 3]), y: tf.tensor1d(labels, 'int32') };
  }
}

export interface LoadImageFolderOptions extends ScanOptions {
  size: number;
  /**
   * Default 'eval' (deterministic center crop): a materialised set should be augmented per
   * batch (e.g. padCropFlip), since one fixed random crop would freeze a single augmentation.
   */
  mode?: PreprocessMode;
  seed?: number;
  onProgress?: ProgressCallback;
}

/** Reads a (small) split into memory as an ImageDataset of size x size x 3 images. */
export async function loadImageFolder(opts: LoadImageFolderOptions): Promise<ImageDataset> {
  checkCount('size', opts.size);
  const index = scanImageFolder(opts);
  const n = index.files.length;
  const imageSize = opts.size * opts.size * 3;
  const images = new Float32Array(n * imageSize);
  const labels = new Int32Array(n);
  const rng = makeRng(opts.seed ?? 0);
  const chunk = 64;
  const progress = progressReporter(n, opts.onProgress);
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const ids = Int32Array.from({ length: m }, (_, i) => start + i);
    await readImages(index, ids, opts.size, opts.mode ?? 'eval', rng, images.subarray(start * imageSize), labels.subarray(start));
    progress(start + m);
  }
  return {
    name: index.name,
    images,
    labels,
    n,
    height: opts.size,
    width: opts.size,
    channels: 3,
    numClasses: index.classNames.length,
    classNames: index.classNames,
    ...(index.synthetic ? { synthetic: true } : {}),
  };
}
