// PGD in the L2 ball: normalised-gradient steps, projection onto the ball of radius eps.
import * as tf from '@tensorflow/tfjs';
import { bestOfRestarts, checkTargetOption, clipPixels, iterate, objectiveGradient, restartSeed } from './common';
import { iterativeLabel } from './config';
import { type PgdConfig, resolvePgd } from './pgd-linf';
import type { Attack, AttackDefinition, LogitsFn, PerturbOptions } from './types';

export type PgdL2Config = PgdConfig<'pgd-l2', 'l2'>;

const TINY = 1e-12;

/** Per-example L2 norm, shaped [N,1,1,1] to broadcast over the image. */
function l2Norm(t: tf.Tensor4D): tf.Tensor4D {
  return tf.sqrt(tf.add(tf.sum(tf.square(t), [1, 2, 3], true), TINY)) as tf.Tensor4D;
}

/** Scales each example's delta down to norm eps where it is longer. */
function projectL2(delta: tf.Tensor4D, eps: number): tf.Tensor4D {
  return tf.mul(delta, tf.minimum(tf.div(eps, l2Norm(delta)), 1)) as tf.Tensor4D;
}

export function pgdL2(config: Required<PgdL2Config>): Attack<Required<PgdL2Config>> {
  const { eps, steps, stepSize } = config;

  function randomDelta(x: tf.Tensor4D, seed: number | undefined): tf.Tensor4D {
    // A random direction with a random radius in [0, eps].
    const dir = tf.randomNormal(x.shape, 0, 1, 'float32', seed) as tf.Tensor4D;
    const radius = tf.randomUniform([x.shape[0], 1, 1, 1], 0, eps, 'float32', seed === undefined ? undefined : seed + 1);
    return tf.mul(tf.div(dir, l2Norm(dir)), radius) as tf.Tensor4D;
  }

  function once(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts: PerturbOptions, restart: number): tf.Tensor4D {
    const start = tf.tidy(() => (config.randomStart ? clipPixels(tf.add(x, randomDelta(x, restartSeed(opts, restart)))) : tf.clone(x)));
    return iterate(start, steps, (adv) => {
      const g = objectiveGradient(logits, adv, y, opts);
      const stepped = tf.add(adv, tf.mul(tf.div(g, l2Norm(g)), stepSize)) as tf.Tensor4D;
      return clipPixels(tf.add(x, projectL2(tf.sub(stepped, x), eps)));
    });
  }

  return {
    config,
    perturb(logits, x, y, opts = {}) {
      checkTargetOption(config, opts);
      return bestOfRestarts(config.restarts, logits, y, opts, (r) => once(logits, x, y, opts, r));
    },
  };
}

export const pgdL2Definition: AttackDefinition<PgdL2Config> = {
  type: 'pgd-l2',
  resolve: (c) => resolvePgd(c, 'pgd-l2', 'l2'),
  label: (r) => iterativeLabel('PGD', r),
  create: pgdL2,
};
