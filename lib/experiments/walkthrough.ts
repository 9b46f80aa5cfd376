// Settings of the teaching walkthrough (notebooks/00-walkthrough.ipynb) at each profile: a
// quickly trained standard (non-adversarial) model to attack, and one short SAT run that the
// notebook trains step by step to draw its loss curve live.
import type { AttackConfig } from '../attacks';
import type { ScheduleConfig } from '../train/schedule';
import type { TrainConfig } from '../train/config';
import type { Profile } from './profiles';

export const EXPERIMENT = 'walkthrough';

export interface WalkthroughSettings {
  /** Standard training on clean images (attack null): the model PGD is shown fooling. */
  standard: Partial<TrainConfig>;
  /** The short SAT run, trained in the notebook's own loop. */
  sat: {
    activation: string;
    trainLimit: number;
    width: number;
    epochs: number;
    batchSize: number;
    lr: number;
    schedule: ScheduleConfig;
    attack: AttackConfig;
    seed: number;
  };
  /** Test images for the evaluation tables and curves. */
  evalSize: number;
  /** The threat model everything is evaluated at (the training eps). */
  eps: number;
  /** eps values and PGD step counts for the "how to read robust accuracy" curves. */
  epsSweep: number[];
  stepSweep: number[];
}

const EPS = 0.2;

export function walkthroughSettings(profile: Profile): WalkthroughSettings {
  const trainAttack: AttackConfig = { type: 'pgd-linf', eps: EPS, steps: 1, stepSize: 1.25 * EPS, randomStart: true };
  const standard = (trainLimit: number, width: number, epochs: number): Partial<TrainConfig> => ({
    experiment: EXPERIMENT, dataset: 'mnist', model: 'mnist-cnn', activation: 'relu', attack: null,
    trainLimit, width, epochs, batchSize: 64, lr: 0.05, schedule: { type: 'cosine', warmupEpochs: 0.5 }, seed: 0,
    evaluation: { size: 100, attacks: [] },
  });
  const sat = (trainLimit: number, width: number, epochs: number) => ({
    activation: 'silu', trainLimit, width, epochs, batchSize: 64, lr: 0.05,
    schedule: { type: 'cosine' as const, warmupEpochs: 0.5 }, attack: trainAttack, seed: 0,
  });
  switch (profile) {
    case 'smoke':
      return { standard: standard(1000, 8, 1), sat: sat(512, 8, 2), evalSize: 100, eps: EPS, epsSweep: [0, 0.1, 0.2, 0.3], stepSweep: [1, 2, 5, 10] };
    case 'medium': // no medium design of its own: the small one
    case 'small':
      return { standard: standard(4000, 16, 2), sat: sat(2000, 16, 3), evalSize: 300, eps: EPS, epsSweep: [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3], stepSweep: [1, 2, 5, 10, 20, 50] };
    case 'paper':
      return { standard: standard(8000, 32, 5), sat: sat(8000, 32, 10), evalSize: 1000, eps: EPS, epsSweep: [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4], stepSweep: [1, 2, 5, 10, 20, 50, 100] };
  }
}
