// The start command's experiment: SAT on real MNIST with ReLU and with SiLU, same everything
// else. Training attack: the paper's PGD-1 (random start, step = eps, as the official code's
// max(step, eps/iterations) gives for one iteration); evaluation: PGD-10 and PGD-20 at the
// training eps. The summary compares each activation with the first, paired by seed.
import type { ResultRecord } from '../eval';
import { compareArms } from '../report/compare';
import { attackColumn } from '../eval/table';
import { formatInterval, formatMeanSE, verdictText } from '../report/stats';
import type { TrainConfig } from '../train/config';
import type { Profile } from './profiles';
import type { Experiment } from './types';

const EPS = 0.2;

function base(profile: Profile): Partial<TrainConfig> {
  const attack = { type: 'pgd-linf' as const, eps: EPS, steps: 1, stepSize: EPS, randomStart: true };
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

/**
 * The quick start's verdict table, one line per activation and attack column: mean ± SE over the
 * seeds, and the paired difference to the first activation (the baseline) with its Student-t 95%
 * interval and verdict; says "one seed" where there is no interval.
 */
export function compareSummary(records: ResultRecord[], activations: string[]): string[] {
  const seeds = [...new Set(records.map((r) => r.seed))].sort((a, b) => a - b);
  const columns = [...new Set(records.map((r) => attackColumn(r)))];
  const [base, ...others] = activations;
  const lines = [`${seeds.length === 1 ? 'one seed' : `${seeds.length} seeds (${seeds.join(', ')})`}; accuracy in %, mean ± SE over seeds; differences paired by seed with their 95% CI (Student t)`];
  for (const col of columns) {
    const arms = compareArms(
      records.filter((r) => attackColumn(r) === col).map((r) => ({ arm: r.activation, seed: r.seed, value: r.accuracy })),
      { baseline: base, arms: activations },
    );
    const arm = (a: string) => arms.find((c) => c.arm === a);
    const cells = activations.map((a) => `${a} ${arm(a) ? formatMeanSE(arm(a)!.summary, 100) : '-'}`);
    const diffs = others.map((a) => {
      const d = arm(a)?.delta;
      if (!d) return `${a} - ${base}: -`;
      return `${a} - ${base}: ${formatInterval(d, 100)} points${d.note ? '' : ` (${verdictText(d)})`}`;
    });
    lines.push(`${col.padEnd(12)} ${cells.join('   ')}   ${diffs.join('   ')}`);
  }
  return lines;
}
