import type * as tf from '@tensorflow/tfjs';

/** The attacked model as the attacker sees it: pixels in [0,1] to logits, in inference mode. */
export type LogitsFn = (x: tf.Tensor4D) => tf.Tensor2D;

export const ATTACK_TYPES = ['fgsm', 'pgd-linf', 'pgd-l2'] as const;
export type AttackType = (typeof ATTACK_TYPES)[number];

export interface AttackConfig {
  type: AttackType;
  /** Radius of the threat model: L∞ in pixel units of [0,1] (4/255 ...), or L2 norm. */
  eps: number;
  /** Gradient steps (PGD); FGSM is one step of size eps. */
  steps?: number;
  /** Step size; default 2.5·eps/steps (Madry et al.), at least eps/steps. */
  stepSize?: number;
  /** Start from a uniform random point in the eps-ball (default true for PGD). */
  randomStart?: boolean;
  /** Extra random restarts; the per-example worst case is kept (default 0). */
  restarts?: number;
  /** Targeted: move towards `target` labels instead of away from the true ones. */
  targeted?: boolean;
}

export interface PerturbOptions {
  /** Seed for the random start (a run's seed combined with its step). */
  seed?: number;
  /** Target labels for a targeted attack. */
  target?: tf.Tensor1D;
}

/** One attack: returns adversarial inputs; never changes `x`; the caller disposes the result. */
export interface Attack {
  readonly config: Readonly<Required<AttackConfig>>;
  perturb(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts?: PerturbOptions): tf.Tensor4D;
}
