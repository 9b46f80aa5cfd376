// Measure 4, non-smoothness itself. For ReLU models: the share of pre-activations whose sign
// changes between x and its adversarial example, per activation layer (each flip is a kink the
// attack crossed, where ReLU's gradient jumps). For every model: the distribution of input-gradient
// norms (L1, the dual of L∞: eps·||g||_1 is the first-order gain of an L∞ step) and how many images
// have a zero or near-zero gradient (an attacker gets no direction there).
import * as tf from '@tensorflow/tfjs';
import type { ActivationFn } from '../activations';
import type { Model } from '../models';
import { inputGradient, type Objective, takeArray } from './common';

export interface LayerFlips {
  /** Activation call in forward order (0: the first activation layer). */
  layer: number;
  /** Pre-activations of the layer over all images (units x images). */
  units: number;
  /** Those whose sign (> 0 or not) differs between x and x_adv. */
  flips: number;
  share: number;
}

/** Runs the model on x with `act` and returns each activation layer's positive-sign mask (caller disposes). */
function signMasks(model: Pick<Model, 'apply'>, act: ActivationFn, x: tf.Tensor4D): tf.Tensor[] {
  const masks: tf.Tensor[] = [];
  const recording: ActivationFn = (u) => {
    masks.push(tf.keep(tf.greater(u, 0)));
    return act(u);
  };
  tf.tidy(() => {
    model.apply(x, { training: false, act: recording });
  });
  return masks;
}

/** Per activation layer: how many pre-activations change sign between x and xAdv (inference mode). */
export function activationFlips(model: Pick<Model, 'apply'>, act: ActivationFn, x: tf.Tensor4D, xAdv: tf.Tensor4D): LayerFlips[] {
  const a = signMasks(model, act, x);
  const b = signMasks(model, act, xAdv);
  if (a.length !== b.length) throw new Error(`activation flips: the model called its activation ${a.length} times on x but ${b.length} times on x_adv; it must be deterministic in inference mode.`);
  const out = a.map((m, i) => {
    const flips = tf.tidy(() => tf.sum(tf.cast(tf.notEqual(m, b[i]), 'int32')).dataSync()[0]);
    return { layer: i, units: m.size, flips, share: flips / m.size };
  });
  tf.dispose([...a, ...b]);
  return out;
}

/** An L1 gradient norm at or below this counts as near-zero (float32 noise on a loss of order 1). */
export const NEAR_ZERO_L1 = 1e-6;

export interface GradientNorms {
  /** ||grad||_1 per image. */
  l1: number[];
  /** Images whose gradient is exactly zero everywhere, and at or below NEAR_ZERO_L1 (counts). */
  zero: number;
  nearZero: number;
  n: number;
}

export function gradientNorms(objective: Objective, x: tf.Tensor4D): GradientNorms {
  const l1 = takeArray(tf.tidy(() => tf.sum(tf.abs(tf.reshape(inputGradient(objective, x), [x.shape[0], -1])), 1)));
  return { l1, zero: l1.filter((v) => v === 0).length, nearZero: l1.filter((v) => v <= NEAR_ZERO_L1).length, n: l1.length };
}
