import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { loadDataset, take } from '../lib/data';
import { attackStrength } from '../lib/eval/attack-strength';
import { checkRows, type SanityCheck } from '../lib/eval/sanity';
import { CIFAR10_ACTIVATIONS, cifar10Activations, cifarSettings } from '../lib/experiments/cifar10';
import { paperNumbers, PAPER_NUMBERS } from '../lib/experiments/paper-numbers';
import { PROFILES } from '../lib/experiments/profiles';
import {
  deltasVsBaseline,
  EXPERIMENT,
  recordsByVariant,
  reluVsSmoothBackward,
  studySettings,
  VARIANTS,
  variantOf,
} from '../lib/experiments/relu-vs-smooth-backward';
import { sanityConfigs, sanitySettings } from '../lib/experiments/sanity-checks';
import { walkthroughSettings } from '../lib/experiments/walkthrough';
import { buildModel, type Model } from '../lib/models';
import { makeConfig, runId, type TrainConfig, type TrainResult } from '../lib/train';
import { testBackend } from './helpers/backend';

/** The config runExperiment hands to train() for a run of an experiment. */
const asRun = (c: Partial<TrainConfig>, experiment: string, profile: string) => makeConfig({ ...c, experiment, profile });

describe('experiments: relu-vs-smooth-backward', () => {
  for (const profile of PROFILES) {
    it(`every run config is valid at '${profile}' and maps back to its variant`, () => {
      const configs = reluVsSmoothBackward().runs(profile);
      const seeds = studySettings(profile).seeds;
      assert.equal(configs.length, VARIANTS.length * seeds.length);
      const ids = new Set<string>();
      for (const c of configs) {
        const full = asRun(c, EXPERIMENT, profile);
        ids.add(runId(full));
        assert.equal(full.dataset, 'mnist');
        assert.equal(full.attack?.steps, 1, 'the paper trains with a one-step attack');
        const v = variantOf(full, profile);
        assert.equal(full.activation, v.activation);
      }
      assert.equal(ids.size, configs.length, 'every run has its own id');
    });
  }

  it('keeps ReLU forward in the 2x2 grid, differs only in gradients, and doubles epochs for the control', () => {
    const byKey = Object.fromEntries(VARIANTS.map((v) => [v.key, v]));
    for (const k of ['baseline', 'attacker-smooth', 'trainer-smooth', 'both-smooth'] as const) assert.equal(byKey[k].activation, 'relu');
    assert.deepEqual([byKey['attacker-smooth'].attackerGradient, byKey['attacker-smooth'].trainerGradient], ['smooth', 'own']);
    assert.deepEqual([byKey['trainer-smooth'].attackerGradient, byKey['trainer-smooth'].trainerGradient], ['own', 'smooth']);
    assert.equal(byKey['full-sat'].activation, 'psoftplus:10');
    const runs = reluVsSmoothBackward().runs('small');
    const epochs = (k: string) => runs.find((c) => variantOf(c as TrainConfig, 'small').key === k)!.epochs!;
    assert.equal(epochs('baseline-2x'), 2 * epochs('baseline'));
  });

  it('variantOf rejects a config that is no variant', () => {
    assert.throws(() => variantOf({ activation: 'gelu', attackerGradient: 'own', trainerGradient: 'own', epochs: 2 }, 'small'), /not a variant/);
  });

  it('labels records by variant and computes paired deltas to the baseline', () => {
    const rec = (seed: number, accuracy: number) => ({ run: 'r', dataset: 'mnist', model: 'mnist-cnn', activation: 'relu', seed, attack: 'pgd-linf' as const, eps: 0.2, steps: 20, accuracy, n: 10 });
    const run = (key: string, seed: number, accuracy: number): TrainResult => {
      const v = VARIANTS.find((x) => x.key === key)!;
      const config = makeConfig({ ...reluVsSmoothBackward([v]).runs('smoke')[0], seed });
      return { runDir: '', config, metrics: [], results: [rec(seed, accuracy)], reused: true, model: undefined as unknown as Model };
    };
    const runs = [run('baseline', 0, 0.5), run('baseline', 1, 0.6), run('full-sat', 0, 0.55), run('full-sat', 1, 0.75)];
    const labelled = recordsByVariant(runs, 'smoke');
    assert.equal(labelled[2].activation, VARIANTS.find((v) => v.key === 'full-sat')!.label);
    const [d] = deltasVsBaseline(runs, 'smoke', 'PGD-20 0.2');
    assert.equal(d.variant.key, 'full-sat');
    assert.ok(Math.abs(d.mean - 0.1) < 1e-9, `mean delta ${d.mean}`);
    assert.ok(Math.abs(d.std - Math.SQRT2 * 0.05) < 1e-9, `std ${d.std}`);
    assert.equal(d.seeds, 2);
  });
});

describe('experiments: sanity-checks', () => {
  for (const profile of PROFILES) {
    it(`reuses the study's ReLU baseline runs at '${profile}' (same run id)`, () => {
      const c = sanityConfigs(profile);
      const study = reluVsSmoothBackward().runs(profile);
      const ids = new Set(study.map((s) => runId(asRun(s, EXPERIMENT, profile))));
      assert.ok(ids.has(runId(makeConfig(c.relu))), 'ReLU model is a study run');
      assert.ok(ids.has(runId(makeConfig(c.source))), 'transfer source is a study run');
      assert.notEqual(makeConfig(c.source).seed, makeConfig(c.relu).seed, 'the transfer source is trained separately');
      assert.equal(makeConfig(c.silu).activation, 'silu');
      const s = sanitySettings(profile);
      assert.ok(s.steps.every((k, i) => i === 0 || k > s.steps[i - 1]), 'steps increase');
      assert.ok(Math.max(...s.eps) >= 0.5, 'the largest eps lets the attacker win on [0,1] images');
    });
  }

  it('checkRows gives one PASS/FAIL row per check', () => {
    const check = (passed: boolean): SanityCheck => ({ name: 'n', criterion: 'c', passed, points: [], detail: 'd' });
    assert.deepEqual(checkRows('m', [check(true), check(false)]).map((r) => r.verdict), ['PASS', 'FAIL']);
  });
});

describe('experiments: cifar10 and walkthrough', () => {
  for (const profile of PROFILES) {
    for (const dataset of ['cifar10', 'synthetic-cifar10'] as const) {
      it(`cifar10 configs are valid at '${profile}' on ${dataset}`, () => {
        const runs = cifar10Activations(CIFAR10_ACTIVATIONS, dataset).runs(profile);
        assert.equal(runs.length, CIFAR10_ACTIVATIONS.length * cifarSettings(profile, dataset).seeds.length);
        for (const c of runs) {
          const full = makeConfig({ ...c, experiment: 'x', profile });
          assert.equal(full.dataset, dataset);
          assert.equal(full.model, 'preact-resnet18');
          assert.ok(Math.abs(full.attack!.eps - 8 / 255) < 1e-12, 'eps 8/255');
          assert.equal(full.augment, true);
        }
      });
    }
    it(`walkthrough settings are valid at '${profile}'`, () => {
      const w = walkthroughSettings(profile);
      assert.equal(makeConfig(w.standard).attack, null, 'the model PGD fools is trained on clean images');
      makeConfig({ ...w.sat, dataset: 'mnist', model: 'mnist-cnn' });
      assert.ok(w.epsSweep.includes(0) && w.epsSweep.includes(w.eps));
    });
  }
  it('the paper profile uses the Madry et al. PGD-10 recipe with step 2/255', () => {
    const a = cifarSettings('paper', 'cifar10').base.attack!;
    assert.equal(a.steps, 10);
    assert.ok(Math.abs(a.stepSize! - 2 / 255) < 1e-12);
  });
});

describe('experiments: paper numbers', () => {
  it('every number has a source, a percentage value and a metric', () => {
    for (const p of PAPER_NUMBERS) {
      assert.ok(p.source.length > 20, `source of ${JSON.stringify(p)}`);
      assert.ok(p.value > 0 && p.value < 100);
    }
    assert.deepEqual(paperNumbers({ model: 'ResNet-50', metric: 'PGD-200' }).map((p) => p.value), [33.0, 42.3]);
  });
});

describe('attack strength (attacker-side study)', () => {
  let model: Model;
  before(async () => {
    await testBackend();
    model = buildModel('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10, width: 4, seed: 1 });
  });
  after(() => model.dispose());

  it('gives clean, exact and one row per a; attacks raise the loss; a huge a matches the exact gradient', () => {
    const data = take(loadDataset('mnist', { testLimit: 40 }).test, 40);
    const attack = { type: 'pgd-linf' as const, eps: 0.1, steps: 1, stepSize: 0.125, randomStart: true };
    const before = tf.memory().numTensors;
    const rows = attackStrength(model, data, attack, { surrogateAs: [1, 1e6], seed: 5, batchSize: 16 });
    assert.equal(tf.memory().numTensors, before, 'no leaked tensors');
    assert.deepEqual(rows.map((r) => r.gradient), ['clean', 'exact', 'smooth', 'smooth']);
    assert.ok(rows.every((r) => r.n === 40 && r.accuracy >= 0 && r.accuracy <= 1 && Number.isFinite(r.loss)));
    const [clean, exact, soft, sharp] = rows;
    assert.ok(exact.loss > clean.loss, `attack raises the loss (${clean.loss} -> ${exact.loss})`);
    assert.ok(soft.loss > clean.loss);
    // sigmoid(1e6·x) is ReLU's step derivative except within ~1e-4 of 0 (where a few signs of
    // the input gradient can flip): nearly the same examples. a = 1 is a different direction.
    const gap = (r: typeof exact) => Math.abs(r.loss - exact.loss) / exact.loss;
    assert.ok(gap(sharp) < 1e-3, `a=1e6 ${sharp.loss} vs exact ${exact.loss}`);
    assert.ok(gap(soft) > 10 * gap(sharp), `a=1 ${soft.loss} should differ from exact ${exact.loss} far more than a=1e6 ${sharp.loss}`);
  });

  it('rejects a non-positive a with a clear error', () => {
    const data = take(loadDataset('mnist', { testLimit: 4 }).test, 4);
    assert.throws(() => attackStrength(model, data, { type: 'fgsm', eps: 0.1 }, { surrogateAs: [0] }), /positive numbers/);
  });
});
