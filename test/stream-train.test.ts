// Mid-epoch checkpoints with exact resume, step budgets and the official training attack, on an
// in-memory data set (with augmentation) and on a data set streamed from a JPEG folder.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { streamDatasetName } from '../lib/data/stream/dataset';
import { generateJpegFolder } from '../lib/data/stream/generate';
import type { Model } from '../lib/models';
import { train, TrainingInterrupted, type TrainConfig } from '../lib/train';
import { StepClock } from '../lib/train/mid-epoch';
import { testBackend } from './helpers/backend';

const weights = (m: Model) => [...m.params.values(), ...m.state.values()].map((v) => Array.from(v.dataSync()));
const metricsLines = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
  const { images_per_s: _r, seconds: _s, ...rest } = JSON.parse(l);
  return rest;
});

/** Trains `c` uninterrupted into one folder and, into another, in pieces of `pieces` steps with mid-epoch checkpoints. */
async function interruptedVsUninterrupted(c: Partial<TrainConfig>, pieces: number, tmp: string) {
  const whole = await train(c, { runDir: path.join(tmp, 'whole'), quiet: true });
  const dir = path.join(tmp, 'pieces');
  let stops = 0;
  for (;;) {
    try {
      const r = await train(c, { runDir: dir, quiet: true, resume: stops > 0, stopAfterSteps: pieces });
      return { whole, pieces: r, stops };
    } catch (e) {
      if (!(e instanceof TrainingInterrupted)) throw e;
      stops++;
      assert.ok(stops < 20, 'too many stops');
    }
  }
}

describe('mid-epoch checkpoints and streamed training', () => {
  let tmp: string;
  before(async () => {
    await testBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-stream-train-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('StepClock: a checkpoint every N steps or M minutes, and a stop after the time budget', () => {
    let now = 0;
    const clock = new StepClock({ checkpointEverySteps: 3, checkpointEveryMinutes: 1, maxMinutes: 5 }, () => now);
    const seen = [];
    for (let i = 0; i < 4; i++) {
      now += 10_000;
      seen.push(clock.afterStep().checkpoint);
    }
    assert.deepEqual(seen, [false, false, true, true], 'step 3 by count; step 4 because the count is not reset without checkpointed()');
    clock.checkpointed();
    now += 61_000;
    assert.deepEqual(clock.afterStep(), { checkpoint: true }, 'a minute passed');
    clock.checkpointed();
    now = 5 * 60_000;
    assert.deepEqual(clock.afterStep(), { checkpoint: true, stop: 'max-minutes' });
    assert.throws(() => new StepClock({ checkpointEverySteps: 0 }), /checkpoint every steps must be a positive integer, got 0/);
    assert.throws(() => new StepClock({ maxMinutes: -1 }), /max minutes must be a positive number/);
  });

  it('in memory, with augmentation and the clean-start share: stopped mid-epoch and resumed, the weights equal an uninterrupted run', async () => {
    const c: Partial<TrainConfig> = {
      dataset: 'synthetic-cifar10', trainLimit: 96, testLimit: 32, model: 'mnist-cnn', width: 4, epochs: 2, batchSize: 16, lr: 0.05,
      activation: 'silu', attack: { type: 'pgd-linf', eps: 8 / 255, steps: 1, stepSize: 8 / 255, randomStart: true }, attackCleanStart: 0.5,
      augment: true, seed: 4, evaluation: { size: 32, attacks: [{ type: 'pgd-linf', eps: 8 / 255, steps: 2 }] },
    };
    const before = tf.memory().numTensors;
    // 6 steps per epoch, pieces of 4: stops at epoch 1 step 4 and epoch 2 step 2, both mid-epoch.
    const r = await interruptedVsUninterrupted(c, 4, path.join(tmp, 'memory'));
    assert.equal(r.stops, 2);
    assert.deepEqual(weights(r.pieces.model), weights(r.whole.model));
    assert.deepEqual(metricsLines(r.pieces.runDir), metricsLines(r.whole.runDir), 'the same metrics lines (loss, accuracy, lr, step)');
    assert.deepEqual(r.pieces.results.map((x) => x.accuracy), r.whole.results.map((x) => x.accuracy));
    r.whole.model.dispose();
    r.pieces.model.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  });

  it('a clean-start share of 0.5 changes the run (the option is used), and maxSteps truncates it then evaluates', async () => {
    const base: Partial<TrainConfig> = {
      dataset: 'mnist', trainLimit: 64, testLimit: 32, model: 'mnist-cnn', width: 4, epochs: 2, batchSize: 16, lr: 0.05,
      attack: { type: 'pgd-linf', eps: 0.2, steps: 1, stepSize: 0.2, randomStart: true }, seed: 1, evaluation: { size: 32, attacks: [] },
    };
    const a = await train(base, { runDir: path.join(tmp, 'a'), quiet: true });
    const b = await train({ ...base, attackCleanStart: 0.5 }, { runDir: path.join(tmp, 'b'), quiet: true });
    assert.notDeepEqual(weights(a.model), weights(b.model));
    const t = await train({ ...base, maxSteps: 5 }, { runDir: path.join(tmp, 't'), quiet: true });
    assert.deepEqual(t.metrics.map((m) => m.step), [4, 5], '4 steps per epoch: epoch 1 whole, epoch 2 cut at step 5');
    assert.equal(t.results.length, 1, 'evaluated (clean)');
    for (const r of [a, b, t]) r.model.dispose();
  });

  it('streamed from a JPEG folder: workers, a mid-epoch checkpoint and resume give the weights of an uninterrupted run; evaluation streams the val split', async () => {
    const root = await generateJpegFolder(path.join(tmp, 'synthetic-tiny-jpegs'), { classes: 3, perClass: 10, valPerClass: 4, width: 40, height: 30, seed: 2 });
    const saved = process.env.IMAGENET_DIR;
    process.env.IMAGENET_DIR = root;
    try {
      const dataset = streamDatasetName(path.basename(root), { size: 16, cropScale: [0.35, 1], evalCrop: 'resnet-official' });
      const c: Partial<TrainConfig> = {
        dataset, model: 'mnist-cnn', width: 4, epochs: 2, batchSize: 8, lr: 0.05, activation: 'relu', augment: true, seed: 7,
        attack: { type: 'pgd-linf', eps: 4 / 255, steps: 1, stepSize: 4 / 255, randomStart: true }, attackCleanStart: 0.2,
        evaluation: { size: 12, attacks: [{ type: 'pgd-linf', eps: 4 / 255, steps: 2, stepSize: 1 / 255 }] },
      };
      const before = tf.memory().numTensors;
      // 30 images, batch 8: 4 steps per epoch; pieces of 3 stop at epoch 1 step 3 and epoch 2 step 2.
      const r = await interruptedVsUninterrupted(c, 3, path.join(tmp, 'stream'));
      assert.equal(r.stops, 2);
      assert.deepEqual(weights(r.pieces.model), weights(r.whole.model));
      assert.deepEqual(metricsLines(r.pieces.runDir), metricsLines(r.whole.runDir));
      assert.deepEqual(r.whole.results.map((x) => [x.attack, x.n]), [['clean', 12], ['pgd-linf', 12]]);
      assert.equal(r.whole.results[0].synthetic, true);
      r.whole.model.dispose();
      r.pieces.model.dispose();
      assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
      await assert.rejects(train({ ...c, augment: false }, { runDir: path.join(tmp, 'noaug'), quiet: true }), /streamed training always uses the random-resized crop/);
    } finally {
      if (saved === undefined) delete process.env.IMAGENET_DIR;
      else process.env.IMAGENET_DIR = saved;
    }
  });
});
