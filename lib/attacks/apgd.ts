// Auto-PGD (Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
// diverse parameter-free attacks", ICML 2020, Algorithm 1), L∞ and L2, on cross-entropy
// (apgd-ce) or the DLR loss (apgd-dlr). Differences from PGD: a per-example step size that
// starts at 2·eps and is halved at checkpoints when the loss oscillates or stalls (the attack
// then restarts from its best point), momentum 0.75, and per example the best point is kept:
// the highest-loss one, or the first that misclassifies (any success breaks the point).
// Constants as in the paper and fra31/auto-attack autoattack/autopgd_base.py.
import * as tf from '@tensorflow/tfjs';
import { crossEntropy } from '../loss';
import { clipPixels, indicesWhereZero, readFlags, lossAndGradient, misclassified, onSubset, restartSeed } from './common';
import { iterativeLabel, noSquareFields, noTargets, resolved, restartsOf, stepSizeOf, stepsOf, threatModel, untargeted } from './config';
import { dlrLoss } from './dlr';
import type { Attack, AttackDefinition, AttackFields, AttackNorm, LogitsFn, PerturbOptions, UncheckedAttackConfig } from './types';

/** APGD-CE or APGD-DLR, L∞ or L2 (the norm field); untargeted (APGD-T is the targeted form). */
export interface ApgdConfig<T extends 'apgd-ce' | 'apgd-dlr'> extends AttackFields {
  type: T;
  targeted?: false;
  targets?: 0;
  queries?: 0;
  pInit?: 0;
}

/** Momentum weight alpha (paper sec. 3.2: alpha = 0.75; reference: a = 0.75 after the first step). */
const MOMENTUM = 0.75;
/** rho: halve the step when the loss rose in at most rho of the steps since the last checkpoint (paper: 0.75). */
const RHO = 0.75;
/** Checkpoint spacing: first after p1 = 22% of the iterations, then shrinking by 3% down to 6% (paper sec. 3.2; reference n_iter_2, size_decr, n_iter_min). */
const FIRST_CHECK = 0.22;
const CHECK_SHRINK = 0.03;
const MIN_CHECK = 0.06;
/** Guards norms of zero (reference: 1e-12). */
const TINY = 1e-12;

export interface ApgdRunConfig {
  eps: number;
  norm: AttackNorm;
  steps: number;
  /** Initial step size (2·eps by default). */
  stepSize: number;
  randomStart: boolean;
}

/** Per example, scales t to unit L∞ or L2 norm ([N,1,1,1] broadcast). */
function normalize(t: tf.Tensor4D, norm: AttackNorm): tf.Tensor4D {
  const n = norm === 'linf' ? tf.max(tf.abs(t), [1, 2, 3], true) : tf.sqrt(tf.sum(tf.square(t), [1, 2, 3], true));
  return tf.div(t, tf.add(n, TINY)) as tf.Tensor4D;
}

/** Projection onto the eps-ball around x intersected with the pixel range [0,1]. */
export function projectBall(z: tf.Tensor4D, x: tf.Tensor4D, eps: number, norm: AttackNorm): tf.Tensor4D {
  return tf.tidy(() => {
    const d = tf.sub(z, x) as tf.Tensor4D;
    if (norm === 'linf') return clipPixels(tf.add(x, tf.clipByValue(d, -eps, eps)));
    const n = tf.sqrt(tf.add(tf.sum(tf.square(d), [1, 2, 3], true), TINY));
    return clipPixels(tf.add(x, tf.mul(d, tf.minimum(tf.div(eps, n), 1))));
  });
}

/** A random start: uniform in [-1,1]^d (L∞) or Gaussian (L2), scaled to norm eps (reference: eps·normalize(t)). */
function randomStart(x: tf.Tensor4D, eps: number, norm: AttackNorm, seed: number | undefined): tf.Tensor4D {
  return tf.tidy(() => {
    const t = norm === 'linf' ? tf.randomUniform(x.shape, -1, 1, 'float32', seed) : tf.randomNormal(x.shape, 0, 1, 'float32', seed);
    return clipPixels(tf.add(x, tf.mul(normalize(t as tf.Tensor4D, norm), eps)));
  });
}

function maskOf(flags: ArrayLike<number | boolean>): tf.Tensor4D {
  return tf.reshape(tf.tensor1d(Array.from(flags, (f) => (f ? 1 : 0)), 'bool'), [-1, 1, 1, 1]) as tf.Tensor4D;
}

/** where(flags, a, b) per example, disposing b (the tensor being replaced). */
function replaceWhere(flags: ArrayLike<number | boolean>, a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  const out = tf.tidy(() => tf.where(maskOf(flags), a, b) as tf.Tensor4D);
  b.dispose();
  return out;
}

/**
 * One APGD run on every example of x. Returns per example the first point found that
 * misclassifies, else the highest-loss point, and which examples were misclassified.
 */
export function apgdRun(
  logits: LogitsFn,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  loss: (out: tf.Tensor2D) => tf.Tensor1D,
  cfg: ApgdRunConfig,
  seed: number | undefined,
  opts: PerturbOptions = {},
  tick: () => void = () => {},
): { adv: tf.Tensor4D; fooled: Uint8Array } {
  const n = x.shape[0];
  const { eps, norm, steps } = cfg;
  const yInt = tf.cast(y, 'int32') as tf.Tensor1D;
  let xAdv = cfg.randomStart ? randomStart(x, eps, norm, seed) : tf.clone(x);

  const evaluate = (at: tf.Tensor4D) => {
    const r = lossAndGradient(logits, at, loss);
    const lossValues = r.loss.dataSync() as Float32Array;
    const wrong = readFlags(tf.tidy(() => tf.notEqual(tf.argMax(r.logits, 1), yInt)));
    tf.dispose([r.logits, r.loss]);
    return { loss: Float32Array.from(lossValues), wrong, grad: r.grad };
  };

  let cur = evaluate(xAdv);
  let grad = cur.grad;
  if (opts.diagnostics) {
    // AutoAttack's check_zero_gradients: a gradient that is exactly zero leaves nothing to follow.
    const zero = readFlags(tf.tidy(() => tf.equal(tf.sum(tf.abs(grad), [1, 2, 3]), 0)));
    opts.diagnostics.zeroGradient = (opts.diagnostics.zeroGradient ?? 0) + Array.from(zero).filter((v) => v).length;
    opts.diagnostics.gradientChecked = (opts.diagnostics.gradientChecked ?? 0) + n;
  }
  const fooled = Uint8Array.from(cur.wrong);
  let xBestAdv = tf.clone(xAdv);
  let xBest = tf.clone(xAdv);
  let gradBest = tf.clone(grad);
  const lossBest = Float32Array.from(cur.loss);
  const step = new Float32Array(n).fill(cfg.stepSize);
  // history[0] is the loss at the start, history[i + 1] after iteration i.
  const history: Float32Array[] = [cur.loss];
  let lossBestLastCheck = Float32Array.from(lossBest);
  let reducedLastCheck = new Uint8Array(n).fill(1);
  let k = Math.max(Math.floor(FIRST_CHECK * steps), 1);
  const shrink = Math.max(Math.floor(CHECK_SHRINK * steps), 1);
  const minK = Math.max(Math.floor(MIN_CHECK * steps), 1);
  let sinceCheck = 0;
  let xOld = tf.clone(xAdv);

  for (let i = 0; i < steps; i++) {
    const a = i > 0 ? MOMENTUM : 1;
    const next = tf.tidy(() => {
      const stepT = tf.reshape(tf.tensor1d(step), [-1, 1, 1, 1]);
      const dir = norm === 'linf' ? tf.sign(grad) : normalize(grad, norm);
      const z = projectBall(tf.add(xAdv, tf.mul(stepT, dir)), x, eps, norm);
      if (a === 1) return z;
      // x(k+1) = P(x(k) + alpha·(z(k+1) − x(k)) + (1 − alpha)·(x(k) − x(k−1)))
      return projectBall(tf.add(tf.add(xAdv, tf.mul(tf.sub(z, xAdv), a)), tf.mul(tf.sub(xAdv, xOld), 1 - a)), x, eps, norm);
    });
    xOld.dispose();
    xOld = xAdv;
    xAdv = next;
    grad.dispose();
    cur = evaluate(xAdv);
    grad = cur.grad;
    history.push(cur.loss);
    // The first misclassifying point is kept (reference: x_best_adv updated where pred is wrong).
    const newlyWrong = cur.wrong.map((w) => (w ? 1 : 0));
    if (newlyWrong.some((w) => w)) xBestAdv = replaceWhere(newlyWrong, xAdv, xBestAdv);
    for (let e = 0; e < n; e++) if (cur.wrong[e]) fooled[e] = 1;
    const improved = cur.loss.map((l, e) => (l > lossBest[e] ? 1 : 0));
    if (improved.some((v) => v)) {
      xBest = replaceWhere(improved, xAdv, xBest);
      gradBest = replaceWhere(improved, grad, gradBest);
      for (let e = 0; e < n; e++) if (improved[e]) lossBest[e] = cur.loss[e];
    }
    if (++sinceCheck === k) {
      // Checkpoint: halve the step where (1) the loss rose in at most rho·k of the last k steps,
      // or (2) the step was not halved at the last checkpoint and the best loss has not improved since.
      const reduce = new Uint8Array(n);
      for (let e = 0; e < n; e++) {
        let rises = 0;
        for (let c = 0; c < k; c++) if (history[i + 1 - c][e] > history[i - c][e]) rises++;
        const oscillates = rises <= k * RHO;
        const stalled = !reducedLastCheck[e] && lossBestLastCheck[e] >= lossBest[e];
        reduce[e] = oscillates || stalled ? 1 : 0;
      }
      reducedLastCheck = reduce;
      lossBestLastCheck = Float32Array.from(lossBest);
      if (reduce.some((v) => v)) {
        for (let e = 0; e < n; e++) if (reduce[e]) step[e] /= 2;
        // ... and continue from the best point with its gradient.
        xAdv = replaceWhere(reduce, xBest, xAdv);
        grad = replaceWhere(reduce, gradBest, grad);
      }
      k = Math.max(k - shrink, minK);
      sinceCheck = 0;
    }
    tick();
  }
  const adv = tf.tidy(() => tf.where(maskOf(fooled), xBestAdv, xBest) as tf.Tensor4D);
  tf.dispose([xAdv, xOld, grad, xBest, xBestAdv, gradBest, yInt]);
  return { adv, fooled };
}

/**
 * Restarts by "any success breaks the point": each restart runs only on the examples no
 * earlier restart (nor the clean input) misclassified, as in the reference.
 */
export function runRestarts(
  logits: LogitsFn,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  runs: number,
  once: (x: tf.Tensor4D, y: tf.Tensor1D, run: number) => { adv: tf.Tensor4D; fooled: Uint8Array },
): tf.Tensor4D {
  const fooled = readFlags(misclassified(logits, x, y));
  let adv = tf.clone(x);
  for (let r = 0; r < runs; r++) {
    const idx = indicesWhereZero(fooled);
    if (idx.length === 0) break;
    adv = onSubset(adv, x, y, idx, (xs, ys) => {
      const res = once(xs, ys, r);
      res.fooled.forEach((f, j) => {
        if (f) fooled[idx[j]] = 1;
      });
      return res.adv;
    });
  }
  return adv;
}

/**
 * The defaults every APGD shares (apgd-ce, apgd-dlr, apgd-t): 100 iterations (Croce & Hein, ICML
 * 2020, and autoattack.py: APGDAttack/APGDAttack_targeted n_iter=100); the initial step 2·eps
 * for L∞ and L2 (Alg. 1: eta(0) = 2·eps; autopgd_base.py step_size = 2·eps).
 */
export function apgdFields(c: UncheckedAttackConfig) {
  const { eps, norm } = threatModel(c);
  const { queries, pInit } = noSquareFields(c);
  const steps = stepsOf(c, 100);
  const stepSize = stepSizeOf(c, 2 * eps);
  // A random start (autopgd_base.py perturb: x + eps·uniform(-1,1) rescaled).
  return { eps, norm, steps, stepSize, randomStart: c.randomStart ?? true, restarts: restartsOf(c), queries, pInit };
}

/** APGD-CE and APGD-DLR (config.type), L∞ or L2 (config.norm). */
export function apgd<T extends 'apgd-ce' | 'apgd-dlr'>(config: Required<ApgdConfig<T>>): Attack<Required<ApgdConfig<T>>> {
  const runCfg: ApgdRunConfig = { eps: config.eps, norm: config.norm, steps: config.steps, stepSize: config.stepSize, randomStart: config.randomStart };
  return {
    config,
    perturb(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts: PerturbOptions = {}) {
      if (opts.target) throw new Error(`Attack '${config.type}' is untargeted; for a targeted APGD use apgd-t (it picks its own targets).`);
      const total = config.steps * (config.restarts + 1);
      let done = 0;
      const tick = () => opts.onProgress?.(++done, total);
      return runRestarts(logits, x, y, config.restarts + 1, (xs, ys, r) => {
        const loss = config.type === 'apgd-ce' ? (out: tf.Tensor2D) => crossEntropy(out, ys) : (out: tf.Tensor2D) => dlrLoss(out, ys);
        return apgdRun(logits, xs, ys, loss, runCfg, restartSeed(opts, r), opts, tick);
      });
    },
  };
}

function apgdDefinition<T extends 'apgd-ce' | 'apgd-dlr'>(type: T, name: string): AttackDefinition<ApgdConfig<T>> {
  return {
    type,
    resolve(c) {
      const f = apgdFields(c);
      return resolved({ type, ...f, targets: noTargets(c), targeted: untargeted(c) });
    },
    label: (r) => iterativeLabel(name, r),
    create: apgd,
  };
}

export const apgdCeDefinition = apgdDefinition('apgd-ce', 'APGD-CE');
export const apgdDlrDefinition = apgdDefinition('apgd-dlr', 'APGD-DLR');
