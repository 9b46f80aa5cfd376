// FGSM (Goodfellow et al. 2015): one signed-gradient step of size eps.
import * as tf from '@tensorflow/tfjs';
import { checkTargetOption, clipPixels, objectiveGradient } from './common';
import { formatEps, noSquareFields, noTargets, resolved, restartsOf, threatModel } from './config';
import type { Attack, AttackDefinition, AttackFields, LogitsFn, PerturbOptions } from './types';

/** FGSM: L∞ by its name; steps, stepSize and randomStart are fixed (1, eps, false) whatever is given. */
export interface FgsmConfig extends AttackFields {
  type: 'fgsm';
  norm?: 'linf';
  targets?: 0;
  queries?: 0;
  pInit?: 0;
}

export function fgsm(config: Required<FgsmConfig>): Attack<Required<FgsmConfig>> {
  return {
    config,
    perturb(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts: PerturbOptions = {}) {
      checkTargetOption(config, opts);
      return tf.tidy(() => clipPixels(tf.add(x, tf.mul(tf.sign(objectiveGradient(logits, x, y, opts)), config.eps))));
    },
  };
}

export const fgsmDefinition: AttackDefinition<FgsmConfig> = {
  type: 'fgsm',
  resolve(c) {
    const { eps } = threatModel(c, 'linf');
    const { queries, pInit } = noSquareFields(c);
    const restarts = restartsOf(c);
    const targets = noTargets(c);
    return resolved({ type: 'fgsm', eps, steps: 1, stepSize: eps, randomStart: false, restarts, targeted: c.targeted ?? false, norm: 'linf', targets, queries, pInit });
  },
  label: (r) => `FGSM eps=${formatEps(r.eps)}`,
  create: fgsm,
};
