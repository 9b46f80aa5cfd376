import type * as tf from '@tensorflow/tfjs';

/** The attacked model as the attacker sees it: pixels in [0,1] to logits, in inference mode. */
export type LogitsFn = (x: tf.Tensor4D) => tf.Tensor2D;

/** The threat model's norm. */
export type AttackNorm = 'linf' | 'l2';

/**
 * The fields an attack config can hold, at their widest. Each attack's file declares its own
 * config type (narrowing the fields it does not use to the 0 or false its resolved config writes
 * there), its defaults and its checks; lib/attacks/index.ts lists the attacks.
 */
export interface AttackFields {
  /** Radius of the threat model: L∞ in pixel units of [0,1] (4/255 ...), or L2 norm. */
  eps: number;
  /** Iterations (gradient steps, APGD/FAB iterations; Square: its queries). */
  steps?: number;
  /** Step size (APGD: the initial one). */
  stepSize?: number;
  /** Start from a random point in the eps-ball. */
  randomStart?: boolean;
  /**
   * Extra random restarts (default 0). Restarts combine by "any success breaks the point": an
   * example counts as robust only if every restart fails.
   */
  restarts?: number;
  /**
   * FGSM/PGD: move towards the `target` labels passed to perturb() instead of away from the true
   * ones. APGD-T and FAB-T pick their own targets (the top `targets` other classes).
   */
  targeted?: boolean;
  /** Norm of the threat model (default 'linf'); pgd-linf, pgd-l2 and fgsm fix it by their name. */
  norm?: AttackNorm;
  /** apgd-t and fab-t: number of target classes, the highest-scoring non-true ones. */
  targets?: number;
  /** square: query budget per example. */
  queries?: number;
  /** square: initial fraction of pixels changed per square. */
  pInit?: number;
}

/**
 * A config as it arrives from JSON or the command line, not yet checked: any attack name and any
 * field. resolveAttackConfig turns it into a resolved config or an error that names the field.
 */
export interface UncheckedAttackConfig extends AttackFields {
  type: string;
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
 * One attack, built from its resolved config C: returns adversarial inputs inside the eps-ball
 * and the pixel range [0,1]; never changes `x`; the caller disposes the result. If any restart
 * or iteration misclassified an example, the point returned for it misclassifies (any success
 * breaks the point).
 */
export interface Attack<C extends { type: string } = Required<UncheckedAttackConfig>> {
  readonly config: Readonly<C>;
  perturb(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts?: PerturbOptions): tf.Tensor4D;
}

/**
 * One attack's entry in the registry (lib/attacks/index.ts), kept in the attack's own file: its
 * name, its defaults and checks, and its constructor.
 */
export interface AttackDefinition<C extends UncheckedAttackConfig> {
  readonly type: C['type'];
  /**
   * Fills this attack's defaults and checks every field; an error names the field and its valid
   * values. Idempotent: a resolved config resolves to itself.
   */
  resolve(c: UncheckedAttackConfig): Required<C>;
  /** A short label such as 'PGD-10 L∞ eps=0.3'. */
  label(c: Required<C>): string;
  create(c: Required<C>): Attack<Required<C>>;
}
