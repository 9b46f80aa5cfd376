// Notebook 07: the paper's mechanism, measured. Three arms of the relu-vs-smooth-backward study
// trained the same way (ReLU; ReLU forward with the smooth trainer gradient; SiLU), with the
// study's own configs (variantConfig) so that the same finished runs serve notebooks 01 and 07.
// Besides them, "trace" runs: the same configs truncated after a share of their steps (maxSteps;
// the learning rate follows the full schedule, so a trace run is the full run's checkpoint at that
// step) with the trainer's gradient statistics logged (measure 5). The trace runs are the
// checkpoints of measure 7.
import type { AttackerCurve } from '../diagnostics/attacker-steps';
import { type DiagnoseSettings, diagnoseRun, type DiagnosticsRecords, MEASURES, type MeasureName } from '../diagnostics/run';
import { ciHalfWidth, formatInterval, formatMeanSE, median, pairedBySeed, type PairedDifference, summarize, type Summary, type Verdict, verdictText } from '../report/stats';
import type { EpochMetrics } from '../train';
import type { TrainConfig } from '../train/config';
import type { Profile } from './profiles';
import { reluVsSmoothBackward, studySettings, VARIANTS, type Variant, variantConfig } from './relu-vs-smooth-backward';
import type { Experiment } from './types';

export const EXPERIMENT = 'gradient-quality';

/** The arms compared: the ReLU baseline, ReLU forward with the smooth trainer gradient, SAT with SiLU. */
export const ARM_KEYS = ['baseline', 'trainer-smooth', 'sat-silu'] as const;
export type ArmKey = (typeof ARM_KEYS)[number];

export function arms(): Variant[] {
  return ARM_KEYS.map((k) => VARIANTS.find((v) => v.key === k)!);
}

/** Shares of training at which the trace runs stop (the full run is the share 1). */
export const CHECKPOINT_SHARES = [1 / 8, 1 / 2] as const;

/** Fashion-MNIST's training set, for profiles that set no train limit. */
const FASHION_TRAIN = 60000;

/** Optimizer steps of a full run of this config (batches per epoch x epochs). */
export function totalSteps(c: Partial<TrainConfig>): number {
  const images = c.trainLimit ?? FASHION_TRAIN - (c.valSize ?? 0);
  return Math.ceil(images / (c.batchSize ?? 64)) * (c.epochs ?? 1);
}

/** A trace run: the arm's config stopped after `share` of its steps, logging the trainer's gradient. */
export function traceConfig(v: Variant, profile: Profile, seed: number, share: number): Partial<TrainConfig> {
  const c = variantConfig(v, profile, seed);
  return { ...c, maxSteps: Math.max(1, Math.round(totalSteps(c) * share)), gradientStats: true };
}

/** The share of training a run had: 1 for a full run, else the CHECKPOINT_SHARES entry its maxSteps came from. */
export function shareOf(c: Partial<TrainConfig>): number {
  if (c.maxSteps === undefined) return 1;
  const s = CHECKPOINT_SHARES.find((x) => Math.max(1, Math.round(totalSteps(c) * x)) === c.maxSteps);
  if (s === undefined) throw new Error(`gradient quality: a run stopped at ${c.maxSteps} of ${totalSteps(c)} steps is none of the checkpoints (${CHECKPOINT_SHARES.join(', ')} of training).`);
  return s;
}

/** The full runs: the relu-vs-smooth-backward study restricted to the three arms (same run ids as notebook 01's). */
export function gradientQualityArms(): Experiment {
  return reluVsSmoothBackward(arms());
}

/**
 * The seeds this notebook measures: at small the first 3 of the study's 5 (the measures cost ~8
 * CPU-s per full model and ~2 per checkpoint on 100 images, and this machine was shared by ~13
 * other jobs when it ran), else all of them.
 */
export function measuredSeeds(profile: Profile): number[] {
  const seeds = studySettings(profile).seeds;
  return profile === 'small' ? seeds.slice(0, 3) : seeds;
}

/** The trace runs (checkpoints and the trainer's gradient statistics), seed by seed. */
export function gradientQualityTraces(): Experiment {
  return {
    name: EXPERIMENT,
    title: "Gradient quality: checkpoints of the three arms, with the trainer's gradient logged",
    storedProfiles: ['small'],
    runs: (profile) => measuredSeeds(profile).flatMap((seed) => arms().flatMap((v) => CHECKPOINT_SHARES.map((s) => traceConfig(v, profile, seed, s)))),
  };
}

/** What the diagnostics measure at a profile (test images, attack budget, grid sizes). */
export type DiagnosticSettings = DiagnoseSettings;

export function diagnosticSettings(profile: Profile): DiagnosticSettings {
  const eps = studySettings(profile).eps;
  switch (profile) {
    case 'smoke':
      return { n: 16, eps, attackSteps: 5, attackStepSize: eps / 4, pgdSteps: 3, randomPoints: 2, linearitySteps: 2, landscapeImages: 2, landscapePoints: 5 };
    case 'small':
      return { n: 100, eps, attackSteps: 50, attackStepSize: eps / 4, pgdSteps: 10, randomPoints: 4, linearitySteps: 5, landscapeImages: 4, landscapePoints: 21 };
    default:
      return { n: 1000, eps, attackSteps: 50, attackStepSize: eps / 4, pgdSteps: 20, randomPoints: 8, linearitySteps: 10, landscapeImages: 8, landscapePoints: 31 };
  }
}

// ---------------------------------------------------------------------------------------------
// Diagnosing the runs and comparing the arms (what notebook 07 shows)

/** One trained model (a full run or a trace checkpoint) with its measures. */
export interface DiagnosedRun {
  arm: ArmKey;
  seed: number;
  /** Share of the full training this model had (1: the full run). */
  share: number;
  runDir: string;
  metrics: EpochMetrics[];
  records: DiagnosticsRecords;
}

/** Measures of the full runs; the trace checkpoints get those of measure 7 (2-4). */
export const FULL_MEASURES: readonly MeasureName[] = MEASURES;
export const CHECKPOINT_MEASURES: readonly MeasureName[] = ['stability', 'linearity', 'nonsmoothness'];

export function armOf(c: TrainConfig): ArmKey {
  const v = arms().find((a) => a.activation === c.activation && a.attackerGradient === c.attackerGradient && a.trainerGradient === c.trainerGradient);
  if (!v) throw new Error(`gradient quality: run with activation ${c.activation}, trainer gradient ${c.trainerGradient} is none of the arms ${ARM_KEYS.join(', ')}.`);
  return v.key as ArmKey;
}

/** A number per model, compared between arms paired by seed. */
export interface ScalarMeasure {
  key: string;
  /** Measure number of issue 25 (1-6). */
  measure: number;
  label: string;
  /** Display scale and digits (e.g. 100 and 1 for a share shown in %). */
  scale: number;
  digits: number;
  /** Which models carry it: the full runs, or (measure 5) the trace run at half the training. */
  from: 'full' | 'trace';
  value: (r: DiagnosedRun) => number | undefined;
}

const last = <T>(xs: T[]) => xs[xs.length - 1];
/** The loss along x -> x_adv at t (exact grid points 0, 1, 2). */
const lineAt = (r: DiagnosedRun, t: number) => {
  const a = r.records.landscape?.adversarial;
  return a ? a.meanLoss[a.t.findIndex((v) => Math.abs(v - t) < 1e-9)] : undefined;
};

export function scalarMeasures(profile: Profile): ScalarMeasure[] {
  const k = diagnosticSettings(profile).attackSteps;
  return [
    { key: 'ce', measure: 1, label: `cross-entropy after PGD-${k} (own gradient)`, scale: 1, digits: 3, from: 'full', value: (r) => last(r.records['attacker-steps']?.own.crossEntropy ?? [NaN]) },
    { key: 'margin', measure: 1, label: `CW margin after PGD-${k} (own gradient)`, scale: 1, digits: 3, from: 'full', value: (r) => last(r.records['attacker-steps']?.own.margin ?? [NaN]) },
    { key: 'broken', measure: 1, label: `images broken by PGD-${k} (count)`, scale: 1, digits: 1, from: 'full', value: (r) => last(r.records['attacker-steps']?.own.broken ?? [NaN]) },
    { key: 'cos-random', measure: 2, label: 'gradient cosine, x vs random points of the ball', scale: 1, digits: 3, from: 'full', value: (r) => r.records.stability?.mean.randomPoint },
    { key: 'cos-steps', measure: 2, label: 'gradient cosine, consecutive PGD steps', scale: 1, digits: 3, from: 'full', value: (r) => r.records.stability?.mean.consecutive },
    { key: 'cos-restarts', measure: 2, label: 'perturbation cosine, two PGD restarts', scale: 1, digits: 3, from: 'full', value: (r) => r.records.stability?.mean.restarts },
    { key: 'linearity', measure: 3, label: 'local linearity gamma (Qin et al.)', scale: 1, digits: 4, from: 'full', value: (r) => r.records.linearity?.mean },
    { key: 'flips', measure: 4, label: 'pre-activation sign flips x -> x_adv (% of units, mean over layers)', scale: 100, digits: 2, from: 'full', value: (r) => (r.records.nonsmoothness ? r.records.nonsmoothness.flips.reduce((s, f) => s + f.share, 0) / r.records.nonsmoothness.flips.length : undefined) },
    { key: 'grad-l1', measure: 4, label: 'input-gradient L1 norm (median over images)', scale: 1, digits: 3, from: 'full', value: (r) => (r.records.nonsmoothness ? median(r.records.nonsmoothness.norms.l1) : undefined) },
    { key: 'zero-grad', measure: 4, label: 'images with a near-zero input gradient (count)', scale: 1, digits: 1, from: 'full', value: (r) => r.records.nonsmoothness?.norms.nearZero },
    { key: 'train-cos', measure: 5, label: "trainer: weight-gradient cosine of two half batches (first half of training)", scale: 1, digits: 3, from: 'trace', value: (r) => last(r.metrics)?.grad_half_cosine },
    { key: 'train-norm', measure: 5, label: 'trainer: weight-gradient norm (first half of training)', scale: 1, digits: 3, from: 'trace', value: (r) => last(r.metrics)?.grad_norm },
    { key: 'loss-adv', measure: 6, label: 'loss at x_adv (t = 1 on x -> x_adv)', scale: 1, digits: 3, from: 'full', value: (r) => lineAt(r, 1) },
    { key: 'curvature', measure: 6, label: 'curvature along x -> x_adv: L(2) - 2 L(1) + L(0)', scale: 1, digits: 3, from: 'full', value: (r) => {
      const [a, b, c] = [lineAt(r, 0), lineAt(r, 1), lineAt(r, 2)];
      return a === undefined || b === undefined || c === undefined ? undefined : c - 2 * b + a;
    } },
  ];
}

/** The models a measure reads: the full runs, or the trace runs at half of the training (measure 5). */
function modelsFor(runs: DiagnosedRun[], m: ScalarMeasure): DiagnosedRun[] {
  return runs.filter((r) => (m.from === 'full' ? r.share === 1 : Math.abs(r.share - 0.5) < 1e-9));
}

function bySeed(runs: DiagnosedRun[], arm: ArmKey, value: (r: DiagnosedRun) => number | undefined): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of runs) {
    const v = r.arm === arm ? value(r) : undefined;
    if (v !== undefined && Number.isFinite(v)) out.set(r.seed, v);
  }
  return out;
}

export interface ContrastRow {
  measure: ScalarMeasure;
  /** Per arm over seeds. */
  arms: Partial<Record<ArmKey, Summary>>;
  /** Arm minus ReLU, paired by seed. */
  trainerSmooth?: PairedDifference & { seeds: number[] };
  silu?: PairedDifference & { seeds: number[] };
}

/** Every scalar measure: the three arms over seeds and the two paired contrasts to ReLU. */
export function contrastTable(runs: DiagnosedRun[], profile: Profile): ContrastRow[] {
  return scalarMeasures(profile).flatMap((m) => {
    const models = modelsFor(runs, m);
    const base = bySeed(models, 'baseline', m.value);
    if (base.size === 0) return [];
    const row: ContrastRow = { measure: m, arms: {} };
    for (const a of ARM_KEYS) {
      const v = bySeed(models, a, m.value);
      if (v.size) row.arms[a] = summarize([...v.values()]);
    }
    const pair = (a: ArmKey) => {
      const v = bySeed(models, a, m.value);
      return [...v.keys()].some((s) => base.has(s)) ? pairedBySeed(v, base) : undefined;
    };
    row.trainerSmooth = pair('trainer-smooth');
    row.silu = pair('sat-silu');
    return [row];
  });
}

export const ARM_LABELS: Record<ArmKey, string> = { baseline: 'ReLU', 'trainer-smooth': 'ReLU fwd / smooth trainer', 'sat-silu': 'SiLU' };

/** "−0.012 [−0.020, −0.004], lower (5 seeds)" for a paired difference at a measure's scale. */
function contrastText(d: PairedDifference & { seeds: number[] }, m: ScalarMeasure): string {
  return `${formatInterval(d, m.scale, m.digits)}, ${verdictText(d)} (${d.seeds.length} seed${d.seeds.length === 1 ? '' : 's'})`;
}

/** The contrast table as rows for showTable. */
export function contrastRows(rows: ContrastRow[]): Record<string, string | number>[] {
  return rows.map((r) => ({
    measure: `${r.measure.measure}. ${r.measure.label}`,
    ...Object.fromEntries(ARM_KEYS.map((a) => [ARM_LABELS[a], r.arms[a] ? formatMeanSE(r.arms[a]!, r.measure.scale, r.measure.digits) : '-'])),
    [`${ARM_LABELS['trainer-smooth']} − ReLU [95% CI]`]: r.trainerSmooth ? contrastText(r.trainerSmooth, r.measure) : '-',
    [`SiLU − ReLU [95% CI]`]: r.silu ? contrastText(r.silu, r.measure) : '-',
  }));
}

/**
 * One sentence per measure, from its paired contrasts: which arm differs from ReLU and how, and
 * where they do not differ detectably (with the interval, so a reader sees how large a difference
 * the seeds could have shown).
 */
export function contrastSentence(r: ContrastRow): string {
  const parts: string[] = [];
  for (const [label, d] of [['SiLU', r.silu], [ARM_LABELS['trainer-smooth'], r.trainerSmooth]] as const) {
    if (!d) continue;
    const by = formatInterval(d, r.measure.scale, r.measure.digits);
    const words: Record<Verdict, string> = {
      higher: `is higher than ReLU by ${by}`,
      lower: `is lower than ReLU by ${by}`,
      'no detectable difference at this scale': `does not differ detectably from ReLU (${by}: differences within this interval cannot be told apart at ${d.seeds.length} seeds)`,
      'no interval': `equals ReLU in every seed (difference ${by})`,
    };
    const what = d.n >= 2 && d.sd === 0 ? words['no interval'] : d.n < 2 ? `differs from ReLU by ${by} (one seed: no interval, no verdict)` : words[d.verdict];
    parts.push(`${label} ${what}`);
  }
  return `${r.measure.label[0].toUpperCase()}${r.measure.label.slice(1)}: ${parts.join('; ')}.`;
}

/** The sentences of the measures with these keys (a figure's caption). */
export function captionFor(rows: ContrastRow[], keys: string[]): string {
  return rows.filter((r) => keys.includes(r.measure.key)).map(contrastSentence).join(' ');
}

/** Measure 1's other contrast: the smooth surrogate attacker against ReLU's own gradient on the same ReLU models, paired by seed. */
export function surrogateContrast(runs: DiagnosedRun[], arm: ArmKey = 'baseline'): { broken: PairedDifference & { seeds: number[] }; crossEntropy: PairedDifference & { seeds: number[] } } | undefined {
  const models = runs.filter((r) => r.share === 1 && r.arm === arm && r.records['attacker-steps']?.smooth);
  if (models.length === 0) return undefined;
  const m = (f: (r: DiagnosedRun) => number) => new Map(models.map((r) => [r.seed, f(r)]));
  const own = (r: DiagnosedRun) => r.records['attacker-steps']!.own;
  const smooth = (r: DiagnosedRun) => r.records['attacker-steps']!.smooth!;
  return {
    broken: pairedBySeed(m((r) => last(smooth(r).broken)), m((r) => last(own(r).broken))),
    crossEntropy: pairedBySeed(m((r) => last(smooth(r).crossEntropy)), m((r) => last(own(r).crossEntropy))),
  };
}

/** Per arm (and the surrogate on ReLU), a per-step curve over seeds: mean and 95% half-width. */
export function attackerCurves(runs: DiagnosedRun[], pick: (c: AttackerCurve) => number[]): { name: string; steps: number[]; mean: number[]; half: number[] }[] {
  const curves: { name: string; of: (r: DiagnosedRun) => AttackerCurve | undefined; arm: ArmKey }[] = [
    ...ARM_KEYS.map((a) => ({ name: `${ARM_LABELS[a]} (own gradient)`, of: (r: DiagnosedRun) => r.records['attacker-steps']?.own, arm: a })),
    { name: 'ReLU, smooth surrogate attacker', of: (r: DiagnosedRun) => r.records['attacker-steps']?.smooth, arm: 'baseline' as ArmKey },
  ];
  return curves.flatMap((c) => {
    const cs = runs.filter((r) => r.share === 1 && r.arm === c.arm).map(c.of).filter((x): x is AttackerCurve => x !== undefined);
    if (cs.length === 0) return [];
    const steps = cs[0].steps;
    const sums = steps.map((_, k) => summarize(cs.map((x) => pick(x)[k])));
    return [{ name: c.name, steps, mean: sums.map((s) => s.mean), half: sums.map(ciHalfWidth) }];
  });
}

/** Measure 7: a scalar of measures 2-4 at each checkpoint share, per arm, over seeds; and the paired change from the first checkpoint to the full run. */
export function checkpointCurves(runs: DiagnosedRun[], m: ScalarMeasure): { arm: ArmKey; shares: number[]; summaries: Summary[]; change?: PairedDifference & { seeds: number[] } }[] {
  const shares = [...CHECKPOINT_SHARES, 1];
  return ARM_KEYS.flatMap((arm) => {
    const at = (s: number) => bySeed(runs.filter((r) => Math.abs(r.share - s) < 1e-9), arm, m.value);
    const maps = shares.map(at);
    if (maps.some((x) => x.size === 0)) return [];
    const first = maps[0];
    const final = maps[maps.length - 1];
    const common = [...final.keys()].some((s) => first.has(s));
    return [{ arm, shares, summaries: maps.map((x) => summarize([...x.values()])), change: common ? pairedBySeed(final, first) : undefined }];
  });
}

/** How a measure moved between checkpoints, by the verdict of its paired change. */
const CHANGE_WORDS: Record<Verdict, string> = { higher: 'rises', lower: 'falls', 'no detectable difference at this scale': 'no detectable change', 'no interval': 'the same change on every seed' };

/** Measure 7 in a sentence: per arm, how the measure moved from the first checkpoint to the end of training. */
export function checkpointSentence(m: ScalarMeasure, curves: ReturnType<typeof checkpointCurves>): string {
  const parts = curves.filter((c) => c.change).map((c) => {
    const d = c.change!;
    const v = d.n < 2 ? 'one seed, no verdict' : CHANGE_WORDS[d.verdict];
    return `${ARM_LABELS[c.arm]} ${v} (${formatInterval(d, m.scale, m.digits)})`;
  });
  return `${m.label[0].toUpperCase()}${m.label.slice(1)}, end of training minus ${CHECKPOINT_SHARES[0]} of it, paired by seed: ${parts.join('; ')}.`;
}
