// `sat diagnose --run DIR`: the measures written into the run folder through RunFolder, read back
// on a second call with the same settings, and clear errors for bad input before any work.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { diagnosticsName, MEASURES } from '../lib/diagnostics/run';
import { train, type TrainConfig } from '../lib/train';
import { RunFolder } from '../lib/train/run-folder';
import { testBackend } from './helpers/backend';
import { sat } from './helpers/sat-in-process';

const TINY: Partial<TrainConfig> = {
  dataset: 'mnist', trainLimit: 64, testLimit: 16, model: 'mnist-cnn', width: 4, epochs: 1, batchSize: 32, lr: 0.05,
  activation: 'relu', attack: { type: 'pgd-linf', eps: 0.1, steps: 1, stepSize: 0.1 }, seed: 1, profile: 'smoke',
  evaluation: { size: 16, attacks: [{ type: 'pgd-linf', eps: 0.1, steps: 2 }] }, epochEvalSize: 0,
};

describe('sat diagnose', () => {
  let dir: string;
  before(async () => {
    await testBackend();
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sat-diagnose-')), 'run');
    (await train(TINY, { runDir: dir, quiet: true })).model.dispose();
  });

  it('writes every measure into the run folder and reads it back the second time', async () => {
    const before = tf.memory().numTensors;
    const r = await sat('diagnose', '--run', dir, '--n', '8', '--steps', '3');
    assert.equal(r.code, 0, r.err);
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    assert.match(r.out, /attacker steps +own gradient: .*broken \d+\/8 .* after 3 steps; smooth surrogate/);
    assert.match(r.out, /nonsmoothness +pre-activation sign flips x -> x_adv per layer: [\d.]+%, [\d.]+%, [\d.]+%/);
    const run = new RunFolder(dir);
    assert.deepEqual(run.listEvaluations(), MEASURES.map(diagnosticsName).sort());
    const stored = run.readEvaluation<{ settings: { n: number; attackSteps: number }; result: { own: { steps: number[] } } }>(diagnosticsName('attacker-steps'));
    assert.equal(stored.settings.n, 8);
    assert.deepEqual(stored.result.own.steps, [0, 1, 2, 3]);
    const mtime = fs.statSync(run.evaluationFile(diagnosticsName('stability'))).mtimeMs;
    const again = await sat('diagnose', '--run', dir, '--n', '8', '--steps', '3', '--measures', 'stability', '--json');
    assert.equal(again.code, 0, again.err);
    assert.equal(fs.statSync(run.evaluationFile(diagnosticsName('stability'))).mtimeMs, mtime, 'same settings: read back, not rewritten');
    assert.deepEqual(Object.keys(JSON.parse(again.out)), ['stability']);
  });

  it('names the problem and the fix for bad input, before any work', async () => {
    const none = await sat('diagnose');
    assert.equal(none.code, 2);
    assert.match(none.err, /needs --run DIR/);
    const bad = await sat('diagnose', '--run', dir, '--measures', 'stability,curvature');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /Unknown --measures 'curvature'. Valid: attacker-steps, stability/);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-diagnose-empty-'));
    const missing = await sat('diagnose', '--run', empty);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /has no config.json/);
    const eps = await sat('diagnose', '--run', dir, '--eps', '8');
    assert.equal(eps.code, 2);
    assert.match(eps.err, /--eps 8 is outside \(0, 1\]/);
  });
});
