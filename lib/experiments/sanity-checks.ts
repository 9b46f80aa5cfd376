// Gradient-masking sanity checks for a ReLU model and a SAT (SiLU) model: robust accuracy
// against PGD steps (must level off), against eps (must reach 0), with random restarts (must
// agree), and under a transfer attack from a separately trained model (must be weaker than
// white-box). The ReLU models are the ReLU baseline runs of the relu-vs-smooth-backward study
// (seeds 0 and 1) with identical configs, so they are reused when that notebook has run.
import { makeActivation, parseActivation } from '../activations';
import type { AttackConfig } from '../attacks';
import { loadDataset, take } from '../data';
import type { CheckTarget } from '../eval/sanity';
import { train, type TrainOptions, type TrainResult } from '../train';
import type { TrainConfig } from '../train/config';
import type { Profile } from './profiles';
import { EXPERIMENT as STUDY, VARIANTS, studySettings, variantConfig } from './relu-vs-smooth-backward';

export const EXPERIMENT = 'sanity-checks';

export interface SanitySettings {
  /** Test images every check uses. */
  size: number;
  /** The white-box attack at the training eps (restarts and transfer use it as it is). */
  attack: AttackConfig;
  /** PGD steps for the steps-level-off check (step size 2.5·eps/steps each). */
  steps: number[];
  /** eps values for the large-eps check; the largest must let any attacker win. */
  eps: number[];
  /** Extra random restarts for the restarts check. */
  restarts: number;
}

export function sanitySettings(profile: Profile): SanitySettings {
  const eps = studySettings(profile).eps;
  const attack: AttackConfig = { type: 'pgd-linf', eps, steps: 20 };
  switch (profile) {
    case 'smoke':
      return { size: 50, attack: { ...attack, steps: 5 }, steps: [1, 2, 5, 10, 20], eps: [0, 0.1, 0.2, 0.3, 0.5], restarts: 2 };
    case 'small':
      // The same 300 test images as notebook 01's evaluation; about 6 minutes of attacks in all
      // on 2 CPU cores (measured: 4 minutes for 200 images).
      return { size: 300, attack, steps: [1, 2, 5, 10, 20, 50, 100, 200], eps: [0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5], restarts: 4 };
    case 'paper':
      return { size: 1000, attack: { ...attack, steps: 50 }, steps: [1, 2, 5, 10, 20, 50, 100, 200], eps: [0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], restarts: 9 };
  }
}

const BASELINE = VARIANTS.find((v) => v.key === 'baseline')!;

/** The configs of the three models: ReLU and SiLU under test, and a ReLU transfer source. */
export function sanityConfigs(profile: Profile): { relu: Partial<TrainConfig>; silu: Partial<TrainConfig>; source: Partial<TrainConfig> } {
  const relu = { ...variantConfig(BASELINE, profile, 0), experiment: STUDY, profile };
  return {
    relu,
    silu: { ...relu, activation: 'silu', experiment: EXPERIMENT },
    // Same recipe, another seed: a separately trained model whose examples are transferred.
    source: { ...variantConfig(BASELINE, profile, 1), experiment: STUDY, profile },
  };
}

export interface SanityModels {
  relu: CheckTarget;
  silu: CheckTarget;
  source: CheckTarget;
  /** The training results (reused or trained); dispose() frees the three models. */
  runs: { relu: TrainResult; silu: TrainResult; source: TrainResult };
  /** Where the check images come from, for titles. */
  dataset: string;
  dispose(): void;
}

/** Trains (or reuses) the three models and returns them as check targets on the same test images. */
export async function sanityModels(profile: Profile, opts: Omit<TrainOptions, 'runDir'> = {}): Promise<SanityModels> {
  const configs = sanityConfigs(profile);
  const settings = sanitySettings(profile);
  const runs = {
    relu: await train(configs.relu, opts),
    silu: await train(configs.silu, opts),
    source: await train(configs.source, opts),
  };
  const data = loadDataset(configs.relu.dataset!, { testLimit: settings.size });
  const test = take(data.test, settings.size);
  const target = (r: TrainResult): CheckTarget => ({ model: r.model, act: makeActivation(parseActivation(r.config.activation)), data: test, seed: r.config.seed });
  return {
    relu: target(runs.relu),
    silu: target(runs.silu),
    source: target(runs.source),
    runs,
    dataset: `${test.name}${test.synthetic ? ' (SYNTHETIC)' : ''}`,
    dispose: () => Object.values(runs).forEach((r) => r.model.dispose()),
  };
}
