// The scaling study: does SAT's robustness keep growing as networks get deeper, wider and see
// larger images, and how do EfficientNets compare? The paper's points come from the official
// README's tables (paper-numbers.ts SCALING_POINTS); parameters and multiply-adds from our
// model definitions (countModel). At the small profiles, a family of scaled-down ResNets on real
// MNIST (the real data we have) grows along the same axes, trained with ReLU and with SiLU.
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadDataset, registerDataset, type ImageDataset } from '../data';
import { countModel } from '../models/count';
import type { TrainConfig } from '../train/config';
import type { TrainResult } from '../train';
import { attackColumn } from '../eval/table';
import { lineChart, type Figure } from '../plot';
import { findRealImageFolder, imageDatasetName, type ImageDataSpec } from './imagenet-data';
import { meanAndStd, type Measured, paperRecipe, SYNTHETIC_SPEC } from './imagenet-activations';
import { SCALING_POINTS, type ScalingAxis, type ScalingPoint } from './paper-numbers';
import type { Profile } from './profiles';
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
// MNIST at other resolutions

/** MNIST's own 28 px, or a bilinear resize of it. */
export function mnistDatasetAt(resolution: number): string {
  return resolution === 28 ? 'mnist' : `mnist-${resolution}px`;
}

function resized(ds: ImageDataset, px: number): ImageDataset {
  const images = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(ds.images, [ds.n, ds.height, ds.width, ds.channels]), [px, px]).dataSync() as Float32Array);
  return { ...ds, name: mnistDatasetAt(px), images: Float32Array.from(images), height: px, width: px };
}

/** Registers mnist-<px>px: the real MNIST digits resized to px x px (the same split and limits). */
export function registerMnistAt(resolution: number): string {
  const name = mnistDatasetAt(resolution);
  if (resolution !== 28) {
    registerDataset(name, (o) => {
      const d = loadDataset('mnist', o);
      return { ...d, train: resized(d.train, resolution), test: resized(d.test, resolution), source: `${d.source}, resized to ${resolution}x${resolution}` };
    });
  }
  return name;
}

// ---------------------------------------------------------------------------------------------
// The families

const smallFamily = (base: number, high: number): FamilyMember[] => {
  const both = SCALING_ACTIVATIONS;
  return [
    { axis: 'base', label: `base: ResNet-14, width 8, ${base} px`, model: 'resnet14', width: 8, resolution: base, activations: both },
    { axis: 'depth', label: `2x deeper: ResNet-26, width 8, ${base} px`, model: 'resnet26', width: 8, resolution: base, activations: both },
    { axis: 'width', label: `2x wider: ResNet-14, width 16, ${base} px`, model: 'resnet14', width: 16, resolution: base, activations: both },
    { axis: 'resolution', label: `higher resolution: ResNet-14, width 8, ${high} px`, model: 'resnet14', width: 8, resolution: high, activations: both },
    { axis: 'all', label: `all three: ResNet-26, width 16, ${high} px`, model: 'resnet26', width: 16, resolution: high, activations: both },
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
  /** Everything but data set, model, width and activation. */
  base: Partial<TrainConfig>;
  /** What the data is, in words. */
  data: string;
}

/** MNIST eps: 0.1. At 0.2 the base ResNet-14 (a stride-4 stem on 20 px digits) did not learn in 2 epochs (measured: 27% clean). */
export const MNIST_EPS = 0.1;

export function scalingSettings(profile: Profile): ScalingSettings {
  const mnistAttack = (steps: number) => ({ type: 'pgd-linf' as const, eps: MNIST_EPS, steps, randomStart: true });
  const mnistBase: Partial<TrainConfig> = {
    attack: { ...mnistAttack(1), stepSize: MNIST_EPS }, // PGD-1 with step = eps, as SAT trains
    batchSize: 64, lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4, labelSmoothing: 0.1,
    schedule: { type: 'cosine', warmupEpochs: 0.5 },
  };
  switch (profile) {
    case 'smoke':
      return {
        family: smallFamily(20, 28), seeds: [0], data: 'real MNIST (256 training images), at 20 and 28 px',
        base: { ...mnistBase, trainLimit: 256, testLimit: 50, epochs: 1, batchSize: 32, evaluation: { size: 50, attacks: [mnistAttack(3)] } },
      };
    case 'small':
      // Sized for about 10 minutes on 2 CPU cores (wasm): 20 runs (5 models x ReLU/SiLU x 2
      // seeds) of 3 epochs on 3,000 digits. Measured with 4,000 digits and one seed: 12 s of
      // training for the base model (~1,000 images/s), 48 s for "all three" (~250), 371 s in all.
      return {
        family: smallFamily(20, 28), seeds: [0, 1], data: 'real MNIST (3,000 training and 500 test digits), at 20 and 28 px',
        base: { ...mnistBase, trainLimit: 3000, testLimit: 500, epochs: 3, evaluation: { size: 500, attacks: [mnistAttack(10), mnistAttack(20)] } },
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

/** The registered data set a member trains on at a profile (registering MNIST resizes as needed). */
export function scalingDataset(profile: Profile, resolution: number): string {
  if (profile !== 'paper') return registerMnistAt(resolution);
  return imageDatasetName(path.basename(findRealImageFolder()?.root ?? 'imagenet'), paperData(resolution));
}

export function scalingStudy(): Experiment {
  return {
    name: EXPERIMENT,
    title: 'SAT as networks grow in depth, width and resolution',
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
  /** Accuracies in [0, 1] by column ('clean', 'PGD-20 0.1'), mean over seeds. */
  accuracy: Record<string, number>;
  /** Sample standard deviation over seeds by column (NaN with one seed). */
  std: Record<string, number>;
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
      const stats = Object.fromEntries(columns.map((c) => [c, meanAndStd(mine.flatMap((r) => r.results.filter((x) => attackColumn(x) === c).map((x) => x.accuracy)))]));
      const seconds = mine.reduce((s, r) => s + r.metrics.reduce((t, m) => t + m.seconds, 0), 0) / mine.length;
      return [{
        member, activation, size, seconds, seeds: mine.length,
        accuracy: Object.fromEntries(columns.map((c) => [c, stats[c].mean])),
        std: Object.fromEntries(columns.map((c) => [c, stats[c].std])),
      }];
    });
  });
}

/** A member's accuracy in `column` as a Measured (for measuredBand). */
export function measured(r: MemberResult, column: string): Measured {
  return { mean: r.accuracy[column], std: r.std[column], seeds: r.seeds };
}

export interface AxisTrend {
  axis: ScalingAxis;
  activation: string;
  /** Change of the column's accuracy from the base model to the scaled one, in [0, 1] units. */
  delta: number;
  base: MemberResult;
  scaled: MemberResult;
  /** Ratio of multiply-adds scaled / base. */
  macsRatio: number;
}

/** For each axis and activation: how much the column's accuracy moved from the base model. */
export function axisTrends(results: MemberResult[], column: string): AxisTrend[] {
  return results.flatMap((r) => {
    if (r.member.axis === 'base') return [];
    const base = results.find((b) => b.member.axis === 'base' && b.activation === r.activation);
    if (!base || r.accuracy[column] === undefined || base.accuracy[column] === undefined) return [];
    return [{ axis: r.member.axis, activation: r.activation, delta: r.accuracy[column] - base.accuracy[column], base, scaled: r, macsRatio: r.size.macs / base.size.macs }];
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
}

/**
 * One line per (series, axis) from the base model through the models scaled along that axis,
 * in order of x; colour says the axis, dash the series. EfficientNet points form their own line.
 */
export function scalingFigure(opts: { title: string; xTitle: string; yTitle: string; points: AxisPoint[]; logX?: boolean; width?: number; height?: number }): Figure {
  const seriesNames = [...new Set(opts.points.map((p) => p.series))];
  const axes: ScalingAxis[] = ['depth', 'width', 'resolution', 'all', 'efficientnet'];
  const lines = seriesNames.flatMap((series, si) =>
    axes.flatMap((axis) => {
      const base = axis === 'efficientnet' ? [] : opts.points.filter((p) => p.series === series && p.axis === 'base');
      const along = opts.points.filter((p) => p.series === series && p.axis === axis);
      if (along.length === 0) return [];
      const pts = [...base, ...along].sort((a, b) => a.x - b.x);
      return [{ name: `${series}: ${axis === 'all' ? 'all three' : axis}`, x: pts.map((p) => p.x), y: pts.map((p) => p.y), color: AXIS_COLORS[axis], dash: DASHES[si % DASHES.length], markers: true }];
    }),
  );
  return lineChart({ title: opts.title, xTitle: opts.xTitle, yTitle: opts.yTitle, series: lines, logX: opts.logX ?? true, width: opts.width ?? 900, height: opts.height ?? 560 });
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
