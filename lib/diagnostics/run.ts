// The gradient-quality measures on a finished run: restores its model, takes the first n test
// images, computes the measures asked for and writes each one into the run folder as a named
// evaluation (evaluations/diagnostics-<measure>.json, through RunFolder). A measure already
// written with the same settings is read back instead of computed again.
import * as tf from '@tensorflow/tfjs';
import { makeActivation, parseActivation } from '../activations';
import { type LogitsFn, makeAttack } from '../attacks';
import { type ImageDataset, take } from '../data';
import { RunFolder } from '../train/run-folder';
import type { TrainConfig } from '../train/config';
import { restoreModel, runData } from '../train/trainer';
import type { Model } from '../models';
import { type AttackerCurve, attackerCurve } from './attacker-steps';
import { crossEntropyObjective, mean } from './common';
import { type GradientStability, gradientStability } from './gradient-stability';
import { type Landscape1D, type Landscape2D, landscape1d, landscape2d } from './landscape';
import { type LocalLinearity, localLinearity } from './local-linearity';
import { activationFlips, gradientNorms, type GradientNorms, type LayerFlips } from './nonsmoothness';

export const MEASURES = ['attacker-steps', 'stability', 'linearity', 'nonsmoothness', 'landscape'] as const;
export type MeasureName = (typeof MEASURES)[number];

/** What the measures need besides the model (lib/experiments/gradient-quality.ts sizes them per profile). */
export interface DiagnoseSettings {
  n: number;
  eps: number;
  attackSteps: number;
  attackStepSize: number;
  pgdSteps: number;
  randomPoints: number;
  linearitySteps: number;
  landscapeImages: number;
  landscapePoints: number;
}

/** Measure 1: the model's own gradient, and for ReLU models also the smooth surrogate's (same forward pass). */
export interface AttackerStepsRecord {
  own: AttackerCurve;
  smooth?: AttackerCurve;
}

export interface NonsmoothnessRecord {
  /** Pre-activation sign flips between x and its PGD example, per activation layer. */
  flips: LayerFlips[];
  norms: GradientNorms;
}

export interface LandscapeRecord {
  /** 2-D slices of the first landscapeImages images (cross-entropy). */
  slices: Landscape2D[];
  /** Loss along x -> x_adv (PGD with the model's own gradient), t in [0, 2]; mean over the n images. */
  adversarial: { t: number[]; meanLoss: number[] };
}

export interface DiagnosticsRecords {
  'attacker-steps'?: AttackerStepsRecord;
  stability?: GradientStability;
  linearity?: LocalLinearity;
  nonsmoothness?: NonsmoothnessRecord;
  landscape?: LandscapeRecord;
}

/** What every record file holds besides the measure: the settings it was computed with. */
interface Stored<T> {
  measure: MeasureName;
  settings: DiagnoseSettings;
  seed: number;
  result: T;
}

/** The run folder's name of a measure's records: 'diagnostics-stability'. */
export function diagnosticsName(m: MeasureName): string {
  return `diagnostics-${m}`;
}

export interface DiagnoseOptions {
  measures?: readonly MeasureName[];
  /** Compute again even when the folder holds the measure with the same settings. */
  force?: boolean;
  log?: (s: string) => void;
}

function checkSettings(s: DiagnoseSettings): void {
  const ints: (keyof DiagnoseSettings)[] = ['n', 'attackSteps', 'pgdSteps', 'randomPoints', 'linearitySteps', 'landscapeImages', 'landscapePoints'];
  for (const k of ints) if (!Number.isInteger(s[k]) || s[k] < 1) throw new Error(`diagnostics: ${k} must be a positive integer, got ${s[k]}.`);
  if (s.pgdSteps < 2) throw new Error(`diagnostics: pgdSteps must be at least 2 (consecutive PGD gradients are compared), got ${s.pgdSteps}.`);
  if (!(s.eps > 0 && s.eps <= 1)) throw new Error(`diagnostics: eps must be in (0, 1] (pixels are in [0,1]), got ${s.eps}.`);
  if (!(s.attackStepSize > 0)) throw new Error(`diagnostics: attackStepSize must be positive, got ${s.attackStepSize}.`);
}

function tensors(ds: ImageDataset): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return { x: tf.tensor4d(ds.images, [ds.n, ds.height, ds.width, ds.channels]), y: tf.tensor1d(ds.labels, 'int32') };
}

/**
 * Computes (or reads back) the measures on a finished run in `dir`; returns them by name. Refuses
 * a folder without a finished model before any work.
 */
export async function diagnoseRun(dir: string, settings: DiagnoseSettings, opts: DiagnoseOptions = {}): Promise<DiagnosticsRecords> {
  checkSettings(settings);
  const measures = opts.measures ?? MEASURES;
  const bad = measures.filter((m) => !MEASURES.includes(m));
  if (bad.length) throw new Error(`Unknown diagnostics measure '${bad.join("', '")}'. Valid measures: ${MEASURES.join(', ')}.`);
  const run = new RunFolder(dir);
  const config = run.readConfig<TrainConfig>();
  if (!run.hasCheckpoint() || !run.hasResults()) throw new Error(`${run.dir} holds no finished run (no checkpoint or results.json): finish its training first (sat train --resume --out ${run.dir}).`);
  const out: DiagnosticsRecords = {};
  const todo: MeasureName[] = [];
  for (const m of measures) {
    const name = diagnosticsName(m);
    if (!opts.force && run.hasEvaluation(name)) {
      const stored = run.readEvaluation<Stored<unknown>>(name);
      if (JSON.stringify(stored.settings) === JSON.stringify(settings)) {
        (out as Record<string, unknown>)[m] = stored.result;
        continue;
      }
    }
    todo.push(m);
  }
  if (todo.length === 0) return out;

  const data = await runData(config);
  const test = take(data.test, settings.n);
  const model = restoreModel(config, data, run.modelFile());
  const ctx = measureContext(config, model, test);
  try {
    for (const m of todo) {
      const t0 = Date.now();
      const result = computeMeasure(m, ctx, settings);
      (out as Record<string, unknown>)[m] = result;
      run.writeEvaluation(diagnosticsName(m), { measure: m, settings, seed: config.seed, result } satisfies Stored<unknown>);
      opts.log?.(`[sat] ${m}: ${((Date.now() - t0) / 1000).toFixed(1)} s on ${test.n} images`);
    }
  } finally {
    ctx.dispose();
    model.dispose();
  }
  return out;
}

/** A model and its test images, ready for the measures (dispose frees the images, not the model). */
export interface MeasureContext {
  config: TrainConfig;
  model: Model;
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  dispose(): void;
}

export function measureContext(config: TrainConfig, model: Model, test: ImageDataset): MeasureContext {
  const { x, y } = tensors(test);
  return { config, model, x, y, dispose: () => tf.dispose([x, y]) };
}

/** One measure on a model's test images (the run's seed drives every random choice). */
export function computeMeasure(m: MeasureName, ctx: MeasureContext, s: DiagnoseSettings): DiagnosticsRecords[MeasureName] {
  const { config, model, x, y } = ctx;
  const spec = parseActivation(config.activation);
  const own = makeActivation(spec);
  const logits: LogitsFn = (input) => model.apply(input, { training: false, act: own });
  const objective = crossEntropyObjective(logits, y);
  const seed = config.seed;
  // The adversarial examples of measures 4 and 6: PGD with the model's own gradient.
  const pgd = () => makeAttack({ type: 'pgd-linf', eps: s.eps, steps: s.pgdSteps, stepSize: s.eps / 4, randomStart: true }).perturb(logits, x, y, { seed });
  if (m === 'attacker-steps') {
    const o = { eps: s.eps, steps: s.attackSteps, stepSize: s.attackStepSize, randomStart: false };
    const r: AttackerStepsRecord = { own: attackerCurve(logits, logits, x, y, o) };
    if (spec.name === 'relu') {
      const smooth = makeActivation(spec, { gradient: 'smooth', surrogateA: config.surrogateA });
      r.smooth = attackerCurve(logits, (input) => model.apply(input, { training: false, act: smooth }), x, y, o);
    }
    return r;
  }
  if (m === 'stability') return gradientStability(objective, x, { eps: s.eps, steps: s.pgdSteps, stepSize: s.eps / 4, randomPoints: s.randomPoints, seed });
  if (m === 'linearity') return localLinearity(objective, x, { eps: s.eps, steps: s.linearitySteps, seed });
  if (m === 'nonsmoothness') {
    const adv = pgd();
    try {
      return { flips: activationFlips(model, own, x, adv), norms: gradientNorms(objective, x) };
    } finally {
      adv.dispose();
    }
  }
  const k = Math.min(s.landscapeImages, x.shape[0]);
  const [xs, ys] = [tf.slice(x, 0, k) as tf.Tensor4D, tf.slice(y, 0, k) as tf.Tensor1D];
  // Each grid holds one image's points: repeat its label.
  const slices = landscape2d((p, i) => tf.tidy(() => objective2(logits, p, ys, i)), xs, { eps: s.eps, points: s.landscapePoints, seed });
  tf.dispose([xs, ys]);
  const adv = pgd();
  const line = landscape1d(objective, x, adv, s.landscapePoints);
  adv.dispose();
  return { slices, adversarial: { t: line.t, meanLoss: line.t.map((_, j) => mean(line.loss.map((l) => l[j]))) } };
}

/** Cross-entropy of every point of a landscape grid against image i's label. */
function objective2(logits: LogitsFn, points: tf.Tensor4D, y: tf.Tensor1D, i: number): tf.Tensor1D {
  const label = tf.fill([points.shape[0]], tf.slice(y, i, 1).dataSync()[0], 'int32') as tf.Tensor1D;
  return crossEntropyObjective(logits, label)(points);
}
