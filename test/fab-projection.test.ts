// FAB's box-constrained projection (lib/attacks/fab-t.ts projectOntoHyperplane, a bucketed
// quickselect for τ) against the plain algorithm it speeds up: sort the breakpoints, walk them
// until the reach covers |c|. On image-sized inputs with the ties images have (pixels quantized
// to k/255, many at 0 or 1), and on skewed L2 breakpoints (tiny weights).
import * as assert from 'node:assert/strict';
import { projectOntoHyperplane } from '../lib/attacks/fab-t';
import type { AttackNorm } from '../lib/attacks';
import { makeRng } from '../lib/util/rng';

/** The same projection by sorting: d_i = sign(w_i)·m_i·min(τ, β_i) with Σ a_i·min(τ, β_i) = |c|. */
function bySorting(t: Float64Array, w: Float64Array, c: number, norm: AttackNorm): Float64Array {
  const s = c >= 0 ? 1 : -1;
  const tiny = norm === 'l2' ? 1e-8 : 0;
  const pts: Array<{ i: number; a: number; b: number }> = [];
  let l1 = 0;
  for (let i = 0; i < t.length; i++) {
    const wi = s * w[i];
    const aw = Math.abs(wi);
    if (!(aw > tiny)) continue;
    l1 += aw;
    const room = wi > 0 ? 1 - t[i] : t[i];
    pts.push({ i, a: norm === 'l2' ? aw * aw : aw, b: norm === 'l2' ? room / aw : room });
  }
  pts.sort((p, q) => p.b - q.b);
  const need = Math.abs(c);
  let saturated = 0;
  let slope = pts.reduce((q, p) => q + p.a, 0);
  let tau = Infinity;
  for (const p of pts) {
    if (saturated + p.b * slope >= need) {
      tau = (need - saturated) / slope;
      break;
    }
    saturated += p.a * p.b;
    slope -= p.a;
  }
  const out = new Float64Array(t.length);
  for (const p of pts) {
    const aw = Math.abs(w[p.i]);
    const v = Number.isFinite(tau) ? (norm === 'l2' ? aw * Math.min(tau, p.b) : Math.min(tau, p.b)) : norm === 'l2' ? aw * p.b : need / l1;
    out[p.i] = s * w[p.i] > 0 ? v : -v;
  }
  return out;
}

describe("FAB's projection onto the hyperplane within the box", () => {
  for (const norm of ['linf', 'l2'] as const) {
    it(`${norm}: equals the sorting algorithm on 784-pixel images with ties, to 1e-9`, () => {
      const rng = makeRng(norm === 'l2' ? 2 : 1);
      let finite = 0;
      for (let trial = 0; trial < 300; trial++) {
        // Half the pixels black, the rest quantized to k/255 (the clean image) or continuous (an iterate).
        const quantized = trial % 2 === 0;
        const t = Float64Array.from({ length: 784 }, () => (rng() < 0.5 ? 0 : rng() < 0.1 ? 1 : quantized ? Math.round(rng() * 255) / 255 : rng()));
        // Weights of a gradient: mostly small, a few large, some zero, for L2 some tiny (huge breakpoints).
        const w = Float64Array.from({ length: 784 }, () => (rng() < 0.05 ? 0 : (rng() * 2 - 1) * (rng() < 0.1 ? 10 : rng() < 0.05 && norm === 'l2' ? 1e-6 : 1)));
        let reach = 0;
        const dir = rng() < 0.5 ? -1 : 1;
        for (let i = 0; i < 784; i++) reach += Math.abs(w[i]) * (dir * w[i] > 0 ? 1 - t[i] : t[i]);
        // Mostly within the box's reach (τ finite), sometimes beyond it (the fallbacks).
        const c = dir * reach * (trial % 10 === 9 ? 1.5 : rng() ** 3);
        const got = new Float64Array(784);
        const len = projectOntoHyperplane(t, w, c, norm, got);
        const want = bySorting(t, w, c, norm);
        const scale = Math.max(...Array.from(want, Math.abs), 1e-12);
        const err = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]))) / scale;
        assert.ok(err <= 1e-9, `trial ${trial}: relative difference ${err}`);
        const n = norm === 'l2' ? Math.hypot(...Array.from(want)) : Math.max(...Array.from(want, Math.abs));
        assert.ok(Math.abs(len - n) <= 1e-9 * Math.max(n, 1), `trial ${trial}: norm ${len} vs ${n}`);
        if (trial % 10 !== 9) finite++;
      }
      assert.ok(finite > 200);
    });
  }
});
