// Gradient-masking sanity checks (Carlini et al. 2019, "On Evaluating Adversarial Robustness";
// Athalye et al. 2018; Croce & Hein 2020): evidence that a PGD robust accuracy is real. Each
// check returns its measurements, its threshold, the criterion in words, and PASS or FAIL; each
// is built so that it can fail, and the gradient-masking models below make every one of them fail.
import * as tf from '@tensorflow/tfjs';
import type { ActivationFn } from '../activations';
import { type AttackConfig, type LogitsFn, makeAttack, resolveAttackConfig } from '../attacks';
import { readFlags } from '../attacks/common';
import { batches, disposeBatch, type ImageDataset, subset } from '../data/dataset';
import type { Model } from '../models';
import { Progress } from '../util/progress';
import { deriveSeed } from '../util/rng';
import { type AutoAttackResult } from './autoattack';

export interface SanityCheck {
  name: string;
  criterion: string;
  /** The threshold, shown beside the result. */
  threshold: string;
  passed: boolean;
  /** x → robust accuracy, for the plot beside the verdict. */
  points: { x: number; accuracy: number }[];
  detail: string;
}

/** What a check attacks: a logits function (pixels in [0,1] to logits) on fixed test images. */
export interface CheckTarget {
  name: string;
  logits: LogitsFn;
  data: ImageDataset;
  seed?: number;
}

/**
 * Thresholds, fixed before any model was checked. Sizes are in accuracy points (0.05 = 5
 * points); with a few hundred images one image is 0.3-0.5 points.
 */
export const THRESHOLDS = {
  /** (a) AutoAttack may be below PGD by at most this much (RobustBench entries: typically 0.5-3 points). */
  autoAttackGap: 0.05,
  /** (b) Square (no gradients) may break at most this share of all images that PGD left robust. */
  squareMargin: 0.03,
  /** (c) accuracy at eps = 1 (any image can be reached) must be at most this. */
  largeEps: 0,
  /** (d) one step must leave at least this much more accuracy than the most steps ... */
  oneStepGap: 0.01,
  /** (d) ... and accuracy may rise by at most this between consecutive step counts (noise of the random start). */
  curveRise: 0.01,
} as const;

export function modelTarget(name: string, model: Model, act: ActivationFn, data: ImageDataset, seed?: number): CheckTarget {
  return { name, logits: (x) => model.apply(x, { training: false, act }), data, seed };
}

export type MaskKind = 'saturate' | 'quantize';

/**
 * A model that masks its gradients on purpose, with the same decisions as `t` (nearly, for
 * 'quantize'): 'saturate' multiplies the logits by 10^5, so softmax saturates and the
 * cross-entropy gradient is exactly zero in float32 for every confidently classified point
 * (DLR, being scale-invariant, is not fooled); 'quantize' rounds the input to 255 grey levels
 * through tf.round, whose gradient is zero everywhere (only a gradient-free attack like Square
 * sees through it). PGD with cross-entropy reports high robust accuracy on both.
 */
export function maskedTarget(t: CheckTarget, kind: MaskKind): CheckTarget {
  const logits: LogitsFn =
    kind === 'saturate'
      ? (x) => tf.tidy(() => tf.mul(t.logits(x), 1e5) as tf.Tensor2D)
      : (x) => tf.tidy(() => t.logits(tf.div(tf.round(tf.mul(x, 255)), 255) as tf.Tensor4D));
  return { ...t, name: `${t.name}, masked (${kind === 'saturate' ? 'logits x1e5' : 'input rounded, zero gradient'})`, logits };
}

/** Per image: 1 if the model still classifies it right under the attack (clean for null). */
export function robustFlags(t: CheckTarget, attack: AttackConfig | null, opts: { label?: string; batchSize?: number } = {}): Uint8Array {
  const att = attack ? makeAttack(attack) : null;
  const bs = opts.batchSize ?? 100;
  const flags = new Uint8Array(t.data.n);
  const progress = new Progress({ label: opts.label ?? '', total: t.data.n, unit: 'img', quiet: !opts.label });
  let at = 0;
  let i = 0;
  for (const b of batches(t.data, { batchSize: bs })) {
    const seed = deriveSeed(t.seed ?? 0, i++);
    const ok = readFlags(tf.tidy(() => tf.equal(tf.argMax(t.logits(att ? att.perturb(t.logits, b.x, b.y, { seed }) : b.x), 1), b.y)));
    flags.set(ok, at);
    at += b.y.shape[0];
    disposeBatch(b);
    progress.update(at, at);
  }
  return flags;
}

const mean = (f: Uint8Array) => f.reduce((s, v) => s + v, 0) / Math.max(f.length, 1);
const pct = (a: number) => `${(100 * a).toFixed(1)}%`;
const pts = (a: number) => `${(100 * a).toFixed(1)} points`;

export function robustAccuracy(t: CheckTarget, attack: AttackConfig | null, label?: string): number {
  return mean(robustFlags(t, attack, { label }));
}

/** (a) AutoAttack must not be far below PGD: a large gap means PGD's gradients were misleading. */
export function autoAttackGap(pgdAccuracy: number, pgd: AttackConfig, aa: AutoAttackResult): SanityCheck {
  const gap = pgdAccuracy - aa.robustAccuracy;
  return {
    name: '(a) AutoAttack close to PGD',
    criterion: `PGD (${pgdLabel(pgd)}) overstates robustness by at most the threshold compared with AutoAttack (${aa.version} version)`,
    threshold: `gap <= ${pts(THRESHOLDS.autoAttackGap)}`,
    passed: gap <= THRESHOLDS.autoAttackGap,
    points: [{ x: 0, accuracy: pgdAccuracy }, { x: 1, accuracy: aa.robustAccuracy }],
    detail: `${pgdLabel(pgd)}: ${pct(pgdAccuracy)}, AutoAttack: ${pct(aa.robustAccuracy)} (gap ${pts(gap)})`,
  };
}

/**
 * (b) Square, which sees only the model's outputs, must not break many images that the gradient
 * attack left robust: a black-box attack beating a white-box one means the gradients are masked.
 */
export function squareNotStronger(t: CheckTarget, pgd: AttackConfig, square: AttackConfig, pgdFlags?: Uint8Array, label?: string): SanityCheck {
  const flags = pgdFlags ?? robustFlags(t, pgd);
  const idx: number[] = [];
  flags.forEach((f, i) => f && idx.push(i));
  const sub: CheckTarget = { ...t, data: subset(t.data, idx) };
  const survived = idx.length ? robustFlags(sub, square, { label }) : new Uint8Array(0);
  const broken = idx.length - survived.reduce((s, v) => s + v, 0);
  const share = broken / t.data.n;
  const sq = resolveAttackConfig(square);
  return {
    name: '(b) Square not stronger than PGD',
    criterion: `Square (${sq.queries} queries, no gradients) run on the images ${pgdLabel(pgd)} left robust breaks at most the threshold (as a share of all images)`,
    threshold: `<= ${pts(THRESHOLDS.squareMargin)}`,
    passed: share <= THRESHOLDS.squareMargin,
    points: [{ x: 0, accuracy: mean(flags) }, { x: 1, accuracy: (idx.length - broken) / t.data.n }],
    detail: `${pgdLabel(pgd)}: ${pct(mean(flags))}; then Square: ${pct((idx.length - broken) / t.data.n)} (${broken} more images broken, ${pts(share)})`,
  };
}

/** (c) At eps = 1 any image in [0,1] can be turned into any other: accuracy must be 0. */
export function largeEpsZero(t: CheckTarget, pgd: AttackConfig): SanityCheck {
  const attack: AttackConfig = { ...pgd, eps: 1, stepSize: undefined };
  const acc = robustAccuracy(t, attack);
  return {
    name: '(c) eps = 1 gives 0%',
    criterion: `${pgdLabel(attack)} (eps 1 covers the whole pixel range [0,1]) leaves no image classified right`,
    threshold: `accuracy <= ${pct(THRESHOLDS.largeEps)}`,
    passed: acc <= THRESHOLDS.largeEps,
    points: [{ x: 1, accuracy: acc }],
    detail: `eps 1: ${pct(acc)}`,
  };
}

/**
 * (d) One step must be weaker than many, and accuracy must not rise along the steps curve
 * (same random starts throughout): a flat curve means the steps do nothing, a rising one that
 * the attack is lost.
 */
export function stepsCurve(t: CheckTarget, pgd: AttackConfig, steps: number[]): SanityCheck {
  if (steps.length < 2 || steps[0] !== 1) throw new Error(`stepsCurve: steps must start at 1 and have at least two entries, got ${steps.join(', ')}.`);
  const points = steps.map((k) => ({ x: k, accuracy: robustAccuracy(t, { ...pgd, steps: k, stepSize: undefined }) }));
  const first = points[0].accuracy;
  const last = points[points.length - 1].accuracy;
  const rise = Math.max(0, ...points.slice(1).map((p, i) => p.accuracy - points[i].accuracy));
  return {
    name: '(d) more steps are stronger',
    criterion: `accuracy after 1 step exceeds accuracy after ${steps[steps.length - 1]} steps by at least the threshold, and never rises from one step count to the next by more than the tolerance`,
    threshold: `1-step minus ${steps[steps.length - 1]}-step >= ${pts(THRESHOLDS.oneStepGap)}; rise <= ${pts(THRESHOLDS.curveRise)}`,
    passed: first - last >= THRESHOLDS.oneStepGap && rise <= THRESHOLDS.curveRise,
    points,
    detail: `1 step: ${pct(first)}, ${steps[steps.length - 1]} steps: ${pct(last)}; largest rise ${pts(rise)}`,
  };
}

/** Accuracy of `target` on adversarial examples crafted against `source` (same images). */
export function transferAccuracy(source: CheckTarget, target: CheckTarget, attack: AttackConfig, batchSize = 100): number {
  const att = makeAttack(attack);
  let correct = 0;
  let i = 0;
  for (const b of batches(target.data, { batchSize })) {
    const c = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(target.logits(att.perturb(source.logits, b.x, b.y, { seed: deriveSeed(source.seed ?? 0, i++) })), 1), b.y), 'int32')));
    correct += c.dataSync()[0];
    c.dispose();
    disposeBatch(b);
  }
  return correct / target.data.n;
}

/** (e) A transfer attack from an independently trained model of another activation must be weaker than white-box. */
export function transferWeaker(source: CheckTarget, target: CheckTarget, attack: AttackConfig, whiteBox?: number): SanityCheck {
  const white = whiteBox ?? robustAccuracy(target, attack);
  const transfer = transferAccuracy(source, target, attack);
  return {
    name: '(e) transfer weaker than white-box',
    criterion: `accuracy under ${pgdLabel(attack)} computed on ${source.name} (trained separately) is at least the white-box accuracy`,
    threshold: 'transfer >= white-box',
    passed: transfer >= white,
    points: [{ x: 0, accuracy: white }, { x: 1, accuracy: transfer }],
    detail: `white-box: ${pct(white)}, transfer: ${pct(transfer)}`,
  };
}

function pgdLabel(a: AttackConfig): string {
  const r = resolveAttackConfig(a);
  return r.type === 'fgsm' ? 'FGSM' : `${r.type.startsWith('pgd') ? 'PGD' : r.type}-${r.steps}${r.eps === 1 ? ' eps 1' : ''}`;
}

export function formatCheck(c: SanityCheck): string {
  return `${c.passed ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}   [threshold: ${c.threshold}]\n      criterion: ${c.criterion}`;
}

/** One row per check for a summary table: model, check, verdict, what was measured, threshold. */
export function checkRows(model: string, checks: SanityCheck[]): { model: string; check: string; verdict: 'PASS' | 'FAIL'; measured: string; threshold: string }[] {
  return checks.map((c) => ({ model, check: c.name, verdict: c.passed ? 'PASS' : 'FAIL', measured: c.detail, threshold: c.threshold }));
}
