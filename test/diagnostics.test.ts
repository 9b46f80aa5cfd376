// The gradient-quality measures (lib/diagnostics), each checked on a model whose answer is known
// in closed form: a linear model, a quadratic, a single ReLU unit.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import type { LogitsFn } from '../lib/attacks';
import { attackerCurve } from '../lib/diagnostics/attacker-steps';
import { crossEntropyObjective, type Objective } from '../lib/diagnostics/common';
import { gradientStability } from '../lib/diagnostics/gradient-stability';
import { landscape1d, landscape2d } from '../lib/diagnostics/landscape';
import { localLinearity } from '../lib/diagnostics/local-linearity';
import { activationFlips, gradientNorms } from '../lib/diagnostics/nonsmoothness';
import { gradientCosine, halfBatchCosine } from '../lib/diagnostics/trainer-gradients';
import type { Model } from '../lib/models';
import { buildModel } from '../lib/models';
import { train, type TrainConfig } from '../lib/train';
import { testBackend } from './helpers/backend';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);

/** A batch of n copies of one image with the given pixels, shape [n, 1, 1, d]. */
const images = (n: number, pixels: number[]) => tf.tensor4d(Array.from({ length: n }, () => pixels).flat(), [n, 1, 1, pixels.length]);

/** Two-class linear model: z0 = 0, z1 = w·x + b. */
const linear = (w: number[], b: number): LogitsFn => (x) =>
  tf.tidy(() => {
    const z1 = tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]), tf.tensor2d(w, [w.length, 1])), b);
    return tf.concat([tf.zerosLike(z1), z1], 1) as tf.Tensor2D;
  });

/** f(x) = sum of c·x over pixels, per example. */
const linearObjective = (c: number): Objective => (x) => tf.tidy(() => tf.mul(tf.sum(tf.reshape(x, [x.shape[0], -1]), 1), c) as tf.Tensor1D);
/** f(x) = a · sum of x² over pixels, per example. */
const quadratic = (a: number): Objective => (x) => tf.tidy(() => tf.mul(tf.sum(tf.square(tf.reshape(x, [x.shape[0], -1])), 1), a) as tf.Tensor1D);
/** A single ReLU unit on the first pixel: f(x) = relu(x_0 + t). */
const reluUnit = (t: number): Objective => (x) => tf.tidy(() => tf.relu(tf.add(tf.reshape(tf.slice(tf.reshape(x, [x.shape[0], -1]), [0, 0], [-1, 1]), [-1]), t)) as tf.Tensor1D);

describe('gradient-quality diagnostics', () => {
  before(testBackend);

  it('measure 1: on a linear model PGD moves the margin by min(k·step, eps)·||w||_1 per step, and a reversed gradient moves it back', () => {
    const w = [1, -1, 2, 0.5]; // ||w||_1 = 4.5; at x = 0.5: w·x = 1.25, margin = 1.25 - 3 = -1.75
    const x = images(3, [0.5, 0.5, 0.5, 0.5]);
    const y = tf.tensor1d([0, 0, 0], 'int32');
    const before = tf.memory().numTensors;
    const c = attackerCurve(linear(w, -3), linear(w, -3), x, y, { eps: 0.5, steps: 6, stepSize: 0.1 });
    const expected = c.steps.map((k) => -1.75 + Math.min(0.1 * k, 0.5) * 4.5);
    c.margin.forEach((m, k) => close(m, expected[k], 1e-5, `margin at step ${k}`));
    c.crossEntropy.forEach((ce, k) => close(ce, Math.log1p(Math.exp(expected[k])), 1e-5, `cross-entropy at step ${k}`));
    // Broken once the margin is positive: step 4 (margin +0.05) on, all three images.
    assert.deepEqual(c.broken, [0, 0, 0, 0, 3, 3, 3]);
    // The forward pass stays the model's; the direction comes from the gradient function.
    const back = attackerCurve(linear(w, -3), linear(w.map((v) => -v), -3), x, y, { eps: 0.2, steps: 3, stepSize: 0.1 });
    back.margin.forEach((m, k) => close(m, -1.75 - Math.min(0.1 * k, 0.2) * 4.5, 1e-5, `reversed margin at step ${k}`));
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, y]);
  });

  it('measure 2: a linear model gives cosines of 1; a ReLU unit on its kink gives P(active) and (2P-1)² across restarts', () => {
    const y = tf.tensor1d([0, 0], 'int32');
    const x2 = images(2, [0.5, 0.5, 0.5, 0.5]);
    const lin = gradientStability(crossEntropyObjective(linear([1, -1, 2, 0.5], -3), y), x2, { eps: 0.1, steps: 5, stepSize: 0.05, randomPoints: 3, seed: 1 });
    for (const k of ['randomPoint', 'consecutive', 'restarts'] as const) close(lin.mean[k], 1, 1e-5, `linear ${k}`);
    // relu(x0 - 0.5 + 0.001): active at x; a random point keeps it active with P = 0.5 + 0.001/0.2.
    const n = 500;
    const x = images(n, [0.5, 0.5]);
    const before = tf.memory().numTensors;
    const s = gradientStability(reluUnit(-0.5 + 0.001), x, { eps: 0.1, steps: 4, stepSize: 0.05, randomPoints: 4, seed: 7 });
    assert.equal(tf.memory().numTensors, before);
    const p = 0.505;
    close(s.mean.randomPoint, p, 0.05, 'random-point cosine');
    // A PGD start in the dead region has a zero gradient and never moves (cosine 0); a live one climbs (1).
    close(s.mean.consecutive, p, 0.07, 'consecutive-step cosine');
    // Two live starts end at +eps (cosine 1), two dead ones stay negative (1), one of each: -1.
    close(s.mean.restarts, (2 * p - 1) ** 2, 0.15, 'restart cosine');
    tf.dispose([x, x2, y]);
  });

  it('measure 3: local linearity is 0 for a linear loss, a·d·eps² for a quadratic, and eps + t only where the ascent starts on the live side of a ReLU kink', () => {
    const x = images(4, [0.5, 0.5, 0.5, 0.5]);
    close(localLinearity(linearObjective(3), x, { eps: 0.1, steps: 3, seed: 1 }).mean, 0, 1e-5, 'linear');
    close(localLinearity(quadratic(2), x, { eps: 0.1, steps: 3, seed: 1 }).mean, 2 * 4 * 0.01, 1e-5, 'quadratic');
    // relu(x0 - 0.51) at x0 = 0.5: dead at x (f = 0, gradient 0); the deviation relu(-0.01 + d) peaks at
    // d = eps (0.09), and a first-order ascent finds it only from a start with d > 0.01: P = 0.45.
    const n = 1000;
    const xs = images(n, [0.5]);
    const r = localLinearity(reluUnit(-0.51), xs, { eps: 0.1, steps: 3, seed: 5 });
    r.perImage.forEach((g) => assert.ok(Math.abs(g) < 1e-6 || Math.abs(g - 0.09) < 1e-5, `gamma ${g} is 0 or 0.09`));
    close(r.mean, 0.45 * 0.09, 0.006, 'ReLU unit mean');
    tf.dispose([x, xs]);
  });

  it('measure 4: sign flips per activation layer, and zero gradients on the dead side of a ReLU unit', () => {
    // Two ReLU layers on one pixel: u1 = x - 0.5, u2 = relu(u1) - 0.05; logits [0, relu(u2)].
    const model: Pick<Model, 'apply'> = {
      apply: (x, ctx) =>
        tf.tidy(() => {
          const u1 = tf.sub(tf.reshape(x, [x.shape[0], 1]), 0.5);
          const h = ctx.act(tf.sub(ctx.act(u1), 0.05));
          return tf.concat([tf.zerosLike(h), h], 1) as tf.Tensor2D;
        }),
    };
    const x = images(3, [0.4]).add(tf.tensor4d([0, 0.2, 0.3], [3, 1, 1, 1])) as tf.Tensor4D; // 0.4, 0.6, 0.7
    const adv = tf.tensor4d([0.6, 0.52, 0.71], [3, 1, 1, 1]);
    // Layer 0 (x - 0.5): flips for image 0 only. Layer 1 (relu(u1) - 0.05: -0.05, 0.05, 0.15 -> 0.05, -0.03, 0.16): images 0 and 1.
    const flips = activationFlips(model, makeActivation('relu'), x, adv);
    assert.deepEqual(flips.map((f) => [f.layer, f.units, f.flips]), [[0, 3, 1], [1, 3, 2]]);
    close(flips[1].share, 2 / 3, 1e-9, 'share');
    const norms = gradientNorms(reluUnit(-0.5), tf.tensor4d([0.3, 0.45, 0.8, 0.9], [4, 1, 1, 1]));
    assert.deepEqual(norms.l1, [0, 0, 1, 1]);
    assert.deepEqual([norms.zero, norms.nearZero, norms.n], [2, 2, 4]);
    close(gradientNorms(linearObjective(-2), images(2, [0.1, 0.2, 0.3])).l1[1], 6, 1e-6, 'linear L1 norm = d·|c|');
    tf.dispose([x, adv]);
  });

  it('measure 5: half-batch gradient cosine is 1, 0 or -1 where the halves agree, are orthogonal or oppose; BN statistics are restored', () => {
    // Softmax regression with W = 0 (p uniform): the gradient of one example (x, y) is (p - e_y) x^T.
    const w = tf.variable(tf.zeros([2, 2]));
    const model = { params: new Map([['w', w]]), state: new Map(), apply: (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D } as unknown as Model;
    const act = makeActivation('relu');
    const cos = (xs: number[][], ys: number[]) => {
      const x = tf.tensor4d(xs.flat(), [xs.length, 1, 1, 2]);
      const y = tf.tensor1d(ys, 'int32');
      const c = halfBatchCosine(model, x, y, { act });
      tf.dispose([x, y]);
      return c!;
    };
    close(cos([[1, 0], [1, 0]], [0, 0]), 1, 1e-6, 'same example');
    close(cos([[1, 0], [0, 1]], [0, 0]), 0, 1e-6, 'orthogonal inputs');
    close(cos([[1, 0], [1, 0]], [0, 1]), -1, 1e-6, 'opposite labels');
    close(gradientCosine([tf.tensor([3, 0])], [tf.tensor([0, 0])]), 0, 0, 'zero gradient');
    w.dispose();
    // A CNN with BatchNorm: the two extra training-mode passes leave the running statistics as they were.
    const cnn = buildModel('mnist-cnn', { inputShape: [8, 8, 1], numClasses: 3, width: 2, seed: 0 });
    const statsBefore = [...cnn.state.values()].map((v) => v.dataSync().slice());
    const x = tf.randomUniform([6, 8, 8, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    const before = tf.memory().numTensors;
    const c = halfBatchCosine(cnn, x, y, { act })!;
    assert.ok(c > -1 && c < 1, `cosine ${c}`);
    assert.equal(tf.memory().numTensors, before);
    [...cnn.state.values()].forEach((v, i) => assert.deepEqual(v.dataSync(), statsBefore[i]));
    tf.dispose([x, y]);
    cnn.dispose();
  });

  it('measure 5 in the trainer: gradientStats logs grad_norm and grad_half_cosine per epoch and leaves training unchanged', async () => {
    const tiny: Partial<TrainConfig> = {
      dataset: 'mnist', trainLimit: 64, testLimit: 32, model: 'mnist-cnn', width: 4, epochs: 2, batchSize: 32, lr: 0.05,
      activation: 'relu', attack: { type: 'pgd-linf', eps: 0.2, steps: 1, stepSize: 0.2 }, seed: 3,
      evaluation: { size: 32, attacks: [{ type: 'pgd-linf', eps: 0.2, steps: 2 }] }, epochEvalSize: 0,
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-diag-'));
    const plain = await train(tiny, { runDir: path.join(dir, 'plain'), quiet: true });
    const logged = await train({ ...tiny, gradientStats: true }, { runDir: path.join(dir, 'logged'), quiet: true });
    assert.equal(plain.metrics[0].grad_norm, undefined, 'nothing logged unless asked');
    for (const m of logged.metrics) {
      assert.ok(m.grad_norm! > 0 && Number.isFinite(m.grad_norm!), `grad_norm ${m.grad_norm}`);
      assert.ok(m.grad_half_cosine! >= -1 && m.grad_half_cosine! <= 1, `grad_half_cosine ${m.grad_half_cosine}`);
    }
    const line = JSON.parse(fs.readFileSync(path.join(dir, 'logged', 'metrics.jsonl'), 'utf8').split('\n')[0]);
    assert.ok('grad_half_cosine' in line, 'written into metrics.jsonl');
    assert.deepEqual(logged.metrics.map((m) => m.loss), plain.metrics.map((m) => m.loss), 'the same training trajectory');
    assert.deepEqual(logged.results.map((r) => r.accuracy), plain.results.map((r) => r.accuracy));
    plain.model.dispose();
    logged.model.dispose();
  });

  it('measure 6: landscapes of a quadratic match (0.5 + eps·a)² along the gradient sign, and a linear loss is linear along the adversarial segment', () => {
    const x = images(2, [0.5, 0.5, 0.5, 0.5]);
    const before = tf.memory().numTensors;
    const l = landscape2d((p) => quadratic(1)(p), x, { eps: 0.1, points: 5, span: 2, seed: 3 });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(l.length, 2);
    assert.deepEqual(l[0].a, [-2, -1, 0, 1, 2]);
    const mid = l[0].loss[2]; // b = 0: only the gradient-sign direction (+1 everywhere)
    mid.forEach((v, j) => close(v, 4 * (0.5 + 0.1 * l[0].a[j]) ** 2, 1e-5, `loss at a = ${l[0].a[j]}`));
    // Along the random direction r (±1 per pixel), sum (0.5 + 0.1·b·r_i)² = 1 + 0.04·b²... (the cross terms cancel only when r sums to 0), so check the centre.
    close(l[1].loss[2][2], 1, 1e-6, 'centre');
    const adv = tf.add(x, 0.1) as tf.Tensor4D;
    const one = landscape1d(linearObjective(2), x, adv, 3, 2);
    assert.deepEqual(one.t, [0, 1, 2]);
    one.loss[0].forEach((v, k) => close(v, 2 * 4 * (0.5 + 0.1 * one.t[k]), 1e-5, `1-D loss at t = ${one.t[k]}`));
    tf.dispose([x, adv]);
  });
});
