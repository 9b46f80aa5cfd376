import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import { makeAttack } from '../lib/attacks';
import { buildModel } from '../lib/models';
import { isDecayed } from '../lib/models/layers';
import { costOf, runCost } from '../lib/report/run-cost';
import { makeConfig, train, type TrainConfig } from '../lib/train';
import { RunFolder } from '../lib/train/run-folder';
import { Sgd } from '../lib/train/optimizer';
import { loadCheckpoint, loadCheckpointState, saveCheckpoint } from '../lib/train/run-checkpoint';
import { bestValEpoch, loadKeptWeights } from '../lib/train/keep-best';
import { restoreModel, runData } from '../lib/train/open-run';
import { take } from '../lib/data';
import { accuracy } from '../lib/eval';
import { learningRate } from '../lib/train/schedule';
import { satStep } from '../lib/train/step';
import { testBackend } from './helpers/backend';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sat-train-'));

/** A run small enough for a test: 128 digits, width 4, 2 epochs. */
const TINY: Partial<TrainConfig> = {
  dataset: 'mnist', trainLimit: 128, testLimit: 64, model: 'mnist-cnn', width: 4, epochs: 2, batchSize: 32, lr: 0.05,
  activation: 'silu', attack: { type: 'pgd-linf', eps: 0.2, steps: 2, stepSize: 0.1 }, augment: false, seed: 3,
  evaluation: { size: 64, attacks: [{ type: 'pgd-linf', eps: 0.2, steps: 2 }] }, epochEvalSize: 32,
};

describe('training', () => {
  before(testBackend);

  it('a SAT step leaves tf.memory().numTensors unchanged', () => {
    const model = buildModel('preact-resnet18', { inputShape: [16, 16, 3], numClasses: 10, width: 4, seed: 0 });
    const opt = new Sgd(model.params, { momentum: 0.9, nesterov: true, weightDecay: 5e-4, decays: isDecayed });
    const x = tf.randomUniform([4, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 3], 'int32');
    const act = makeActivation('relu', { gradient: 'smooth' });
    const opts = { attack: makeAttack({ type: 'pgd-linf', eps: 0.03, steps: 2 }), attackerAct: act, trainerAct: makeActivation('relu'), labelSmoothing: 0.1, lr: 0.1, seed: 1 };
    const before = tf.memory().numTensors;
    const paramsBefore = model.params.get('stem/conv/kernel')!.dataSync().slice();
    const statsBefore = model.state.get('final/bn/moving_mean')!.dataSync().slice();
    for (let i = 0; i < 2; i++) satStep(model, opt, x, y, opts);
    assert.equal(tf.memory().numTensors, before);
    assert.notDeepEqual(model.params.get('stem/conv/kernel')!.dataSync(), paramsBefore, 'weights moved');
    assert.notDeepEqual(model.state.get('final/bn/moving_mean')!.dataSync(), statsBefore, 'BN statistics updated in training mode');
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });

  it('the attack sees BN in inference mode: running statistics do not change during perturb', () => {
    const model = buildModel('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10, width: 4, seed: 0 });
    const act = makeActivation('relu');
    const x = tf.randomUniform([4, 28, 28, 1]) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 3], 'int32');
    const stats = [...model.state.values()].map((v) => v.dataSync().slice());
    const adv = makeAttack({ type: 'pgd-linf', eps: 0.1, steps: 3 }).perturb((t) => model.apply(t, { training: false, act }), x, y);
    [...model.state.values()].forEach((v, i) => assert.deepEqual(v.dataSync(), stats[i]));
    tf.dispose([x, y, adv]);
    model.dispose();
  });

  it('weight decay touches kernels only; SGD matches the formula', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const b = tf.variable(tf.tensor1d([1, -2]));
    const opt = new Sgd(new Map([['fc/kernel', w], ['fc/bias', b]]), { momentum: 0.5, nesterov: false, weightDecay: 0.1, decays: isDecayed });
    const g = { 'fc/kernel': tf.tensor1d([0.5, 0.5]), 'fc/bias': tf.tensor1d([0.5, 0.5]) };
    opt.step(g, 0.1);
    opt.step(g, 0.1);
    // kernel: v1 = g + wd·w0 ; w1 = w0 − lr·v1 ; v2 = 0.5·v1 + g + wd·w1 ; w2 = w1 − lr·v2
    const ref = (w0: number, wd: number) => {
      const v1 = 0.5 + wd * w0;
      const w1 = w0 - 0.1 * v1;
      const v2 = 0.5 * v1 + 0.5 + wd * w1;
      return w1 - 0.1 * v2;
    };
    Array.from(w.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - ref([1, -2][i], 0.1)) < 1e-6));
    Array.from(b.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - ref([1, -2][i], 0)) < 1e-6));
    tf.dispose([w, b, ...Object.values(g)]);
    opt.dispose();
  });

  it('schedules: warm-up is linear, cosine ends near 0, step divides at milestones', () => {
    assert.ok(Math.abs(learningRate({ type: 'cosine', warmupEpochs: 2 }, 1, 1, 10) - 0.5) < 1e-3);
    assert.ok(learningRate({ type: 'cosine' }, 1, 9.99, 10) < 1e-3);
    assert.equal(learningRate({ type: 'step', milestones: [3, 6], gamma: 0.1 }, 1, 6.5, 10), 0.1 ** 2);
    assert.equal(learningRate({ type: 'constant' }, 0.3, 5, 10), 0.3);
  });

  it('resume after a checkpoint gives the same next-epoch metrics as an uninterrupted run', async () => {
    const a = await train(TINY, { runDir: path.join(tmp(), 'a'), quiet: true });
    const bDir = path.join(tmp(), 'b');
    const b1 = await train(TINY, { runDir: bDir, quiet: true, stopAfterEpochs: 1 });
    b1.model.dispose();
    assert.equal(b1.metrics.length, 1);
    const b2 = await train(TINY, { runDir: bDir, quiet: true, resume: true });
    assert.equal(b2.metrics.length, 2);
    for (const k of ['loss', 'acc', 'lr', 'test_clean_acc', 'test_adv_acc'] as const) assert.equal(b2.metrics[1][k], a.metrics[1][k], k);
    assert.deepEqual(b2.results.map((r) => r.accuracy), a.results.map((r) => r.accuracy));
    assert.equal(fs.readFileSync(path.join(bDir, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2);
    // Each start records what its part cost; together they make the whole run (lib/report/run-cost).
    const entries = new RunFolder(bDir).readCost();
    assert.deepEqual(entries.map((e) => [e.stage, e.fromEpoch]), [['training', 0], ['training', 1], ['final evaluation', undefined]]);
    assert.ok(entries.every((e) => e.cpuSeconds > 0 && e.seconds > 0 && e.threads >= 1), JSON.stringify(entries));
    const cost = runCost(bDir)!;
    assert.ok(cost.complete && Math.abs(cost.total - entries.reduce((s, e) => s + e.cpuSeconds, 0)) < 1e-9);
    assert.equal(costOf(entries.slice(1))!.complete, false, 'a run resumed from before cost was recorded is not complete');
    // A finished run with the same config is reused, not retrained.
    const again = await train(TINY, { runDir: bDir, quiet: true });
    assert.ok(again.reused);
    assert.deepEqual(again.results, JSON.parse(JSON.stringify(b2.results)), "the saved results are returned");
    for (const r of [a, b2, again]) r.model.dispose();
  });

  it("keep 'best-val-adv': the epoch with the best validation PGD accuracy is the model, evaluated, reused and resumed to the same weights", async () => {
    // Seed 3 at lr 0.05 peaks on the validation split at the third of four epochs (measured).
    const KEEP: Partial<TrainConfig> = { ...TINY, epochs: 4, valSize: 64, keep: 'best-val-adv' };
    const aDir = path.join(tmp(), 'a');
    const a = await train(KEEP, { runDir: aDir, quiet: true });
    const vals = a.metrics.map((m) => m.val_adv_acc!);
    const best = bestValEpoch(a.metrics)!;
    assert.ok(best < 3 && vals[best] > vals[3] && vals[best] === Math.max(...vals), `the test needs a peak before the last epoch: ${vals}`);
    const run = new RunFolder(aDir);
    assert.equal(run.modelFile(), run.files.best);
    assert.equal(loadCheckpointState(run.files.best, {}).epoch, best + 1);
    assert.ok(fs.statSync(run.files.best).size < 0.6 * fs.statSync(run.files.checkpoint).size, 'the kept epoch holds no optimizer state');
    const data = await runData(a.config);
    const kept = restoreModel(a.config, data, run.files.best);
    const last = restoreModel(a.config, data, run.files.checkpoint);
    const weights = (m: { params: Map<string, tf.Variable> }) => [...m.params.values()].flatMap((v) => Array.from(v.dataSync()));
    assert.deepEqual(weights(a.model), weights(kept), 'the returned model holds the kept epoch');
    assert.notDeepEqual(weights(last), weights(kept), 'checkpoint.bin stays the last epoch (to resume from)');
    // The final evaluation measured the kept weights, not the last epoch's.
    const test = take(data.test, 64);
    const clean = (m: typeof kept) => accuracy(m, test, null, { act: makeActivation('silu'), seed: a.config.seed });
    assert.notEqual(clean(last), clean(kept), 'the two epochs must differ on the test images for this check to bite');
    assert.equal(a.results.find((r) => r.attack === 'clean')!.accuracy, clean(kept));
    // A resumed run keeps the same epoch, with the same weights; a reused one loads them.
    const bDir = path.join(tmp(), 'b');
    (await train(KEEP, { runDir: bDir, quiet: true, stopAfterEpochs: best + 1 })).model.dispose();
    const b = await train(KEEP, { runDir: bDir, quiet: true, resume: true });
    assert.deepEqual(weights(b.model), weights(kept));
    const again = await train(KEEP, { runDir: bDir, quiet: true });
    assert.ok(again.reused);
    assert.deepEqual(weights(again.model), weights(kept));
    // Without its kept epoch a run is not finished (its model is missing).
    assert.ok(run.isFinishedFor(a.config));
    fs.renameSync(run.files.best, `${run.files.best}.away`);
    assert.equal(run.isFinishedFor(a.config), false, 'no best.bin: not finished');
    fs.renameSync(`${run.files.best}.away`, run.files.best);
    // A best.bin that is not the epoch the metrics name is refused, with the fix.
    fs.copyFileSync(run.files.checkpoint, run.files.best);
    assert.throws(() => loadKeptWeights(run, a.metrics, { params: kept.params }), /holds the weights after epoch 4, but the metrics name epoch \d as the best.*--force/);
    for (const m of [a.model, b.model, again.model, kept, last]) m.dispose();
  });

  it('checkpoints are atomic and a corrupt one gives a clear error', () => {
    const dir = tmp();
    const file = path.join(dir, 'checkpoint.bin');
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    saveCheckpoint(file, { epoch: 4, groups: { params: new Map([['w', v]]) } });
    assert.deepEqual(fs.readdirSync(dir), ['checkpoint.bin'], 'no temporary file left behind');
    tf.tidy(() => v.assign(tf.zeros([3])));
    assert.equal(loadCheckpoint(file, { params: new Map([['w', v]]) }), 4);
    assert.deepEqual(Array.from(v.dataSync()), [1, 2, 3]);
    fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 30));
    assert.throws(() => loadCheckpoint(file, { params: new Map([['w', v]]) }), /corrupt or not a sat checkpoint/);
    fs.writeFileSync(file, 'hello');
    assert.throws(() => loadCheckpoint(file, { params: new Map([['w', v]]) }), /corrupt.*bad magic/);
    assert.throws(() => loadCheckpoint(path.join(dir, 'missing.bin'), {}), /No checkpoint at .*missing.bin/);
    v.dispose();
  });

  it('a diverging run stops with a clear NaN-loss error', async () => {
    await assert.rejects(
      train({ ...TINY, lr: 1e30, epochs: 1, epochEvalSize: 0 }, { runDir: path.join(tmp(), 'nan'), quiet: true }),
      /loss became (NaN|Infinity).*lower the learning rate/,
    );
  });

  it('config validation names the problem and the fix', () => {
    assert.throws(() => makeConfig({ activation: 'tanhh' }), /Unknown activation 'tanhh'/);
    assert.throws(() => makeConfig({ epochs: 0 }), /epochs must be a positive integer/);
    assert.throws(() => makeConfig({ keep: 'best' as never }), /keep must be one of best-val-adv/);
    assert.throws(() => makeConfig({ keep: 'best-val-adv', epochEvalSize: 10 }), /set valSize.*or leave keep out/);
    assert.throws(() => makeConfig({ attack: { type: 'pgd-linf', eps: 3 } }), /outside \[0, 1\]/);
    assert.throws(() => makeConfig({ trainerGradient: 'x' as never }), /Unknown trainerGradient 'x'/);
    assert.throws(() => makeConfig({ lr: -1 }), /learning rate must be a positive number/);
    assert.throws(() => makeConfig({ attack: { type: 'apgd-ce', eps: 0.1 } }), /evaluation attack. Valid training attacks: fgsm, pgd-linf, pgd-l2/);
  });
});
