// The one per-point evaluation loop (lib/eval/flags.ts): its seed rule, and that accuracy,
// streamed evaluation, the sanity checks and AutoAttack's clean pass all follow it.
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import { type AttackConfig, type LogitsFn, makeAttack } from '../lib/attacks';
import { take } from '../lib/data';
import { batches, disposeBatch, type ImageDataset } from '../lib/data/dataset';
import { accuracy, evaluate } from '../lib/eval';
import { autoAttack } from '../lib/eval/autoattack';
import { batchFlags, correctFlags, evaluatePoints, shareOf } from '../lib/eval/flags';
import { maskedTarget, modelTarget, robustFlags, transferFlags } from '../lib/eval/sanity';
import { evaluateStream } from '../lib/eval/stream';
import { deriveSeed } from '../lib/util/rng';
import { testBackend } from './helpers/backend';
import { trainedMnistModel } from './helpers/tiny-mnist';

const PGD: AttackConfig = { type: 'pgd-linf', eps: 0.15, steps: 3 };
const act = makeActivation('relu');

function setup(n = 90) {
  const { model, test } = trainedMnistModel();
  const logits: LogitsFn = (x) => model.apply(x, { training: false, act });
  return { model, logits, data: take(test, n) };
}

/** Flags built by hand: batch i attacked with seed deriveSeed(seed, i). */
function byHand(logits: LogitsFn, data: ImageDataset, attack: AttackConfig, seed: number, batchSize: number): number[] {
  const att = makeAttack(attack);
  const out: number[] = [];
  let i = 0;
  for (const b of batches(data, { batchSize })) {
    out.push(...batchFlags(logits, att, b.x, b.y, deriveSeed(seed, i++)));
    disposeBatch(b);
  }
  return out;
}

describe('eval: the per-point loop', () => {
  before(testBackend);

  it('attacks batch i with seed deriveSeed(seed, i), whatever other attacks run beside it; no tensors left', () => {
    const { logits, data } = setup();
    const tensors = tf.memory().numTensors;
    const alone = evaluatePoints(logits, data, [PGD], { seed: 4, batchSize: 40 });
    const beside = evaluatePoints(logits, data, [{ type: 'fgsm', eps: 0.1 }, PGD], { seed: 4, batchSize: 40 });
    assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind');
    assert.equal(alone.n, 90);
    assert.deepEqual(Array.from(alone.attacked[0]), byHand(logits, data, PGD, 4, 40));
    assert.deepEqual(Array.from(beside.attacked[1]), Array.from(alone.attacked[0]), 'the same random starts with another attack beside it');
    const other = evaluatePoints(logits, data, [PGD], { seed: 5, batchSize: 40 });
    assert.notDeepEqual(Array.from(other.attacked[0]), Array.from(alone.attacked[0]), 'another seed, other random starts');
    assert.ok(shareOf(alone.attacked[0]) < shareOf(alone.clean), 'the attack breaks images');
  });

  it('a stream of the same batches gives the same records as the data in memory', async () => {
    const { model, data } = setup();
    const attacks: AttackConfig[] = [PGD, { type: 'pgd-linf', eps: 0.15, steps: 1 }];
    const base = { run: 'r', dataset: 'd', model: 'mnist-cnn', activation: 'relu', seed: 2 };
    const opts = { act, seed: 2, batchSize: 40 };
    async function* stream() {
      for (const b of batches(data, { batchSize: 40 })) yield b;
    }
    const streamed = await evaluateStream(model, stream(), attacks, base, opts);
    assert.deepEqual(streamed, evaluate(model, data, attacks, base, opts));
    assert.equal(streamed[1].accuracy, accuracy(model, data, PGD, opts), 'accuracy() is the same column');
  });

  it('the sanity checks and AutoAttack count the images the loop counts', () => {
    const { logits, data } = setup(60);
    const t = modelTarget('t', trainedMnistModel().model, act, data, 3);
    assert.deepEqual(Array.from(robustFlags(t, PGD)), byHand(logits, data, PGD, 3, 100));
    const clean = correctFlags(logits, data, null);
    assert.deepEqual(Array.from(robustFlags(t, null)), Array.from(clean));
    const aa = autoAttack(logits, data, { eps: 0.1, version: 'custom', attacks: [{ type: 'apgd-ce', eps: 0.1, steps: 1 }], batchSize: 25, warn: () => {} });
    assert.equal(aa.clean, shareOf(clean));
  });

  it('a transfer attack differentiates the source and classifies with the target', () => {
    const { data } = setup(60);
    const t = modelTarget('t', trainedMnistModel().model, act, data, 3);
    // Rounding the input has a zero gradient everywhere: PGD without a random start cannot move.
    const flat = maskedTarget(t, 'quantize');
    const still: AttackConfig = { ...PGD, randomStart: false };
    assert.deepEqual(Array.from(transferFlags(flat, t, still)), Array.from(robustFlags(t, null)), 'no gradient from the source: the clean flags');
    assert.ok(shareOf(robustFlags(t, still)) < shareOf(robustFlags(t, null)), 'white-box the same attack breaks images');
  });

  it('reports each batch to the progress callback', () => {
    const { logits, data } = setup(90);
    const seen: { batches: number; images: number; correct: number[] }[] = [];
    const f = evaluatePoints(logits, data, [PGD], { batchSize: 40, onBatch: (d) => seen.push(d) });
    assert.deepEqual(seen.map((d) => [d.batches, d.images]), [[1, 40], [2, 80], [3, 90]]);
    assert.deepEqual(seen[2].correct, [f.clean, f.attacked[0]].map((c) => c.reduce((s, v) => s + v, 0)));
  });
});
