// ImageNet-style image folders (root/train/<class>/*.JPEG, root/val/<class>/*): decoding, the
// standard train/eval preprocessing, and streaming batches that decode one batch at a time.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
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

/** Lists an image folder's classes (sorted folder names give the class indices) and files. */
export function scanImageFolder(opts: ScanOptions): ImageFolderIndex {
  checkCount('limit', opts.limit);
  checkCount('perClass', opts.perClass);
  const root = path.resolve(opts.root);
  const dir = classRoot(root, opts.split ?? 'train');
  const classNames = visibleEntries(dir).filter((e) => isDir(path.join(dir, e)));
  if (classNames.length === 0) throw new Error(`image folder ${dir} has no class folders; ${LAYOUT}`);
  const perClassFiles = classNames.map((c) => {
    const files = visibleEntries(path.join(dir, c)).filter((f) => IMAGE_FILE.test(f));
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
    files.push(perClassFiles[k][j]);
  }));
  const name = path.basename(root);
  const synthetic = fs.existsSync(path.join(root, SYNTHETIC_MARKER)) || name.toLowerCase().includes('synthetic');
  return { name, root, dir, classNames, files, labels, synthetic };
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** 8-bit RGB pixels, row-major, 3 channels. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Decodes a JPEG or PNG (told apart by content, not name) to RGB; grayscale and CMYK become RGB, alpha is dropped. */
export function decodeImage(buf: Uint8Array, file: string): RgbImage {
  const isJpeg = buf.length > 2 && buf[0] === 0xff && buf[1] === 0xd8;
  const isPng = buf.length > 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47;
  if (!isJpeg && !isPng) {
    throw new Error(`cannot decode image ${file}: not a JPEG or PNG (first bytes ${Buffer.from(buf.subarray(0, 4)).toString('hex')}); delete or replace the file`);
  }
  try {
    if (isJpeg) {
      // jpeg-js already turns 1-channel (grayscale) and 4-channel (CMYK) JPEGs into RGB.
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false });
      return { data: img.data, width: img.width, height: img.height };
    }
    // pngjs always yields 8-bit RGBA (grayscale, palette and 16-bit are converted).
    const png = PNG.sync.read(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
    const n = png.width * png.height;
    const data = new Uint8Array(n * 3);
    for (let p = 0; p < n; p++) {
      data[p * 3] = png.data[p * 4];
      data[p * 3 + 1] = png.data[p * 4 + 1];
      data[p * 3 + 2] = png.data[p * 4 + 2];
    }
    return { data, width: png.width, height: png.height };
  } catch (e) {
    throw new Error(`cannot decode image ${file}: ${(e as Error).message}; delete or replace the file`);
  }
}

// ---------------------------------------------------------------------------------------------
// Crops and resizing

/** A rectangle in source pixel coordinates (may be fractional). */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng();
const randint = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1)); // inclusive

/**
 * The Inception/ResNet random-resized-crop box (torchvision's RandomResizedCrop): a random area
 * fraction in `scale` and aspect ratio (log-uniform) in `ratio`, 10 tries, then a center crop.
 */
export function randomResizedCropBox(width: number, height: number, rng: Rng, scale: [number, number] = [0.08, 1], ratio: [number, number] = [3 / 4, 4 / 3]): Box {
  const area = width * height;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * uniform(rng, scale[0], scale[1]);
    const aspect = Math.exp(uniform(rng, Math.log(ratio[0]), Math.log(ratio[1])));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { y: randint(rng, 0, height - h), x: randint(rng, 0, width - w), w, h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), w, h };
}

/**
 * The evaluation crop as a source box: resize the shorter side to floor(size / cropFraction)
 * (256 for 224), then take the center size x size, as in the ResNet/timm recipe.
 */
export function centerCropBox(width: number, height: number, size: number, cropFraction = 0.875): Box {
  const short = Math.floor(size / cropFraction);
  const ow = width <= height ? short : Math.floor((short * width) / height);
  const oh = width <= height ? Math.floor((short * height) / width) : short;
  const sx = width / ow;
  const sy = height / oh;
  return { x: Math.round((ow - size) / 2) * sx, y: Math.round((oh - size) / 2) * sy, w: size * sx, h: size * sy };
}

interface Taps {
  first: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  stride: number;
}

/**
 * Bilinear (triangle) filter taps mapping `outSize` samples onto [start, start+span) of an axis
 * of `inSize` pixels, with pixel centres at i+0.5. When shrinking, the triangle widens with the
 * scale (antialiasing, as PIL does), so a large downscale averages instead of skipping pixels.
 */
function filterTaps(inSize: number, outSize: number, start: number, span: number): Taps {
  const scale = span / outSize;
  const support = Math.max(scale, 1);
  const stride = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * stride);
  for (let o = 0; o < outSize; o++) {
    const center = start + (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support));
    const hi = Math.min(inSize, Math.ceil(center + support));
    let sum = 0;
    for (let i = lo; i < hi; i++) {
      const w = Math.max(0, 1 - Math.abs(i + 0.5 - center) / support);
      weights[o * stride + i - lo] = w;
      sum += w;
    }
    if (sum > 0) {
      first[o] = lo;
      count[o] = hi - lo;
      for (let t = 0; t < hi - lo; t++) weights[o * stride + t] /= sum;
    } else {
      // Only for a centre outside the image: take the nearest edge pixel.
      first[o] = Math.min(inSize - 1, Math.max(0, Math.floor(center)));
      count[o] = 1;
      weights[o * stride] = 1;
    }
  }
  return { first, count, weights, stride };
}

/**
 * Resamples `box` of `img` to outW x outH with a separable bilinear filter and writes float RGB
 * in [0,1] to `out` at `offset` (mirrored left-right when `flip`).
 */
export function resizeBox(img: RgbImage, box: Box, outW: number, outH: number, out: Float32Array, offset = 0, flip = false): void {
  const tx = filterTaps(img.width, outW, box.x, box.w);
  const ty = filterTaps(img.height, outH, box.y, box.h);
  const rowLo = ty.first[0];
  const rowHi = ty.first[outH - 1] + ty.count[outH - 1];
  // Horizontal pass over only the source rows the vertical pass needs.
  const tmp = new Float32Array((rowHi - rowLo) * outW * 3);
  for (let r = rowLo; r < rowHi; r++) {
    const src = r * img.width * 3;
    const dst = (r - rowLo) * outW * 3;
    for (let ox = 0; ox < outW; ox++) {
      let a = 0, b = 0, c = 0;
      const f = tx.first[ox];
      const wo = ox * tx.stride;
      for (let t = 0; t < tx.count[ox]; t++) {
        const w = tx.weights[wo + t];
        const s = src + (f + t) * 3;
        a += w * img.data[s];
        b += w * img.data[s + 1];
        c += w * img.data[s + 2];
      }
      const d = dst + ox * 3;
      tmp[d] = a;
      tmp[d + 1] = b;
      tmp[d + 2] = c;
    }
  }
  for (let oy = 0; oy < outH; oy++) {
    const f = ty.first[oy] - rowLo;
    const wo = oy * ty.stride;
    for (let ox = 0; ox < outW; ox++) {
      let a = 0, b = 0, c = 0;
      for (let t = 0; t < ty.count[oy]; t++) {
        const w = ty.weights[wo + t];
        const s = ((f + t) * outW + ox) * 3;
        a += w * tmp[s];
        b += w * tmp[s + 1];
        c += w * tmp[s + 2];
      }
      const d = offset + (oy * outW + (flip ? outW - 1 - ox : ox)) * 3;
      out[d] = Math.min(1, a / 255);
      out[d + 1] = Math.min(1, b / 255);
      out[d + 2] = Math.min(1, c / 255);
    }
  }
}

export type PreprocessMode = 'train' | 'eval';

/**
 * Writes the size x size x 3 network input for one decoded image: 'train' = random-resized crop
 * + random flip (draws from `rng`), 'eval' = shorter side to size/cropFraction (default 0.875), center crop.
 */
export function preprocessImage(img: RgbImage, size: number, mode: PreprocessMode, rng: Rng, out: Float32Array, offset = 0, cropFraction?: number): void {
  if (mode === 'train') {
    const box = randomResizedCropBox(img.width, img.height, rng);
    resizeBox(img, box, size, size, out, offset, rng() < 0.5);
  } else {
    resizeBox(img, centerCropBox(img.width, img.height, size, cropFraction), size, size, out, offset);
  }
}

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
