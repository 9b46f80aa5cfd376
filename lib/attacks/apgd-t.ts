// APGD-T (Croce & Hein, ICML 2020, sec. 4): APGD on the targeted DLR loss, run once per target
// class, the targets being each example's 2nd, 3rd, ... highest-scoring classes at the clean
// input (reference: autopgd_base.py APGDAttack_targeted, target_class in 2..n_target_classes+1).
// Each target runs only on the examples no earlier target broke.
import * as tf from '@tensorflow/tfjs';
import { restartSeed } from './common';
import { apgdFields, apgdRun, type ApgdRunConfig, runRestarts } from './apgd';
import { iterativeLabel, resolved, targetsOf } from './config';
import { dlrTargetedLoss } from './dlr';
import type { Attack, AttackDefinition, AttackFields, LogitsFn, PerturbOptions } from './types';

/** APGD-T, L∞ or L2 (the norm field); always targeted, at its own `targets` classes. */
export interface ApgdTConfig extends AttackFields {
  type: 'apgd-t';
  queries?: 0;
  pInit?: 0;
}

/** The k-th highest-scoring class (k = 1 is the top) of each example at x. */
export function kthClass(logits: LogitsFn, x: tf.Tensor4D, k: number): tf.Tensor1D {
  return tf.tidy(() => tf.squeeze(tf.slice(tf.topk(logits(x), k).indices, [0, k - 1], [-1, 1]), [1]) as tf.Tensor1D);
}

export function apgdT(config: Required<ApgdTConfig>): Attack<Required<ApgdTConfig>> {
  const runCfg: ApgdRunConfig = { eps: config.eps, norm: config.norm, steps: config.steps, stepSize: config.stepSize, randomStart: config.randomStart };
  return {
    config,
    perturb(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts: PerturbOptions = {}) {
      if (opts.target) throw new Error(`Attack 'apgd-t' picks its own targets (the top ${config.targets} other classes); drop target.`);
      const probe = tf.tidy(() => logits(tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1])));
      const classes = probe.shape[1];
      probe.dispose();
      if (classes < 4) throw new Error(`apgd-t uses the targeted DLR loss, which needs at least 4 classes; the model has ${classes}: use apgd-ce.`);
      if (config.targets > classes - 1) {
        throw new Error(`apgd-t with ${config.targets} target classes needs at least ${config.targets + 1} classes; the model has ${classes}: set targets to at most ${classes - 1}.`);
      }
      const runs = config.restarts + 1;
      const total = config.targets * runs * config.steps;
      let done = 0;
      const tick = () => opts.onProgress?.(++done, total);
      // One "run" per (target, restart) pair, target-major as in the reference.
      return runRestarts(logits, x, y, config.targets * runs, (xs, ys, r) => {
        const targetRank = 2 + Math.floor(r / runs);
        const target = kthClass(logits, xs, targetRank);
        try {
          const loss = (out: tf.Tensor2D) => dlrTargetedLoss(out, ys, target);
          return apgdRun(logits, xs, ys, loss, runCfg, restartSeed(opts, r), opts, tick);
        } finally {
          target.dispose();
        }
      });
    },
  };
}

export const apgdTDefinition: AttackDefinition<ApgdTConfig> = {
  type: 'apgd-t',
  resolve: (c) => resolved({ type: 'apgd-t', ...apgdFields(c), targets: targetsOf(c), targeted: true }),
  label: (r) => iterativeLabel('APGD-T', r),
  create: apgdT,
};
