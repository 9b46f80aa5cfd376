// In-memory image datasets and batching. Images are NHWC float32 in [0,1], labels int32.
import * as tf from '@tensorflow/tfjs';
import { makeRng, permutation, type Rng } from '../util/rng';

export interface ImageDataset {
  /** e.g. 'mnist', 'cifar10', 'synthetic-cifar10'. */
  name: string;
  /** NHWC float32 pixels in [0,1], length n*height*width*channels. */
  images: Float32Array;
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  classNames?: string[];
  /** True for generated stand-ins; every table and plot must say so. */
  synthetic?: boolean;
}

export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

/** Per-batch augmentation on raw pixels (e.g. random crop + flip); must not change the shape. */
export type Augment = (pixels: Float32Array, ds: ImageDataset, rng: Rng) => void;

export function imageSize(ds: ImageDataset): number {
  return ds.height * ds.width * ds.channels;
}

/** A dataset restricted to the given example indices (copies the pixels). */
export function subset(ds: ImageDataset, indices: ArrayLike<number>, name = ds.name): ImageDataset {
  const size = imageSize(ds);
  const images = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    images.set(ds.images.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = ds.labels[j];
  }
  return { ...ds, name, images, labels, n: indices.length };
}

/** The first `n` examples (or all of them). */
export function take(ds: ImageDataset, n: number): ImageDataset {
  if (n >= ds.n) return ds;
  return subset(ds, Array.from({ length: n }, (_, i) => i));
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle with this seed (a different seed per epoch gives a different order). */
  shuffleSeed?: number;
  /** Keep a last batch smaller than batchSize (default true). */
  keepLast?: boolean;
  augment?: Augment;
  augmentSeed?: number;
  /**
   * Start at this batch (a run resumed mid-epoch). The batches before it are still augmented and
   * dropped, because augmentation draws from one generator per epoch: the batches that follow
   * are exactly those of an uninterrupted epoch.
   */
  fromBatch?: number;
}

export function numBatches(ds: ImageDataset, opts: Pick<BatchOptions, 'batchSize' | 'keepLast'>): number {
  const keepLast = opts.keepLast ?? true;
  return keepLast ? Math.ceil(ds.n / opts.batchSize) : Math.floor(ds.n / opts.batchSize);
}

/**
 * Yields batches as tensors. The caller owns each batch and must dispose it
 * (use `disposeBatch`), so only one batch lives at a time.
 */
export function* batches(ds: ImageDataset, opts: BatchOptions): Generator<Batch> {
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new Error(`batch size must be a positive integer, got ${opts.batchSize}`);
  }
  const order = opts.shuffleSeed === undefined ? null : permutation(ds.n, makeRng(opts.shuffleSeed));
  const size = imageSize(ds);
  const count = numBatches(ds, opts);
  const augRng = makeRng(opts.augmentSeed ?? opts.shuffleSeed ?? 0);
  const from = opts.fromBatch ?? 0;
  if (!(Number.isInteger(from) && from >= 0 && from <= count)) throw new Error(`fromBatch must be in 0..${count}, got ${from}`);
  for (let b = opts.augment ? 0 : from; b < count; b++) {
    const start = b * opts.batchSize;
    const m = Math.min(opts.batchSize, ds.n - start);
    const pixels = new Float32Array(m * size);
    const labels = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const j = order ? order[start + i] : start + i;
      pixels.set(ds.images.subarray(j * size, (j + 1) * size), i * size);
      labels[i] = ds.labels[j];
    }
    if (opts.augment) opts.augment(pixels, { ...ds, n: m }, augRng);
    if (b < from) continue;
    yield {
      x: tf.tensor4d(pixels, [m, ds.height, ds.width, ds.channels]),
      y: tf.tensor1d(labels, 'int32'),
    };
  }
}

export function disposeBatch(b: Batch): void {
  b.x.dispose();
  b.y.dispose();
}

/** Checks that a dataset's arrays agree with its declared shape and classes. */
export function validateDataset(ds: ImageDataset): void {
  const want = ds.n * imageSize(ds);
  if (ds.images.length !== want) {
    throw new Error(`dataset '${ds.name}': ${ds.images.length} pixel values, expected ${want} (${ds.n}x${ds.height}x${ds.width}x${ds.channels})`);
  }
  if (ds.labels.length !== ds.n) throw new Error(`dataset '${ds.name}': ${ds.labels.length} labels for ${ds.n} images`);
  for (let i = 0; i < ds.n; i++) {
    const l = ds.labels[i];
    if (!(l >= 0 && l < ds.numClasses)) throw new Error(`dataset '${ds.name}': label ${l} at index ${i} is outside 0..${ds.numClasses - 1}`);
  }
}
