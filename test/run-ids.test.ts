// The planned run ids of the studies whose runs are stored or being trained: a run id is the
// hash of its whole config, so a refactor that changes a config by one byte orphans the stored
// runs and the runs a grid is training. This pins them (test/fixtures/run-ids.json).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gradientQualityTraces } from '../lib/experiments/gradient-quality';
import { mnistReluVsSilu } from '../lib/experiments/mnist-relu-vs-silu';
import { PROFILES } from '../lib/experiments/profiles';
import { reluVsSmoothBackward } from '../lib/experiments/relu-vs-smooth-backward';
import { scalingStudy } from '../lib/experiments/scaling';
import { planGrid } from '../lib/grid';

const FIXTURE = path.join(__dirname, 'fixtures', 'run-ids.json');

/** Every planned run id by experiment and profile (scaling's paper profile names a data folder found at run time: left out). */
function plannedIds(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const exp of [reluVsSmoothBackward(), scalingStudy(), mnistReluVsSilu(), gradientQualityTraces()]) {
    for (const profile of PROFILES) {
      if (exp.name === 'scaling' && profile === 'paper') continue;
      out[`${exp.name}/${profile}`] = planGrid(exp, profile).runs.map((r) => r.id);
    }
  }
  return out;
}

describe('run ids of the stored and running studies', () => {
  it('are unchanged (a changed config would orphan stored runs and a running grid)', () => {
    const now = plannedIds();
    if (process.env.SAT_WRITE_RUN_IDS) fs.writeFileSync(FIXTURE, JSON.stringify(now, null, 1) + '\n');
    const pinned = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Record<string, string[]>;
    for (const key of Object.keys(pinned)) {
      assert.deepEqual(now[key], pinned[key], `${key}: planned run ids changed. If the config change is meant, retrain or move the stored runs, then rewrite the fixture: SAT_WRITE_RUN_IDS=1 npx mocha test/run-ids.test.ts`);
    }
    assert.deepEqual(Object.keys(now), Object.keys(pinned));
  });
});
