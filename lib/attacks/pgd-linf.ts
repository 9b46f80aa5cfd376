// PGD in the L∞ ball (Madry et al. 2018): random start, signed-gradient steps, projection.
import * as tf from '@tensorflow/tfjs';
import { bestOfRestarts, checkTargetOption, clipPixels, iterate, objectiveGradient, restartSeed } from './common';
import { iterativeLabel, noSquareFields, noTargets, resolved, restartsOf, stepSizeOf, stepsOf, threatModel } from './config';
import type { Attack, AttackDefinition, AttackFields, AttackNorm, LogitsFn, PerturbOptions, UncheckedAttackConfig } from './types';

/** PGD, L∞ or L2 by its name (pgd-linf, pgd-l2); targeted with the target labels passed to perturb(). */
export interface PgdConfig<T extends 'pgd-linf' | 'pgd-l2', N extends AttackNorm> extends AttackFields {
  type: T;
  norm?: N;
  targets?: 0;
  queries?: 0;
  pInit?: 0;
}
export type PgdLinfConfig = PgdConfig<'pgd-linf', 'linf'>;

/** PGD's defaults and checks, for both norms. */
export function resolvePgd<T extends 'pgd-linf' | 'pgd-l2', N extends AttackNorm>(c: UncheckedAttackConfig, type: T, fixed: N): Required<PgdConfig<T, N>> {
  const { eps } = threatModel(c, fixed);
  const { queries, pInit } = noSquareFields(c);
  // 10 steps: this library's evaluation default.
  const steps = stepsOf(c, 10);
  // Step 2.5·eps/steps (Madry et al. 2018, sec. 5).
  const stepSize = stepSizeOf(c, (2.5 * eps) / steps);
  const restarts = restartsOf(c);
  const targets = noTargets(c);
  // A random start in the eps-ball (Madry et al.).
  return resolved({ type, eps, steps, stepSize, randomStart: c.randomStart ?? true, restarts, targeted: c.targeted ?? false, norm: fixed, targets, queries, pInit });
}

/**
 * Projects onto the L∞ ball of radius eps around x and the pixel range. Clipping the
 * perturbation, not min/max against x ± eps: the same ball, and 15x faster on wasm, whose
 * Maximum and Minimum kernels run a slow broadcasting loop.
 */
export function projectLinf(adv: tf.Tensor4D, x: tf.Tensor4D, eps: number): tf.Tensor4D {
  return clipPixels(tf.add(x, tf.clipByValue(tf.sub(adv, x), -eps, eps)) as tf.Tensor4D);
}

export function pgdLinf(config: Required<PgdLinfConfig>): Attack<Required<PgdLinfConfig>> {
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

export const pgdLinfDefinition: AttackDefinition<PgdLinfConfig> = {
  type: 'pgd-linf',
  resolve: (c) => resolvePgd(c, 'pgd-linf', 'linf'),
  label: (r) => iterativeLabel('PGD', r),
  create: pgdLinf,
};
