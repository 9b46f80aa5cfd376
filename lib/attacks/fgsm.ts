// FGSM (Goodfellow et al. 2015): one signed-gradient step of size eps.
import * as tf from '@tensorflow/tfjs';
import { checkTargetOption, clipPixels, objectiveGradient } from './common';
import type { Attack, AttackConfig, LogitsFn, PerturbOptions } from './types';

export function fgsm(config: Required<AttackConfig>): Attack {
  return {
    config,
    perturb(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts: PerturbOptions = {}) {
      checkTargetOption(config, opts);
      return tf.tidy(() => clipPixels(tf.add(x, tf.mul(tf.sign(objectiveGradient(logits, x, y, opts)), config.eps))));
    },
  };
}
