// The validation split: training images held out with a fixed seed, so that learning rates,
// epochs and any other choice are made on them and the test set only gives final numbers.
import { makeRng, permutation } from '../util/rng';
import { subset, type ImageDataset } from './dataset';

/** Fixed: the validation images must not depend on a run's seed (arms and seeds share them). */
export const VAL_SEED = 20200627;

/**
 * Splits `train` by one fixed permutation: its last `valSize` images are the validation set, the
 * first `trainLimit` of the rest (default all) the training set. The same valSize gives the same
 * validation images whatever trainLimit is.
 */
export function holdOutValidation(train: ImageDataset, valSize: number, trainLimit?: number): { train: ImageDataset; val: ImageDataset } {
  if (!Number.isInteger(valSize) || valSize < 1 || valSize >= train.n) {
    throw new Error(`validation size must be an integer in 1..${train.n - 1} (the ${train.name} training set has ${train.n} images), got ${valSize}`);
  }
  const order = permutation(train.n, makeRng(VAL_SEED));
  const rest = train.n - valSize;
  const n = Math.min(trainLimit ?? rest, rest);
  return {
    train: subset(train, order.subarray(0, n)),
    val: subset(train, order.subarray(rest)),
  };
}
