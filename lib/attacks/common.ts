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

/** Per example: 1 where the model misclassifies x (arg-max logit differs from y), else 0. */
export function misclassified(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.cast(tf.notEqual(tf.argMax(logits(x), 1), tf.cast(y, 'int32')), 'float32') as tf.Tensor1D);
}

/**
 * Runs `once` for each restart and keeps, per example, by "any success breaks the point": a
 * restart that misclassifies the example beats one that does not, whatever their losses; among
 * restarts alike in that, the one with the best objective (highest true-label loss, or lowest
 * target loss when targeted) wins, so training still gets the highest-loss point. (The rule
 * used to be the highest loss alone, which could throw away a misclassifying restart and count
 * the example as robust.)
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
      const [sFool, sLoss] = tf.unstack(s, 1);
      const [bFool, bLoss] = tf.unstack(bestScore, 1);
      const better = tf.logicalOr(tf.greater(sFool, bFool), tf.logicalAnd(tf.equal(sFool, bFool), tf.greater(sLoss, bLoss)));
      // tf.where broadcasts numpy-style, so the per-example condition must be [N,1,1,1].
      return { x: tf.where(tf.reshape(better, [-1, 1, 1, 1]), cand, best), s: tf.where(tf.reshape(better, [-1, 1]), s, bestScore) };
    });
    tf.dispose([best, bestScore, cand]);
    best = next.x as tf.Tensor4D;
    bestScore = next.s as tf.Tensor2D;
  }
  bestScore.dispose();
  return best;
}

/** [N,2]: (misclassified 0/1, objective) per example, compared lexicographically. */
function score(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts: PerturbOptions): tf.Tensor2D {
  const out = logits(x);
  const fooled = tf.cast(tf.notEqual(tf.argMax(out, 1), tf.cast(y, 'int32')), 'float32');
  const objective = opts.target ? tf.neg(crossEntropy(out, opts.target)) : crossEntropy(out, y);
  return tf.stack([fooled, objective], 1) as tf.Tensor2D;
}

/** FGSM/PGD: a targeted config needs target labels, an untargeted one refuses them. */
export function checkTargetOption(config: { type: string; targeted: boolean }, opts: PerturbOptions): void {
  if (config.targeted && !opts.target) {
    throw new Error(`Attack '${config.type}' is configured targeted: pass the target labels as perturb(..., { target }), or set targeted: false.`);
  }
  if (!config.targeted && opts.target) {
    throw new Error(`Attack '${config.type}' got target labels but is not targeted: set targeted: true in its config, or drop target.`);
  }
}

/**
 * One forward and one backward pass: per-example loss, its input gradient and the logits
 * (AutoAttack's attacks need all three per iteration; a second forward pass for the logits
 * would cost a third more). The caller disposes the three tensors.
 */
export function lossAndGradient(
  logits: LogitsFn,
  x: tf.Tensor4D,
  loss: (out: tf.Tensor2D) => tf.Tensor1D,
): { logits: tf.Tensor2D; loss: tf.Tensor1D; grad: tf.Tensor4D } {
  let out: tf.Tensor2D | null = null;
  const { value, grad } = tf.valueAndGrad((input: tf.Tensor) => {
    const o = logits(input as tf.Tensor4D);
    out = tf.keep(o);
    return loss(o);
  })(x);
  return { logits: out!, loss: value as tf.Tensor1D, grad: grad as tf.Tensor4D };
}

/**
 * Runs `attack` on the examples listed in `idx` only and writes its results back into `adv`
 * (which it takes over and replaces); the others keep their current point. AutoAttack and the
 * APGD restarts use it so that points already broken cost nothing more.
 */
export function onSubset(adv: tf.Tensor4D, x: tf.Tensor4D, y: tf.Tensor1D, idx: number[], attack: (x: tf.Tensor4D, y: tf.Tensor1D) => tf.Tensor4D): tf.Tensor4D {
  if (idx.length === 0) return adv;
  if (idx.length === x.shape[0]) {
    const whole = attack(x, y);
    adv.dispose();
    return whole;
  }
  const sub = tf.tidy(() => {
    const i = tf.tensor1d(idx, 'int32');
    return { x: tf.gather(x, i), y: tf.gather(y, i) };
  });
  const out = attack(sub.x as tf.Tensor4D, sub.y as tf.Tensor1D);
  const merged = tf.tidy(() => {
    const i = tf.tensor2d(idx, [idx.length, 1], 'int32');
    const placed = tf.scatterND(i, out, adv.shape);
    const mask = tf.greater(tf.scatterND(i, tf.ones([idx.length]), [adv.shape[0]]), 0);
    return tf.where(tf.reshape(mask, [-1, 1, 1, 1]), placed, adv) as tf.Tensor4D;
  });
  tf.dispose([sub.x, sub.y, out, adv]);
  return merged;
}

/** Reads a per-example 0/1 (or bool) tensor into a Uint8Array and disposes the tensor. */
export function readFlags(t: tf.Tensor): Uint8Array {
  const out = Uint8Array.from(t.dataSync() as ArrayLike<number>, (v) => (v ? 1 : 0));
  t.dispose();
  return out;
}

/** Indices where `flags` (0/1 per example, read back from a tensor) is 0. */
export function indicesWhereZero(flags: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < flags.length; i++) if (!flags[i]) out.push(i);
  return out;
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
