// Targeted Fast Adaptive Boundary attack, FAB-T (Croce & Hein, ICML 2020, "Minimally distorted
// adversarial examples with a fast adaptive boundary attack"), as AutoAttack's standard version
// runs it. FAB looks for the smallest perturbation that changes the decision: at each iterate it
// linearises the decision boundary between the true class and the target, projects both the
// iterate and the original point onto that hyperplane intersected with the pixel box, moves to a
// biased mix of the two projections with a small overshoot, and steps back towards the original
// point once it is adversarial. An example counts as broken when the smallest adversarial found
// lies inside the eps-ball (fab_base.py perturb: acc_curr = max(acc_curr, res > eps)).
//
// The model gives logit differences and their input gradient (one backward pass per iteration);
// the projections, which sort each example's coordinates, run in plain arrays.
import * as tf from '@tensorflow/tfjs';
import { deriveSeed, makeRng, type Rng } from '../util/rng';
import { iterativeLabel, noSquareFields, noStepSize, resolved, restartsOf, stepsOf, targetsOf, threatModel } from './config';
import type { Attack, AttackDefinition, AttackFields, AttackNorm, LogitsFn, PerturbOptions } from './types';

/** FAB-T, L∞ or L2 (the norm field); always targeted, at its own `targets` classes; no step size. */
export interface FabTConfig extends AttackFields {
  type: 'fab-t';
  stepSize?: 0;
  queries?: 0;
  pInit?: 0;
}

// The parameters alpha_max, eta and beta of the paper's Algorithm 1, at the defaults of
// fra31/auto-attack fab_base.py (FABAttack.__init__), which autoattack.py keeps for the standard version:
/** Largest weight of the projection of the original point in the mix (alpha_max). */
const ALPHA_MAX = 0.1;
/** Overshoot past the linearised boundary (eta). */
const ETA = 1.05;
/** Backward step towards the original point once adversarial (beta). */
const BETA = 0.9;

/**
 * The minimal-norm d with w·d = c and 0 <= t + d <= 1 (the projection of t onto the hyperplane
 * {z : w·z = w·t + c} within the box), written into `out`; returns its norm. Per coordinate,
 * d_i = sign(w_i)·m_i·min(τ, β_i), where β_i is where the pixel hits its bound; τ solves the
 * piecewise-linear Σ a_i·min(τ, β_i) = |c| (L∞: a_i = |w_i|, m_i = 1; L2: a_i = w_i², m_i = |w_i|,
 * the KKT solution d = clip(λw)). The same problem fab_projections.py solves by bisection.
 * When the hyperplane misses the box, follows fab_projections.py: L∞ returns the projection
 * ignoring the box (the step is clipped later), L2 the box corner nearest the hyperplane.
 */
export function projectOntoHyperplane(t: ArrayLike<number>, w: ArrayLike<number>, c: number, norm: AttackNorm, out: Float64Array): number {
  const d = t.length;
  const s = c >= 0 ? 1 : -1;
  const need = Math.abs(c);
  const l2 = norm === 'l2';
  const { a, beta } = scratch(d);
  // fab_projections.py masks coordinates with w == 0 (L∞) or |w| <= 1e-8 (L2).
  const tiny = l2 ? 1e-8 : 0;
  out.fill(0);
  // The breakpoints (a_i, β_i) of the coordinates that can move (β_i > 0: those at their bound
  // add nothing to the sum for any τ), copied out so that the search below touches nothing else.
  let m = 0;
  let movable = 0;
  let l1 = 0;
  let total = 0;
  let l1Movable = 0;
  let maxBeta = 0;
  for (let i = 0; i < d; i++) {
    const wi = s * w[i];
    const aw = wi < 0 ? -wi : wi;
    if (!(aw > tiny)) continue;
    movable++;
    l1 += aw;
    const room = wi > 0 ? 1 - t[i] : t[i];
    if (!(room > 0)) continue;
    const ai = l2 ? aw * aw : aw;
    const bi = l2 ? room / aw : room;
    a[m] = ai;
    beta[m] = bi;
    total += ai * bi;
    l1Movable += ai;
    if (bi > maxBeta) maxBeta = bi;
    m++;
  }
  if (need === 0 || movable === 0) return 0;
  let tau = Infinity;
  if (total >= need) {
    // τ in two steps. First the breakpoints go into BUCKETS by value (one pass, no comparisons
    // to mispredict), which finds the bucket holding τ and sums the buckets on either side:
    // `saturated` sums a·β over the breakpoints known to lie below τ, `slope` sums a over those
    // known to lie above. Then a quickselect over that bucket's breakpoints alone: split them
    // at a pivot (three ways, as images have many equal ones), evaluate the reach there, keep
    // the side that holds τ. (Sorting all breakpoints took 5x as long, quickselect over all 2x.)
    const { bucketA, bucketAB, bucketMin } = buckets();
    bucketA.fill(0);
    bucketAB.fill(0);
    bucketMin.fill(Infinity);
    const scale = BUCKETS / (maxBeta * (1 + 1e-9));
    for (let j = 0; j < m; j++) {
      const b = beta[j];
      const k = (b * scale) | 0;
      bucketA[k] += a[j];
      bucketAB[k] += a[j] * b;
      if (b < bucketMin[k]) bucketMin[k] = b;
    }
    // The last bucket whose smallest breakpoint, taken as τ, still falls short of `need`.
    let held = -1;
    let below = 0;
    let rest = l1Movable;
    for (let k = 0; k < BUCKETS; k++) {
      if (bucketA[k] === 0) continue;
      if (held >= 0 && below + bucketMin[k] * rest >= need) break;
      held = k;
      below += bucketAB[k];
      rest -= bucketA[k];
    }
    let saturated = below - bucketAB[held];
    let slope = 0;
    for (let k = held + 1; k < BUCKETS; k++) slope += bucketA[k];
    // That bucket's breakpoints, moved to the front.
    let hi = 0;
    for (let j = 0; j < m; j++) {
      if (((beta[j] * scale) | 0) !== held) continue;
      beta[hi] = beta[j];
      a[hi] = a[j];
      hi++;
    }
    let lo = 0;
    while (lo < hi) {
      const pivot = beta[(lo + hi) >> 1];
      // Dutch-flag partition of [lo, hi): [lo, lt) below, [lt, gt) equal, [gt, hi) above.
      let lt = lo;
      let gt = hi;
      let k = lo;
      let belowAB = 0;
      let equalA = 0;
      let aboveA = 0;
      while (k < gt) {
        const b = beta[k];
        const ak = a[k];
        if (b < pivot) {
          belowAB += ak * b;
          beta[k] = beta[lt];
          a[k] = a[lt];
          beta[lt] = b;
          a[lt] = ak;
          lt++;
          k++;
        } else if (b > pivot) {
          aboveA += ak;
          gt--;
          beta[k] = beta[gt];
          a[k] = a[gt];
          beta[gt] = b;
          a[gt] = ak;
        } else {
          equalA += ak;
          k++;
        }
      }
      const equalAB = equalA * pivot;
      if (saturated + belowAB + equalAB + pivot * (slope + aboveA) >= need) {
        slope += equalA + aboveA;
        hi = lt;
      } else {
        saturated += belowAB + equalAB;
        lo = gt;
      }
    }
    tau = (need - saturated) / slope;
  }
  let n = 0;
  const finite = Number.isFinite(tau);
  for (let i = 0; i < d; i++) {
    const wi = s * w[i];
    const aw = wi < 0 ? -wi : wi;
    if (!(aw > tiny)) continue;
    const room = wi > 0 ? 1 - t[i] : t[i];
    let v: number;
    if (l2) v = aw * (finite ? Math.min(tau, room / aw) : room / aw);
    else v = finite ? Math.min(tau, room) : need / l1;
    // A pixel at its bound (room 0, or below 0 after float rounding) does not move: min(τ, β) = β.
    out[i] = wi > 0 ? v : -v;
    n = l2 ? n + v * v : Math.max(n, v);
  }
  return l2 ? Math.sqrt(n) : n;
}

/** Buckets of the first step of the search for τ (about ten breakpoints each on a 28x28 image). */
const BUCKETS = 64;
const bucketBuffers = { bucketA: new Float64Array(BUCKETS), bucketAB: new Float64Array(BUCKETS), bucketMin: new Float64Array(BUCKETS) };
const buckets = () => bucketBuffers;

let scratchBuffers = { a: new Float64Array(0), beta: new Float64Array(0) };
/** Work arrays for the projection, reused between calls (it runs twice per example per iteration). */
function scratch(d: number) {
  if (scratchBuffers.a.length < d) scratchBuffers = { a: new Float64Array(d), beta: new Float64Array(d) };
  return scratchBuffers;
}

/** ||a − b|| in the attack's norm, over one example's `d` values starting at the given offsets. */
function distance(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, d: number, norm: AttackNorm): number {
  let n = 0;
  for (let k = 0; k < d; k++) {
    const v = a[ao + k] - b[bo + k];
    n = norm === 'l2' ? n + v * v : Math.max(n, Math.abs(v));
  }
  return norm === 'l2' ? Math.sqrt(n) : n;
}

/** A standard normal draw (Box-Muller). */
function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

export interface FabRunOptions {
  norm: AttackNorm;
  /** Iterations (FAB's n_iter). */
  steps: number;
  /** Start from a random point at distance eps/2 (fab_base.py: for every restart after the first). */
  randomStart?: { eps: number; rng: Rng };
  /** Stop an example once its smallest adversarial is at most this far: it is broken at this eps. */
  stopBelow?: number;
  /** Called once per iteration. */
  onIteration?: () => void;
}

/**
 * One targeted FAB run (fab_base.py attack_single_run) on examples `x0` ([n, ...shape] values)
 * with labels and targets: returns, per example, the smallest adversarial point found (`adv`)
 * and its distance (`norms`, Infinity where none was found).
 */
export function fabRun(
  logits: LogitsFn,
  x0: Float32Array,
  shape: [number, number, number, number],
  labels: Int32Array,
  targets: Int32Array,
  o: FabRunOptions,
): { adv: Float32Array; norms: Float64Array } {
  const [n, h, w, c] = shape;
  const d = h * w * c;
  const norm = o.norm;
  const x1 = Float32Array.from(x0);
  if (o.randomStart) {
    const { eps, rng } = o.randomStart;
    const t = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < d; k++) t[k] = norm === 'l2' ? gaussian(rng) : 2 * rng() - 1;
      const len = distance(t, 0, new Float64Array(d), 0, d, norm);
      for (let k = 0; k < d; k++) x1[i * d + k] = clip01(x0[i * d + k] + (0.5 * eps * t[k]) / (len || 1));
    }
  }
  const adv = new Float32Array(n * d);
  const norms = new Float64Array(n).fill(Infinity);
  let live = Array.from({ length: n }, (_, i) => i);
  const d1 = new Float64Array(d);
  const d2 = new Float64Array(d);
  for (let it = 0; it < o.steps && live.length > 0; it++) {
    const batch = gatherRows(x1, live, d);
    const { diff, grad } = diffAndGrad(logits, batch, [live.length, h, w, c], pick(labels, live), pick(targets, live));
    live.forEach((i, j) => {
      // Linearised boundary at x1: f(z) ≈ diff + g·(z − x1) = 0, with f = logit_target − logit_true.
      const g = grad.subarray(j * d, (j + 1) * d);
      let gx1 = 0;
      let gx0 = 0;
      for (let k = 0; k < d; k++) {
        gx1 += g[k] * x1[i * d + k];
        gx0 += g[k] * x0[i * d + k];
      }
      const row1 = x1.subarray(i * d, (i + 1) * d);
      const row0 = x0.subarray(i * d, (i + 1) * d);
      // fab_base.py: a0 = max(||d||, 1e-8); alpha = min(max(a1/(a1+a2), 0), alpha_max).
      const a1 = Math.max(projectOntoHyperplane(row1, g, -diff[j], norm, d1), 1e-8);
      const a2 = Math.max(projectOntoHyperplane(row0, g, gx1 - diff[j] - gx0, norm, d2), 1e-8);
      const alpha = Math.min(Math.max(a1 / (a1 + a2), 0), ALPHA_MAX);
      for (let k = 0; k < d; k++) {
        row1[k] = clip01((row1[k] + ETA * d1[k]) * (1 - alpha) + (row0[k] + ETA * d2[k]) * alpha);
      }
    });
    const pred = predict(logits, gatherRows(x1, live, d), [live.length, h, w, c]);
    live.forEach((i, j) => {
      if (pred[j] === labels[i]) return;
      const t = distance(x1, i * d, x0, i * d, d, norm);
      if (t < norms[i]) {
        norms[i] = t;
        adv.set(x1.subarray(i * d, (i + 1) * d), i * d);
      }
      for (let k = i * d; k < (i + 1) * d; k++) x1[k] = x0[k] + (x1[k] - x0[k]) * BETA;
    });
    // Once the smallest adversarial is inside the ball the example is broken at this eps;
    // further iterations would only shrink it, so they are skipped (same verdict, less work).
    if (o.stopBelow !== undefined) live = live.filter((i) => !(norms[i] <= o.stopBelow!));
    o.onIteration?.();
  }
  return { adv, norms };
}

function gatherRows(src: Float32Array, rows: number[], d: number): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((i, j) => out.set(src.subarray(i * d, (i + 1) * d), j * d));
  return out;
}

function pick(a: Int32Array, rows: number[]): Int32Array {
  return Int32Array.from(rows, (i) => a[i]);
}

/** logit_target − logit_true per example and its input gradient (fab_pt.py get_diff_logits_grads_batch_targeted). */
function diffAndGrad(logits: LogitsFn, data: Float32Array, shape: [number, number, number, number], labels: Int32Array, targets: Int32Array) {
  let kept: tf.Tensor | undefined;
  const grad = tf.tidy(() => {
    const x = tf.tensor4d(data, shape);
    return tf.grad((input: tf.Tensor) => {
      const out = logits(input as tf.Tensor4D);
      const k = out.shape[1];
      const mask = tf.sub(tf.oneHot(targets, k), tf.oneHot(labels, k));
      const diff = tf.sum(tf.mul(out, mask), 1);
      // The per-example differences come from the same forward pass as the gradient.
      kept = tf.keep(diff);
      return tf.sum(diff);
    })(x);
  });
  const g = grad.dataSync() as Float32Array;
  const diff = kept!.dataSync() as Float32Array;
  tf.dispose([grad, kept!]);
  return { diff, grad: g };
}

function predict(logits: LogitsFn, data: Float32Array, shape: [number, number, number, number]): Int32Array {
  const p = tf.tidy(() => tf.argMax(logits(tf.tensor4d(data, shape)), 1));
  const out = Int32Array.from(p.dataSync());
  p.dispose();
  return out;
}

/**
 * FAB-T: for each of the top `targets` non-true classes in turn (default 9), `restarts` + 1 runs
 * of `steps` iterations (defaults 100 and 0 extra; see fabTDefinition) on the points still robust.
 */
export function fabT(config: Required<FabTConfig>): Attack<Required<FabTConfig>> {
  const { eps, norm, steps, restarts } = config;

  function perturb(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts: PerturbOptions = {}): tf.Tensor4D {
    if (opts.target) throw new Error(`FAB-T picks its own targets (the top ${config.targets} other classes); pass no target.`);
    const [n, h, w, c] = x.shape;
    if (y.shape[0] !== n) throw new Error(`FAB-T: ${n} images but ${y.shape[0]} labels.`);
    const d = h * w * c;
    const xs = x.dataSync() as Float32Array;
    const labels = Int32Array.from(y.dataSync());
    const out = Float32Array.from(xs);
    if (n === 0 || eps === 0) return tf.clone(x);

    // Targets: the classes ranked 2nd, 3rd, ... by the clean logits (fab_base.py:
    // output.sort()[1][:, -target_class] for target_class in 2..n_target_classes+1), run on the
    // correctly classified points only. With K classes there are at most K − 1 targets.
    const clean = tf.tidy(() => logits(x));
    const z = clean.dataSync();
    const k = clean.shape[1];
    clean.dispose();
    const ranked: number[][] = [];
    const robust = new Set<number>();
    for (let i = 0; i < n; i++) {
      const row = Array.from(z.subarray(i * k, (i + 1) * k));
      const order = row.map((_, j) => j).sort((p, q) => row[q] - row[p] || p - q);
      ranked.push(order.filter((j) => j !== labels[i]));
      if (order[0] === labels[i]) robust.add(i);
    }
    const nTargets = Math.min(config.targets, k - 1);
    const total = nTargets * (restarts + 1) * steps;
    let done = 0;

    for (let rank = 0; rank < nTargets; rank++) {
      for (let r = 0; r <= restarts; r++) {
        // Each run covers only the points no earlier target or restart has broken (fab_base.py perturb).
        const rows = [...robust].sort((p, q) => p - q);
        if (rows.length > 0) {
          const rng = makeRng(deriveSeed(opts.seed ?? 0, 0xfab, rank, r));
          const res = fabRun(logits, gatherRows(xs, rows, d), [rows.length, h, w, c], pick(labels, rows), Int32Array.from(rows, (i) => ranked[i][rank]), {
            norm,
            steps,
            // fab_base.py: use_rand_start=(counter > 0); the first restart starts at x unless asked.
            randomStart: r > 0 || config.randomStart ? { eps, rng } : undefined,
            stopBelow: eps,
            onIteration: () => opts.onProgress?.(++done, total),
          });
          rows.forEach((i, j) => {
            if (res.norms[j] <= eps) {
              out.set(res.adv.subarray(j * d, (j + 1) * d), i * d);
              robust.delete(i);
            }
          });
        }
        done = (rank * (restarts + 1) + r + 1) * steps;
        opts.onProgress?.(done, total);
      }
    }
    return tf.tensor4d(out, [n, h, w, c]);
  }

  return { config, perturb };
}

export const fabTDefinition: AttackDefinition<FabTConfig> = {
  type: 'fab-t',
  resolve(c) {
    const { eps, norm } = threatModel(c);
    const { queries, pInit } = noSquareFields(c);
    // 100 iterations (Croce & Hein, ICML 2020, and autoattack.py: FABAttack_PT n_iter=100).
    const steps = stepsOf(c, 100);
    const stepSize = noStepSize(c);
    const restarts = restartsOf(c);
    const targets = targetsOf(c);
    // Starts at x: the standard version's one run has use_rand_start=(counter > 0) false (fab_base.py perturb).
    return resolved({ type: 'fab-t', eps, steps, stepSize, randomStart: c.randomStart ?? false, restarts, targeted: true, norm, targets, queries, pInit });
  },
  label: (r) => iterativeLabel('FAB-T', r),
  create: fabT,
};

function clip01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
