import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import { makeAttack, resolveAttackConfig, type AttackConfig, type LogitsFn } from '../lib/attacks';
import { bestOfRestarts } from '../lib/attacks/common';
import { dlrLoss, dlrTargetedLoss } from '../lib/attacks/dlr';
import { take } from '../lib/data';
import { accuracy } from '../lib/eval';
import { crossEntropy } from '../lib/loss';
import { testBackend } from './helpers/backend';
import { trainedMnistModel } from './helpers/tiny-mnist';

/** A 2-class linear model on 4x4x1 images: logits = flatten(x)·W + b. */
function linearModel(seed: number): { logits: LogitsFn; w: Float32Array } {
  const W = tf.randomNormal([16, 2], 0, 1, 'float32', seed);
  const b = tf.tensor1d([0.1, -0.1]);
  const logits: LogitsFn = (x) => tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], 16]), W), b));
  return { logits, w: W.dataSync() as Float32Array };
}

describe('attacks', () => {
  before(testBackend);

  it('PGD L∞ on a linear model reaches the analytic worst case', () => {
    const { logits, w } = linearModel(3);
    const x = tf.randomUniform([6, 4, 4, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 0, 1, 0, 1], 'int32');
    const eps = 0.1;
    const adv = makeAttack({ type: 'pgd-linf', eps, steps: 20, stepSize: eps / 4, randomStart: true }).perturb(logits, x, y, { seed: 1 });
    // For 2 classes the loss grows with (W[:,other] − W[:,y])·x, so the worst case moves each
    // pixel by eps in the sign of that weight difference, clipped to [0,1].
    const xs = x.arraySync().flat(3);
    const ys = y.arraySync();
    const expect = xs.map((v, i) => {
      const n = Math.floor(i / 16);
      const j = i % 16;
      const d = ys[n] === 0 ? w[j * 2 + 1] - w[j * 2] : w[j * 2] - w[j * 2 + 1];
      return Math.min(1, Math.max(0, v + eps * Math.sign(d)));
    });
    const got = adv.dataSync();
    expect.forEach((e, i) => assert.ok(Math.abs(got[i] - e) < 1e-5, `pixel ${i}: ${got[i]} vs worst case ${e}`));
    const lossAdv = tf.tidy(() => tf.sum(crossEntropy(logits(adv), y)).dataSync()[0]);
    const lossWorst = tf.tidy(() => tf.sum(crossEntropy(logits(tf.tensor4d(expect, [6, 4, 4, 1])), y)).dataSync()[0]);
    assert.ok(Math.abs(lossAdv - lossWorst) < 1e-4);
    tf.dispose([x, y, adv]);
  });

  const threatModels: AttackConfig[] = [
    { type: 'fgsm', eps: 0.1 },
    { type: 'pgd-linf', eps: 0.1, steps: 5, restarts: 1 },
    { type: 'pgd-linf', eps: 0.1, steps: 5, targeted: true },
    { type: 'pgd-l2', eps: 1.5, steps: 5, restarts: 1 },
  ];
  for (const config of threatModels) {
    it(`${config.type}${config.targeted ? ' targeted' : ''}: stays in the eps-ball and [0,1], never changes its input, leaks nothing`, () => {
      const { model, test } = trainedMnistModel();
      const act = makeActivation('relu');
      const logits: LogitsFn = (x) => model.apply(x, { training: false, act });
      const x = tf.tensor4d(test.images.subarray(0, 16 * 784), [16, 28, 28, 1]);
      const y = tf.tensor1d(test.labels.subarray(0, 16), 'int32');
      const target = config.targeted ? tf.tensor1d(Array.from(test.labels.subarray(0, 16), (l) => (l + 1) % 10), 'int32') : undefined;
      const before = x.dataSync().slice();
      const tensors = tf.memory().numTensors;
      const adv = makeAttack(config).perturb(logits, x, y, { seed: 2, target });
      assert.equal(tf.memory().numTensors, tensors + 1, 'only the result tensor remains');
      assert.deepEqual(x.dataSync(), before, 'the input is unchanged');
      const a = adv.dataSync();
      let maxNorm = 0;
      for (let n = 0; n < 16; n++) {
        let l2 = 0;
        for (let i = n * 784; i < (n + 1) * 784; i++) {
          assert.ok(a[i] >= 0 && a[i] <= 1, `pixel out of range: ${a[i]}`);
          const d = a[i] - before[i];
          l2 += d * d;
          if (config.type !== 'pgd-l2') assert.ok(Math.abs(d) <= config.eps + 1e-6, `|delta| ${Math.abs(d)} > eps`);
        }
        maxNorm = Math.max(maxNorm, Math.sqrt(l2));
      }
      if (config.type === 'pgd-l2') assert.ok(maxNorm <= config.eps + 1e-4, `L2 norm ${maxNorm} > eps`);
      assert.ok(maxNorm > 0, 'the attack moved the input');
      tf.dispose([x, y, adv, target]);
    });
  }

  it('PGD lowers accuracy of a trained model far more than uniform noise of the same size', () => {
    const { model, test } = trainedMnistModel();
    const act = makeActivation('relu');
    const ds = take(test, 300);
    const eps = 0.15;
    const clean = accuracy(model, ds, null, { act });
    const pgd = accuracy(model, ds, { type: 'pgd-linf', eps, steps: 10 }, { act, seed: 1 });
    // Uniform noise in the same L∞ ball: PGD with zero steps is exactly a random start.
    const noise = accuracy(model, ds, { type: 'pgd-linf', eps, steps: 1, stepSize: 0 }, { act, seed: 1 });
    assert.ok(clean > 0.9, `the helper model should be trained (clean ${clean})`);
    assert.ok(noise > clean - 0.1, `noise barely hurts: clean ${clean}, noise ${noise}`);
    assert.ok(pgd < noise - 0.3, `PGD ${pgd} should be far below noise ${noise}`);
  });

  it('restarts never do worse than a single start', () => {
    const { model, test } = trainedMnistModel();
    const act = makeActivation('relu');
    const ds = take(test, 200);
    const one = accuracy(model, ds, { type: 'pgd-linf', eps: 0.1, steps: 3 }, { act, seed: 4 });
    const three = accuracy(model, ds, { type: 'pgd-linf', eps: 0.1, steps: 3, restarts: 2 }, { act, seed: 4 });
    assert.ok(three <= one, `restarts ${three} vs single ${one}`);
  });

  it('rejects bad configs with errors that name the field', () => {
    assert.throws(() => resolveAttackConfig({ type: 'pgd-linf', eps: 8 }), /outside \[0, 1\].*8\/255/);
    assert.throws(() => resolveAttackConfig({ type: 'pgd-linf', eps: -0.1 }), /eps must be a number >= 0/);
    assert.throws(() => resolveAttackConfig({ type: 'pgd-linf', eps: 0.1, steps: 0 }), /steps must be a positive integer/);
    assert.throws(() => resolveAttackConfig({ type: 'cw' as never, eps: 0.1 }), /Unknown attack 'cw'.*fgsm, pgd-linf, pgd-l2/);
    assert.equal(resolveAttackConfig({ type: 'pgd-linf', eps: 0.1, steps: 10 }).stepSize, 0.025);
    assert.throws(() => resolveAttackConfig({ type: 'pgd-linf', eps: 0.1, norm: 'l2' }), /L-inf by its name; for the other norm use pgd-l2/);
    assert.throws(() => resolveAttackConfig({ type: 'apgd-ce', eps: 0.1, targeted: true }), /use apgd-t or fab-t/);
    assert.throws(() => resolveAttackConfig({ type: 'apgd-ce', eps: 0.1, queries: 10 }), /queries is for square only/);
    assert.throws(() => resolveAttackConfig({ type: 'square', eps: 0.1, stepSize: 0.1 }), /no step size/);
    // The paper's defaults (Croce & Hein 2020; Andriushchenko et al. 2020).
    const a = resolveAttackConfig({ type: 'apgd-t', eps: 0.1 });
    assert.deepEqual([a.steps, a.targets, a.norm, a.restarts, a.targeted], [100, 9, 'linf', 0, true]);
    assert.ok(Math.abs(a.stepSize - 0.2) < 1e-12, 'APGD starts with step 2·eps');
    const sq = resolveAttackConfig({ type: 'square', eps: 0.1 });
    assert.deepEqual([sq.queries, sq.pInit, sq.steps], [5000, 0.8, 5000]);
    for (const t of ['fgsm', 'pgd-l2', 'apgd-dlr', 'apgd-t', 'fab-t', 'square'] as const) {
      const r = resolveAttackConfig({ type: t, eps: 0.5, norm: t === 'pgd-l2' ? 'l2' : undefined });
      assert.deepEqual(resolveAttackConfig(r), r, `${t}: a resolved config resolves to itself`);
    }
  });

  it('a targeted PGD without target labels is an error that names the fix', () => {
    const { logits } = linearModel(3);
    const x = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1], 'int32');
    assert.throws(() => makeAttack({ type: 'pgd-linf', eps: 0.1, targeted: true }).perturb(logits, x, y), /pass the target labels as perturb\(\.\.\., \{ target \}\), or set targeted: false/);
    assert.throws(() => makeAttack({ type: 'pgd-linf', eps: 0.1 }).perturb(logits, x, y, { target: y }), /set targeted: true/);
    tf.dispose([x, y]);
  });

  it('the restart rule counts a point broken by any restart, even one with a lower loss', () => {
    // Three classes read straight off three pixels (logits = 10·x). Point A is classified right
    // with cross-entropy 1.03; point B is misclassified with the lower cross-entropy 0.91.
    const logits: LogitsFn = (x) => tf.tidy(() => tf.mul(tf.reshape(x, [x.shape[0], 3]), 10) as tf.Tensor2D);
    const A = [0.2, 0.19, 0.19];
    const B = [0.1, 0.11, 0];
    const y = tf.tensor1d([0], 'int32');
    const ce = (p: number[]) => tf.tidy(() => crossEntropy(logits(tf.tensor4d(p, [1, 1, 1, 3])), y).dataSync()[0]);
    assert.ok(ce(B) < ce(A), `B's loss ${ce(B)} is below A's ${ce(A)}`);
    for (const order of [[A, B], [B, A]]) {
      const out = bestOfRestarts(1, logits, y, {}, (r) => tf.tensor4d(order[r], [1, 1, 1, 3]));
      assert.deepEqual(Array.from(out.dataSync(), (v) => +v.toFixed(4)), B, 'the misclassifying restart wins');
      out.dispose();
    }
    // Both correct: the higher loss wins, as training wants.
    const C = [0.2, 0.05, 0.05];
    const out = bestOfRestarts(1, logits, y, {}, (r) => tf.tensor4d([C, A][r], [1, 1, 1, 3]));
    assert.deepEqual(Array.from(out.dataSync(), (v) => +v.toFixed(4)), A);
    tf.dispose([out, y]);
  });

  for (const norm of ['linf', 'l2'] as const) {
    it(`APGD-CE ${norm} on a linear model reaches the analytic worst case`, () => {
      const { logits, w } = linearModel(3);
      // Pixels in [0.3, 0.7] and a small radius, so the ball never meets the pixel range, and
      // labels = the model's own predictions with a margin no eps-step can cross: the
      // highest-loss point is then the analytic one.
      const x = tf.tidy(() => tf.add(tf.mul(tf.randomUniform([6, 4, 4, 1], 0, 1, 'float32', 5), 0.4), 0.3)) as tf.Tensor4D;
      const z = logits(x).arraySync();
      const ys = z.map((r) => (r[0] > r[1] ? 0 : 1));
      const y = tf.tensor1d(ys, 'int32');
      const eps = norm === 'linf' ? 0.01 : 0.05;
      const xs = x.arraySync().flat(3);
      const d = (n: number, j: number) => (ys[n] === 0 ? w[j * 2 + 1] - w[j * 2] : w[j * 2] - w[j * 2 + 1]);
      const dn = ys.map((_, n) => Math.sqrt(Array.from({ length: 16 }, (_, j) => d(n, j) ** 2).reduce((a, b) => a + b)));
      const expect = xs.map((v, i) => {
        const n = Math.floor(i / 16);
        return norm === 'linf' ? v + eps * Math.sign(d(n, i % 16)) : v + (eps * d(n, i % 16)) / dn[n];
      });
      const marginAfter = z.map((r, n) => Math.abs(r[0] - r[1]) - (norm === 'linf' ? eps * Array.from({ length: 16 }, (_, j) => Math.abs(d(n, j))).reduce((a, b) => a + b) : eps * dn[n]));
      marginAfter.forEach((m, n) => assert.ok(m > 0, `example ${n} would flip (margin ${m}); pick another seed`));
      const tensors = tf.memory().numTensors;
      const adv = makeAttack({ type: 'apgd-ce', eps, norm, steps: 20 }).perturb(logits, x, y, { seed: 1 });
      assert.equal(tf.memory().numTensors, tensors + 1, 'only the result tensor remains');
      const got = adv.dataSync();
      expect.forEach((e, i) => assert.ok(Math.abs(got[i] - e) < 1e-4, `pixel ${i}: ${got[i]} vs worst case ${e}`));
      tf.dispose([x, y, adv]);
    });
  }

  it('APGD-CE at 100 iterations is no weaker than PGD at 100 on a trained model; APGD-DLR and APGD-T stay in the ball', () => {
    const { model, test } = trainedMnistModel();
    const act = makeActivation('relu');
    const ds = take(test, 50);
    const eps = 0.08;
    const pgd = accuracy(model, ds, { type: 'pgd-linf', eps, steps: 100 }, { act, seed: 3 });
    const apgdAcc = accuracy(model, ds, { type: 'apgd-ce', eps, steps: 100 }, { act, seed: 3 });
    assert.ok(pgd > 0.1, `the radius leaves something to attack (PGD-100 ${pgd})`);
    assert.ok(apgdAcc <= pgd, `APGD-CE-100 ${apgdAcc} vs PGD-100 ${pgd}`);
    const logits: LogitsFn = (x) => model.apply(x, { training: false, act });
    const x = tf.tensor4d(test.images.subarray(0, 8 * 784), [8, 28, 28, 1]);
    const y = tf.tensor1d(test.labels.subarray(0, 8), 'int32');
    for (const config of [{ type: 'apgd-dlr', eps, norm: 'l2', steps: 10 }, { type: 'apgd-t', eps, steps: 5, targets: 3 }] as AttackConfig[]) {
      const tensors = tf.memory().numTensors;
      const adv = makeAttack(config).perturb(logits, x, y, { seed: 2 });
      assert.equal(tf.memory().numTensors, tensors + 1, `${config.type}: only the result tensor remains`);
      const size = tf.tidy(() => {
        const d = tf.sub(adv, x);
        return config.norm === 'l2' ? tf.max(tf.sqrt(tf.sum(tf.square(d), [1, 2, 3]))).dataSync()[0] : tf.max(tf.abs(d)).dataSync()[0];
      });
      assert.ok(size <= eps + 1e-5 && size > 0, `${config.type}: perturbation ${size} vs eps ${eps}`);
      adv.dispose();
    }
    tf.dispose([x, y]);
  });

  it('DLR: scale-invariant, positive exactly when misclassified; the targeted form needs 4 classes', () => {
    const z = tf.tensor2d([[3, 1, 0, -1], [0, 2, 1, -3]]);
    const y = tf.tensor1d([0, 0], 'int32');
    const a = dlrLoss(z, y).arraySync();
    const b = tf.tidy(() => dlrLoss(tf.mul(z, 1000) as tf.Tensor2D, y).arraySync());
    // Example 0: -(3 - 1)/(3 - 0); example 1: -(0 - 2)/(2 - 0).
    assert.ok(Math.abs(a[0] + 2 / 3) < 1e-6 && Math.abs(a[1] - 1) < 1e-6, `${a}`);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-4, 'invariant to scaling the logits'));
    const t = tf.tensor1d([3, 2], 'int32');
    // -(z_y - z_t)/(z_1 - (z_3 + z_4)/2): example 0: -(3 + 1)/(3 - (0 - 1)/2) = -4/3.5.
    assert.ok(Math.abs(dlrTargetedLoss(z, y, t).arraySync()[0] + 4 / 3.5) < 1e-6);
    assert.throws(() => dlrTargetedLoss(tf.tensor2d([[1, 2, 3]]), tf.tensor1d([0], 'int32'), tf.tensor1d([1], 'int32')), /at least 4 classes/);
    tf.dispose([z, y, t]);
  });
});
