// PGD in the L∞ ball (Madry et al. 2018): random start, signed-gradient steps, projection.
import * as tf from '@tensorflow/tfjs';
import { bestOfRestarts, checkTargetOption, clipPixels, iterate, objectiveGradient, restartSeed } from './common';
import type { Attack, AttackConfig, LogitsFn, PerturbOptions } from './types';

/**
 * Projects onto the L∞ ball of radius eps around x and the pixel range. Clipping the
 * perturbation, not min/max against x ± eps: the same ball, and 15x faster on wasm, whose
 * Maximum and Minimum kernels run a slow broadcasting loop.
 */
export function projectLinf(adv: tf.Tensor4D, x: tf.Tensor4D, eps: number): tf.Tensor4D {
  return clipPixels(tf.add(x, tf.clipByValue(tf.sub(adv, x), -eps, eps)) as tf.Tensor4D);
}

export function pgdLinf(config: Required<AttackConfig>): Attack {
  const { eps, steps, stepSize } = config;
  const project = (adv: tf.Tensor4D, x: tf.Tensor4D) => projectLinf(adv, x, eps);

  function once(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts: PerturbOptions, restart: number): tf.Tensor4D {
    const start = tf.tidy(() =>
      config.randomStart ? clipPixels(tf.add(x, tf.randomUniform(x.shape, -eps, eps, 'float32', restartSeed(opts, restart)))) : tf.clone(x),
    );
    return iterate(start, steps, (adv) => project(tf.add(adv, tf.mul(tf.sign(objectiveGradient(logits, adv, y, opts)), stepSize)), x));
  }

  return {
    config,
    perturb(logits, x, y, opts = {}) {
      checkTargetOption(config, opts);
      return bestOfRestarts(config.restarts, logits, y, opts, (r) => once(logits, x, y, opts, r));
    },
  };
}
