// What a run costs in FLOPs and GPU hours, from the model's multiply-adds: the estimate the
// notebooks print for settings this machine cannot run (the paper's ImageNet models).
import { countModel } from '../models/count';
import type { TrainConfig } from '../train/config';

/** The throughput the estimate assumes: mixed-precision training on one H100/A100-class GPU. */
export const ASSUMED_GPU_FLOPS = 100e12;

export interface CostItem {
  model: string;
  width?: number;
  inputSize: number;
  epochs: number;
  trainImages: number;
  /** PGD steps of the training attack (0: standard training). */
  attackSteps: number;
  evalImages: number;
  /** PGD steps of each evaluation attack. */
  evalAttackSteps: number[];
}

export interface Cost {
  macs: number;
  trainFlops: number;
  evalFlops: number;
  /** At ASSUMED_GPU_FLOPS. */
  hours: number;
}

/**
 * FLOPs of one run: a forward and backward pass costs about 3 forward passes, a forward pass
 * 2 FLOPs per multiply-add. A PGD-k training step is k attack passes (forward + backward to the
 * input) plus the training pass; a PGD-k evaluation is k forward-backward passes plus a forward.
 */
export function runCost(item: CostItem): Cost {
  const { macs } = countModel(item.model, { inputShape: [item.inputSize, item.inputSize, 3], numClasses: 1000, width: item.width });
  const pass = 2 * macs; // FLOPs of one forward pass
  const trainFlops = item.trainImages * item.epochs * (item.attackSteps + 1) * 3 * pass;
  const evalFlops = item.evalImages * (1 + item.evalAttackSteps.reduce((s, k) => s + 3 * k + 1, 0)) * pass;
  return { macs, trainFlops, evalFlops, hours: (trainFlops + evalFlops) / ASSUMED_GPU_FLOPS / 3600 };
}

export const IMAGENET_TRAIN_IMAGES = 1281167;
export const IMAGENET_VAL_IMAGES = 50000;

/** The cost of a run of `config` at `inputSize` on all of ImageNet. */
export function imagenetRunCost(config: Partial<TrainConfig>, inputSize: number): Cost {
  return runCost({
    model: config.model ?? 'resnet50',
    width: config.width,
    inputSize,
    epochs: config.epochs ?? 100,
    trainImages: IMAGENET_TRAIN_IMAGES,
    attackSteps: config.attack?.steps ?? 0,
    evalImages: Math.min(config.evaluation?.size ?? IMAGENET_VAL_IMAGES, IMAGENET_VAL_IMAGES),
    evalAttackSteps: (config.evaluation?.attacks ?? []).map((a) => a.steps ?? 10),
  });
}

/** "about 2.3 days" / "about 17 hours". */
export function formatHours(hours: number): string {
  if (hours >= 48) return `about ${(hours / 24).toFixed(1)} days`;
  return `about ${hours.toFixed(hours < 10 ? 1 : 0)} hours`;
}
