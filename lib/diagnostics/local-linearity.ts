// Measure 3, local linearity (Qin et al., "Adversarial Robustness through Local Linearization",
// NeurIPS 2019, eq. 5): gamma(x) = max over the eps-ball of |l(x + d) - l(x) - d . grad l(x)|,
// the largest deviation of the loss from its first-order Taylor expansion, found as they find it:
// a random start and a few signed-gradient ascent steps on that deviation. A loss that is linear
// in the ball gives 0; an attacker that follows the gradient is the better guided the smaller it is.
import * as tf from '@tensorflow/tfjs';
import { projectLinf } from '../attacks/pgd-linf';
import { inputGradient, mean, type Objective, randomInBall, takeArray } from './common';

export interface LinearityOptions {
  eps: number;
  /** Ascent steps on the deviation (Qin et al. use a few). */
  steps: number;
  /** Step size (default 2.5·eps/steps, Madry et al.'s rule, enough to reach the ball's corners). */
  stepSize?: number;
  seed?: number;
}

export interface LocalLinearity {
  /** gamma per image: the largest deviation found (over the start and every iterate). */
  perImage: number[];
  mean: number;
}

export function localLinearity(objective: Objective, x: tf.Tensor4D, o: LinearityOptions): LocalLinearity {
  const stepSize = o.stepSize ?? (2.5 * o.eps) / Math.max(o.steps, 1);
  const f0 = tf.tidy(() => objective(x));
  const g0 = inputGradient(objective, x);
  // |f(x+d) - f(x) - d.g0| per example, as a function of the perturbed point.
  const deviation: Objective = (p) =>
    tf.tidy(() => tf.abs(tf.sub(tf.sub(objective(p), f0), tf.sum(tf.reshape(tf.mul(tf.sub(p, x), g0), [x.shape[0], -1]), 1))) as tf.Tensor1D);
  let p = randomInBall(x, o.eps, o.seed);
  let best = deviation(p);
  for (let k = 0; k < o.steps; k++) {
    const next = tf.tidy(() => projectLinf(tf.add(p, tf.mul(tf.sign(inputGradient(deviation, p)), stepSize)), x, o.eps));
    p.dispose();
    p = next;
    const b = tf.tidy(() => tf.maximum(best, deviation(p)));
    best.dispose();
    best = b as tf.Tensor1D;
  }
  const perImage = takeArray(best);
  tf.dispose([f0, g0, p]);
  return { perImage, mean: mean(perImage) };
}
