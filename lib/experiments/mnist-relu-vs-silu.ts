// The start command's experiment: SAT on real MNIST with ReLU and with SiLU, same everything
// else. Training attack: PGD-1 (FGSM with a random start, step 1.25·eps, as in "fast" adversarial
// training); evaluation: PGD-10 and PGD-20 at the training eps.
import type { TrainConfig } from '../train/config';
import type { Profile } from './profiles';
import type { Experiment } from './types';

const EPS = 0.2;

function base(profile: Profile): Partial<TrainConfig> {
  const attack = { type: 'pgd-linf' as const, eps: EPS, steps: 1, stepSize: 1.25 * EPS, randomStart: true };
  const evalAttacks = [{ type: 'pgd-linf' as const, eps: EPS, steps: 10 }, { type: 'pgd-linf' as const, eps: EPS, steps: 20 }];
  switch (profile) {
    case 'smoke':
      return { trainLimit: 512, testLimit: 200, width: 8, epochs: 1, batchSize: 64, lr: 0.05, attack, evaluation: { size: 200, attacks: [evalAttacks[0]] } };
    case 'medium': // no medium design of its own: the small one
    case 'small':
      return { width: 16, epochs: 3, batchSize: 64, lr: 0.05, attack, evaluation: { size: 500, attacks: evalAttacks } };
    case 'paper':
      // MNIST is not in the paper; this is the usual Madry et al. MNIST setting at eps 0.3.
      return {
        width: 32, epochs: 30, batchSize: 128, lr: 0.05,
        attack: { type: 'pgd-linf', eps: 0.3, steps: 40, stepSize: 0.01 },
        evaluation: { size: 2000, attacks: [{ type: 'pgd-linf', eps: 0.3, steps: 100 }] },
      };
  }
}

export function mnistReluVsSilu(activations = ['relu', 'silu'], seeds = [0]): Experiment {
  return {
    name: 'mnist-relu-vs-silu',
    title: `SAT on MNIST: ${activations.join(' vs ')}`,
    runs: (profile) =>
      seeds.flatMap((seed) => activations.map((activation) => ({ ...base(profile), dataset: 'mnist', model: 'mnist-cnn', activation, seed }))),
  };
}
