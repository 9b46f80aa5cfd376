// Numbers the paper and its official repository report, as data, each with where it comes from.
// Only numbers we could check are here; everything else is referred to by table number.
// All values are accuracies in percent (robustness = accuracy under the attack). The README's
// model-zoo numbers live once, with the released checkpoints, in lib/checkpoint/released.ts.
import { releasedModel, type ReleasedModel } from '../checkpoint/released';
import { countModel } from '../models/count';

export interface PaperNumber {
  model: string;
  dataset: string;
  activation: string;
  /** 'clean', 'PGD-10', 'PGD-20', 'PGD-50', 'PGD-200'. */
  metric: string;
  /** Accuracy in percent. */
  value: number;
  /** The threat model, in words. */
  threat: string;
  /** Which of SOURCES it comes from, when it is one of them (for short table cells). */
  sourceKey?: SourceKey;
  /** The full source, with any derivation (e.g. "69.7 − 0.9"). */
  source: string;
}

export const SOURCES = {
  abstract: 'Xie et al. 2020, "Smooth Adversarial Training", arXiv:2006.14536, abstract (robustness: PGD-200 attacker, eps 4/255, as the paper evaluates)',
  readmeText: 'github.com/cihangxie/SmoothAdversarialTraining README, introduction ("69.7% accuracy and 42.3% robustness, beating its ReLU version by 0.9% for accuracy and 9.3% for robustness")',
  readmeTable:
    'github.com/cihangxie/SmoothAdversarialTraining README (commit 988c080), ResNet-50 model-zoo table: released checkpoints re-evaluated; eps 4/255, step size 1/255, non-targeted PGD. ' +
    'The header says "error rate" but the values are accuracies; the README notes they differ slightly from the paper because of the image loader',
} as const;
export type SourceKey = keyof typeof SOURCES;

/** Short names of the sources for table cells; print SOURCES beside the table. */
export const SOURCE_LABELS: Record<SourceKey, string> = { abstract: 'paper, abstract', readmeText: 'repo README, intro', readmeTable: 'repo README, model zoo' };

const IMAGENET_THREAT = 'L-inf eps 4/255, non-targeted';

type Metric = 'clean' | 'PGD-10' | 'PGD-20' | 'PGD-50' | 'PGD-200';

/** A released checkpoint and the README's numbers for it (lib/checkpoint/released.ts holds them once). */
function readmeModel(name: string): { model: ReleasedModel; values: Partial<Record<Metric, number>> } {
  const model = releasedModel(name);
  const r = model?.readme;
  if (!model || !r) throw new Error(`paper-numbers: the released-model list has no README numbers for '${name}'`);
  const values: Partial<Record<Metric, number>> = { clean: r.clean };
  if (r.pgd10 !== undefined) values['PGD-10'] = r.pgd10;
  if (r.pgd20 !== undefined) values['PGD-20'] = r.pgd20;
  if (r.pgd50 !== undefined) values['PGD-50'] = r.pgd50;
  return { model, values };
}

/** ResNet-50 on ImageNet, ReLU versus smooth activations: the README's model-zoo table. */
const README_TABLE_MODELS = ['Res50-relu', 'Res50-silu', 'Res50-elu', 'Res50-gelu', 'Res50-smoothrelu'];

// ---------------------------------------------------------------------------------------------
// The scaling study (notebook 03): SAT models at larger depth, width and resolution, and
// EfficientNets. Only the README's tables and the abstract give numbers we can check.

export const SCALING_SOURCES = {
  resnetTable:
    'github.com/cihangxie/SmoothAdversarialTraining README (commit 988c080), "SAT ResNet at different scales" table: released SiLU checkpoints re-evaluated; ' +
    'eps 4/255, step size 1/255, non-targeted PGD. The header says "error rate" but the values are accuracies',
  efficientNetTable:
    'github.com/cihangxie/SmoothAdversarialTraining README (commit 988c080), "SAT EfficientNet at different scales" table: clean accuracy of the released SAT checkpoints ' +
    '(--moving_average_decay=0; L1-Enhanced: 0.9999); its PGD columns say TODO, so no robustness is quoted from it',
} as const;

/** How a model of the scaling study grows from ResNet-50 (or is an EfficientNet). */
export type ScalingAxis = 'base' | 'depth' | 'width' | 'resolution' | 'all' | 'efficientnet';

/** One model of the paper's scaling study, named as our model registry names it. */
export interface ScalingPoint {
  /** The paper's name for it, e.g. '(2X deeper) ResNet-101'. */
  label: string;
  /** Our registry name (lib/models), for parameter and MAC counts. */
  arch: string;
  /** Input side in pixels. */
  inputSize: number;
  axis: ScalingAxis;
  /** Accuracies in percent. */
  values: Partial<Record<Metric, number>>;
  source: string;
}

/** A row of the README's scaling tables, its numbers read from the released-model list. */
const point = (label: string, released: string, axis: ScalingAxis): ScalingPoint => {
  const { model, values } = readmeModel(released);
  const source = model.family === 'resnet' ? SCALING_SOURCES.resnetTable : SCALING_SOURCES.efficientNetTable;
  return { label, arch: model.arch, inputSize: model.inputSize, axis, values, source };
};
const effNet = (label: string, released: string) => point(label, released, 'efficientnet');

/** The README's SAT (SiLU) scaling tables, row by row, with EfficientNet-L1's robustness from the abstract. */
export const SCALING_POINTS: readonly ScalingPoint[] = [
  point('ResNet-50', 'Res50-silu', 'base'),
  point('(2X deeper) ResNet-101', 'Res101-silu', 'depth'),
  point('(3X deeper) ResNet-152', 'Res152-silu', 'depth'),
  point('(2X wider) ResNeXt-50 32x4d', 'ResX50-silu-32x4d', 'width'),
  point('(4X wider) ResNeXt-50 32x8d', 'ResX50-silu-32x8d', 'width'),
  point('(299 resolution) ResNet-50', 'Res50-silu-299', 'resolution'),
  point('(380 resolution) ResNet-50', 'Res50-silu-380', 'resolution'),
  point('(3X deeper & 4X wider & 380 resolution) ResNeXt-152 32x8d', 'ResX152-silu-380-32x8d', 'all'),
  effNet('EfficientNet-B0', 'efficientnet-b0'),
  effNet('EfficientNet-B1', 'efficientnet-b1'),
  effNet('EfficientNet-B2', 'efficientnet-b2'),
  effNet('EfficientNet-B3', 'efficientnet-b3'),
  effNet('EfficientNet-B4', 'efficientnet-b4'),
  effNet('EfficientNet-B5', 'efficientnet-b5'),
  effNet('EfficientNet-B6', 'efficientnet-b6'),
  effNet('EfficientNet-B7', 'efficientnet-b7'),
  effNet('EfficientNet-L1', 'efficientnet-bL1'),
  // The README's "L1-Enhanced" (weights' moving average 0.9999) is the abstract's 82.2% model;
  // its 58.6% robustness is the abstract's (PGD-200).
  (() => {
    const p = effNet('EfficientNet-L1 (Enhanced)', 'efficientnet-bL1-enhanced');
    return { ...p, values: { ...p.values, 'PGD-200': 58.6 }, source: `${p.source}; PGD-200: ${SOURCES.abstract}` };
  })(),
];

/** Points PAPER_NUMBERS already holds: ResNet-50 as the README's SiLU row, L1-Enhanced as the abstract's EfficientNet-L1. */
const LISTED_ELSEWHERE = new Set(['ResNet-50', 'EfficientNet-L1 (Enhanced)']);

/** The other scaling points as PaperNumbers. */
function scalingNumbers(): PaperNumber[] {
  return SCALING_POINTS.filter((p) => !LISTED_ELSEWHERE.has(p.label)).flatMap((p) =>
    Object.entries(p.values).map(([metric, value]) => ({
      model: `${p.label} (SAT, released checkpoint)`,
      dataset: 'ImageNet',
      activation: 'silu',
      metric,
      value: value!,
      threat: metric === 'clean' ? 'none' : `${IMAGENET_THREAT}${metric === 'PGD-200' ? '' : ', step 1/255'}`,
      source: p.source,
    })),
  );
}

export const PAPER_NUMBERS: readonly PaperNumber[] = [
  // The abstract: SAT lifts ResNet-50's robustness from 33.0% to 42.3% and its accuracy by 0.9%.
  { model: 'ResNet-50', dataset: 'ImageNet', activation: 'relu', metric: 'PGD-200', value: 33.0, threat: IMAGENET_THREAT, sourceKey: 'abstract', source: SOURCES.abstract },
  { model: 'ResNet-50', dataset: 'ImageNet', activation: 'silu', metric: 'PGD-200', value: 42.3, threat: IMAGENET_THREAT, sourceKey: 'abstract', source: SOURCES.abstract },
  // The README's introduction gives SiLU's 69.7% and the +0.9% gain, so ReLU's is 68.8%.
  { model: 'ResNet-50', dataset: 'ImageNet', activation: 'silu', metric: 'clean', value: 69.7, threat: 'none', sourceKey: 'readmeText', source: SOURCES.readmeText },
  { model: 'ResNet-50', dataset: 'ImageNet', activation: 'relu', metric: 'clean', value: 68.8, threat: 'none', sourceKey: 'readmeText', source: `${SOURCES.readmeText}; 69.7 − 0.9` },
  // EfficientNet-L1 with SAT, from the abstract.
  { model: 'EfficientNet-L1', dataset: 'ImageNet', activation: 'silu', metric: 'clean', value: 82.2, threat: 'none', sourceKey: 'abstract', source: SOURCES.abstract },
  { model: 'EfficientNet-L1', dataset: 'ImageNet', activation: 'silu', metric: 'PGD-200', value: 58.6, threat: IMAGENET_THREAT, sourceKey: 'abstract', source: SOURCES.abstract },
  ...README_TABLE_MODELS.map(readmeModel).flatMap(({ model, values }) =>
    Object.entries(values).map(([metric, value]) => ({
      model: 'ResNet-50 (released checkpoint)',
      dataset: 'ImageNet',
      activation: model.activation,
      metric,
      value: value!,
      threat: metric === 'clean' ? 'none' : `${IMAGENET_THREAT}, step 1/255`,
      sourceKey: 'readmeTable' as const,
      source: SOURCES.readmeTable,
    })),
  ),
  ...scalingNumbers(),
];

/**
 * The paper's teaser figure (Figure 1 of arXiv:2006.14536, also in the official repository):
 * ResNet-50 with SAT on ImageNet, accuracy against robustness per activation. ReLU and SiLU are
 * the abstract's numbers (README intro for the accuracies); the other five are read off the
 * figure to about ±0.1 and are labelled so wherever they are shown.
 */
export const TEASER_SOURCE = "read off the paper's teaser figure (Xie et al. 2020, Figure 1; about ±0.1 points)";
export const TEASER_POINTS: readonly { activation: string; clean: number; robust: number; source: string }[] = [
  { activation: 'relu', clean: 68.8, robust: 33.0, source: `${SOURCES.abstract}; ${SOURCES.readmeText}` },
  { activation: 'softplus', clean: 68.35, robust: 40.0, source: TEASER_SOURCE },
  { activation: 'psoftplus:10', clean: 68.8, robust: 38.7, source: TEASER_SOURCE },
  { activation: 'smoothrelu', clean: 69.4, robust: 40.3, source: TEASER_SOURCE },
  { activation: 'elu', clean: 69.2, robust: 41.7, source: TEASER_SOURCE },
  { activation: 'gelu', clean: 69.95, robust: 41.65, source: TEASER_SOURCE },
  { activation: 'silu', clean: 69.7, robust: 42.3, source: `${SOURCES.abstract}; ${SOURCES.readmeText}` },
];

/** Where the paper reports what we cannot quote: a pointer instead of a number. */
export const PAPER_POINTERS = {
  reluVsSmoothBackward:
    'The paper reports the ReLU-forward / smooth-backward study (attacker and trainer gradients swapped separately, ResNet-50 on ImageNet) in its Table 1; ' +
    'we could not check those numbers against a source here, so they are not quoted.',
} as const;

/** The numbers matching a filter, e.g. paperNumbers({ model: 'ResNet-50' }). */
export function paperNumbers(filter: Partial<Pick<PaperNumber, 'model' | 'dataset' | 'activation' | 'metric'>> = {}): PaperNumber[] {
  return PAPER_NUMBERS.filter((p) => Object.entries(filter).every(([k, v]) => p[k as keyof PaperNumber] === v));
}

/** SiLU's gain over ReLU for ResNet-50 on ImageNet in one metric ('PGD-200', 'clean'), in points, with its source's short name. */
export function paperSiluGain(metric: 'clean' | 'PGD-200'): { points: number; source: string } {
  const [relu, silu] = ['relu', 'silu'].map((a) => PAPER_NUMBERS.find((p) => p.model === 'ResNet-50' && p.activation === a && p.metric === metric)!);
  return { points: silu.value - relu.value, source: silu.sourceKey ? SOURCE_LABELS[silu.sourceKey] : silu.source };
}

// ---------------------------------------------------------------------------------------------
// The paper's points as the notebooks plot them

/** The teaser figure's seven activations, in its order. */
export const TEASER_ACTIVATIONS = ['relu', 'softplus', 'psoftplus:10', 'smoothrelu', 'elu', 'gelu', 'silu'] as const;

export interface PaperPoint {
  activation: string;
  /** Percent. */
  clean: number;
  robust: number;
  metric: string;
  source: string;
}

/** The paper's ResNet-50 points (README table: released checkpoints) for one robust metric, e.g. 'PGD-20'. */
export function paperActivationPoints(metric = 'PGD-20'): PaperPoint[] {
  const model = 'ResNet-50 (released checkpoint)';
  return TEASER_ACTIVATIONS.flatMap((activation) => {
    const clean = PAPER_NUMBERS.find((p) => p.model === model && p.activation === activation && p.metric === 'clean');
    const robust = PAPER_NUMBERS.find((p) => p.model === model && p.activation === activation && p.metric === metric);
    return clean && robust ? [{ activation, clean: clean.value, robust: robust.value, metric, source: robust.source }] : [];
  });
}

/** The teaser activations the paper's sources we could check give no numbers for. */
export function unsourcedActivations(metric = 'PGD-20'): string[] {
  const sourced = new Set(paperActivationPoints(metric).map((p) => p.activation));
  return TEASER_ACTIVATIONS.filter((a) => !sourced.has(a));
}

/** The paper's teaser-figure points (ReLU and SiLU from the abstract, the rest read off the figure). */
export function teaserPaperPoints(): PaperPoint[] {
  return TEASER_POINTS.map((p) => ({ activation: p.activation, clean: p.clean, robust: p.robust, metric: 'PGD (teaser figure)', source: p.source }));
}

/** The paper's scaling points with our counts of their parameters and multiply-adds. */
export function paperScalingPoints(): (ScalingPoint & { params: number; macs: number })[] {
  return SCALING_POINTS.map((p) => ({ ...p, ...countModel(p.arch, { inputShape: [p.inputSize, p.inputSize, 3] }) }));
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
