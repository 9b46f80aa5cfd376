// Measure 1, the attacker's strength per step: the adversarial loss (cross-entropy and CW margin)
// after each of 0..K PGD steps, and how many images are broken by then. The forward pass is the
// model's own; the gradient may come from another function with the same forward values (ReLU
// forward with the smooth surrogate gradient), which is how the paper's "smooth attacker" is
// compared with ReLU's own gradient on the same ReLU model.
import * as tf from '@tensorflow/tfjs';
import type { LogitsFn } from '../attacks';
import { projectLinf } from '../attacks/pgd-linf';
import { crossEntropy } from '../loss';
import { crossEntropyObjective, inputGradient, margin, randomInBall } from './common';

export interface AttackerStepsOptions {
  eps: number;
  /** PGD steps K: the curve has K + 1 points (step 0 is the start). */
  steps: number;
  stepSize: number;
  /** Start from a random point of the ball (default false: from the clean image). */
  randomStart?: boolean;
  seed?: number;
}

export interface AttackerCurve {
  /** 0..K. */
  steps: number[];
  /** Mean cross-entropy and mean margin of the images at each step's iterate. */
  crossEntropy: number[];
  margin: number[];
  /** Images misclassified at some iterate up to this step (a count, any success breaks the point). */
  broken: number[];
  n: number;
}

export function attackerCurve(forward: LogitsFn, gradient: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, o: AttackerStepsOptions): AttackerCurve {
  const n = x.shape[0];
  const curve: AttackerCurve = { steps: [], crossEntropy: [], margin: [], broken: [], n };
  const objective = crossEntropyObjective(gradient, y);
  let adv = o.randomStart ? randomInBall(x, o.eps, o.seed) : tf.clone(x);
  let everBroken = tf.zeros([n]);
  for (let k = 0; k <= o.steps; k++) {
    const [ce, m, broken] = tf.tidy(() => {
      const z = forward(adv);
      const mg = margin(z, y);
      const b = tf.maximum(everBroken, tf.cast(tf.greater(mg, 0), 'float32'));
      return [tf.mean(crossEntropy(z, y)), tf.mean(mg), b];
    });
    curve.steps.push(k);
    curve.crossEntropy.push(ce.dataSync()[0]);
    curve.margin.push(m.dataSync()[0]);
    everBroken.dispose();
    everBroken = broken;
    curve.broken.push(Math.round(tf.tidy(() => tf.sum(broken).dataSync()[0])));
    tf.dispose([ce, m]);
    if (k === o.steps) break;
    const next = tf.tidy(() => projectLinf(tf.add(adv, tf.mul(tf.sign(inputGradient(objective, adv)), o.stepSize)), x, o.eps));
    adv.dispose();
    adv = next;
  }
  tf.dispose([adv, everBroken]);
  return curve;
}
