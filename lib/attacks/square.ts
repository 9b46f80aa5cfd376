// Square Attack (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020, "Square Attack: a
// query-efficient black-box adversarial attack via random search"): random search over square
// patches that uses only the model's scores, never a gradient, so gradient masking cannot fool it.
//
// The search state (current best point per example, its margin) lives in plain arrays; the model
// sees one batch of candidates per query. Square positions and signs are drawn per image, as in
// the paper's Algorithm 1 and the authors' code (AutoAttack's port draws one position per batch). Randomness comes from lib/util/rng, seeded by
// PerturbOptions.seed, so a run repeats exactly on any backend.
import * as tf from '@tensorflow/tfjs';
import { deriveSeed, makeRng, type Rng } from '../util/rng';
import { iterativeLabel, noStepSize, noTargets, resolved, restartsOf, stepsOf, threatModel, untargeted } from './config';
import type { Attack, AttackDefinition, AttackFields, LogitsFn, PerturbOptions, UncheckedAttackConfig } from './types';

/** Square, L∞ or L2 (the norm field): untargeted, no gradients, its queries are its steps. */
export interface SquareConfig extends AttackFields {
  type: 'square';
  stepSize?: 0;
  targeted?: false;
  targets?: 0;
}

/**
 * Fraction of the image a square covers at iteration `it`: p_init halved at iterations 10, 50,
 * 200, 500, 1000, 2000, 4000, 6000 and 8000 (paper sec. 3.1 and fra31/auto-attack square.py
 * p_selection). Not rescaled to the budget: AutoAttack builds Square with resc_schedule=False
 * (autoattack.py), so the schedule is in absolute queries.
 */
export function pSelection(pInit: number, it: number): number {
  const bounds = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];
  let halvings = 0;
  while (halvings < bounds.length && it > bounds[halvings]) halvings++;
  // square.py: p_init/2 for 10 < it <= 50, p_init/4 for 50 < it <= 200, then /8, /16, ... /512.
  return pInit / 2 ** halvings;
}

/** Margin loss of square.py margin_and_loss: logit of the true class minus the best other logit (> 0 = correct). */
function margins(logits: LogitsFn, data: Float32Array, shape: [number, number, number, number], labels: Int32Array): Float32Array {
  const out = tf.tidy(() => logits(tf.tensor4d(data, shape)));
  const z = out.dataSync();
  const k = out.shape[1];
  out.dispose();
  const m = new Float32Array(shape[0]);
  for (let i = 0; i < shape[0]; i++) {
    const yi = labels[i];
    let other = -Infinity;
    for (let j = 0; j < k; j++) if (j !== yi && z[i * k + j] > other) other = z[i * k + j];
    m[i] = z[i * k + yi] - other;
  }
  return m;
}

/** A random sign, ±1. */
const sign = (rng: Rng) => (rng() < 0.5 ? -1 : 1);
/** An integer in [0, n), or 0 when n <= 0 (square.py random_int(0, h - s): the last offset is never drawn). */
const randInt = (rng: Rng, n: number) => (n <= 0 ? 0 : Math.floor(rng() * n));

/** square.py eta_rectangles: an a x b block of nested rectangles weighted 1/(k+1)^2, unit L2 norm. */
function etaRectangles(a: number, b: number): Float64Array {
  const d = new Float64Array(a * b);
  const xc = Math.floor(a / 2) + 1;
  const yc = Math.floor(b / 2) + 1;
  let c0 = xc - 1;
  let c1 = yc - 1;
  for (let k = 0; k < Math.max(xc, yc); k++) {
    for (let r = Math.max(c0, 0); r < Math.min(c0 + 2 * k + 1, a); r++) {
      for (let q = Math.max(c1, 0); q < Math.min(c1 + 2 * k + 1, b); q++) d[r * b + q] += 1 / (k + 1) ** 2;
    }
    c0--;
    c1--;
  }
  return normalizeL2(d);
}

function normalizeL2(d: Float64Array): Float64Array {
  let n = 0;
  for (const v of d) n += v * v;
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < d.length; i++) d[i] /= n;
  return d;
}

/**
 * square.py eta(s): an s x s update whose top half is +rectangles and bottom half −rectangles,
 * unit L2 norm, transposed with probability 1/2 (paper sec. 3.2, Fig. 2).
 */
function etaSquare(s: number, rng: Rng): Float64Array {
  const top = etaRectangles(Math.floor(s / 2), s);
  const bottom = etaRectangles(s - Math.floor(s / 2), s);
  const d = new Float64Array(s * s);
  d.set(top, 0);
  for (let i = 0; i < bottom.length; i++) d[top.length + i] = -bottom[i];
  normalizeL2(d);
  if (rng() > 0.5) {
    const t = new Float64Array(s * s);
    for (let r = 0; r < s; r++) for (let q = 0; q < s; q++) t[q * s + r] = d[r * s + q];
    return t;
  }
  return d;
}

interface Geometry {
  h: number;
  w: number;
  c: number;
  /** Values per example. */
  d: number;
}

/**
 * Square, untargeted with the margin loss (AutoAttack's choice): `queries` forward passes per point
 * (default 5,000), squares sized by p_init (default 0.8), `restarts` extra runs on the points still
 * robust (default 0); the defaults are set and cited in resolveSquare.
 */
export function square(config: Required<SquareConfig>): Attack<Required<SquareConfig>> {
  const { eps, norm, queries, pInit } = config;
  if (config.targeted) throw new Error(`Square here is untargeted (margin loss of the true class); drop targeted.`);

  /** L∞ (paper Alg. 1 and sec. 3.1): vertical stripes of ±eps to start, then squares set to x ± eps. */
  const linf = {
    init(xs: Float32Array, i: number, g: Geometry, rng: Rng, out: Float32Array, o: number) {
      // square.py: x + eps·random_choice([N, c, 1, w]): one sign per column and channel.
      const signs = Array.from({ length: g.w * g.c }, () => sign(rng));
      for (let r = 0; r < g.h; r++) {
        for (let q = 0; q < g.w * g.c; q++) {
          const k = r * g.w * g.c + q;
          out[o + k] = clip01(xs[i * g.d + k] + eps * signs[q]);
        }
      }
    },
    /** Writes a candidate into cand[o..]: the current best with one square moved to a corner of the ball. */
    step(xs: Float32Array, best: Float32Array, i: number, g: Geometry, it: number, rng: Rng, cand: Float32Array, o: number) {
      const s = Math.min(Math.max(Math.round(Math.sqrt((pSelection(pInit, it) * g.d) / g.c)), 1), g.h, g.w);
      cand.set(best.subarray(i * g.d, (i + 1) * g.d), o);
      const vh = randInt(rng, g.h - s);
      const vw = randInt(rng, g.w - s);
      // Resample the signs while the square would leave the point unchanged, so no query is
      // spent on a copy (the authors' max-andr/square-attack attack.py; AutoAttack's port omits
      // it). Bounded at 8 draws: the opposite signs always change a pixel when eps > 0, and 8
      // draws all repeating the square's current signs has probability 2^-8 or less.
      let signs: number[] = [];
      for (let tries = 0; tries < 8; tries++) {
        signs = Array.from({ length: g.c }, () => sign(rng));
        if (changes(xs, best, i, g, vh, vw, s, signs)) break;
      }
      for (let r = vh; r < vh + s; r++) {
        for (let q = vw; q < vw + s; q++) {
          for (let ch = 0; ch < g.c; ch++) {
            const k = (r * g.w + q) * g.c + ch;
            cand[o + k] = clip01(xs[i * g.d + k] + eps * signs[ch]);
          }
        }
      }
    },
  };

  function changes(xs: Float32Array, best: Float32Array, i: number, g: Geometry, vh: number, vw: number, s: number, signs: number[]): boolean {
    for (let r = vh; r < vh + s; r++) {
      for (let q = vw; q < vw + s; q++) {
        for (let ch = 0; ch < g.c; ch++) {
          const k = i * g.d + (r * g.w + q) * g.c + ch;
          if (Math.abs(clip01(xs[k] + eps * signs[ch]) - best[k]) >= 1e-7) return true;
        }
      }
    }
    return false;
  }

  /** L2 (paper sec. 3.2, Alg. 3): a grid of ±eta blocks to start, then mass moved between two squares. */
  const l2 = {
    init(xs: Float32Array, i: number, g: Geometry, rng: Rng, out: Float32Array, o: number) {
      // square.py: blocks of side h//5 from offset (h - 5s)//2, each eta(s) times a sign per channel.
      const s = Math.floor(g.h / 5);
      const delta = new Float64Array(g.d);
      for (let vh = Math.floor((g.h - 5 * s) / 2); vh + s <= g.h; vh += s) {
        for (let vw = Math.floor((g.w - 5 * s) / 2); vw + s <= g.w; vw += s) {
          const e = etaSquare(s, rng);
          const signs = Array.from({ length: g.c }, () => sign(rng));
          addWindow(delta, g, vh, vw, s, (r, q, ch) => e[r * s + q] * signs[ch]);
        }
      }
      writeOnSphere(xs, i, g, delta, out, o);
    },
    step(xs: Float32Array, best: Float32Array, i: number, g: Geometry, it: number, rng: Rng, cand: Float32Array, o: number) {
      let s = Math.max(Math.round(Math.sqrt((pSelection(pInit, it) * g.d) / g.c)), 3);
      if (s % 2 === 0) s++;
      s = Math.min(s, g.h, g.w);
      const delta = new Float64Array(g.d);
      for (let k = 0; k < g.d; k++) delta[k] = best[i * g.d + k] - xs[i * g.d + k];
      const vh = randInt(rng, g.h - s);
      const vw = randInt(rng, g.w - s);
      const vh2 = randInt(rng, g.h - s);
      const vw2 = randInt(rng, g.w - s);
      const inside = (r: number, q: number, a: number, b: number) => r >= a && r < a + s && q >= b && q < b + s;
      // Per channel: the norm in the first square and in the union of both squares.
      const norm1 = new Float64Array(g.c);
      const normUnion = new Float64Array(g.c);
      let normImage = 0;
      for (let r = 0; r < g.h; r++) {
        for (let q = 0; q < g.w; q++) {
          const in1 = inside(r, q, vh, vw);
          const inU = in1 || inside(r, q, vh2, vw2);
          for (let ch = 0; ch < g.c; ch++) {
            const v = delta[(r * g.w + q) * g.c + ch] ** 2;
            normImage += v;
            if (in1) norm1[ch] += v;
            if (inU) normUnion[ch] += v;
          }
        }
      }
      // New square content: the eta pattern with a random sign, plus the old content rescaled,
      // then scaled to take the mass of both squares plus the budget left (square.py).
      const e = etaSquare(s, rng);
      const signs = Array.from({ length: g.c }, () => sign(rng));
      const fresh = new Float64Array(s * s * g.c);
      const freshNorm = new Float64Array(g.c);
      for (let r = 0; r < s; r++) {
        for (let q = 0; q < s; q++) {
          for (let ch = 0; ch < g.c; ch++) {
            const v = e[r * s + q] * signs[ch] + delta[((vh + r) * g.w + vw + q) * g.c + ch] / (1e-12 + Math.sqrt(norm1[ch]));
            fresh[(r * s + q) * g.c + ch] = v;
            freshNorm[ch] += v * v;
          }
        }
      }
      const budget = Math.max(eps * eps - normImage, 0) / g.c;
      addWindow(delta, g, vh2, vw2, s, () => 0, true);
      addWindow(delta, g, vh, vw, s, (r, q, ch) => (fresh[(r * s + q) * g.c + ch] / (1e-12 + Math.sqrt(freshNorm[ch]))) * Math.sqrt(budget + normUnion[ch]), true);
      writeOnSphere(xs, i, g, delta, cand, o);
    },
  };

  /** Adds (or with `set`, writes) f(r, q, ch) into the s x s window at (vh, vw). */
  function addWindow(delta: Float64Array, g: Geometry, vh: number, vw: number, s: number, f: (r: number, q: number, ch: number) => number, set = false) {
    for (let r = 0; r < s; r++) {
      for (let q = 0; q < s; q++) {
        for (let ch = 0; ch < g.c; ch++) {
          const k = ((vh + r) * g.w + vw + q) * g.c + ch;
          delta[k] = set ? f(r, q, ch) : delta[k] + f(r, q, ch);
        }
      }
    }
  }

  /** x + eps·delta/||delta||_2, clipped to [0,1] (clipping moves towards x, so the norm stays <= eps). */
  function writeOnSphere(xs: Float32Array, i: number, g: Geometry, delta: Float64Array, out: Float32Array, o: number) {
    let n = 0;
    for (const v of delta) n += v * v;
    const scale = eps / (Math.sqrt(n) + 1e-12);
    // The 1e-12 keeps the norm a hair under eps, and float32 rounding can add ~1e-7 relative;
    // shrinking by (1 - 1e-6) keeps every returned point inside the ball.
    for (let k = 0; k < g.d; k++) out[o + k] = clip01(xs[i * g.d + k] + delta[k] * scale * (1 - 1e-6));
  }

  const rule = norm === 'l2' ? l2 : linf;

  function perturb(logits: LogitsFn, x: tf.Tensor4D, y: tf.Tensor1D, opts: PerturbOptions = {}): tf.Tensor4D {
    if (opts.target) throw new Error(`Square here is untargeted; pass no target.`);
    const [n, h, w, c] = x.shape;
    if (y.shape[0] !== n) throw new Error(`Square: ${n} images but ${y.shape[0]} labels.`);
    if (norm === 'l2' && (h < 5 || w < 5)) throw new Error(`Square L2 needs images of at least 5x5 pixels (its start is a 5x5 grid of blocks), got ${h}x${w}.`);
    if (eps === 0 || n === 0) return tf.clone(x);
    const g: Geometry = { h, w, c, d: h * w * c };
    const xs = x.dataSync() as Float32Array;
    const labels = Int32Array.from(y.dataSync());
    // Points not broken come back as the input (square.py perturb keeps x for them).
    const out = Float32Array.from(xs);

    // Only correctly classified points are attacked (square.py perturb: acc = predict(x) == y);
    // the clean pass is bookkeeping, not counted against the budget.
    const clean = margins(logits, xs, [n, h, w, c], labels);
    let robust = Int32Array.from(Array.from({ length: n }, (_, i) => i).filter((i) => clean[i] > 0));
    let spent = 0;
    const total = (config.restarts + 1) * queries;
    for (let r = 0; r <= config.restarts && robust.length > 0; r++) {
      // Each restart attacks the points no earlier one broke, with fresh random draws (square.py perturb).
      const run = searchOnce(logits, xs, labels, robust, g, makeRng(deriveSeed(opts.seed ?? 0, 0x5a, r)), (q) => opts.onProgress?.(r * queries + q, total));
      spent += run.queries;
      for (const i of robust) if (run.margin[i] <= 0) out.set(run.best.subarray(i * g.d, (i + 1) * g.d), i * g.d);
      robust = robust.filter((i) => run.margin[i] > 0);
      opts.onProgress?.((r + 1) * queries, total);
    }
    if (opts.diagnostics) opts.diagnostics.queries = (opts.diagnostics.queries ?? 0) + spent;
    return tf.tensor4d(out, [n, h, w, c]);
  }

  /** One random search of `queries` forward passes per point over the points `start`; state indexed like x. */
  function searchOnce(logits: LogitsFn, xs: Float32Array, labels: Int32Array, start: Int32Array, g: Geometry, rng: Rng, progress: (q: number) => void) {
    const best = new Float32Array(xs.length);
    const margin = new Float32Array(labels.length).fill(Infinity);
    const shape = (k: number): [number, number, number, number] => [k, g.h, g.w, g.c];
    let spent = 0;
    // Query 1: the start points (square.py attack_single_run before its loop).
    let active = start;
    // One buffer for every query's candidates (the model copies them in): 5,000 fresh ones per
    // batch cost more in garbage collection than in filling.
    const buffer = new Float32Array(start.length * g.d);
    let cand = buffer;
    active.forEach((i, j) => rule.init(xs, i, g, rng, cand, j * g.d));
    let m = margins(logits, cand, shape(active.length), labelsOf(labels, active));
    active.forEach((i, j) => {
      best.set(cand.subarray(j * g.d, (j + 1) * g.d), i * g.d);
      margin[i] = m[j];
    });
    spent += active.length;
    // Queries 2..budget: the first query is the start, as in the authors' attack.py
    // (`for i_iter in range(n_iters - 1)`), so no point gets more than `queries` forward passes.
    for (let it = 0; it < queries - 1; it++) {
      // A point leaves the search as soon as it is misclassified (square.py idx_to_fool = margin_min > 0).
      active = active.filter((i) => margin[i] > 0);
      if (active.length === 0) break;
      cand = buffer.subarray(0, active.length * g.d);
      active.forEach((i, j) => rule.step(xs, best, i, g, it, rng, cand, j * g.d));
      m = margins(logits, cand, shape(active.length), labelsOf(labels, active));
      active.forEach((i, j) => {
        // Margin loss: the loss and the margin are the same number, so "loss improved or
        // misclassified" (square.py) is just "margin decreased".
        if (m[j] < margin[i]) {
          margin[i] = m[j];
          best.set(cand.subarray(j * g.d, (j + 1) * g.d), i * g.d);
        }
      });
      spent += active.length;
      progress(it + 2);
    }
    return { best, margin, queries: spent };
  }

  return { config, perturb };
}

function resolveSquare(c: UncheckedAttackConfig): Required<SquareConfig> {
  const { eps, norm } = threatModel(c);
  // 5,000 queries (Andriushchenko et al., ECCV 2020, and AutoAttack's standard version,
  // fra31/auto-attack autoattack.py set_version('standard'): square.n_queries = 5000).
  const queries = c.queries ?? 5000;
  if (!Number.isInteger(queries) || queries < 1) throw new Error(`Attack queries must be a positive integer, got ${c.queries}.`);
  // p_init 0.8: the value AutoAttack passes to Square for L∞ and L2 (autoattack.py, SquareAttack(p_init=.8)).
  const pInit = c.pInit ?? 0.8;
  if (!(pInit > 0 && pInit <= 1)) throw new Error(`Attack pInit must be in (0, 1], got ${c.pInit}.`);
  if (c.steps !== undefined && c.steps !== queries) throw new Error(`Attack square counts its queries as steps: give queries (${queries}), not steps ${c.steps}.`);
  const steps = stepsOf(c, queries);
  const stepSize = noStepSize(c);
  const restarts = restartsOf(c);
  const targets = noTargets(c);
  // No random start: Square starts from its stripes.
  return resolved({ type: 'square', eps, steps, stepSize, randomStart: false, restarts, targeted: untargeted(c), norm, targets, queries, pInit });
}

export const squareDefinition: AttackDefinition<SquareConfig> = {
  type: 'square',
  resolve: resolveSquare,
  label: (r) => iterativeLabel('Square', r),
  create: square,
};

function labelsOf(labels: Int32Array, idx: Int32Array): Int32Array {
  return Int32Array.from(idx, (i) => labels[i]);
}

function clip01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
