import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import { makeAttack, type AttackConfig, type AttackDiagnostics, type LogitsFn } from '../lib/attacks';
import { fabRun, projectOntoHyperplane } from '../lib/attacks/fab-t';
import { makeRng } from '../lib/util/rng';
import { pSelection } from '../lib/attacks/square';
import { testBackend } from './helpers/backend';
import { trainedMnistModel } from './helpers/tiny-mnist';

const D = 16;

/** A 2-class linear model on 4x4x1 images, logits = flatten(x)·W + b, and its clean points. */
function linearProblem(n: number) {
  const W = tf.randomNormal([D, 2], 0, 1, 'float32', 3);
  const b = tf.tensor1d([0.1, -0.1]);
  const logits: LogitsFn = (x) => tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], D]), W), b));
  // Pixels in [0.4, 0.6]: the minimal perturbations below stay inside [0,1], so the box does not bind.
  const xs = tf.tidy(() => tf.randomUniform([n, 4, 4, 1], 0.4, 0.6, 'float32', 5).dataSync() as Float32Array);
  const w = W.dataSync();
  const z = tf.tidy(() => logits(tf.tensor4d(xs, [n, 4, 4, 1])).dataSync());
  const labels = Int32Array.from({ length: n }, (_, i) => (z[2 * i] > z[2 * i + 1] ? 0 : 1));
  /** Analytic minimal distance to the boundary: |f(x)|/||w||_1 for L∞, |f(x)|/||w||_2 for L2 (dual norms). */
  const minimal = (norm: 'linf' | 'l2') =>
    Array.from(labels, (y, i) => {
      let q = 0;
      for (let k = 0; k < D; k++) {
        const dw = w[k * 2 + y] - w[k * 2 + 1 - y];
        q += norm === 'l2' ? dw * dw : Math.abs(dw);
      }
      const f = z[2 * i + y] - z[2 * i + 1 - y];
      return norm === 'l2' ? f / Math.sqrt(q) : f / q;
    });
  return { logits, xs, labels, minimal, dispose: () => tf.dispose([W, b]) };
}

/** Wraps a model so that any gradient through it throws: proof that an attack used scores only. */
function gradientFree(f: LogitsFn): LogitsFn {
  const forward = (input: tf.Tensor) => ({
    value: f(input as tf.Tensor4D),
    gradFunc: (): tf.Tensor => {
      throw new Error('gradient called on a gradient-free model');
    },
  });
  const blind = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return (x) => blind(x) as tf.Tensor2D;
}

function mnistSlice(start: number, n: number) {
  const { model, test } = trainedMnistModel();
  const act = makeActivation('relu');
  const logits: LogitsFn = (x) => model.apply(x, { training: false, act });
  const x = tf.tensor4d(test.images.subarray(start * 784, (start + n) * 784), [n, 28, 28, 1]);
  const y = tf.tensor1d(test.labels.subarray(start, start + n), 'int32');
  return { logits, x, y };
}

function robustAccuracy(logits: LogitsFn, adv: tf.Tensor4D, y: tf.Tensor1D): number {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits(adv), 1), y), 'float32')).dataSync()[0]);
}

describe('FAB-T and Square', () => {
  before(testBackend);

  for (const norm of ['linf', 'l2'] as const) {
    it(`FAB on a linear binary problem finds the analytic minimal ${norm === 'l2' ? 'L2' : 'L∞'} distance`, () => {
      const p = linearProblem(8);
      const expect = p.minimal(norm);
      const targets = Int32Array.from(p.labels, (y) => 1 - y);
      const run = fabRun(p.logits, p.xs, [8, 4, 4, 1], p.labels, targets, { norm, steps: 100 });
      expect.forEach((m, i) => {
        // FAB overshoots by eta = 1.05 and steps back by beta = 0.9, so it ends a little above
        // the boundary; nothing can be closer than the analytic distance.
        assert.ok(run.norms[i] >= m * (1 - 1e-5), `example ${i}: found ${run.norms[i]} below the minimum ${m}`);
        assert.ok(run.norms[i] <= m * 1.01, `example ${i}: found ${run.norms[i]}, minimal distance ${m}`);
      });

      // Through the attack interface: with eps between the distances, exactly the points whose
      // minimal distance is within eps are broken, and the others come back unchanged.
      const sorted = [...expect].sort((a, b) => a - b);
      const eps = (sorted[3] * 1.02 + sorted[4]) / 2;
      assert.ok(sorted[3] * 1.02 < eps && eps < sorted[4], 'the test needs a gap between the 4th and 5th distances');
      const x = tf.tensor4d(p.xs, [8, 4, 4, 1]);
      const y = tf.tensor1d(p.labels, 'int32');
      const tensors = tf.memory().numTensors;
      const adv = makeAttack({ type: 'fab-t', eps, norm }).perturb(p.logits, x, y, { seed: 1 });
      assert.equal(tf.memory().numTensors, tensors + 1, 'only the result tensor remains');
      const pred = tf.tidy(() => tf.argMax(p.logits(adv), 1).dataSync());
      const a = adv.dataSync();
      expect.forEach((m, i) => {
        let dist = 0;
        for (let k = i * D; k < (i + 1) * D; k++) {
          const v = Math.abs(a[k] - p.xs[k]);
          dist = norm === 'l2' ? dist + v * v : Math.max(dist, v);
        }
        dist = norm === 'l2' ? Math.sqrt(dist) : dist;
        if (m < eps) {
          assert.notEqual(pred[i], p.labels[i], `example ${i} (distance ${m} < eps ${eps}) should be broken`);
          assert.ok(dist <= eps + 1e-6, `example ${i}: ${dist} outside the ball ${eps}`);
        } else {
          assert.equal(dist, 0, `example ${i} cannot be broken within eps and must come back unchanged`);
        }
      });
      tf.dispose([x, y, adv]);
      p.dispose();
    });
  }

  for (const norm of ['linf', 'l2'] as const) {
    it(`FAB's box-constrained ${norm === 'l2' ? 'L2' : 'L∞'} projection reaches the hyperplane, stays in [0,1] and cannot be shortened`, () => {
      const rng = makeRng(11);
      const n = 24;
      const lp = (v: ArrayLike<number>) => (norm === 'l2' ? Math.hypot(...Array.from(v)) : Math.max(...Array.from(v, Math.abs)));
      let binding = 0;
      for (let trial = 0; trial < 200; trial++) {
        // Some pixels sit on a bound (like MNIST's black background) and some weights are zero.
        const t = Float64Array.from({ length: n }, () => (rng() < 0.3 ? Math.round(rng()) : rng()));
        const w = Float64Array.from({ length: n }, () => (rng() < 0.1 ? 0 : rng() * 2 - 1));
        // The furthest w·d can move in the direction of c's sign inside the box; c stays within it.
        const dir = rng() < 0.5 ? -1 : 1;
        let maxReach = 0;
        for (let i = 0; i < n; i++) maxReach += Math.abs(w[i]) * (dir * w[i] > 0 ? 1 - t[i] : t[i]);
        const c = dir * maxReach * (0.05 + 0.9 * rng());
        const d = new Float64Array(n);
        const len = projectOntoHyperplane(t, w, c, norm, d);
        assert.ok(Math.abs(len - lp(d)) < 1e-9, 'returned norm');
        let wd = 0;
        for (let i = 0; i < n; i++) {
          wd += w[i] * d[i];
          assert.ok(t[i] + d[i] >= -1e-12 && t[i] + d[i] <= 1 + 1e-12, `trial ${trial}: pixel ${i} leaves [0,1]`);
        }
        assert.ok(Math.abs(wd - c) < 1e-9, `trial ${trial}: w·d = ${wd}, wanted ${c}`);
        if (len > (norm === 'l2' ? Math.abs(c) / Math.hypot(...w) : Math.abs(c) / w.reduce((q, v) => q + Math.abs(v), 0)) * (1 + 1e-6)) binding++;
        // Optimality of a convex problem: no feasible move along the hyperplane shortens d.
        for (let probe = 0; probe < 30; probe++) {
          const e = Float64Array.from({ length: n }, () => rng() * 2 - 1);
          const ww = w.reduce((q, v) => q + v * v, 0);
          const we = w.reduce((q, v, i) => q + v * e[i], 0);
          for (let i = 0; i < n; i++) e[i] -= (we / ww) * w[i];
          for (const step of [1e-3, 1e-2, 1e-1]) {
            const moved = d.map((v, i) => v + step * e[i]);
            if (moved.some((v, i) => t[i] + v < 0 || t[i] + v > 1)) continue;
            assert.ok(lp(moved) >= len - 1e-9, `trial ${trial}: a feasible move shortens d from ${len} to ${lp(moved)}`);
          }
        }
      }
      assert.ok(binding > 20, `the box bound the solution in only ${binding} of 200 trials`);
    });
  }

  it('Square lowers accuracy as its queries grow and never calls a gradient', () => {
    const { logits, x, y } = mnistSlice(0, 40);
    const blind = gradientFree(logits);
    // The wrapper really forbids gradients: a gradient attack on it fails.
    assert.throws(() => makeAttack({ type: 'pgd-linf', eps: 0.2, steps: 1 }).perturb(blind, x, y), /gradient called/);
    const accuracies: number[] = [];
    for (const queries of [1, 20, 300]) {
      const diagnostics: AttackDiagnostics = {};
      const adv = makeAttack({ type: 'square', eps: 0.2, queries }).perturb(blind, x, y, { seed: 3, diagnostics });
      assert.ok((diagnostics.queries ?? 0) > 0 && (diagnostics.queries ?? 0) <= 40 * queries, `queries spent: ${diagnostics.queries}`);
      accuracies.push(robustAccuracy(logits, adv, y));
      adv.dispose();
    }
    const clean = robustAccuracy(logits, x, y);
    assert.ok(accuracies[0] <= clean && accuracies[1] <= accuracies[0] && accuracies[2] <= accuracies[1], `accuracy by queries: ${accuracies}`);
    assert.ok(accuracies[2] < accuracies[0] - 0.1, `300 queries should beat 1 query clearly: ${accuracies}`);
    tf.dispose([x, y]);
  });

  it('Square follows the p schedule of the reference (p_init halved at 10, 50, 200, ... queries)', () => {
    assert.deepEqual(
      [0, 10, 11, 50, 51, 200, 201, 500, 501, 1000, 1001, 2000, 2001, 4000, 4001, 6000, 6001, 8000, 8001, 20000].map((i) => pSelection(0.8, i)),
      [0.8, 0.8, 0.4, 0.4, 0.2, 0.2, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125, 0.00625, 0.00625, 0.003125, 0.003125, 0.0015625, 0.0015625],
    );
  });

  it('Square repeats under its seed and changes with it', () => {
    const { logits, x, y } = mnistSlice(40, 8);
    const run = (seed: number) => {
      const adv = makeAttack({ type: 'square', eps: 0.3, queries: 20 }).perturb(logits, x, y, { seed });
      const moved = tf.tidy(() => tf.sub(adv, x).abs().sum().dataSync()[0]);
      const a = adv.dataSync();
      adv.dispose();
      return { a, moved };
    };
    const first = run(7);
    assert.deepEqual(run(7).a, first.a);
    const other = run(8);
    assert.ok(first.moved > 0 || other.moved > 0, 'the attack broke something at eps 0.3 with 20 queries');
    assert.notDeepEqual(other.a, first.a);
    tf.dispose([x, y]);
  });

  const configs: AttackConfig[] = [
    { type: 'fab-t', eps: 0.15, norm: 'linf', steps: 10, targets: 3 },
    { type: 'fab-t', eps: 1.5, norm: 'l2', steps: 10, targets: 3, restarts: 1 },
    { type: 'square', eps: 0.15, norm: 'linf', queries: 100 },
    { type: 'square', eps: 1.5, norm: 'l2', queries: 100, restarts: 1 },
  ];
  for (const config of configs) {
    it(`${config.type} ${config.norm}: inside the ball and [0,1], changed points misclassify, input kept, no tensors left`, () => {
      const { logits, x, y } = mnistSlice(100, 16);
      const before = x.dataSync().slice();
      const tensors = tf.memory().numTensors;
      let calls = 0;
      const adv = makeAttack(config).perturb(logits, x, y, { seed: 2, onProgress: () => calls++ });
      assert.equal(tf.memory().numTensors, tensors + 1, 'only the result tensor remains');
      assert.deepEqual(x.dataSync(), before, 'the input is unchanged');
      assert.ok(calls > 0, 'progress was reported');
      const a = adv.dataSync();
      const pred = tf.tidy(() => tf.argMax(logits(adv), 1).dataSync());
      const labels = y.dataSync();
      let changed = 0;
      for (let n = 0; n < 16; n++) {
        let l2 = 0;
        let linf = 0;
        for (let i = n * 784; i < (n + 1) * 784; i++) {
          assert.ok(a[i] >= 0 && a[i] <= 1, `pixel out of range: ${a[i]}`);
          const d = Math.abs(a[i] - before[i]);
          l2 += d * d;
          linf = Math.max(linf, d);
        }
        const dist = config.norm === 'l2' ? Math.sqrt(l2) : linf;
        assert.ok(dist <= config.eps + 1e-6, `example ${n}: distance ${dist} > eps ${config.eps}`);
        // A point comes back changed only when the attack broke it.
        if (dist > 0) {
          changed++;
          assert.notEqual(pred[n], labels[n], `example ${n} changed but still classified correctly`);
        }
      }
      assert.ok(changed > 0, 'the attack broke at least one point');
      tf.dispose([x, y, adv]);
    });
  }
});
