// Gradient-masking sanity checks (Carlini et al. 2019, "On Evaluating Adversarial Robustness";
// Athalye et al. 2018; Croce & Hein 2020): evidence that a PGD robust accuracy is real. Each
// check returns its measurements, its threshold, the criterion in words, and PASS or FAIL; each
// is built so that it can fail, and the gradient-masking models below make every one of them fail.
import * as tf from '@tensorflow/tfjs';
import type { ActivationFn } from '../activations';
import { type AttackConfig, type LogitsFn, resolveAttackConfig } from '../attacks';
import { type ImageDataset, subset } from '../data/dataset';
import type { Model } from '../models';
import { deriveSeed } from '../util/rng';
import { binomialUpperTail, countCheckDesign, type CountCheckDesign } from '../report/stats';
import { type AutoAttackResult } from './autoattack';
import { correctFlags, modelLogits, shareOf as mean } from './flags';

export interface SanityCheck {
  name: string;
  criterion: string;
  /** The threshold in images at the n used, shown beside the result. */
  threshold: string;
  passed: boolean;
  /** Test images the check ran on. */
  n: number;
  /** The false-alarm rate the check accepts on a model without masking (null: none, e.g. a count that must be 0). */
  falseAlarm: number | null;
  /** The smallest masking effect the check detects at this n, in words (80% power where computed). */
  power: string;
  /** x → robust accuracy, for the plot beside the verdict. */
  points: { x: number; accuracy: number }[];
  detail: string;
}

/**
 * The checks' statistical design, fixed before any model was checked. Every check compares
 * per-image flags on the same images and decides on counts of images, never on differences of
 * float fractions (0.57 - 0.56 < 0.01 in floating point: one image of 100 failed a check that way).
 */
export const THRESHOLDS = {
  /** False-alarm rate each statistical check accepts on a model that does not mask. */
  falseAlarm: 0.05,
  /**
   * (a) The rate of images AutoAttack breaks and PGD leaves robust that is tolerated without
   * masking (RobustBench's AutoAttack-vs-PGD gaps are typically 0.5-3 points): a one-sided
   * binomial bound on the count at `falseAlarm`.
   */
  autoAttackNullRate: 0.01,
  /**
   * (b) The rate of PGD-robust images Square may break without masking: AutoAttack's own
   * warning level (checks.py: Square lowering the robust accuracy by more than 0.2 points).
   */
  squareNullRate: 0.002,
  /** (c) Images classified right at eps = 1 (any image can be reached): must be 0. */
  largeEpsImages: 0,
} as const;

/** Power at which every check's smallest detectable effect is stated. */
export const CHECK_POWER = 0.8;

const count = (f: Uint8Array) => f.reduce((s, v) => s + v, 0);

/** What a check attacks: a logits function (pixels in [0,1] to logits) on fixed test images. */
export interface CheckTarget {
  name: string;
  logits: LogitsFn;
  data: ImageDataset;
  seed?: number;
}

/** Images flagged in `a` and not in `b` (per-image robust flags of two attacks on the same images). */
export function onlyIn(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`onlyIn: ${a.length} flags against ${b.length}; compare flags of the same images`);
  let k = 0;
  for (let i = 0; i < a.length; i++) if (a[i] && !b[i]) k++;
  return k;
}

/**
 * One-sided exact sign test on paired flags (McNemar): of the `more + fewer` images on which two
 * attacks disagree, is `more` larger than chance (p = P(X >= more), X ~ Bin(more + fewer, 1/2))?
 */
export function oneSidedMcNemar(more: number, fewer: number): number {
  return binomialUpperTail(more, more + fewer, 0.5);
}

/** The fewest one-sided discordant images that can reach p < alpha (all going one way): 5 at 0.05. */
export function minimumDiscordant(alpha = THRESHOLDS.falseAlarm): number {
  return Math.ceil(Math.log(alpha) / Math.log(0.5) + 1e-12);
}

const imgs = (k: number) => `${k} image${k === 1 ? '' : 's'}`;
const pOf = (p: number) => (p < 0.001 ? '< 0.001' : p.toFixed(3));
const rate = (r: number) => `${(100 * r).toFixed(1)}%`;

/** The power sentence of a binomial count check at its n. */
function countPower(d: CountCheckDesign): string {
  return `80% power against a true rate of ${rate(d.detectableRate)} (${d.detectableImages.toFixed(1)} of ${d.n} images), null ${rate(d.nullRate)}`;
}

export function modelTarget(name: string, model: Model, act: ActivationFn, data: ImageDataset, seed?: number): CheckTarget {
  return { name, logits: modelLogits(model, act), data, seed };
}

export type MaskKind = 'saturate' | 'scale' | 'quantize';

/** The moderate mask's logit factor (issue 23: x10-x100): softmax saturates only for confident images. */
export const MODERATE_LOGIT_SCALE = 30;

/**
 * A model that masks its gradients on purpose, with the same decisions as `t` (nearly, for
 * 'quantize'): 'saturate' multiplies the logits by 10^5, so softmax saturates and the
 * cross-entropy gradient is exactly zero in float32 for every confidently classified point
 * (DLR, being scale-invariant, is not fooled): the extreme control. 'scale' multiplies them by
 * MODERATE_LOGIT_SCALE: the gradient vanishes (exp underflows) only where the logit margin exceeds
 * about 103 / 30 = 3.4, so PGD still breaks the less confident images: a moderate control.
 * 'quantize' rounds the input to 255 grey levels through tf.round, whose gradient is zero
 * everywhere (only a gradient-free attack like Square sees through it).
 */
export function maskedTarget(t: CheckTarget, kind: MaskKind): CheckTarget {
  const factor = kind === 'saturate' ? 1e5 : MODERATE_LOGIT_SCALE;
  const logits: LogitsFn =
    kind === 'quantize'
      ? (x) => tf.tidy(() => t.logits(tf.div(tf.round(tf.mul(x, 255)), 255) as tf.Tensor4D))
      : (x) => tf.tidy(() => tf.mul(t.logits(x), factor) as tf.Tensor2D);
  const what = kind === 'saturate' ? 'logits x1e5, extreme' : kind === 'scale' ? `logits x${MODERATE_LOGIT_SCALE}, moderate` : 'input rounded, zero gradient';
  return { ...t, name: `${t.name}, masked (${what})`, logits };
}

/** Per image: 1 if the model still classifies it right under the attack (clean for null). */
export function robustFlags(t: CheckTarget, attack: AttackConfig | null, opts: { label?: string; batchSize?: number } = {}): Uint8Array {
  return correctFlags(t.logits, t.data, attack, { ...opts, seed: t.seed });
}

export function robustAccuracy(t: CheckTarget, attack: AttackConfig | null, label?: string): number {
  return mean(robustFlags(t, attack, { label }));
}

/**
 * (a) AutoAttack must not break many images that PGD left robust: counted per image, against a
 * one-sided binomial bound (null rate THRESHOLDS.autoAttackNullRate, false alarm THRESHOLDS.falseAlarm).
 */
export function autoAttackGap(pgdFlags: Uint8Array, pgd: AttackConfig, aa: AutoAttackResult): SanityCheck {
  const n = pgdFlags.length;
  if (aa.robust.length !== n) throw new Error(`autoAttackGap: PGD has ${n} flags and AutoAttack ${aa.robust.length}; run both on the same images`);
  const k = onlyIn(pgdFlags, aa.robust);
  const d = countCheckDesign(n, THRESHOLDS.autoAttackNullRate, { falseAlarm: THRESHOLDS.falseAlarm, power: CHECK_POWER });
  return {
    name: '(a) AutoAttack close to PGD',
    criterion: `images ${pgdLabel(pgd)} leaves robust and AutoAttack (${aa.version} version) breaks stay below a one-sided binomial bound: at a true rate of ${rate(d.nullRate)} the check fails with probability <= ${THRESHOLDS.falseAlarm}`,
    threshold: `fewer than ${imgs(d.threshold)} of ${n} (false alarm ${d.achievedFalseAlarm.toFixed(3)})`,
    passed: k < d.threshold,
    n,
    falseAlarm: THRESHOLDS.falseAlarm,
    power: countPower(d),
    points: [{ x: 0, accuracy: mean(pgdFlags) }, { x: 1, accuracy: mean(aa.robust) }],
    detail: `${pgdLabel(pgd)}: ${count(pgdFlags)} of ${n} robust, AutoAttack: ${count(aa.robust)}; AutoAttack broke ${imgs(k)} that PGD left robust`,
  };
}

/**
 * (b) Square, which sees only the model's outputs, must not break many images that the gradient
 * attack left robust: a black-box attack beating a white-box one means the gradients mislead.
 * Counted against a one-sided binomial bound at AutoAttack's own 0.2-point warning rate.
 */
export function squareNotStronger(t: CheckTarget, pgd: AttackConfig, square: AttackConfig, pgdFlags?: Uint8Array, label?: string): SanityCheck {
  const flags = pgdFlags ?? robustFlags(t, pgd);
  const n = t.data.n;
  const idx: number[] = [];
  flags.forEach((f, i) => f && idx.push(i));
  const sub: CheckTarget = { ...t, data: subset(t.data, idx) };
  const survived = idx.length ? robustFlags(sub, square, { label }) : new Uint8Array(0);
  const broken = idx.length - count(survived);
  const sq = resolveAttackConfig(square);
  const d = countCheckDesign(n, THRESHOLDS.squareNullRate, { falseAlarm: THRESHOLDS.falseAlarm, power: CHECK_POWER });
  const aaWarns = broken / n > THRESHOLDS.squareNullRate;
  return {
    name: '(b) Square not stronger than PGD',
    criterion: `Square (${sq.queries} queries, no gradients) run on the images ${pgdLabel(pgd)} left robust breaks fewer than a one-sided binomial bound at a true rate of ${rate(d.nullRate)} (AutoAttack's own warning level)`,
    threshold: `fewer than ${imgs(d.threshold)} of ${n} (false alarm ${d.achievedFalseAlarm.toFixed(3)}); AutoAttack warns above ${(THRESHOLDS.squareNullRate * n).toFixed(1)}`,
    passed: broken < d.threshold,
    n,
    falseAlarm: THRESHOLDS.falseAlarm,
    power: countPower(d),
    points: [{ x: 0, accuracy: mean(flags) }, { x: 1, accuracy: (idx.length - broken) / n }],
    detail: `${pgdLabel(pgd)}: ${idx.length} of ${n} robust; Square broke ${imgs(broken)} of them (AutoAttack's 0.2-point warning: ${aaWarns ? 'would warn' : 'silent'})`,
  };
}

/** (c) At eps = 1 any image in [0,1] can be turned into any other: no image may stay right. */
export function largeEpsZero(t: CheckTarget, pgd: AttackConfig): SanityCheck {
  const attack: AttackConfig = { ...pgd, eps: 1, stepSize: undefined };
  const k = count(robustFlags(t, attack));
  const n = t.data.n;
  return {
    name: '(c) eps = 1 gives 0%',
    criterion: `${pgdLabel(attack)} (eps 1 covers the whole pixel range [0,1]) leaves no image classified right`,
    threshold: `${imgs(THRESHOLDS.largeEpsImages)} robust`,
    passed: k <= THRESHOLDS.largeEpsImages,
    n,
    falseAlarm: null,
    power: 'any image left robust fails it (no noise: every image is reachable)',
    points: [{ x: 1, accuracy: k / n }],
    detail: `eps 1: ${k} of ${n} robust`,
  };
}

/**
 * (d) More steps must be stronger, judged per image: the images one step leaves robust and the
 * most steps break must outnumber the reverse (one-sided exact McNemar, p < falseAlarm), and no
 * step count may leave significantly more images robust than the one before (same random starts).
 * The random start's own noise is measured beside: the most steps again with another attack seed.
 */
export function stepsCurve(t: CheckTarget, pgd: AttackConfig, steps: number[]): SanityCheck {
  if (steps.length < 2 || steps[0] !== 1) throw new Error(`stepsCurve: steps must start at 1 and have at least two entries, got ${steps.join(', ')}.`);
  const flags = steps.map((k) => robustFlags(t, { ...pgd, steps: k, stepSize: undefined }));
  const K = steps[steps.length - 1];
  const reseeded = robustFlags({ ...t, seed: deriveSeed(t.seed ?? 0, 7919) }, { ...pgd, steps: K, stepSize: undefined });
  return stepsCurveFromFlags(steps, flags, reseeded, pgd);
}

/** Check (d) from the per-image flags at each step count (and at the most steps with another attack seed). */
export function stepsCurveFromFlags(steps: number[], flags: Uint8Array[], reseeded: Uint8Array, pgd: AttackConfig): SanityCheck {
  const alpha = THRESHOLDS.falseAlarm;
  const n = flags[0].length;
  const first = flags[0];
  const last = flags[flags.length - 1];
  const K = steps[steps.length - 1];
  const gained = onlyIn(first, last); // robust after 1 step, broken after K
  const lost = onlyIn(last, first);
  const pGap = oneSidedMcNemar(gained, lost);
  const rises = flags.slice(1).map((f, i) => ({ from: steps[i], to: steps[i + 1], up: onlyIn(f, flags[i]), down: onlyIn(flags[i], f) }));
  const worst = rises.map((r) => ({ ...r, p: oneSidedMcNemar(r.up, r.down) })).sort((a, b) => a.p - b.p)[0];
  const noise = { a: onlyIn(last, reseeded), b: onlyIn(reseeded, last) };
  return {
    name: '(d) more steps are stronger',
    criterion: `of the images on which 1 and ${K} steps disagree, more are broken by ${K} steps (one-sided exact McNemar p < ${alpha}); no step count leaves significantly more images robust than the one before (same test, p < ${alpha})`,
    threshold: `gap p < ${alpha} (at least ${imgs(minimumDiscordant(alpha))} more broken by ${K} steps, none the other way); rise p >= ${alpha}`,
    passed: pGap < alpha && !(worst.p < alpha),
    n,
    falseAlarm: alpha,
    power: `needs at least ${imgs(minimumDiscordant(alpha))} more broken by ${K} steps than by 1 (all one way) to PASS; random-start noise at ${K} steps: ${noise.a + noise.b} of ${n} images differ between two attack seeds (${noise.a} vs ${noise.b})`,
    points: steps.map((k, i) => ({ x: k, accuracy: count(flags[i]) / n })),
    detail: `${pgdLabel({ ...pgd, steps: 1 })}: ${count(first)} of ${n} robust, ${K} steps: ${count(last)}; ${gained} broken only by ${K} steps, ${lost} only by 1 (p ${pOf(pGap)}); largest rise ${worst.from}->${worst.to} steps: +${worst.up}/-${worst.down} (p ${pOf(worst.p)})`,
  };
}

/** Per image: 1 if `target` still classifies it right on adversarial examples crafted against `source`. */
export function transferFlags(source: CheckTarget, target: CheckTarget, attack: AttackConfig, batchSize = 100): Uint8Array {
  return correctFlags(target.logits, target.data, attack, { batchSize, seed: source.seed, attackLogits: source.logits });
}

/** Accuracy of `target` on adversarial examples crafted against `source` (same images). */
export function transferAccuracy(source: CheckTarget, target: CheckTarget, attack: AttackConfig, batchSize = 100): number {
  return mean(transferFlags(source, target, attack, batchSize));
}

/**
 * (e) A transfer attack from an independently trained model of another activation must not be
 * stronger than white-box: of the images the two disagree on, the transfer attack may not break
 * significantly more (one-sided exact McNemar, p < falseAlarm).
 */
export function transferWeaker(source: CheckTarget, target: CheckTarget, attack: AttackConfig, whiteFlags?: Uint8Array): SanityCheck {
  const white = whiteFlags ?? robustFlags(target, attack);
  const transfer = transferFlags(source, target, attack);
  const n = white.length;
  const onlyTransfer = onlyIn(white, transfer); // robust white-box, broken by transfer
  const onlyWhite = onlyIn(transfer, white);
  const p = oneSidedMcNemar(onlyTransfer, onlyWhite);
  const alpha = THRESHOLDS.falseAlarm;
  return {
    name: '(e) transfer weaker than white-box',
    criterion: `${pgdLabel(attack)} computed on ${source.name} (trained separately) does not break significantly more images than white-box (one-sided exact McNemar p >= ${alpha})`,
    threshold: `p >= ${alpha} (fails from ${imgs(minimumDiscordant(alpha))} broken only by transfer, none the other way)`,
    passed: !(p < alpha),
    n,
    falseAlarm: alpha,
    power: `catches transfer beating white-box on ${imgs(minimumDiscordant(alpha))} or more (all one way)`,
    points: [{ x: 0, accuracy: mean(white) }, { x: 1, accuracy: mean(transfer) }],
    detail: `white-box: ${count(white)} of ${n} robust, transfer: ${count(transfer)}; ${onlyTransfer} broken only by transfer, ${onlyWhite} only white-box (p ${pOf(p)})`,
  };
}

function pgdLabel(a: AttackConfig): string {
  const r = resolveAttackConfig(a);
  return r.type === 'fgsm' ? 'FGSM' : `${r.type.startsWith('pgd') ? 'PGD' : r.type}-${r.steps}${r.eps === 1 ? ' eps 1' : ''}`;
}

export function formatCheck(c: SanityCheck): string {
  return `${c.passed ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}   [threshold: ${c.threshold}]\n      criterion: ${c.criterion}\n      power at n = ${c.n}: ${c.power}`;
}

/** One row per check for a summary table: model, check, verdict, what was measured, threshold, power. */
export function checkRows(model: string, checks: SanityCheck[]): { model: string; check: string; verdict: 'PASS' | 'FAIL'; measured: string; threshold: string; power: string }[] {
  return checks.map((c) => ({ model, check: c.name, verdict: c.passed ? 'PASS' : 'FAIL', measured: c.detail, threshold: c.threshold, power: c.power }));
}
