import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Experiment } from '../lib/experiments/types';
import { runExperiment } from '../lib/run-experiment';
import { isComplete, planGrid } from '../lib/grid';
import { storedRunDir, storedRunIds, storeRun, studyStoreDir } from '../lib/results/store';
import type { TrainConfig } from '../lib/train';
import { RunFolder } from '../lib/train/run-folder';
import { testBackend } from './helpers/backend';

/** A tiny stored study: clean-trained MNIST runs, each with AutoAttack on 8 test images declared. */
function storedStudy(seeds: number[]): Experiment {
  const base: Partial<TrainConfig> = {
    dataset: 'mnist', trainLimit: 128, testLimit: 50, model: 'mnist-cnn', width: 4, epochs: 1, batchSize: 64,
    attack: null, evaluation: { size: 50, attacks: [{ type: 'pgd-linf', eps: 0.1, steps: 2 }] },
  };
  return {
    name: 'store-test', title: 'results store test',
    runs: () => seeds.map((seed) => ({ ...base, seed })),
    evaluations: () => [{ kind: 'autoattack', norm: 'linf', eps: 0.1, n: 8, pgdSteps: 2 }],
    storedProfiles: ['smoke'],
  };
}

describe('results store', function () {
  this.timeout(600_000);
  let tmp = '';
  const saved = { runs: process.env.SAT_RUNS_DIR, grids: process.env.SAT_GRIDS_DIR, results: process.env.SAT_RESULTS_DIR, missing: process.env.SAT_MISSING_RUNS };
  before(async () => {
    await testBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-store-'));
    process.env.SAT_RUNS_DIR = path.join(tmp, 'runs');
    process.env.SAT_GRIDS_DIR = path.join(tmp, 'grids');
    process.env.SAT_RESULTS_DIR = path.join(tmp, 'results');
  });
  after(() => {
    for (const [k, v] of Object.entries({ SAT_RUNS_DIR: saved.runs, SAT_GRIDS_DIR: saved.grids, SAT_RESULTS_DIR: saved.results, SAT_MISSING_RUNS: saved.missing })) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('stores a finished run whole, with its declared evaluation and per-image flags, and renders from the store without training', async () => {
    const exp = storedStudy([0]);
    const first = await runExperiment(exp, 'smoke', { executor: 'inline', quiet: true, log: () => {} });
    const config = first.runs[0].config;
    const dir = storedRunDir(config)!;
    assert.equal(first.runs[0].runDir, dir, 'the run is read from the store once stored');
    assert.deepEqual(storedRunIds('store-test', 'smoke'), [path.basename(dir)]);
    const folder = new RunFolder(dir);
    assert.ok(folder.isFinishedFor(config) && folder.hasCheckpoint());
    const aa = folder.readEvaluation<{ n: number; robust: number[]; pgd: { steps: number; robust: number[] } }>('autoattack-linf-0.1');
    assert.equal(aa.n, 8);
    assert.equal(aa.robust.length, 8);
    assert.equal(aa.pgd.steps, 2);
    assert.equal(aa.pgd.robust.length, 8);
    assert.ok(aa.robust.every((f) => f === 0 || f === 1), 'flags are 0/1 per image');
    assert.ok(isComplete(planGrid(exp, 'smoke').runs[0]), 'the grid finds it complete in the store');

    // A fresh clone has no data/runs: the store alone renders the study, training disabled.
    fs.rmSync(process.env.SAT_RUNS_DIR!, { recursive: true, force: true });
    const again = await runExperiment(exp, 'smoke', { executor: 'inline', quiet: true, log: () => {}, missing: 'fail' });
    assert.equal(again.runs[0].reused, true);
    assert.deepEqual(again.runs[0].results, JSON.parse(JSON.stringify(first.runs[0].results)));
    assert.equal(fs.existsSync(process.env.SAT_RUNS_DIR!), false, 'nothing was trained into data/runs');
  });

  it("missing runs: 'fail' names them and the command that trains them; 'skip' renders k of N", async () => {
    const exp = storedStudy([0, 1]);
    await assert.rejects(runExperiment(exp, 'smoke', { executor: 'inline', quiet: true, log: () => {}, missing: 'fail' }), /1 of 2 runs of store-test at smoke .*sat grid submit store-test --profile smoke/);
    const partial = await runExperiment(exp, 'smoke', { executor: 'inline', quiet: true, log: () => {}, missing: 'skip' });
    assert.equal(partial.runs.length, 1);
    assert.equal(partial.total, 2);
    assert.deepEqual(partial.pending.map((r) => r.config.seed), [1]);
  });

  it('refuses to store an unfinished run, and a run of no study', () => {
    const empty = path.join(tmp, 'unfinished');
    fs.mkdirSync(empty, { recursive: true });
    const c = planGrid(storedStudy([5]), 'smoke').runs[0].config;
    assert.throws(() => storeRun(empty, c), /not a finished run of this config/);
    assert.equal(storedRunDir({ ...c, experiment: undefined }), null);
    assert.match(studyStoreDir('x', 'small'), /results\/x-small$/);
  });
});
