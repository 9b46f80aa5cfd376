// The paper's teaser figure: ResNet-50 trained with SAT on ImageNet for seven activations, each
// a point of clean accuracy against PGD robust accuracy.
//
// The `paper` profile is SAT's ResNet recipe as the official code sets it
// (github.com/cihangxie/SmoothAdversarialTraining, commit 988c080):
// - PGD-1 training at eps 4/255 (ResNet/main.py --attack-iter/--attack-epsilon; the paper trains
//   with PGD-1). ResNet/adv_model.py PGDAttacker uses step = max(step, eps/iterations), so a
//   one-step attack steps the full eps; 80% of training batches start from a random point in
//   the eps-ball, 20% from the clean image (prob_start_from_clean=0.2, one draw per batch): the
//   paper profile does the same (attackCleanStart); the smaller profiles start every batch at a
//   random point. One detail differs: the official random start is not clipped to the pixel
//   range before the gradient, ours is.
// - 100 epochs; learning rate 0.1 x (total batch / 256), divided by 10 at epochs 30, 60, 90
//   (main.py do_train: max_epoch, BASE_LR, ScheduledHyperParamSetter), with a 5-epoch linear
//   warm-up only when that rate exceeds 0.1 (so none at batch 256 on one GPU).
// - SGD with Nesterov momentum 0.9 (third_party/imagenet_utils.py ImageNetModel.optimizer).
// - Weight decay 1e-4 on convolution and fully connected kernels only, not on BN or biases
//   (imagenet_utils.py weight_decay, weight_decay_pattern '.*/W'); our isDecayed does the same.
// - Label smoothing 0.1 (adv_model.py AdvImageNetModel.label_smoothing).
// - Batch norm in inference mode while attacking (adv_model.py build_graph), as our trainer does.
// - Evaluation: non-targeted PGD at eps 4/255 with step 1/255 (README's eval command); the
//   paper reports PGD-200, the README's table PGD-10/20/50.
// - Augmentation: random-resized crop and flip (fbresnet_augmentor also jitters colour and
//   lighting, which we do not).
import type { AttackConfig } from '../attacks';
import { activationScatter, errorBar, originAxes, type Figure } from '../plot';
import { armSummaries, displayName, pairArms, robustColumn as strongestColumn, type ArmSummary } from '../report/compare';
import type { PairedDifference } from '../report/stats';
import type { TrainConfig } from '../train/config';
import type { TrainResult } from '../train';
import type { ImageDataSpec } from './imagenet-data';
import { TEASER_ACTIVATIONS, teaserPaperPoints, type PaperPoint } from './paper-numbers';
import type { Profile } from './profiles';
import type { Experiment } from './types';

export const EXPERIMENT = 'imagenet-activations';

/**
 * The paper profile trains the official forms (SAT's ResNet code): GELU's tanh approximation and
 * SmoothReLU with a trainable beta_raw per site. The CPU profiles keep the exact GELU and a
 * fixed SmoothReLU.
 */
export const OFFICIAL_FORMS: Record<string, string> = { gelu: 'gelu-tanh', smoothrelu: 'smoothrelu-learnable' };

/** The teaser activation a run's activation stands for ('gelu-tanh' -> 'gelu'), to match the paper's points. */
export function teaserKey(activation: string): string {
  return Object.entries(OFFICIAL_FORMS).find(([, v]) => v === activation)?.[0] ?? activation;
}

// resnet14 and resnet26, the CPU-sized bottleneck ResNets below, are resolved by name in lib/models.

export const IMAGENET_EPS = 4 / 255;

const pgd = (steps: number, stepSize: number, eps = IMAGENET_EPS): AttackConfig => ({ type: 'pgd-linf', eps, steps, stepSize, randomStart: true });

/** SAT's one-step training attack: PGD-1 from a random start, step = eps (adv_model.py). */
export const TRAIN_ATTACK = pgd(1, IMAGENET_EPS);

/** The SAT ResNet recipe for one GPU at batch 256 (see the header for the sources). */
export function paperRecipe(): Partial<TrainConfig> {
  return {
    attack: TRAIN_ATTACK,
    augment: true,
    epochs: 100,
    batchSize: 256,
    lr: 0.1,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 1e-4,
    labelSmoothing: 0.1,
    schedule: { type: 'step', milestones: [30, 60, 90], gamma: 0.1, warmupEpochs: 0 },
    evaluation: { size: 50000, attacks: [pgd(10, 1 / 255), pgd(50, 1 / 255), pgd(200, 1 / 255)] },
  };
}

/** The recipe in words with its sources, for the notebooks' settings tables. */
export const RECIPE_SOURCES: { setting: string; paper: string; source: string }[] = [
  { setting: 'training attack', paper: 'PGD-1, eps 4/255, step 4/255, random start on 80% of batches, clean start on 20% (ours too: attackCleanStart)', source: 'ResNet/main.py (--attack-iter, --attack-epsilon), adv_model.py (step = max(step, eps/iter), prob_start_from_clean=0.2)' },
  { setting: 'epochs and learning rate', paper: '100 epochs, lr 0.1 x batch/256, /10 at epochs 30, 60, 90; 5-epoch warm-up when lr > 0.1', source: 'ResNet/main.py do_train (max_epoch, BASE_LR, ScheduledHyperParamSetter)' },
  { setting: 'optimizer', paper: 'SGD, Nesterov momentum 0.9', source: 'ResNet/third_party/imagenet_utils.py ImageNetModel.optimizer' },
  { setting: 'weight decay', paper: '1e-4 on conv and FC kernels only (no BN, no biases)', source: "imagenet_utils.py weight_decay, weight_decay_pattern '.*/W'" },
  { setting: 'label smoothing', paper: '0.1', source: 'ResNet/adv_model.py AdvImageNetModel.label_smoothing' },
  { setting: 'batch', paper: '32 per GPU (the slurm script suggests 4 nodes x 8 GPUs: 1024)', source: 'ResNet/slurm/train.sh (BATCH=32)' },
  { setting: 'evaluation', paper: 'non-targeted PGD, eps 4/255, step 1/255; PGD-200 in the paper, PGD-10/20/50 in the README', source: 'README eval command (--attack-epsilon=4.0 --attack-step-size=1.0); paper abstract' },
  { setting: 'BN while attacking', paper: 'inference mode (frozen statistics)', source: 'ResNet/adv_model.py build_graph' },
];

export interface ActivationStudySettings {
  activations: string[];
  seeds: number[];
  data: ImageDataSpec;
  /** Everything but the data set name and the activation. */
  base: Partial<TrainConfig>;
  /** A line to print beside the settings when they are not what the profile's name says (the CI smoke of the paper path). */
  note?: string;
}

/** The generated stand-in when no ImageNet-style folder is present (10 classes of coloured gratings). */
export const SYNTHETIC_SPEC = { classes: 10, perClass: 300, valPerClass: 50, size: 40, seed: 0 };

export function activationStudySettings(profile: Profile): ActivationStudySettings {
  const activations = [...TEASER_ACTIVATIONS];
  // Small profiles: a 14-layer bottleneck ResNet (one block per stage) at base width 8 (ResNet-50:
  // 64) on 32 px images of 10 classes. Random-resized crops keep at least 35% of the area: at
  // 32 px the ImageNet range (8%) leaves a few pixels.
  const smallData = (trainLimit: number, valLimit: number): ImageDataSpec => ({ size: 32, classes: 10, trainLimit, valLimit, cropScale: [0.35, 1], synthetic: SYNTHETIC_SPEC });
  const smallBase: Partial<TrainConfig> = {
    ...paperRecipe(),
    model: 'resnet14', width: 8, batchSize: 64, lr: 0.1,
    schedule: { type: 'cosine', warmupEpochs: 0.5 },
  };
  switch (profile) {
    case 'smoke':
      return {
        activations, seeds: [0], data: smallData(128, 50),
        base: { ...smallBase, trainLimit: 128, testLimit: 50, width: 4, epochs: 1, batchSize: 32, evaluation: { size: 50, attacks: [pgd(3, 1 / 255)] } },
      };
    case 'medium': // no medium design of its own: the small one
    case 'small':
      // Sized for about 10 minutes on 2 CPU cores (wasm): 14 runs (7 activations x 2 seeds) of
      // 5 epochs on 3,000 images, each evaluated with PGD-10 and PGD-20 on 500. Measured: 26-41 s
      // of training per run (380-580 images/s), 303 s for one seed of all seven.
      return {
        activations, seeds: [0, 1], data: smallData(3000, 500),
        base: { ...smallBase, trainLimit: 3000, testLimit: 500, epochs: 5, evaluation: { size: 500, attacks: [pgd(10, 1 / 255), pgd(20, 1 / 255)] } },
      };
    case 'paper':
      if (process.env.SAT_PAPER_SMOKE) return paperSmokeSettings(activations);
      return {
        activations: activations.map((a) => OFFICIAL_FORMS[a] ?? a), seeds: [0],
        // All of ImageNet at 224 px, streamed from disk, evaluated with the official crop; no
        // synthetic fallback: the paper's setting needs the data.
        data: { size: 224, cropScale: [0.08, 1], synthetic: SYNTHETIC_SPEC, requireReal: true, stream: 'resnet-official' },
        base: { ...paperRecipe(), attackCleanStart: PAPER_CLEAN_START, model: 'resnet50', width: 64 },
      };
  }
}

/** The official training attack starts 20% of batches at the clean image (adv_model.py prob_start_from_clean). */
export const PAPER_CLEAN_START = 0.2;

/**
 * SAT_PAPER_SMOKE=1 (CI): the paper profile's code path — the recipe, ResNet-50, a JPEG folder
 * streamed through decoding workers, mid-epoch checkpoints (SAT_CHECKPOINT_EVERY_STEPS), streamed
 * evaluation with the official crop — at toy scale: a generated folder (SYNTHETIC), 32 px, base
 * width 4, 3 steps per arm. Its numbers mean nothing.
 */
function paperSmokeSettings(activations: string[]): ActivationStudySettings {
  return {
    activations, seeds: [0],
    data: { size: 32, cropScale: [0.35, 1], trainLimit: 64, valLimit: 16, stream: 'resnet-official', synthetic: { classes: 4, perClass: 16, valPerClass: 4, size: 64, seed: 0 } },
    base: {
      ...paperRecipe(), attackCleanStart: PAPER_CLEAN_START, model: 'resnet50', width: 4, batchSize: 8, maxSteps: 3, trainLimit: 64, testLimit: 16,
      evaluation: { size: 16, attacks: [pgd(2, 1 / 255)] },
    },
    note: 'SAT_PAPER_SMOKE: the paper profile\'s code path at toy scale (generated SYNTHETIC JPEGs, 32 px, ResNet-50 at base width 4, 3 steps per activation, 16 validation images); a pipeline check whose numbers mean nothing.',
  };
}

/** The runs of the study on a prepared data set (see prepareImageData). */
export function imagenetActivations(dataset: string, activations: readonly string[] = TEASER_ACTIVATIONS): Experiment {
  return {
    name: EXPERIMENT,
    title: `SAT with ${activations.length} activations on ${dataset}`,
    runs: (profile) => {
      const s = activationStudySettings(profile);
      return s.seeds.flatMap((seed) => activations.map((activation) => ({ ...s.base, dataset, activation, seed })));
    },
  };
}

/** The column of the study's headline robust accuracy: its strongest evaluation attack, e.g. 'PGD-20 4/255'. */
export function robustColumn(base: Partial<TrainConfig>): string {
  return strongestColumn(base.evaluation);
}

/** Per activation that has runs (in the order of `activations`): clean and robust accuracy over seeds (lib/report/compare). */
export function activationPoints(runs: TrainResult[], activations: readonly string[] = TEASER_ACTIVATIONS): ArmSummary<TrainResult>[] {
  return armSummaries(runs, (r) => r.config.activation, activations);
}

/** Each activation minus ReLU in `column`, paired by seed (the seeds both have), with its t interval and verdict. */
export function versusRelu(points: ArmSummary<TrainResult>[], column: string): { activation: string; delta: PairedDifference }[] {
  const relu = points.find((p) => p.arm === 'relu');
  if (!relu) return [];
  return points.flatMap((p) => {
    const delta = p === relu ? null : pairArms(p, relu, column);
    return delta ? [{ activation: p.arm, delta }] : [];
  });
}

// ---------------------------------------------------------------------------------------------
// Figure recipes (lib/plot/activations.ts draws them)

export interface TeaserInput {
  ours: ArmSummary<TrainResult>[];
  /** Our robust column, e.g. 'PGD-20 4/255'. */
  robustColumn: string;
  /** Legend prefix of our points (say SYNTHETIC when it is). */
  oursLabel: string;
  paper: PaperPoint[];
  /** Legend prefix of the paper's points, e.g. "paper, read off the teaser figure". */
  paperLabel?: string;
  title: string;
}

/** Our points: clean (x) against robust (y) accuracy in percent, 95% CI bars over seeds. */
export function teaserFigure(opts: TeaserInput): Figure {
  const c = opts.robustColumn;
  return activationScatter(opts.title, 'clean accuracy (%)', `robust accuracy (%), ${c}`, [
    { name: opts.oursLabel, symbol: 'circle', points: opts.ours.map((p) => ({ activation: p.arm, x: 100 * p.summaries.clean.mean, y: 100 * (p.summaries[c]?.mean ?? NaN), ex: errorBar(p.summaries.clean), ey: errorBar(p.summaries[c]) })) },
  ], displayName);
}

/** The paper's points alone (its own plot: another data set, model and scale). */
export function paperTeaserFigure(title: string, paper: PaperPoint[] = teaserPaperPoints(), label = "paper, read off the paper's teaser figure"): Figure {
  return activationScatter(title, 'ImageNet clean accuracy (%)', `ImageNet robust accuracy (%), ${paper[0]?.metric ?? ''}`, [
    { name: label, symbol: 'diamond', points: paper.map((p) => ({ activation: p.activation, x: p.clean, y: p.robust })) },
  ], displayName);
}

/**
 * Each smooth activation's change against ReLU in clean (x) and robust (y) accuracy, in points:
 * ours paired by seed with 95% CI bars, the paper's (one run each) without; ReLU at the origin.
 */
export function deltaVsReluFigure(opts: TeaserInput): Figure {
  const c = opts.robustColumn;
  const dClean = versusRelu(opts.ours, 'clean');
  const paperRelu = opts.paper.find((p) => p.activation === 'relu');
  return originAxes(activationScatter(opts.title, 'Δ clean accuracy vs ReLU (points)', `Δ robust accuracy vs ReLU (points): ours ${c}, paper ${opts.paper[0]?.metric ?? ''}`, [
    {
      name: opts.oursLabel, symbol: 'circle',
      points: versusRelu(opts.ours, c).flatMap((d) => {
        const x = dClean.find((e) => e.activation === d.activation);
        return x ? [{ activation: d.activation, x: 100 * x.delta.mean, y: 100 * d.delta.mean, ex: errorBar(x.delta, [-1, 1]), ey: errorBar(d.delta, [-1, 1]) }] : [];
      }),
    },
    { name: opts.paperLabel ?? 'paper (ImageNet, ResNet-50)', symbol: 'diamond', points: paperRelu ? opts.paper.filter((p) => p !== paperRelu).map((p) => ({ activation: p.activation, x: p.clean - paperRelu.clean, y: p.robust - paperRelu.robust })) : [] },
  ], displayName));
}
