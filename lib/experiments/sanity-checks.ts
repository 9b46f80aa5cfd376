// Gradient-masking sanity checks (lib/eval/sanity.ts) for the model families notebook 01
// reports, beside two models that mask their gradients on purpose (an extreme and a moderate
// control). At smoke and small the checked models are trained here with the study's configs
// (seed 0; the transfer source is another activation and seed). At medium nothing is trained:
// the checks take the finished runs of the study's primary arms (every seed) from the study's
// run folders and list the others as pending.
import * as path from 'node:path';
import { makeActivation, parseActivation } from '../activations';
import { type AttackConfig, resolveAttackConfig } from '../attacks';
import { loadDataset, take } from '../data';
import type { ImageDataset } from '../data/dataset';
import { autoAttack, type AutoAttackOptions, type AutoAttackResult } from '../eval/autoattack';
import { missingEvaluations } from '../eval/run-evaluations';
import type { AutoAttackFile, PgdBeside } from '../eval/run-autoattack';
import {
  autoAttackGap,
  type CheckTarget,
  largeEpsZero,
  maskedTarget,
  type MaskKind,
  MODERATE_LOGIT_SCALE,
  modelTarget,
  robustFlags,
  type SanityCheck,
  squareNotStronger,
  stepsCurve,
  transferWeaker,
} from '../eval/sanity';
import type { Model } from '../models';
import { train, type TrainOptions, type TrainResult } from '../train';
import { makeConfig, runId, type TrainConfig } from '../train/config';
import { findFinishedRun } from '../results/store';
import { RunFolder } from '../train/run-folder';
import { restoreModel } from '../train/trainer';
import type { Profile } from './profiles';
import { AUTOATTACK_EVALUATION, AUTOATTACK_N, EXPERIMENT as STUDY, VARIANTS, armSeeds, reluVsSmoothBackward, studySettings, variantConfig } from './relu-vs-smooth-backward';

export const EXPERIMENT = 'sanity-checks';

export interface SanitySettings {
  /** Test images every check uses (the first n of the test set). */
  size: number;
  /** The evaluation attack the checks judge: the one notebook 01 reports at this profile. */
  pgd: AttackConfig;
  /** PGD steps for check (d); starts at 1. */
  steps: number[];
  /** Square for check (b): AutoAttack's 5,000 queries from small up. */
  square: AttackConfig;
  /** AutoAttack for check (a): the standard version, or (smoke only) a cut-down custom one. */
  autoattack: Pick<AutoAttackOptions, 'version' | 'attacks'>;
  /** The study variants checked (keys of relu-vs-smooth-backward's VARIANTS). */
  variants: string[];
  /** The controls: masks applied to the first checked model (extreme and moderate). */
  masks: MaskKind[];
  /** Check the study's own finished runs (every seed of `variants`) instead of training replicas. */
  studyModels: boolean;
}

export function sanitySettings(profile: Profile): SanitySettings {
  const study = studySettings(profile);
  const eps = study.eps;
  const pgd: AttackConfig = { ...study.base.evaluation!.attacks[0] };
  const masks: MaskKind[] = ['saturate', 'scale'];
  const square: AttackConfig = { type: 'square', eps, queries: 5000 };
  switch (profile) {
    case 'smoke':
      return {
        size: 20, pgd, steps: [1, 2, 5], square: { type: 'square', eps, queries: 50 },
        autoattack: { version: 'custom', attacks: [{ type: 'apgd-ce', eps, steps: 10 }, { type: 'apgd-t', eps, steps: 10, targets: 3 }, { type: 'fab-t', eps, steps: 10, targets: 3 }, { type: 'square', eps, queries: 50 }] },
        variants: ['baseline', 'sat-silu'], masks, studyModels: false,
      };
    case 'small':
      // Sized for 2 shared CPU cores (the last run of four models took 70 min loaded): two
      // models and the two controls on 200 images, Square with AutoAttack's 5,000 queries.
      return { size: 200, pgd, steps: [1, 2, 5, 10, 20], square, autoattack: { version: 'standard' }, variants: ['baseline', 'sat-silu'], masks, studyModels: false };
    case 'medium':
      // The study's primary arms, every finished seed, on the 1,000 test images its AutoAttack
      // uses; and the same arms of its first design (10 epochs), whose SiLU models masked.
      return {
        size: AUTOATTACK_N, pgd, steps: [1, 2, 5, 10, 20, 50, 100], square, autoattack: { version: 'standard' }, masks, studyModels: true,
        variants: VARIANTS.filter((v) => v.tier === 'primary' || v.earlier?.design === 'first').map((v) => v.key),
      };
    default:
      return { size: 1000, pgd, steps: [1, 2, 5, 10, 20, 50, 100, 200], square, autoattack: { version: 'standard' }, variants: ['baseline', 'sat-silu', 'sat-psoftplus', 'both-smooth'], masks, studyModels: false };
  }
}

function variant(key: string) {
  const v = VARIANTS.find((x) => (x.key as string) === key);
  if (!v) throw new Error(`sanity checks: no variant '${key}' in ${STUDY}; valid: ${VARIANTS.map((x) => x.key).join(', ')}.`);
  return v;
}

/** The configs trained here (smoke, small, paper): one per checked variant (seed 0) and the transfer source. */
export function sanityConfigs(profile: Profile): { variants: { key: string; label: string; config: Partial<TrainConfig> }[]; source: Partial<TrainConfig> } {
  const s = sanitySettings(profile);
  const variants = s.variants.map((key) => {
    const v = variant(key);
    // Notebook 01's configuration, trained under this experiment's name, so the run folder is
    // never one notebook 01 may be training at the same time.
    return { key, label: v.label, config: { ...variantConfig(v, profile, 0), experiment: EXPERIMENT, profile } };
  });
  // Another activation and another seed: an independently trained model whose examples transfer.
  const source = { ...variantConfig(variant('baseline'), profile, 1), activation: 'elu', experiment: EXPERIMENT, profile };
  return { variants, source };
}

/** One run of the study at a profile: its config and whether a finished copy was found. */
export interface StudyRun {
  key: string;
  label: string;
  seed: number;
  config: TrainConfig;
  /** The finished run folder, or undefined: pending. */
  dir?: string;
}

/**
 * Where the study's runs may be: $SAT_STUDY_RUNS, the results store
 * results/<experiment>-<profile>/, and data/runs/ (the trainer's default).
 */
/**
 * The study's runs of the checked arms at `profile` (every seed the arm gets), each with the
 * folder of a finished run with exactly its config, if one exists. Reads only; never trains.
 */
export function findStudyRuns(profile: Profile, roots?: string[]): StudyRun[] {
  const s = sanitySettings(profile);
  const declared = reluVsSmoothBackward().evaluations?.(profile) ?? [];
  return s.variants.flatMap((key) => {
    const v = variant(key);
    return armSeeds(v, profile).map((seed) => {
      const config = makeConfig({ ...variantConfig(v, profile, seed), experiment: STUDY, profile });
      const id = runId(config);
      // The results store first, then data/runs (or only the given folders, for tests).
      const found = roots ? roots.map((r) => path.join(r, id)).find((d) => new RunFolder(d, { warn: () => {} }).isFinishedFor(config)) : findFinishedRun(config);
      // A run is the study's only with the evaluations the study declares (a run still in its AutoAttack is pending).
      const dir = found && missingEvaluations(found, declared).length === 0 ? found : undefined;
      return { key, label: v.label, seed, config, ...(dir ? { dir } : {}) };
    });
  });
}

/** One model to check, with where its results are kept and what was already measured on it. */
export interface CheckedModel {
  target: CheckTarget;
  /** The transfer source of check (e) (the target itself: (e) is not run). */
  source: CheckTarget;
  /** The run folder that keeps this model's check results between renders (medium: the results store). */
  store?: CheckStore;
  /** AutoAttack and the checked PGD already run on the same images (the study's declared evaluation). */
  measured?: StoredAutoAttack;
  /** True for the masked controls. */
  control: boolean;
}

export interface SanityModels {
  /** The models checked, the controls last. */
  checked: CheckedModel[];
  /** What was trained or loaded, one line each. */
  lines: string[];
  /** Study runs not finished yet (medium): listed, not checked. */
  pending: StudyRun[];
  dataset: string;
  dispose(): void;
}

function target(name: string, model: Model, config: TrainConfig, test: ImageDataset): CheckTarget {
  return modelTarget(name, model, makeActivation(parseActivation(config.activation)), test, config.seed);
}

function withControls(targets: CheckTarget[], sources: CheckTarget[], settings: SanitySettings, extra: (i: number) => Partial<CheckedModel> = () => ({}), controlStore?: (kind: MaskKind) => CheckStore | undefined): CheckedModel[] {
  const models: CheckedModel[] = targets.map((t, i) => ({ target: t, source: sources[i], control: false, ...extra(i) }));
  // The controls: the first model with its gradients masked (extreme, moderate), same transfer source.
  const controls: CheckedModel[] = settings.masks.map((k) => {
    const store = controlStore?.(k);
    return { target: maskedTarget(targets[0], k), source: sources[0], control: true, ...(store ? { store } : {}) };
  });
  return [...models, ...controls];
}

/** Trains (smoke, small, paper) or loads (medium: finished study runs only) the models as check targets on the same test images. */
export async function sanityModels(profile: Profile, opts: Omit<TrainOptions, 'runDir'> = {}): Promise<SanityModels> {
  const settings = sanitySettings(profile);
  if (settings.studyModels) return studyModels(profile, settings);
  const configs = sanityConfigs(profile);
  const runs: TrainResult[] = [];
  for (const v of configs.variants) runs.push(await train(v.config, opts));
  const sourceRun = await train(configs.source, opts);
  const data = loadDataset(configs.source.dataset!, { testLimit: settings.size });
  const test = take(data.test, settings.size);
  const targets = configs.variants.map((v, i) => target(v.label, runs[i].model, runs[i].config, test));
  const source = target('ELU model (seed 1)', sourceRun.model, sourceRun.config, test);
  return {
    checked: withControls(targets, targets.map(() => source), settings),
    lines: [...runs, sourceRun].map((r) => `${r.config.activation} attacker ${r.config.attackerGradient} trainer ${r.config.trainerGradient} seed ${r.config.seed}: ${r.reused ? 'reused' : 'trained now'}`),
    pending: [],
    dataset: `${test.name}${test.synthetic ? ' (SYNTHETIC)' : ''}`,
    dispose: () => [...runs, sourceRun].forEach((r) => r.model.dispose()),
  };
}

async function studyModels(profile: Profile, settings: SanitySettings): Promise<SanityModels> {
  const all = findStudyRuns(profile);
  const done = all.filter((r) => r.dir);
  const pending = all.filter((r) => !r.dir);
  if (done.length === 0) {
    return { checked: [], lines: [], pending, dataset: all[0]?.config.dataset ?? '', dispose: () => {} };
  }
  const c0 = done[0].config;
  const data = loadDataset(c0.dataset, { trainLimit: c0.trainLimit, testLimit: c0.testLimit, seed: c0.seed, valSize: c0.valSize });
  const test = take(data.test, settings.size);
  const models = done.map((r) => restoreModel(r.config, data, new RunFolder(r.dir!, { warn: () => {} }).modelFile()));
  const targets = done.map((r, i) => target(`${r.label} (seed ${r.seed})`, models[i], r.config, test));
  // The transfer source of a target: a finished run of another activation and another seed.
  const sources = done.map((r, i) => {
    const j = done.findIndex((o) => o.config.activation !== r.config.activation && o.seed !== r.seed);
    return j >= 0 ? targets[j] : targets[i];
  });
  const name = `sanity-checks-${profile}`;
  return {
    checked: withControls(targets, sources, settings, (i) => {
      const measured = storedAutoAttack(done[i].dir!, settings);
      return { store: { dir: done[i].dir!, name }, ...(measured ? { measured } : {}) };
    }, (kind) => ({ dir: done[0].dir!, name: `${name}-control-${kind}` })),
    lines: done.map((r) => `${r.label} seed ${r.seed}: the study's finished run ${r.dir}`),
    pending,
    dataset: `${test.name}${test.synthetic ? ' (SYNTHETIC)' : ''}`,
    dispose: () => models.forEach((m) => m.dispose()),
  };
}

/** AutoAttack and PGD flags a run already has on the first n test images (the study's declared evaluation). */
export interface StoredAutoAttack {
  aa: AutoAttackResult;
  pgdFlags: Uint8Array;
}

/**
 * The run's stored AutoAttack evaluation, when it is the one check (a) would run: the same
 * version on the same n images, with the checked PGD beside it (same attack seed: the run's).
 */
export function storedAutoAttack(dir: string, settings: SanitySettings): StoredAutoAttack | undefined {
  const folder = new RunFolder(dir, { warn: () => {} });
  if (settings.autoattack.version !== 'standard' || !folder.hasEvaluation(AUTOATTACK_EVALUATION)) return undefined;
  const e = folder.readEvaluation<AutoAttackFile>(AUTOATTACK_EVALUATION);
  const { robust: pgdRobust, accuracy: _, ...pgd } = (e.pgd ?? {}) as Partial<PgdBeside>;
  const same = (a: AttackConfig, b: AttackConfig) => JSON.stringify(resolveAttackConfig(a)) === JSON.stringify(resolveAttackConfig(b));
  if (e.version !== 'standard' || e.n !== settings.size || e.eps !== settings.pgd.eps || !pgdRobust || !same(pgd as AttackConfig, settings.pgd)) return undefined;
  const { pgd: _p, records: _r, ...result } = e as typeof e & { records?: unknown };
  return { aa: { ...result, robust: Uint8Array.from(e.robust) }, pgdFlags: Uint8Array.from(pgdRobust) };
}

/** Where a checked model keeps its results: an evaluation record in a run folder. */
export interface CheckStore {
  dir: string;
  name: string;
}

/**
 * A checked model's results kept in its run folder between renders, so that a long check (a
 * control's AutoAttack, Square with 5,000 queries) runs once and a fresh clone renders from the
 * store. Entries are valid only for the settings they were measured with; each is written as
 * soon as it is measured, so an interrupted render keeps what it finished.
 */
class CheckRecords {
  private entries: Record<string, unknown> = {};
  constructor(private readonly store: CheckStore | undefined, private readonly settingsKey: string) {
    if (!store) return;
    const folder = new RunFolder(store.dir, { warn: () => {} });
    if (!folder.hasEvaluation(store.name)) return;
    const saved = folder.readEvaluation<{ settings: string; entries: Record<string, unknown> }>(store.name);
    if (saved.settings === settingsKey) this.entries = saved.entries;
  }

  get<T>(key: string, measure: () => T, toJson: (v: T) => unknown = (v) => v, fromJson: (j: unknown) => T = (j) => j as T): T {
    if (key in this.entries) return fromJson(this.entries[key]);
    const value = measure();
    this.entries[key] = toJson(value);
    if (this.store) new RunFolder(this.store.dir, { warn: () => {} }).writeEvaluation(this.store.name, { settings: this.settingsKey, entries: this.entries });
    return value;
  }

  flags(key: string, measure: () => Uint8Array): Uint8Array {
    return this.get(key, measure, (f) => Array.from(f), (j) => Uint8Array.from(j as number[]));
  }
}

/** What the checks' results depend on besides the model. */
function settingsKey(s: SanitySettings): string {
  return JSON.stringify({ size: s.size, pgd: s.pgd, steps: s.steps, square: s.square, autoattack: s.autoattack, moderateScale: MODERATE_LOGIT_SCALE });
}

export interface CheckReport {
  name: string;
  /** Images classified right, of n. */
  clean: number;
  /** Images robust under the checked PGD, of n. */
  pgd: number;
  n: number;
  autoattack: AutoAttackResult;
  checks: SanityCheck[];
  /** What was not measured here but read from the run's records. */
  reused?: string;
}

/**
 * Runs checks (a)-(e) on one model; `label` prefixes the progress bars (none: quiet). Reuses the
 * model's stored AutoAttack and PGD flags, and what its store kept from an earlier render.
 */
export function runChecks(m: CheckedModel, settings: SanitySettings, label?: string): CheckReport {
  const { target: t, source } = m;
  const count = (f: Uint8Array) => f.reduce((s, v) => s + v, 0);
  const kept = new CheckRecords(m.store, settingsKey(settings));
  const clean = kept.flags('clean', () => robustFlags(t, null));
  const pgdFlags = m.measured?.pgdFlags ?? kept.flags('pgd', () => robustFlags(t, settings.pgd, { label: label && `${label} PGD` }));
  const eps = settings.pgd.eps;
  const aa =
    m.measured?.aa ??
    kept.get(
      'autoattack',
      () => autoAttack(t.logits, t.data, { eps, ...settings.autoattack, seed: t.seed, label: label && `${label} AA`, warn: () => {} }),
      (r) => ({ ...r, robust: Array.from(r.robust) }),
      (j) => ({ ...(j as AutoAttackResult), robust: Uint8Array.from((j as { robust: number[] }).robust) }),
    );
  const checks = [
    autoAttackGap(pgdFlags, settings.pgd, aa),
    kept.get('(b)', () => squareNotStronger(t, settings.pgd, settings.square, pgdFlags, label && `${label} Square`)),
    kept.get('(c)', () => largeEpsZero(t, settings.pgd)),
    kept.get('(d)', () => stepsCurve(t, settings.pgd, settings.steps)),
    ...(source === t ? [] : [kept.get(`(e) from ${source.name}`, () => transferWeaker(source, t, settings.pgd, pgdFlags))]),
  ];
  return { name: t.name, clean: count(clean), pgd: count(pgdFlags), n: t.data.n, autoattack: aa, checks, reused: m.measured ? 'AutoAttack and PGD from the study run' : undefined };
}
