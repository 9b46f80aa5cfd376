// Measure 2, gradient stability inside the eps-ball: how far the input gradient at x predicts
// the gradient elsewhere in the ball. Three cosines per image: between the gradient at x and at
// random points of the ball; between the gradients of consecutive PGD steps; and between the
// final perturbations of two PGD restarts from different random starts (do restarts agree on
// the adversarial direction?). A smooth loss gives cosines near 1; ReLU's kinks lower them.
import * as tf from '@tensorflow/tfjs';
import { projectLinf } from '../attacks/pgd-linf';
import { inputGradient, mean, type Objective, randomInBall, rowCosine, takeArray } from './common';

export interface StabilityOptions {
  eps: number;
  /** PGD steps of each restart, and their size. */
  steps: number;
  stepSize: number;
  /** Random points of the ball compared with x. */
  randomPoints: number;
  seed?: number;
}

export interface GradientStability {
  /** Per image: mean cosine of g(x) and g(x + delta) over the random points. */
  randomPoint: number[];
  /** Per image: mean cosine of the gradients of consecutive PGD steps (first restart). */
  consecutive: number[];
  /** Per image: cosine of the final perturbations of two restarts. */
  restarts: number[];
  /** The three means over images. */
  mean: { randomPoint: number; consecutive: number; restarts: number };
}

const seedOf = (seed: number | undefined, k: number) => (seed === undefined ? undefined : seed * 1009 + k);

/** Runs PGD from a random start; returns the final point and the per-image sum of consecutive-gradient cosines. */
function pgdTrace(objective: Objective, x: tf.Tensor4D, o: StabilityOptions, seed?: number): { adv: tf.Tensor4D; cosineSum: tf.Tensor1D } {
  let adv = randomInBall(x, o.eps, seed);
  let prev: tf.Tensor4D | null = null;
  let cosineSum = tf.zeros([x.shape[0]]) as tf.Tensor1D;
  for (let k = 0; k < o.steps; k++) {
    const g = inputGradient(objective, adv);
    if (prev) {
      const s = tf.tidy(() => tf.add(cosineSum, rowCosine(prev!, g)) as tf.Tensor1D);
      cosineSum.dispose();
      cosineSum = s;
      prev.dispose();
    }
    const next = tf.tidy(() => projectLinf(tf.add(adv, tf.mul(tf.sign(g), o.stepSize)), x, o.eps));
    adv.dispose();
    adv = next;
    prev = g;
  }
  prev?.dispose();
  return { adv, cosineSum };
}

export function gradientStability(objective: Objective, x: tf.Tensor4D, o: StabilityOptions): GradientStability {
  if (o.steps < 2) throw new Error(`gradient stability needs at least 2 PGD steps to compare consecutive gradients, got ${o.steps}.`);
  if (o.randomPoints < 1) throw new Error(`gradient stability needs at least 1 random point, got ${o.randomPoints}.`);
  const g0 = inputGradient(objective, x);
  let sum = tf.zeros([x.shape[0]]);
  for (let r = 0; r < o.randomPoints; r++) {
    const s = tf.tidy(() => tf.add(sum, rowCosine(g0, inputGradient(objective, randomInBall(x, o.eps, seedOf(o.seed, r))))));
    sum.dispose();
    sum = s;
  }
  const randomPoint = takeArray(tf.tidy(() => tf.div(sum, o.randomPoints)));
  tf.dispose([g0, sum]);
  const a = pgdTrace(objective, x, o, seedOf(o.seed, 1000));
  const b = pgdTrace(objective, x, o, seedOf(o.seed, 2000));
  const consecutive = takeArray(tf.tidy(() => tf.div(a.cosineSum, o.steps - 1)));
  const restarts = takeArray(tf.tidy(() => rowCosine(tf.sub(a.adv, x), tf.sub(b.adv, x))));
  tf.dispose([a.adv, a.cosineSum, b.adv, b.cosineSum]);
  return { randomPoint, consecutive, restarts, mean: { randomPoint: mean(randomPoint), consecutive: mean(consecutive), restarts: mean(restarts) } };
}
