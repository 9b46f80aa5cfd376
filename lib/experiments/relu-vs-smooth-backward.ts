// The paper's first study: keep ReLU in the forward pass and swap only its gradient
// for the parametric-Softplus derivative sigmoid(a·x), separately in the attacker (inner
// maximisation) and in the trainer (outer minimisation). Besides the 2x2 grid: full SAT
// (parametric Softplus forward and backward) and a ReLU baseline trained twice as long (does
// "smooth" just mean "more optimisation"?). Real MNIST with the small CNN: the only real data
// set that trains in minutes on a CPU here; the paper uses ResNet-50 on ImageNet.
import type { GradientMode } from '../activations';
import type { AttackConfig } from '../attacks';
import type { ResultRecord } from '../eval';
import { attackColumn } from '../eval/table';
import type { TrainConfig } from '../train/config';
import type { TrainResult } from '../train';
import type { Profile } from './profiles';
import type { Experiment } from './types';

export const EXPERIMENT = 'relu-vs-smooth-backward';
/** a of the surrogate gradient sigmoid(a·x) and of the full-SAT parametric Softplus (the paper's a = 10). */
export const SURROGATE_A = 10;

/** One setting of the study; `key` is stable, `label` is what tables and plots show. */
export interface Variant {
  key: 'baseline' | 'attacker-smooth' | 'trainer-smooth' | 'both-smooth' | 'full-sat' | 'baseline-2x';
  label: string;
  activation: string;
  attackerGradient: GradientMode;
  trainerGradient: GradientMode;
  /** Multiplier of the profile's epochs. */
  epochFactor: number;
}

export const VARIANTS: readonly Variant[] = [
  { key: 'baseline', label: 'ReLU (attacker ReLU, trainer ReLU)', activation: 'relu', attackerGradient: 'own', trainerGradient: 'own', epochFactor: 1 },
  { key: 'attacker-smooth', label: 'ReLU fwd; attacker smooth', activation: 'relu', attackerGradient: 'smooth', trainerGradient: 'own', epochFactor: 1 },
  { key: 'trainer-smooth', label: 'ReLU fwd; trainer smooth', activation: 'relu', attackerGradient: 'own', trainerGradient: 'smooth', epochFactor: 1 },
  { key: 'both-smooth', label: 'ReLU fwd; attacker + trainer smooth', activation: 'relu', attackerGradient: 'smooth', trainerGradient: 'smooth', epochFactor: 1 },
  { key: 'full-sat', label: `SAT: psoftplus:${SURROGATE_A} fwd + bwd`, activation: `psoftplus:${SURROGATE_A}`, attackerGradient: 'own', trainerGradient: 'own', epochFactor: 1 },
  { key: 'baseline-2x', label: 'ReLU, 2x epochs (control)', activation: 'relu', attackerGradient: 'own', trainerGradient: 'own', epochFactor: 2 },
];

/** Everything a profile decides: data size, model width, training and evaluation. */
export interface StudySettings {
  seeds: number[];
  /** The L-inf radius of training and evaluation (the training attack is PGD-1 with a random start, as in the paper). */
  eps: number;
  base: Partial<TrainConfig>;
  /** Test images and attack of the attacker-side study (one-step attacks on a fixed ReLU model). */
  attackerStudy: { size: number; attack: AttackConfig; surrogateAs: number[] };
}

/** MNIST eps 0.2 (pixels in [0,1]); the paper's ImageNet eps is 4/255. */
const EPS = 0.2;
/** One-step training attack: random start, step 1.25·eps (as in "fast" adversarial training). */
const TRAIN_ATTACK: AttackConfig = { type: 'pgd-linf', eps: EPS, steps: 1, stepSize: 1.25 * EPS, randomStart: true };

export function studySettings(profile: Profile): StudySettings {
  // Half an epoch of warm-up: without it the first PGD-1 epoch of this CNN starts with a loss
  // spike (measured at small, one seed: epoch-1 loss 3.7 vs 3.1, PGD-20 accuracy 55% vs 67%).
  const common: Partial<TrainConfig> = {
    dataset: 'mnist', model: 'mnist-cnn', surrogateA: SURROGATE_A, attack: TRAIN_ATTACK, batchSize: 64, lr: 0.05,
    schedule: { type: 'cosine', warmupEpochs: 0.5 },
  };
  const attackerStudy = (size: number) => ({ size, attack: TRAIN_ATTACK, surrogateAs: [1, 2, 5, 10, 20, 50, 100] });
  switch (profile) {
    case 'smoke':
      return {
        seeds: [0, 1],
        eps: EPS,
        base: { ...common, trainLimit: 256, testLimit: 100, width: 8, epochs: 1, evaluation: { size: 100, attacks: [{ type: 'pgd-linf', eps: EPS, steps: 5 }] } },
        attackerStudy: attackerStudy(100),
      };
    case 'small':
      // Sized for about 12 minutes on 2 CPU cores (wasm): 18 runs, each 2 epochs of PGD-1
      // training on 4,000 images (~300 images/s) and a PGD-20 evaluation on 300 test images.
      // With 2,000 images the 2x-epochs control gained 8 points of PGD-20 accuracy: the models
      // were far from converged, which would drown any effect of the gradient.
      return {
        seeds: [0, 1, 2],
        eps: EPS,
        base: {
          ...common, trainLimit: 4000, testLimit: 300, width: 16, epochs: 2,
          evaluation: { size: 300, attacks: [{ type: 'pgd-linf', eps: EPS, steps: 20 }] },
        },
        attackerStudy: attackerStudy(300),
      };
    case 'paper':
      // Still MNIST (ImageNet-scale training is out of reach of this study's CNN), but wider,
      // on all 8,000 training images, longer, and evaluated with PGD-200 as the paper evaluates.
      return {
        seeds: [0, 1, 2],
        eps: EPS,
        base: {
          ...common, width: 32, epochs: 20, batchSize: 128, lr: 0.1,
          schedule: { type: 'cosine', warmupEpochs: 1 },
          evaluation: { size: 2000, attacks: [{ type: 'pgd-linf', eps: EPS, steps: 10 }, { type: 'pgd-linf', eps: EPS, steps: 200 }] },
        },
        attackerStudy: attackerStudy(2000),
      };
  }
}

/** The training config of one variant and seed at a profile. */
export function variantConfig(v: Variant, profile: Profile, seed: number): Partial<TrainConfig> {
  const s = studySettings(profile);
  return {
    ...s.base,
    activation: v.activation,
    attackerGradient: v.attackerGradient,
    trainerGradient: v.trainerGradient,
    epochs: (s.base.epochs ?? 1) * v.epochFactor,
    seed,
  };
}

export function reluVsSmoothBackward(variants: readonly Variant[] = VARIANTS): Experiment {
  return {
    name: EXPERIMENT,
    title: 'ReLU forward, smooth backward: attacker x trainer gradient (the paper\'s first study)',
    runs: (profile) => studySettings(profile).seeds.flatMap((seed) => variants.map((v) => variantConfig(v, profile, seed))),
  };
}

/** Which variant a finished run's config is (by activation, gradient modes and epochs). */
export function variantOf(c: Pick<TrainConfig, 'activation' | 'attackerGradient' | 'trainerGradient' | 'epochs'>, profile: Profile): Variant {
  const epochs = studySettings(profile).base.epochs ?? 1;
  const v = VARIANTS.find(
    (v) => v.activation === c.activation && v.attackerGradient === c.attackerGradient && v.trainerGradient === c.trainerGradient && v.epochFactor * epochs === c.epochs,
  );
  if (!v) throw new Error(`run config (${c.activation}, attacker ${c.attackerGradient}, trainer ${c.trainerGradient}, ${c.epochs} epochs) is not a variant of ${EXPERIMENT} at profile ${profile}`);
  return v;
}

/**
 * The runs' result records with `activation` replaced by the variant's label, so that the
 * report helpers (meanStd, paperTable), which group by activation, group by variant instead.
 */
export function recordsByVariant(runs: TrainResult[], profile: Profile): ResultRecord[] {
  return recordsWithVariant(runs, profile).map(({ variant, record }) => ({ ...record, activation: variant.label }));
}

/**
 * Per-seed differences to the ReLU baseline (same seed, same attack), mean and sample std over
 * seeds, in accuracy units: paired differences cancel much of the seed-to-seed noise.
 */
export function deltasVsBaseline(runs: TrainResult[], profile: Profile, attackLabel: string): { variant: Variant; mean: number; std: number; seeds: number }[] {
  const acc = new Map<string, number>(); // `${variant}|${seed}` -> accuracy
  for (const r of recordsWithVariant(runs, profile)) {
    if (attackColumn(r.record) === attackLabel) acc.set(`${r.variant.key}|${r.record.seed}`, r.record.accuracy);
  }
  const seeds = [...new Set(runs.map((r) => r.config.seed))];
  return VARIANTS.filter((v) => v.key !== 'baseline').flatMap((variant) => {
    const d = seeds
      .filter((s) => acc.has(`${variant.key}|${s}`) && acc.has(`baseline|${s}`))
      .map((s) => acc.get(`${variant.key}|${s}`)! - acc.get(`baseline|${s}`)!);
    if (d.length === 0) return [];
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const std = d.length > 1 ? Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1)) : NaN;
    return [{ variant, mean, std, seeds: d.length }];
  });
}

function recordsWithVariant(runs: TrainResult[], profile: Profile): { variant: Variant; record: ResultRecord }[] {
  return runs.flatMap((r) => {
    const variant = variantOf(r.config, profile);
    return r.results.map((record) => ({ variant, record }));
  });
}

/** The column name of the robust accuracy the study reports, e.g. 'PGD-20 0.2'. */
export function robustLabel(profile: Profile): string {
  const attacks = studySettings(profile).base.evaluation?.attacks ?? [];
  if (attacks.length === 0) throw new Error(`${EXPERIMENT}: profile ${profile} evaluates no attack`);
  const last = attacks[attacks.length - 1];
  return attackColumn({ attack: last.type, eps: last.eps, steps: last.steps ?? 10 });
}

export interface Stat {
  mean: number;
  /** Sample std over seeds; NaN with one seed. */
  std: number;
  /** "71.3 ± 1.2" in percent. */
  text: string;
}

export interface StudyRow {
  variant: Variant;
  epochs: number;
  clean: Stat;
  robust: Stat;
  /** Paired difference of robust accuracy to the baseline (same seeds); absent for the baseline. */
  robustDelta?: Stat;
  seeds: number;
}

/** One row per variant, in the study's order: clean and robust accuracy, mean ± std over seeds. */
export async function studyTable(runs: TrainResult[], profile: Profile): Promise<StudyRow[]> {
  const { meanStd, formatMeanStd } = await import('../report');
  const stats = await meanStd(recordsByVariant(runs, profile), { by: ['activation', 'attackLabel'] });
  const col = (c: string) => stats.columns.indexOf(c);
  const rows = stats.values as unknown[][];
  const stat = (v: Variant, attack: string): Stat | undefined => {
    const row = rows.find((r) => r[col('activation')] === v.label && r[col('attackLabel')] === attack);
    return row && { mean: Number(row[col('mean')]), std: Number(row[col('std')]), text: String(row[col('text')]) };
  };
  const robust = robustLabel(profile);
  const deltas = deltasVsBaseline(runs, profile, robust);
  const epochs = studySettings(profile).base.epochs ?? 1;
  return VARIANTS.flatMap((variant) => {
    const clean = stat(variant, 'clean');
    const rob = stat(variant, robust);
    if (!clean || !rob) return [];
    const d = deltas.find((x) => x.variant.key === variant.key);
    const seeds = runs.filter((r) => variantOf(r.config, profile).key === variant.key).length;
    return [{
      variant, epochs: epochs * variant.epochFactor, clean, robust: rob, seeds,
      robustDelta: d && { mean: d.mean, std: d.std, text: `${d.mean >= 0 ? '+' : ''}${formatMeanStd(d.mean, d.std, 100)}` },
    }];
  });
}
