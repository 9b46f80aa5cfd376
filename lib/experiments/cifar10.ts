// SAT on CIFAR-10: PreAct ResNet-18 with ReLU and with smooth activations. Uses the real data
// when it is present (data/cifar-10-batches-bin or CIFAR10_DIR), else the generated stand-in,
// which every table and plot must label SYNTHETIC.
// The `paper` profile is the standard Madry et al. (2018) CIFAR-10 adversarial-training setting
// for PreAct ResNet-18 (eps 8/255, PGD-10 training with step 2/255, SGD 0.1 with momentum 0.9,
// weight decay 5e-4, batch 128, 200 epochs with steps at 100 and 150, as in Rice et al. 2020):
// we could not check the SAT paper's own CIFAR-10 settings against a source here.
import type { AttackConfig } from '../attacks';
import { findCifar10 } from '../data/cifar10';
import type { TrainConfig } from '../train/config';
import type { Profile } from './profiles';
import type { Experiment } from './types';

export const EXPERIMENT = 'cifar10-activations';
export const CIFAR10_ACTIVATIONS = ['relu', 'silu', 'gelu', 'softplus', 'elu'] as const;

const EPS = 8 / 255;

/** 'cifar10' when the real data is present, else 'synthetic-cifar10'. */
export function cifarDataset(): 'cifar10' | 'synthetic-cifar10' {
  return findCifar10() ? 'cifar10' : 'synthetic-cifar10';
}

export interface CifarSettings {
  seeds: number[];
  base: Partial<TrainConfig>;
  /** What the training attack is, in words, for the notebook. */
  recipe: string;
}

export function cifarSettings(profile: Profile, dataset = cifarDataset()): CifarSettings {
  const common = { dataset, model: 'preact-resnet18', augment: true, momentum: 0.9, weightDecay: 5e-4 };
  const pgd = (steps: number, stepSize?: number): AttackConfig => ({ type: 'pgd-linf', eps: EPS, steps, ...(stepSize ? { stepSize } : {}), randomStart: true });
  const oneStep = pgd(1, 1.25 * EPS);
  switch (profile) {
    case 'smoke':
      return {
        seeds: [0],
        recipe: 'PGD-1 training (random start, step 1.25·eps), eps 8/255; a pipeline check only',
        base: { ...common, trainLimit: 128, testLimit: 50, width: 4, epochs: 1, batchSize: 32, lr: 0.05, attack: oneStep, evaluation: { size: 50, attacks: [pgd(3)] } },
      };
    case 'medium': // no medium design of its own: the small one
    case 'small':
      // PreAct ResNet-18 at width 8 (1/8 of the paper's 64) on 2,000 images for 8 epochs, about
      // 2.5 minutes per activation on a 2-core CPU (~100 images/s). PGD-1 training with random
      // start and step 1.25·eps (Wong et al. 2020); the SAT paper's ImageNet PGD-1 step is eps. Measured on the synthetic stand-in: with 1,000 images x 3 epochs SiLU,
      // GELU and Softplus had not started learning (clean accuracy near chance); smooth
      // activations start slower than ReLU in this network.
      return {
        seeds: [0],
        recipe: 'PGD-1 training (random start, step 1.25·eps as in Wong et al. 2020\'s fast adversarial training; the SAT paper\'s ImageNet PGD-1 step is eps), eps 8/255',
        base: {
          ...common, trainLimit: 2000, testLimit: 200, width: 8, epochs: 8, batchSize: 64, lr: 0.05,
          schedule: { type: 'cosine', warmupEpochs: 0.5 }, attack: oneStep,
          evaluation: { size: 200, attacks: [pgd(10)] },
        },
      };
    case 'paper':
      return {
        seeds: [0, 1, 2],
        recipe: 'Madry et al. setting: PGD-10 training (step 2/255), eps 8/255, 200 epochs (lr steps at 100, 150)',
        base: {
          ...common, width: 64, epochs: 200, batchSize: 128, lr: 0.1,
          schedule: { type: 'step', milestones: [100, 150], gamma: 0.1 }, attack: pgd(10, 2 / 255),
          evaluation: { size: 10000, attacks: [pgd(20, 2 / 255), pgd(100, 2 / 255)] },
        },
      };
  }
}

export function cifar10Activations(activations: readonly string[] = CIFAR10_ACTIVATIONS, dataset = cifarDataset()): Experiment {
  return {
    name: EXPERIMENT,
    title: `SAT on ${dataset === 'cifar10' ? 'CIFAR-10' : 'a SYNTHETIC CIFAR-10 stand-in'}: PreAct ResNet-18, ${activations.join(' vs ')}`,
    runs: (profile) => {
      const s = cifarSettings(profile, dataset);
      return s.seeds.flatMap((seed) => activations.map((activation) => ({ ...s.base, activation, seed })));
    },
  };
}
