// Streams an ImageNet-style folder in batches without holding it in memory. Per epoch the file
// order is a permutation derived from (seed, epoch), and each image's augmentation from (seed,
// epoch, position), so any batch of any epoch can be produced on its own: a run resumed at step k
// of an epoch sees exactly the batches an uninterrupted run would. Decoding and augmentation run
// in worker threads; up to `prefetchBatches` batches are in flight while the model works, and
// batches become tensors on the calling thread.
//
// Memory bound, whatever the number of images: the file list (one flat path string per image,
// about 80 bytes each: 103 MB for ImageNet's 1.28 M paths) and, independent of the data set size,
// (prefetchBatches + 1) × batch × size² × 3 bytes of finished 8-bit images, one float32 batch being
// assembled (batch × size² × 12 bytes), and per worker IN_FLIGHT_PER_WORKER files and decoded
// images (a few MB each at ImageNet sizes). See streamMemoryBound().
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../dataset';
import type { ImageFolderIndex } from '../image-folder';
import { deriveSeed, makeRng, permutation } from '../../util/rng';
import { resolveDecoder, type Decoder } from './decode';
import type { PreprocessSpec } from './image-ops';
import { DecodePool, IN_FLIGHT_PER_WORKER } from './pool';

export interface FolderStreamOptions {
  spec: PreprocessSpec;
  /** Decoding worker threads (default: cores − 1, at least 1, at most 8); 0 decodes on this thread. */
  workers?: number;
  /** Batches decoded ahead of the one being used (default 2). */
  prefetchBatches?: number;
  decoder?: Decoder | 'auto';
}

export interface EpochOptions {
  batchSize: number;
  /** Shuffle and augment from (seed, epoch); without a seed the folder's order, no augmentation randomness beyond seed 0. */
  seed?: number;
  epoch?: number;
  /** Start at this batch of the epoch (a resumed run). */
  fromBatch?: number;
  /** Only the first `limit` images of the (shuffled) order. */
  limit?: number;
  /** Keep a last batch smaller than batchSize (default true). */
  keepLast?: boolean;
  /** Called for an image that cannot be read or decoded, which is then left out of its batch; default: its error ends the stream. */
  onBadImage?: (file: string, error: Error) => void;
}

/** Default decoding workers: the cores the training thread leaves free (at least 1, at most 8). */
export function defaultWorkers(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, cores - 1));
}

/** Bytes the stream holds beyond the file list and the workers' images in flight (see the header). */
export function streamMemoryBound(batchSize: number, size: number, prefetchBatches: number): number {
  return (prefetchBatches + 1) * batchSize * size * size * 3 + batchSize * size * size * 12;
}

function positiveInt(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`image stream: ${what} must be a positive integer, got ${v}`);
}

export class ImageFolderStream {
  readonly decoder: Decoder;
  readonly workers: number;
  readonly prefetchBatches: number;
  private readonly pool: DecodePool;

  constructor(readonly index: ImageFolderIndex, readonly opts: FolderStreamOptions) {
    positiveInt('size', opts.spec.size);
    this.prefetchBatches = opts.prefetchBatches ?? 2;
    positiveInt('prefetchBatches', this.prefetchBatches);
    this.decoder = resolveDecoder(opts.decoder);
    this.workers = opts.workers ?? defaultWorkers();
    this.pool = new DecodePool(this.workers);
  }

  get n(): number {
    return this.index.files.length;
  }

  numBatches(batchSize: number, opts: Pick<EpochOptions, 'limit' | 'keepLast'> = {}): number {
    const n = Math.min(this.n, opts.limit ?? Infinity);
    return (opts.keepLast ?? true) ? Math.ceil(n / batchSize) : Math.floor(n / batchSize);
  }

  /** The image order of an epoch: a permutation from (seed, epoch), or the folder's order without a seed. */
  order(opts: Pick<EpochOptions, 'seed' | 'epoch'>): Int32Array {
    if (opts.seed === undefined) return Int32Array.from({ length: this.n }, (_, i) => i);
    return permutation(this.n, makeRng(deriveSeed(opts.seed, opts.epoch ?? 0)));
  }

  /** One epoch's batches from `fromBatch` on (x [N, size, size, 3] in [0,1], y int32); the caller disposes each. */
  async *batches(opts: EpochOptions): AsyncGenerator<Batch> {
    positiveInt('batchSize', opts.batchSize);
    const count = this.numBatches(opts.batchSize, opts);
    const from = opts.fromBatch ?? 0;
    if (!(Number.isInteger(from) && from >= 0 && from <= count)) throw new Error(`image stream: fromBatch must be in 0..${count}, got ${from}`);
    const order = this.order(opts);
    const n = Math.min(this.n, opts.limit ?? Infinity);
    const seed = opts.seed ?? 0;
    const epoch = opts.epoch ?? 0;
    const { size } = this.opts.spec;
    const load = async (b: number) => {
      const start = b * opts.batchSize;
      const m = Math.min(opts.batchSize, n - start);
      const decoded = await Promise.all(Array.from({ length: m }, (_, i) => {
        const file = this.index.files[order[start + i]];
        const image = this.pool.run({ file, spec: this.opts.spec, seed: deriveSeed(seed, epoch, start + i), decoder: this.decoder });
        const onBad = opts.onBadImage;
        return onBad ? image.catch((e: Error) => (onBad(file, e), null)) : image;
      }));
      const kept = decoded.flatMap((img, i) => (img ? [i] : []));
      return { images: kept.map((i) => decoded[i]!), labels: Int32Array.from(kept, (i) => this.index.labels[order[start + i]]) };
    };
    const inFlight: Promise<{ images: Uint8Array[]; labels: Int32Array }>[] = [];
    let next = from;
    const refill = () => {
      while (inFlight.length < this.prefetchBatches && next < count) {
        const p = load(next++);
        p.catch(() => {}); // observed when awaited; this only keeps an abandoned one quiet
        inFlight.push(p);
      }
    };
    refill();
    while (inFlight.length > 0) {
      const { images, labels } = await inFlight.shift()!;
      refill();
      const m = labels.length;
      if (m === 0) continue; // every image of the batch was left out
      const pixels = new Float32Array(m * size * size * 3);
      images.forEach((img, i) => {
        const o = i * size * size * 3;
        for (let k = 0; k < img.length; k++) pixels[o + k] = img[k] / 255;
      });
      yield { x: tf.tensor4d(pixels, [m, size, size, 3]), y: tf.tensor1d(labels, 'int32') };
    }
  }

  /** The bound of streamMemoryBound plus the workers' in-flight images at `maxImageBytes` each. */
  memoryBound(batchSize: number, maxImageBytes = 3 * 1024 * 1024): number {
    return streamMemoryBound(batchSize, this.opts.spec.size, this.prefetchBatches) + Math.max(this.workers, 1) * IN_FLIGHT_PER_WORKER * maxImageBytes;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
