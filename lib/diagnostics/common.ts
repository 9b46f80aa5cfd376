// What the gradient-quality measures share: a per-example objective of the input (the loss an
// attacker climbs), its input gradient, per-example cosines, points in the L∞ ball.
import * as tf from '@tensorflow/tfjs';
import type { LogitsFn } from '../attacks';
import { clipPixels } from '../attacks/common';
import { crossEntropy } from '../loss';

/** A per-example loss as a function of the input: [N,H,W,C] -> [N]. */
export type Objective = (x: tf.Tensor4D) => tf.Tensor1D;

/** Cross-entropy of the true labels, the attacker's objective. */
export function crossEntropyObjective(logits: LogitsFn, y: tf.Tensor1D): Objective {
  return (x) => crossEntropy(logits(x), y);
}

/** CW margin max_{j != y} z_j - z_y per example: positive exactly when the example is misclassified. */
export function margin(logits: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const hot = tf.oneHot(tf.cast(y, 'int32'), logits.shape[1]).toFloat();
    const trueLogit = tf.sum(tf.mul(logits, hot), 1);
    // Push the true class far below the others so that max picks the best other class.
    const others = tf.max(tf.sub(logits, tf.mul(hot, 1e9)), 1);
    return tf.sub(others, trueLogit) as tf.Tensor1D;
  });
}

/** Input gradient of the objective, per example (the objective is summed, examples are independent in inference mode). */
export function inputGradient(objective: Objective, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(objective(input as tf.Tensor4D)))(x) as tf.Tensor4D);
}

/** Per-example cosine of two [N,...] tensors; 0 where either row is all zeros (a zero gradient points nowhere). */
export function rowCosine(a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const n = a.shape[0];
    const fa = tf.reshape(a, [n, -1]);
    const fb = tf.reshape(b, [n, -1]);
    const dot = tf.sum(tf.mul(fa, fb), 1);
    const norms = tf.mul(tf.norm(fa, 2, 1), tf.norm(fb, 2, 1));
    return tf.where(tf.greater(norms, 0), tf.div(dot, tf.maximum(norms, 1e-30)), tf.zerosLike(dot)) as tf.Tensor1D;
  });
}

/** A uniform random point of the L∞ ball around x, inside the pixel range. */
export function randomInBall(x: tf.Tensor4D, eps: number, seed?: number): tf.Tensor4D {
  return tf.tidy(() => clipPixels(tf.add(x, tf.randomUniform(x.shape, -eps, eps, 'float32', seed))));
}

/** Reads a tensor into a plain array and disposes it. */
export function takeArray(t: tf.Tensor): number[] {
  const out = Array.from(t.dataSync());
  t.dispose();
  return out;
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}
