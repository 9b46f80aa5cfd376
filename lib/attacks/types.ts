import type * as tf from '@tensorflow/tfjs';

/** The attacked model as the attacker sees it: pixels in [0,1] to logits, in inference mode. */
export type LogitsFn = (x: tf.Tensor4D) => tf.Tensor2D;

export const ATTACK_TYPES = ['fgsm', 'pgd-linf', 'pgd-l2', 'apgd-ce', 'apgd-dlr', 'apgd-t', 'fab-t', 'square'] as const;
export type AttackType = (typeof ATTACK_TYPES)[number];

/** The threat model's norm. */
export type AttackNorm = 'linf' | 'l2';

export interface AttackConfig {
  type: AttackType;
  /** Radius of the threat model: L∞ in pixel units of [0,1] (4/255 ...), or L2 norm. */
  eps: number;
  /**
   * Iterations: PGD gradient steps (default 10), APGD iterations (default 100), FAB-T iterations
   * (default 100). FGSM is one step of size eps; for Square it equals `queries`.
   */
  steps?: number;
  /**
   * Step size: PGD default 2.5·eps/steps (Madry et al.); APGD's initial step (default 2·eps,
   * halved by its schedule). FAB-T and Square have no step size (they keep 0).
   */
  stepSize?: number;
  /** Start from a random point in the eps-ball (default true for PGD and APGD). */
  randomStart?: boolean;
  /**
   * Extra random restarts (default 0). Restarts combine by "any success breaks the point": an
   * example counts as robust only if every restart fails.
   */
  restarts?: number;
  /**
   * FGSM/PGD only: move towards the `target` labels passed to perturb() instead of away from
   * the true ones. APGD-T and FAB-T pick their own targets (the top `targets` other classes).
   */
  targeted?: boolean;
  /** Norm of the threat model for apgd-*, fab-t and square (default 'linf'); fixed by pgd-linf/pgd-l2/fgsm. */
  norm?: AttackNorm;
  /** apgd-t and fab-t: number of target classes, the highest-scoring non-true ones (default 9). */
  targets?: number;
  /** square: query budget per example (default 5000). */
  queries?: number;
  /** square: initial fraction of pixels changed per square (default 0.8). */
  pInit?: number;
}

/** Counters an attack adds to when the caller passes them (AutoAttack's own checks read them). */
export interface AttackDiagnostics {
  /** Examples whose input gradient was exactly zero everywhere (AutoAttack's check_zero_gradients). */
  zeroGradient?: number;
  /** Examples the zero-gradient check looked at. */
  gradientChecked?: number;
  /** Forward passes per example spent by score-based attacks (Square), summed over examples. */
  queries?: number;
}

export interface PerturbOptions {
  /** Seed for the random start (a run's seed combined with its step). */
  seed?: number;
  /** Target labels for a targeted FGSM/PGD attack (config.targeted); required then, refused otherwise. */
  target?: tf.Tensor1D;
  /** Called after each iteration (or query) with the number done and the total, for progress bars. */
  onProgress?: (done: number, total: number) => void;
  /** When given, the attack adds its counters here. */
  diagnostics?: AttackDiagnostics;
}

/**
 * One attack: returns adversarial inputs inside the eps-ball and the pixel range [0,1]; never
 * changes `x`; the caller disposes the result. If any restart or iteration misclassified an
 * example, the point returned for it misclassifies (any success breaks the point).
 */
export interface Attack {
  readonly config: Readonly<Required<AttackConfig>>;
  perturb(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts?: PerturbOptions): tf.Tensor4D;
}
