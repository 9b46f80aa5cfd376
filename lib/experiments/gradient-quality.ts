// Notebook 07: the paper's mechanism, measured. Three arms of the relu-vs-smooth-backward study
// trained the same way (ReLU; ReLU forward with the smooth trainer gradient; SiLU), with the
// study's own configs (variantConfig) so that the same finished runs serve notebooks 01 and 07.
// Besides them, "trace" runs: the same configs truncated after a share of their steps (maxSteps;
// the learning rate follows the full schedule, so a trace run is the full run's checkpoint at that
// step) with the trainer's gradient statistics logged (measure 5). The trace runs are the
// checkpoints of measure 7.
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

/** The full runs: the relu-vs-smooth-backward study restricted to the three arms (same run ids as notebook 01's). */
export function gradientQualityArms(): Experiment {
  return reluVsSmoothBackward(arms());
}

/** The trace runs (checkpoints and the trainer's gradient statistics), seed by seed. */
export function gradientQualityTraces(): Experiment {
  return {
    name: EXPERIMENT,
    title: "Gradient quality: checkpoints of the three arms, with the trainer's gradient logged",
    runs: (profile) => studySettings(profile).seeds.flatMap((seed) => arms().flatMap((v) => CHECKPOINT_SHARES.map((s) => traceConfig(v, profile, seed, s)))),
  };
}

/** What the diagnostics measure at a profile (test images, attack budget, grid sizes). */
export interface DiagnosticSettings {
  /** Test images (the first n of the run's test set). */
  n: number;
  eps: number;
  /** PGD steps of measure 1 (1..steps), and its step size. */
  attackSteps: number;
  attackStepSize: number;
  /** PGD steps and random points of measures 2-4. */
  pgdSteps: number;
  randomPoints: number;
  /** Maximisation steps of the local-linearity measure (3). */
  linearitySteps: number;
  /** Images and points per axis of the 2-D landscapes (6). */
  landscapeImages: number;
  landscapePoints: number;
}

export function diagnosticSettings(profile: Profile): DiagnosticSettings {
  const eps = studySettings(profile).eps;
  switch (profile) {
    case 'smoke':
      return { n: 16, eps, attackSteps: 5, attackStepSize: eps / 4, pgdSteps: 3, randomPoints: 2, linearitySteps: 2, landscapeImages: 2, landscapePoints: 5 };
    case 'small':
      return { n: 200, eps, attackSteps: 50, attackStepSize: eps / 4, pgdSteps: 10, randomPoints: 4, linearitySteps: 5, landscapeImages: 4, landscapePoints: 21 };
    default:
      return { n: 1000, eps, attackSteps: 50, attackStepSize: eps / 4, pgdSteps: 20, randomPoints: 8, linearitySteps: 10, landscapeImages: 8, landscapePoints: 31 };
  }
}
