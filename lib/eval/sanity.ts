// Gradient-masking sanity checks (Carlini et al. 2019, "On Evaluating Adversarial Robustness";
// Athalye et al. 2018): evidence that measured robustness is real. Each check returns its
// measurements, the criterion in words, and pass or fail.
import * as tf from '@tensorflow/tfjs';
import type { ActivationFn } from '../activations';
import { type AttackConfig, makeAttack } from '../attacks';
import { batches, disposeBatch, type ImageDataset } from '../data/dataset';
import { countCorrect } from '../loss';
import type { Model } from '../models';
import { deriveSeed } from '../util/rng';
import { accuracy } from './index';

export interface SanityCheck {
  name: string;
  criterion: string;
  passed: boolean;
  /** x → robust accuracy, for the plot beside the verdict. */
  points: { x: number; accuracy: number }[];
  detail: string;
}

export interface CheckTarget {
  model: Model;
  act: ActivationFn;
  data: ImageDataset;
  seed?: number;
}

const pct = (a: number) => `${(100 * a).toFixed(1)}%`;

/** More PGD steps must not keep lowering accuracy: the curve levels off. */
export function stepsLevelOff(t: CheckTarget, base: AttackConfig, steps: number[], tolerance = 0.02): SanityCheck {
  const points = steps.map((k) => ({ x: k, accuracy: accuracy(t.model, t.data, { ...base, steps: k, stepSize: base.stepSize }, { act: t.act, seed: t.seed }) }));
  const last = points[points.length - 1].accuracy;
  const half = points.find((p) => p.x >= steps[steps.length - 1] / 2) ?? points[0];
  const drop = half.accuracy - last;
  return {
    name: 'PGD steps level off',
    criterion: `accuracy at ${steps[steps.length - 1]} steps is within ${pct(tolerance)} of accuracy at ${half.x} steps`,
    passed: drop <= tolerance,
    points,
    detail: `${half.x} steps: ${pct(half.accuracy)}, ${steps[steps.length - 1]} steps: ${pct(last)} (drop ${pct(drop)})`,
  };
}

/** An unbounded attacker must win: accuracy goes to (near) zero at large eps. */
export function largeEpsReachesZero(t: CheckTarget, base: AttackConfig, eps: number[], threshold = 0.05): SanityCheck {
  const points = eps.map((e) => ({ x: e, accuracy: accuracy(t.model, t.data, { ...base, eps: e, stepSize: undefined }, { act: t.act, seed: t.seed }) }));
  const last = points[points.length - 1];
  const monotone = points.every((p, i) => i === 0 || p.accuracy <= points[i - 1].accuracy + 0.02);
  return {
    name: 'large eps reaches zero',
    criterion: `accuracy at eps ${+last.x.toFixed(4)} is below ${pct(threshold)}, and falls (within 2%) as eps grows`,
    passed: last.accuracy < threshold && monotone,
    points,
    detail: `eps ${+last.x.toFixed(4)}: ${pct(last.accuracy)}; ${monotone ? 'monotone' : 'NOT monotone in eps'}`,
  };
}

/** Random restarts may lower accuracy a little; a large drop means single runs were weak. */
export function restartsAgree(t: CheckTarget, base: AttackConfig, restarts: number, tolerance = 0.03): SanityCheck {
  const one = accuracy(t.model, t.data, { ...base, restarts: 0 }, { act: t.act, seed: t.seed });
  const many = accuracy(t.model, t.data, { ...base, restarts }, { act: t.act, seed: t.seed });
  return {
    name: 'random restarts agree',
    criterion: `${restarts + 1} random starts lower accuracy by at most ${pct(tolerance)} compared with one`,
    passed: one - many <= tolerance && many <= one + 1e-9,
    points: [{ x: 1, accuracy: one }, { x: restarts + 1, accuracy: many }],
    detail: `1 start: ${pct(one)}, ${restarts + 1} starts: ${pct(many)}`,
  };
}

/** Accuracy of `target` on adversarial examples crafted against `source`. */
export function transferAccuracy(source: CheckTarget, target: CheckTarget, attack: AttackConfig, batchSize = 100): number {
  const att = makeAttack(attack);
  const srcLogits = (x: tf.Tensor4D) => source.model.apply(x, { training: false, act: source.act });
  let correct = 0;
  let i = 0;
  for (const b of batches(target.data, { batchSize })) {
    const c = tf.tidy(() => countCorrect(target.model.apply(att.perturb(srcLogits, b.x, b.y, { seed: deriveSeed(source.seed ?? 0, i++) }), { training: false, act: target.act }), b.y));
    correct += c.dataSync()[0];
    c.dispose();
    disposeBatch(b);
  }
  return correct / target.data.n;
}

/** A transfer (black-box) attack must be weaker than the white-box attack. */
export function transferWeaker(source: CheckTarget, target: CheckTarget, attack: AttackConfig): SanityCheck {
  const white = accuracy(target.model, target.data, attack, { act: target.act, seed: target.seed });
  const transfer = transferAccuracy(source, target, attack);
  return {
    name: 'transfer weaker than white-box',
    criterion: 'accuracy under a transfer attack from a separately trained model is at least the white-box accuracy',
    passed: transfer >= white,
    points: [{ x: 0, accuracy: white }, { x: 1, accuracy: transfer }],
    detail: `white-box: ${pct(white)}, transfer: ${pct(transfer)}`,
  };
}

export function formatCheck(c: SanityCheck): string {
  return `${c.passed ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}\n      criterion: ${c.criterion}`;
}

/** One row per check for a summary table: model, check, verdict, what was measured, criterion. */
export function checkRows(model: string, checks: SanityCheck[]): { model: string; check: string; verdict: 'PASS' | 'FAIL'; measured: string; criterion: string }[] {
  return checks.map((c) => ({ model, check: c.name, verdict: c.passed ? 'PASS' : 'FAIL', measured: c.detail, criterion: c.criterion }));
}
