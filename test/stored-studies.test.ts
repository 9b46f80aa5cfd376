// The committed results store holds notebook 01's and 03's small studies: a fresh clone renders
// them without training (SAT_MISSING_RUNS=fail would throw on any run the store lacks), and
// `sat eval --run` reads a stored run.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { reluVsSmoothBackward } from '../lib/experiments/relu-vs-smooth-backward';
import { scalingStudy } from '../lib/experiments/scaling';
import { isComplete, planGrid } from '../lib/grid';
import { runExperiment } from '../lib/run-experiment';
import { studyStoreDir } from '../lib/results/store';
import { testBackend } from './helpers/backend';
import { sat } from './helpers/sat-in-process';
import { findFashionMnist } from '../lib/data/fashion-mnist';

describe('results store: the committed small studies of notebooks 01 and 03', function () {
  this.timeout(600_000);
  before(async function () {
    if (!findFashionMnist()) {
      console.log('    (skipped: Fashion-MNIST is not installed; .ci/run installs Debian dataset-fashion-mnist)');
      this.skip();
    }
    await testBackend();
  });

  for (const [exp, notebook] of [[reluVsSmoothBackward(), '01'], [scalingStudy(), '03']] as const) {
    it(`notebook ${notebook} (${exp.name}) at small: every run is in the store and loads with training disabled`, async () => {
      const grid = planGrid(exp, 'small');
      const store = studyStoreDir(exp.name, 'small');
      const missing = grid.runs.filter((r) => path.dirname(r.runDir) !== store || !isComplete(r));
      assert.deepEqual(missing.map((r) => r.id), [], `runs missing from ${store}: train them with sat grid submit ${exp.name} --profile small`);
      for (const r of grid.runs) assert.ok(fs.existsSync(path.join(r.runDir, 'provenance.json')), `${r.id} records who made it`);
      const before = tf.memory().numTensors;
      const study = await runExperiment(exp, 'small', { executor: 'inline', quiet: true, log: () => {}, missing: 'fail' });
      assert.equal(tf.memory().numTensors, before, 'loading stored runs leaks no tensors');
      assert.equal(study.runs.length, grid.runs.length);
      assert.ok(study.runs.every((r) => r.reused && path.dirname(r.runDir) === store));
    });
  }

  it('sat eval --run and sat export read a stored run and leave the store unchanged', async () => {
    const run = planGrid(reluVsSmoothBackward(), 'small').runs[0].runDir;
    const before = fs.readdirSync(run).sort();
    const evaluated = await sat('eval', '--run', run, '--eps', '0.1', '--steps', '2', '--json');
    assert.equal(evaluated.code, 0, evaluated.err);
    const records = evaluated.out.trim().split('\n').filter((l) => l.startsWith('{') || l.startsWith('[')).map((l) => JSON.parse(l));
    assert.ok(records.length > 0, evaluated.out);
    const out = path.join(os.tmpdir(), `sat-stored-${process.pid}.safetensors`);
    try {
      const exported = await sat('export', '--run', run, '--format', 'safetensors', '--out', out, '--force');
      assert.equal(exported.code, 0, exported.err);
      assert.ok(fs.statSync(out).size > 100_000);
    } finally {
      fs.rmSync(out, { force: true });
    }
    assert.deepEqual(fs.readdirSync(run).sort(), before);
  });
});
