// Gradient-masking sanity checks (lib/eval/sanity.ts) for the model families the notebooks
// report (ReLU, SAT with SiLU and with parametric Softplus, the smooth-gradient arm), beside a
// model that masks its gradients on purpose. The models have the configs of the
// relu-vs-smooth-backward study (seed 0); the transfer source is trained separately with
// another activation (ELU, seed 1).
import { makeActivation, parseActivation } from '../activations';
import type { AttackConfig } from '../attacks';
import { loadDataset, take } from '../data';
import { autoAttack, type AutoAttackOptions, type AutoAttackResult } from '../eval/autoattack';
import {
  autoAttackGap,
  type CheckTarget,
  largeEpsZero,
  maskedTarget,
  type MaskKind,
  modelTarget,
  robustFlags,
  type SanityCheck,
  squareNotStronger,
  stepsCurve,
  transferWeaker,
} from '../eval/sanity';
import { train, type TrainOptions, type TrainResult } from '../train';
import type { TrainConfig } from '../train/config';
import type { Profile } from './profiles';
import { EXPERIMENT as STUDY, VARIANTS, studySettings, variantConfig } from './relu-vs-smooth-backward';

export const EXPERIMENT = 'sanity-checks';

export interface SanitySettings {
  /** Test images every check uses (the first n of the test set). */
  size: number;
  /** The evaluation attack the checks judge: PGD-20 at the study's eps, as the notebooks report. */
  pgd: AttackConfig;
  /** PGD steps for check (d); starts at 1. */
  steps: number[];
  /** Square for check (b). */
  square: AttackConfig;
  /** AutoAttack for check (a): the standard version, or (smoke only) a cut-down custom one. */
  autoattack: Pick<AutoAttackOptions, 'version' | 'attacks'>;
  /** The study variants checked (keys of relu-vs-smooth-backward's VARIANTS). */
  variants: string[];
  /** The masked model: which masking, applied to the first variant's model. */
  mask: MaskKind;
}

export function sanitySettings(profile: Profile): SanitySettings {
  const eps = studySettings(profile).eps;
  const pgd: AttackConfig = { type: 'pgd-linf', eps, steps: 20 };
  const variants = ['baseline', 'sat-silu', 'sat-psoftplus', 'both-smooth'];
  switch (profile) {
    case 'smoke':
      return {
        size: 20, pgd: { ...pgd, steps: 5 }, steps: [1, 2, 5], square: { type: 'square', eps, queries: 50 },
        autoattack: { version: 'custom', attacks: [{ type: 'apgd-ce', eps, steps: 10 }, { type: 'apgd-t', eps, steps: 10, targets: 3 }, { type: 'fab-t', eps, steps: 10, targets: 3 }, { type: 'square', eps, queries: 50 }] },
        variants: ['baseline', 'sat-silu'], mask: 'saturate',
      };
    case 'small':
      // Sized for 2 shared CPU cores: the standard AutoAttack costs minutes per model even on
      // 100 images (APGD-T and FAB-T run 9 x 100 iterations, Square up to 5,000 queries per point).
      return { size: 100, pgd, steps: [1, 2, 5, 10, 20, 50], square: { type: 'square', eps, queries: 500 }, autoattack: { version: 'standard' }, variants, mask: 'saturate' };
    default:
      return { size: 1000, pgd, steps: [1, 2, 5, 10, 20, 50, 100, 200], square: { type: 'square', eps, queries: 5000 }, autoattack: { version: 'standard' }, variants, mask: 'saturate' };
  }
}

function variant(key: string) {
  const v = VARIANTS.find((x) => (x.key as string) === key);
  if (!v) throw new Error(`sanity checks: no variant '${key}' in ${STUDY}; valid: ${VARIANTS.map((x) => x.key).join(', ')}.`);
  return v;
}

/** The configs: one per checked variant (seed 0, the study's run) and the transfer source. */
export function sanityConfigs(profile: Profile): { variants: { key: string; label: string; config: Partial<TrainConfig> }[]; source: Partial<TrainConfig> } {
  const s = sanitySettings(profile);
  const variants = s.variants.map((key) => {
    const v = variant(key);
    // Notebook 01's configuration, trained under this experiment's name: the same seed gives the
    // same model, and the run folder is never one notebook 01 may be training at the same time.
    return { key, label: v.label, config: { ...variantConfig(v, profile, 0), experiment: EXPERIMENT, profile } };
  });
  // Another activation and another seed: an independently trained model whose examples transfer.
  const source = { ...variantConfig(variant('baseline'), profile, 1), activation: 'elu', experiment: EXPERIMENT, profile };
  return { variants, source };
}

export interface SanityModels {
  targets: CheckTarget[];
  /** The masked model (the first target with its gradients masked). */
  masked: CheckTarget;
  source: CheckTarget;
  runs: TrainResult[];
  dataset: string;
  dispose(): void;
}

/** Trains (or reuses) the models and returns them as check targets on the same test images. */
export async function sanityModels(profile: Profile, opts: Omit<TrainOptions, 'runDir'> = {}): Promise<SanityModels> {
  const configs = sanityConfigs(profile);
  const settings = sanitySettings(profile);
  const runs: TrainResult[] = [];
  for (const v of configs.variants) runs.push(await train(v.config, opts));
  const sourceRun = await train(configs.source, opts);
  const data = loadDataset(configs.source.dataset!, { testLimit: settings.size });
  const test = take(data.test, settings.size);
  const target = (name: string, r: TrainResult) => modelTarget(name, r.model, makeActivation(parseActivation(r.config.activation)), test, r.config.seed);
  const targets = configs.variants.map((v, i) => target(v.label, runs[i]));
  return {
    targets,
    masked: maskedTarget(targets[0], settings.mask),
    source: target('ELU model (seed 1)', sourceRun),
    runs: [...runs, sourceRun],
    dataset: `${test.name}${test.synthetic ? ' (SYNTHETIC)' : ''}`,
    dispose: () => [...runs, sourceRun].forEach((r) => r.model.dispose()),
  };
}

export interface CheckReport {
  name: string;
  clean: number;
  pgd: number;
  autoattack: AutoAttackResult;
  checks: SanityCheck[];
}

/** Runs checks (a)-(e) on one target; `label` prefixes the progress bars (none: quiet). */
export function runChecks(t: CheckTarget, source: CheckTarget, settings: SanitySettings, label?: string): CheckReport {
  const clean = robustFlags(t, null);
  const pgdFlags = robustFlags(t, settings.pgd, { label: label && `${label} PGD` });
  const pgd = pgdFlags.reduce((s, v) => s + v, 0) / t.data.n;
  const eps = settings.pgd.eps;
  const aa = autoAttack(t.logits, t.data, { eps, ...settings.autoattack, seed: t.seed, label: label && `${label} AA`, warn: () => {} });
  const checks = [
    autoAttackGap(pgd, settings.pgd, aa),
    squareNotStronger(t, settings.pgd, settings.square, pgdFlags, label && `${label} Square`),
    largeEpsZero(t, settings.pgd),
    stepsCurve(t, settings.pgd, settings.steps),
    transferWeaker(source, t, settings.pgd, pgd),
  ];
  return { name: t.name, clean: clean.reduce((s, v) => s + v, 0) / t.data.n, pgd, autoattack: aa, checks };
}
