// The full description of a training run. Everything a run depends on is here, so that the
// config written beside the metrics reproduces the run.
import { createHash } from 'node:crypto';
import { activationLabel, type GradientMode, GRADIENT_MODES, parseActivation } from '../activations';
import { type AttackConfig, resolveAttackConfig } from '../attacks';
import type { ScheduleConfig } from './schedule';
import { validateSchedule } from './schedule';

export interface TrainConfig {
  /** Experiment this run belongs to (for grouping results), e.g. 'relu-vs-silu'. */
  experiment?: string;
  dataset: string;
  trainLimit?: number;
  testLimit?: number;
  /**
   * Training images held out as a validation split (fixed seed, lib/data/split.ts); the
   * per-epoch evaluation then runs on it, so that choices never look at the test set.
   */
  valSize?: number;
  model: string;
  /** Model width (architecture-specific meaning). */
  width?: number;
  /** 'relu', 'silu', 'psoftplus:10', ... */
  activation: string;
  /** Gradient mode of the attacker's pass (inner maximisation). */
  attackerGradient: GradientMode;
  /** Gradient mode of the trainer's pass (outer minimisation). */
  trainerGradient: GradientMode;
  /** a of the smooth surrogate gradient sigmoid(a·x). */
  surrogateA: number;
  /** The inner maximisation; null trains on clean images (standard training). */
  attack: AttackConfig | null;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  labelSmoothing: number;
  schedule: ScheduleConfig;
  /** Use the data set's standard augmentation (crop/flip for CIFAR-10; none for MNIST). */
  augment: boolean;
  seed: number;
  /** Test examples evaluated after every epoch (clean and with the training attack); 0: none. */
  epochEvalSize: number;
  /** The attack of the per-epoch evaluation; default the training attack. */
  epochEvalAttack?: AttackConfig;
  /** Evaluation written to results.json at the end. */
  evaluation: { size: number; attacks: AttackConfig[] };
  profile?: string;
  /**
   * Share of training batches whose attack starts from the clean image instead of a random point
   * in the eps-ball (SAT's official code: 0.2, ResNet/adv_model.py prob_start_from_clean); drawn
   * per batch from (seed, epoch, step). Default 0: every batch as `attack.randomStart` says.
   */
  attackCleanStart?: number;
  /**
   * Train at most this many steps in all, then evaluate: a truncated run of the same schedule
   * (the learning rate follows the full schedule), e.g. to prove a `paper` profile end to end.
   */
  maxSteps?: number;
  /**
   * Log the trainer's gradient per epoch in metrics.jsonl (grad_norm, grad_half_cosine: measure 5
   * of lib/diagnostics). Costs one more forward/backward pass per step; leave it out otherwise
   * (no default: run ids hash the config, and runs without it keep theirs).
   */
  gradientStats?: boolean;
  /**
   * Which epoch's weights are the run's model. 'best-val-adv': the epoch with the highest
   * per-epoch adversarial accuracy on the validation split (early stopping by checkpoint
   * selection, as Rice, Wong & Kolter, "Overfitting in adversarially robust deep learning", ICML
   * 2020, arXiv:2002.11569, recommend against robust and catastrophic overfitting), kept in
   * best.bin and evaluated at the end; needs valSize and epochEvalSize. Unset: the last epoch's
   * (no default: run ids hash the config, and runs without it keep theirs).
   */
  keep?: KeepMode;
}

/** What a run keeps as its model besides the last epoch's weights (TrainConfig.keep). */
export const KEEP_MODES = ['best-val-adv'] as const;
export type KeepMode = (typeof KEEP_MODES)[number];

export const DEFAULT_CONFIG: TrainConfig = {
  dataset: 'mnist',
  model: 'mnist-cnn',
  activation: 'relu',
  attackerGradient: 'own',
  trainerGradient: 'own',
  surrogateA: 10,
  attack: { type: 'pgd-linf', eps: 0.3, steps: 1, stepSize: 0.3, randomStart: false },
  epochs: 3,
  batchSize: 64,
  lr: 0.05,
  momentum: 0.9,
  nesterov: false,
  weightDecay: 5e-4,
  labelSmoothing: 0,
  schedule: { type: 'cosine', warmupEpochs: 0 },
  augment: false,
  seed: 0,
  epochEvalSize: 0,
  evaluation: { size: 1000, attacks: [{ type: 'pgd-linf', eps: 0.3, steps: 10 }] },
};

/** The attacks a training step may use as its inner maximisation. */
export const TRAINING_ATTACKS = ['fgsm', 'pgd-linf', 'pgd-l2'] as const;

/** Merges overrides onto the defaults and validates every field, with errors that say the fix. */
export function makeConfig(overrides: Partial<TrainConfig>): TrainConfig {
  const c: TrainConfig = { ...DEFAULT_CONFIG, ...overrides };
  parseActivation(c.activation);
  for (const [field, mode] of [['attackerGradient', c.attackerGradient], ['trainerGradient', c.trainerGradient]] as const) {
    if (!GRADIENT_MODES.includes(mode)) throw new Error(`Unknown ${field} '${mode}'. Valid gradient modes: ${GRADIENT_MODES.join(', ')}.`);
  }
  if (c.attack) {
    resolveAttackConfig(c.attack);
    // APGD, FAB and Square are evaluation attacks: 100-5,000 passes per batch would make a
    // training step 100x dearer than the paper's PGD-1.
    if (!(TRAINING_ATTACKS as readonly string[]).includes(c.attack.type)) {
      throw new Error(`Training attack '${c.attack.type}' is an evaluation attack. Valid training attacks: ${TRAINING_ATTACKS.join(', ')} (evaluate with 'sat eval --attack ${c.attack.type}').`);
    }
  }
  if (c.epochEvalAttack) resolveAttackConfig(c.epochEvalAttack);
  for (const a of c.evaluation.attacks) resolveAttackConfig(a);
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}.`);
  };
  positiveInt('epochs', c.epochs);
  positiveInt('batch size', c.batchSize);
  // Optional counts: absent means "all" or "the model's default", never 0.
  const optionalPositiveInt = (name: string, v: number | undefined, fix: string) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`${name} must be a positive integer, got ${v}: ${fix}.`);
  };
  optionalPositiveInt('train limit', c.trainLimit, 'leave it out to use every training image');
  optionalPositiveInt('test limit', c.testLimit, 'leave it out to use every test image');
  optionalPositiveInt('width', c.width, "leave it out for the model's default width");
  optionalPositiveInt('max steps', c.maxSteps, 'leave it out to train every epoch');
  if (c.attackCleanStart !== undefined && !(c.attackCleanStart >= 0 && c.attackCleanStart <= 1 && c.attack)) {
    throw new Error(`attack clean-start share must be in [0, 1] and needs a training attack, got ${c.attackCleanStart}${c.attack ? '' : ' with no attack'}.`);
  }
  if (!Number.isInteger(c.epochEvalSize) || c.epochEvalSize < 0) throw new Error(`epoch eval size must be an integer >= 0 (0: no per-epoch evaluation), got ${c.epochEvalSize}.`);
  positiveInt('evaluation size (test images evaluated at the end)', c.evaluation.size);
  if (!(c.lr > 0 && Number.isFinite(c.lr))) throw new Error(`learning rate must be a positive number, got ${c.lr}.`);
  if (!(c.momentum >= 0 && c.momentum < 1)) throw new Error(`momentum must be in [0, 1), got ${c.momentum}.`);
  if (!(c.weightDecay >= 0)) throw new Error(`weight decay must be >= 0, got ${c.weightDecay}.`);
  if (!(c.labelSmoothing >= 0 && c.labelSmoothing < 1)) throw new Error(`label smoothing must be in [0, 1), got ${c.labelSmoothing}.`);
  if (!(c.surrogateA > 0)) throw new Error(`surrogate a must be positive, got ${c.surrogateA}.`);
  if (c.gradientStats !== undefined && typeof c.gradientStats !== 'boolean') throw new Error(`gradientStats must be true or false (or left out), got ${JSON.stringify(c.gradientStats)}.`);
  // Seeds are 32-bit (lib/util/rng): 2^32 would silently be the run of seed 0.
  if (c.keep !== undefined) {
    if (!(KEEP_MODES as readonly string[]).includes(c.keep)) throw new Error(`keep must be one of ${KEEP_MODES.join(', ')} (or left out to keep the last epoch), got ${JSON.stringify(c.keep)}.`);
    if (!c.valSize || c.epochEvalSize < 1 || !(c.epochEvalAttack ?? c.attack)) {
      throw new Error(`keep '${c.keep}' picks the epoch on the validation split's adversarial accuracy: set valSize (training images held out), epochEvalSize (> 0) and an attack, or leave keep out.`);
    }
  }
  if (!Number.isInteger(c.seed) || c.seed < 0 || c.seed >= 2 ** 32) throw new Error(`seed must be an integer in [0, 2^32) = [0, 4294967295], got ${c.seed}.`);
  validateSchedule(c.schedule, c.epochs);
  return c;
}

/** Steps of a run's training attack as the attack runs them (its defaults applied: PGD's 10 when unset); 0 for standard training. */
export function trainingAttackSteps(attack: AttackConfig | null | undefined): number {
  return attack ? resolveAttackConfig(attack).steps : 0;
}

/** A readable, stable run id: same config, same id (so finished runs can be reused). */
export function runId(c: TrainConfig): string {
  const hash = createHash('sha256').update(JSON.stringify(c)).digest('hex').slice(0, 8);
  const grads = c.attackerGradient === 'own' && c.trainerGradient === 'own' ? '' : `-atk_${c.attackerGradient}-trn_${c.trainerGradient}`;
  const act = activationLabel(parseActivation(c.activation)).replace(':', '');
  return `${c.experiment ? `${c.experiment}-` : ''}${c.dataset}-${c.model}-${act}${grads}-s${c.seed}-${hash}`;
}

/**
 * Refuses an L2 radius beyond the diagonal of the pixel cube [0,1]^d, sqrt(d): no two images are
 * farther apart, so a larger radius is the same attack, and a huge one overflows float32 in the
 * norm (robust accuracy would silently equal clean accuracy). Needs the input size, so it runs
 * once the data is known, before any model is built.
 */
export function checkAttacksFitInput(attacks: (AttackConfig | null)[], input: { height: number; width: number; channels: number }): void {
  const d = input.height * input.width * input.channels;
  const diagonal = Math.sqrt(d);
  for (const a of attacks) {
    const l2 = a && (a.type === 'pgd-l2' || a.norm === 'l2');
    if (l2 && a.eps > diagonal) {
      throw new Error(
        `L2 eps ${a.eps} of attack '${a.type}' exceeds ${diagonal.toFixed(2)} = sqrt(${input.height}x${input.width}x${input.channels}), the largest distance between two images with pixels in [0,1]: use an eps up to that (e.g. 1.5 on MNIST, 0.5 on CIFAR-10).`,
      );
    }
  }
}
