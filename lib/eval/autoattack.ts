// AutoAttack (Croce & Hein, ICML 2020), standard version: APGD-CE, APGD-T (9 targets), FAB-T
// (9 targets), Square (5,000 queries), each run only on the points every earlier attack failed
// on; a point counts as robust only if every attack fails (worst case per point). Also its own
// checks (fra31/auto-attack autoattack/checks.py): randomized outputs, outputs that look like
// probabilities, too few classes, zero gradients, Square beating the gradient attacks.
import * as tf from '@tensorflow/tfjs';
import { type AttackConfig, type AttackDiagnostics, type AttackNorm, type AttackType, type LogitsFn, attackLabel, makeAttack, resolveAttackConfig } from '../attacks';
import { batches, disposeBatch, type ImageDataset, subset } from '../data/dataset';
import { readFlags } from '../attacks/common';
import { Progress } from '../util/progress';
import { deriveSeed } from '../util/rng';
import { correctFlags } from './flags';

export type AutoAttackVersion = 'standard' | 'custom';

export interface AutoAttackOptions {
  eps: number;
  norm?: AttackNorm;
  /** 'standard' (default) or 'custom' with `attacks`. */
  version?: AutoAttackVersion;
  /** The attacks of a custom version, run in this order. */
  attacks?: AttackConfig[];
  /** Images per batch (reference: 250). */
  batchSize?: number;
  seed?: number;
  /** Prefix of the progress bars; none prints no progress. */
  label?: string;
  /** Where warnings go as they happen (default: stderr with the label); they are also returned. */
  warn?: (message: string) => void;
}

export interface AutoAttackStage {
  attack: AttackType;
  label: string;
  /** Robust accuracy over all n points after this attack (cumulative). */
  robustAccuracy: number;
  /** Points this attack ran on (those still robust before it). */
  attacked: number;
  /** Points this attack broke. */
  broken: number;
  seconds: number;
}

export interface AutoAttackResult {
  version: AutoAttackVersion;
  eps: number;
  norm: AttackNorm;
  n: number;
  clean: number;
  stages: AutoAttackStage[];
  /** Final robust accuracy (= the last stage's, or clean if no attack ran). */
  robustAccuracy: number;
  /** 1 per point still robust after every attack. */
  robust: Uint8Array;
  warnings: string[];
  seconds: number;
}

/** The standard version's attacks at eps (autoattack.py set_version('standard'); each attack's defaults in its own file in lib/attacks). */
export function standardAttacks(eps: number, norm: AttackNorm, classes: number): AttackConfig[] {
  // With fewer than 10 classes there are fewer than 9 other classes to target.
  const targets = Math.min(9, classes - 1);
  return [
    { type: 'apgd-ce', eps, norm },
    { type: 'apgd-t', eps, norm, targets },
    { type: 'fab-t', eps, norm, targets },
    { type: 'square', eps, norm },
  ];
}

const pct = (a: number) => `${(100 * a).toFixed(2)}%`;

/** The first `bs` images as one batch, for the checks. */
function firstBatch(data: ImageDataset, bs: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const it = batches(data, { batchSize: bs });
  const b = it.next().value!;
  it.return(undefined);
  return b;
}

/**
 * The reference's checks before attacking: a randomized model (outputs differ between calls),
 * outputs that sum to one (probabilities passed as logits). Returns the number of classes.
 */
export function preflightChecks(logits: LogitsFn, data: ImageDataset, bs: number, warn: (m: string) => void): number {
  const b = firstBatch(data, Math.min(bs, data.n));
  try {
    // check_randomized: 5 calls, outputs normalised to unit L2 norm, max difference above 1e-4.
    const outs = Array.from({ length: 5 }, () => tf.tidy(() => {
      const o = logits(b.x);
      return tf.div(o, tf.add(tf.norm(o, 'euclidean', 1, true), 1e-10));
    }));
    let maxDiff = 0;
    for (let i = 0; i < outs.length; i++) {
      for (let j = i + 1; j < outs.length; j++) {
        const d = tf.tidy(() => tf.max(tf.norm(tf.sub(outs[i], outs[j]), 'euclidean', 1)));
        maxDiff = Math.max(maxDiff, d.dataSync()[0]);
        d.dispose();
      }
    }
    tf.dispose(outs);
    if (maxDiff > 1e-4) warn(`the model's outputs differ between calls on the same input (max difference ${maxDiff.toExponential(2)}): it seems to be a randomized defense; AutoAttack's 'rand' version (expectation over transformation) is not implemented here, so these numbers may overstate robustness.`);
    // check_range_output: every output in [0,1] and every row sums to 1.
    const [max, min, worstSum, classes] = tf.tidy(() => {
      const o = logits(b.x);
      return [tf.max(o).dataSync()[0], tf.min(o).dataSync()[0], tf.max(tf.abs(tf.sub(tf.sum(o, 1), 1))).dataSync()[0], o.shape[1]];
    });
    if (max < 1 + 1e-5 && min > -1e-5 && worstSum < 1e-5) {
      warn('the outputs sum to one like probabilities: pass the logits (before softmax), or cross-entropy and DLR are computed on the wrong quantity.');
    }
    return classes;
  } finally {
    disposeBatch(b);
  }
}

/** Largest per-example L∞ or L2 distance between adv and x, and whether all pixels are in [0,1]. */
function perturbationSize(adv: tf.Tensor4D, x: tf.Tensor4D, norm: AttackNorm): { size: number; inRange: boolean } {
  return tf.tidy(() => {
    const d = tf.sub(adv, x);
    const size = norm === 'linf' ? tf.max(tf.abs(d)) : tf.max(tf.sqrt(tf.sum(tf.square(d), [1, 2, 3])));
    const inRange = tf.logicalAnd(tf.greaterEqual(tf.min(adv), 0), tf.lessEqual(tf.max(adv), 1));
    return { size: size.dataSync()[0], inRange: Boolean(inRange.dataSync()[0]) };
  });
}

export function autoAttack(logits: LogitsFn, data: ImageDataset, opts: AutoAttackOptions): AutoAttackResult {
  const t0 = Date.now();
  const version = opts.version ?? 'standard';
  const norm = opts.norm ?? 'linf';
  const bs = opts.batchSize ?? 250;
  if (!Number.isInteger(bs) || bs < 1) throw new Error(`autoAttack: batchSize must be a positive integer, got ${opts.batchSize}.`);
  if (data.n < 1) throw new Error(`autoAttack: the data set '${data.name}' is empty; pass at least one image.`);
  if (version === 'custom' && !(opts.attacks && opts.attacks.length > 0)) throw new Error("autoAttack: version 'custom' needs a list of attacks (opts.attacks).");
  if (version === 'standard' && opts.attacks) throw new Error("autoAttack: the standard version fixes its attacks; use version 'custom' to pass your own.");
  // DLR needs 3 classes and its targeted form 4 (checks.py check_n_classes); refuse before any work.
  if (data.numClasses < 4) {
    throw new Error(`AutoAttack needs at least 4 classes (APGD-T's targeted DLR loss uses the 4 largest logits); '${data.name}' has ${data.numClasses}. Evaluate with PGD (sat eval --attack pgd-linf) instead.`);
  }
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    (opts.warn ?? ((s: string) => process.stderr.write(`[autoattack] warning: ${s}\n`)))(m);
  };
  const classes = preflightChecks(logits, data, bs, warn);
  if (classes < 4) throw new Error(`AutoAttack needs at least 4 classes; the model outputs ${classes}.`);
  if (classes !== data.numClasses) throw new Error(`The model outputs ${classes} classes but '${data.name}' has ${data.numClasses}: load the matching model.`);
  if (classes < 10 && version === 'standard') warn(`with ${classes} classes only ${classes - 1} target classes exist: APGD-T and FAB-T use ${classes - 1}, not 9.`);
  const configs = (version === 'standard' ? standardAttacks(opts.eps, norm, classes) : opts.attacks!).map((a) => resolveAttackConfig(a));
  for (const c of configs) {
    if (c.eps !== opts.eps || c.norm !== norm) throw new Error(`autoAttack: attack ${attackLabel(c)} does not match the threat model (${norm} eps ${opts.eps}); give every attack the same eps and norm.`);
  }
  const attacks = configs.map((c) => makeAttack(c)); // builds them all before any work, so a missing one fails fast

  const robust = correctFlags(logits, data, null, { batchSize: bs });
  const count = () => robust.reduce((s, v) => s + v, 0);
  const clean = count() / data.n;
  const stages: AutoAttackStage[] = [];
  // Each stage attacks only the points still robust, in batches of those; its seed is
  // deriveSeed(seed, stage, first index of the batch), not the per-point loop's rule (lib/eval/flags.ts),
  // so that stored AutoAttack results repeat.
  attacks.forEach((attack, k) => {
    const start = Date.now();
    const idx: number[] = [];
    robust.forEach((r, i) => r && idx.push(i));
    const label = attackLabel(attack.config);
    const diagnostics: AttackDiagnostics = {};
    const progress = new Progress({ label: `${opts.label ?? ''} ${label}`.trim(), total: idx.length, unit: 'img', quiet: !opts.label });
    let broken = 0;
    for (let b0 = 0; b0 < idx.length; b0 += bs) {
      const part = idx.slice(b0, b0 + bs);
      const ds = subset(data, part);
      const { value: batch } = batches(ds, { batchSize: part.length }).next();
      const { x, y } = batch!;
      const onProgress = (done: number, total: number) => progress.update(b0 + Math.floor((part.length * done) / total), b0 + (part.length * done) / total, { robust: pct(count() / data.n) }); // earlier batches' broken points are already 0 in `robust`
      const adv = attack.perturb(logits, x, y, { seed: deriveSeed(opts.seed ?? 0, k, b0), diagnostics, onProgress });
      const { size, inRange } = perturbationSize(adv, x, norm);
      if (size > opts.eps * (1 + 1e-5) + 1e-6 || !inRange) {
        tf.dispose([adv, x, y]);
        throw new Error(`${label} returned a point outside the threat model (${norm} distance ${size} > eps ${opts.eps}, or pixels outside [0,1]): a bug in the attack; its result is not counted.`);
      }
      const fooled = readFlags(tf.tidy(() => tf.notEqual(tf.argMax(logits(adv), 1), y)));
      part.forEach((i, j) => {
        if (fooled[j]) {
          robust[i] = 0;
          broken++;
        }
      });
      tf.dispose([adv, x, y]);
      progress.update(b0 + part.length, b0 + part.length, { robust: pct(count() / data.n) });
    }
    if (idx.length === 0) progress.update(0, 0);
    if (diagnostics.zeroGradient) {
      warn(`${label}: ${diagnostics.zeroGradient} of ${diagnostics.gradientChecked} points had a zero input gradient; gradient-based attacks cannot move them, so the evaluation may be unreliable (gradient masking?).`);
    }
    stages.push({ attack: attack.config.type, label, robustAccuracy: count() / data.n, attacked: idx.length, broken, seconds: (Date.now() - start) / 1000 });
  });
  // check_square_sr: Square (no gradients) breaking points the gradient attacks missed.
  const sq = stages.findIndex((s) => s.attack === 'square');
  if (sq > 0) {
    const before = Math.min(clean, ...stages.slice(0, sq).map((s) => s.robustAccuracy));
    if (stages[sq].robustAccuracy < before - 0.002) {
      warn(`Square Attack lowered the robust accuracy by ${pct(before - stages[sq].robustAccuracy)} after the gradient attacks: the gradient-based evaluation is unreliable (gradient masking?); consider more Square queries and restarts, or an adaptive attack.`);
    }
  }
  return { version, eps: opts.eps, norm, n: data.n, clean, stages, robustAccuracy: count() / data.n, robust, warnings, seconds: (Date.now() - t0) / 1000 };
}

/** The breakdown as a plain-text table: clean, then robust accuracy, points broken and time per attack. */
export function formatAutoAttack(r: AutoAttackResult, extra: { label: string; accuracy: number }[] = []): string {
  const rows = [
    ['clean', pct(r.clean), '', '', ''],
    ...r.stages.map((s) => [`after ${s.label}`, pct(s.robustAccuracy), `${s.broken}/${s.attacked}`, `${s.seconds.toFixed(1)} s`, '']),
    ['AutoAttack (final)', pct(r.robustAccuracy), '', `${r.seconds.toFixed(1)} s`, ''],
    ...extra.map((e) => [e.label, pct(e.accuracy), '', '', 'for comparison']),
  ];
  const header = ['stage', 'robust accuracy', 'broken', 'time', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const title = `AutoAttack (${r.version}), ${r.norm === 'linf' ? 'L∞' : 'L2'} eps ${+r.eps.toFixed(5)}, ${r.n} points`;
  return [title, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ...r.warnings.map((w) => `warning: ${w}`)].join('\n');
}
