// Random kernel inputs and the relative error the kernel tests compare backends with.
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../lib/util/rng';

export interface Data {
  shape: number[];
  values: Float32Array;
}

export function randomData(rng: Rng, shape: number[]): Data {
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < values.length; i++) values[i] = rng() * 2 - 1;
  return { shape, values };
}

/** Max abs difference over the largest reference magnitude. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}
