import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import { makeAttack, resolveAttackConfig, type AttackConfig, type LogitsFn } from '../lib/attacks';
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
  });
});
