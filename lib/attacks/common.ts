// What every gradient attack shares: the loss gradient, the pixel-range clip, restarts.
import * as tf from '@tensorflow/tfjs';
import { crossEntropy } from '../loss';
import type { LogitsFn, PerturbOptions } from './types';


/**
 * Gradient of the attack objective with respect to the input: ascent on the loss of the true
 * labels, or descent on the loss of the target labels for a targeted attack (sign folded in).
 */
export function objectiveGradient(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts: PerturbOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const target = opts.target;
    const g = tf.grad((input: tf.Tensor) => {
      const out = logits(input as tf.Tensor4D);
      return target ? tf.neg(tf.sum(crossEntropy(out, target))) : tf.sum(crossEntropy(out, y));
    })(x);
    return g as tf.Tensor4D;
  });
}

export function clipPixels(x: tf.Tensor4D): tf.Tensor4D {
  return tf.clipByValue(x, 0, 1);
}

/**
 * Runs `once` for each restart and keeps, per example, the result with the best objective
 * (highest true-label loss, or lowest target loss when targeted).
 */
export function bestOfRestarts(
  restarts: number,
  logits: LogitsFn,
  y: tf.Tensor1D,
  opts: PerturbOptions,
  once: (restart: number) => tf.Tensor4D,
): tf.Tensor4D {
  let best = once(0);
  if (restarts === 0) return best;
  let bestScore = tf.tidy(() => score(logits, best, y, opts));
  for (let r = 1; r <= restarts; r++) {
    const cand = once(r);
    const next = tf.tidy(() => {
      const s = score(logits, cand, y, opts);
      const better = tf.greater(s, bestScore);
      // tf.where broadcasts numpy-style, so the per-example condition must be [N,1,1,1].
      return { x: tf.where(tf.reshape(better, [-1, 1, 1, 1]), cand, best), s: tf.maximum(s, bestScore) };
    });
    tf.dispose([best, bestScore, cand]);
    best = next.x as tf.Tensor4D;
    bestScore = next.s as tf.Tensor1D;
  }
  bestScore.dispose();
  return best;
}

function score(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts: PerturbOptions): tf.Tensor1D {
  const out = logits(x);
  return opts.target ? (tf.neg(crossEntropy(out, opts.target)) as tf.Tensor1D) : crossEntropy(out, y);
}

/** A different random start per restart, repeatable from the caller's seed. */
export function restartSeed(opts: PerturbOptions, restart: number): number | undefined {
  return opts.seed === undefined ? undefined : opts.seed + 7919 * restart;
}

/** Runs `steps` PGD iterations from `start` (which it takes over), freeing each old iterate. */
export function iterate(start: tf.Tensor4D, steps: number, step: (adv: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D {
  let adv = start;
  for (let i = 0; i < steps; i++) {
    const next = tf.tidy(() => step(adv));
    adv.dispose();
    adv = next;
  }
  return adv;
}
