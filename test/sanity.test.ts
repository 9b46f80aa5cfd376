import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AttackConfig } from '../lib/attacks';
import type { AutoAttackResult } from '../lib/eval/autoattack';
import { autoAttackGap, minimumDiscordant, oneSidedMcNemar, onlyIn, stepsCurveFromFlags, THRESHOLDS } from '../lib/eval/sanity';
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import { take } from '../lib/data';
import { modelTarget } from '../lib/eval/sanity';
import { findStudyRuns, runChecks, sanitySettings, storedAutoAttack, type SanitySettings } from '../lib/experiments/sanity-checks';
import { AUTOATTACK_EVALUATION } from '../lib/experiments/relu-vs-smooth-backward';
import { RunFolder } from '../lib/train/run-folder';
import { testBackend } from './helpers/backend';
import { trainedMnistModel } from './helpers/tiny-mnist';
import { countCheckDesign } from '../lib/report/stats';
import { makeConfig, runId } from '../lib/train/config';

const PGD: AttackConfig = { type: 'pgd-linf', eps: 0.1, steps: 20 };

/** n flags, the first `ones` set. */
const flags = (n: number, ones: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (i >= from && i < from + ones ? 1 : 0));

function fakeAutoAttack(robust: Uint8Array): AutoAttackResult {
  return { version: 'standard', eps: 0.1, norm: 'linf', n: robust.length, clean: 1, stages: [], robustAccuracy: robust.reduce((s, v) => s + v, 0) / robust.length, robust, warnings: [], seconds: 0 };
}

describe('sanity checks: counts of images, not fractions', () => {
  it("the issue's case: 57 vs 56 robust images of 100 is a gap of exactly one image, judged on counts", () => {
    // 1 step leaves images 0..56 robust, 20 steps images 0..55: one image broken only by more steps
    const c = stepsCurveFromFlags([1, 20], [flags(100, 57), flags(100, 56)], flags(100, 56), PGD);
    assert.match(c.detail, /57 of 100 robust, 20 steps: 56; 1 broken only by 20 steps, 0 only by 1 \(p 0\.500\)/);
    assert.equal(c.passed, false, 'one image is no evidence that more steps help (p = 0.5)');
    // 5 images all one way reach p = 1/32 < 0.05: PASS, decided on integers
    const d = stepsCurveFromFlags([1, 20], [flags(100, 57), flags(100, 52)], flags(100, 52), PGD);
    assert.equal(d.passed, true, d.detail);
    assert.equal(minimumDiscordant(0.05), 5);
    const e = stepsCurveFromFlags([1, 20], [flags(100, 57), flags(100, 53)], flags(100, 53), PGD);
    assert.equal(e.passed, false, 'four images all one way: p = 1/16');
  });

  it('(d) fails when a later step count leaves significantly more images robust (a rising curve)', () => {
    const c = stepsCurveFromFlags([1, 5, 20], [flags(100, 60), flags(100, 40), flags(100, 50)], flags(100, 50), PGD);
    assert.equal(c.passed, false, c.detail);
    assert.match(c.detail, /largest rise 5->20 steps: \+10\/-0/);
    assert.match(c.power, /random-start noise at 20 steps: 0 of 100 images differ/);
  });

  it('(a) compares per-image flags against a binomial bound: threshold - 1 images pass, threshold images fail', () => {
    const n = 100;
    const d = countCheckDesign(n, THRESHOLDS.autoAttackNullRate, { falseAlarm: THRESHOLDS.falseAlarm });
    const pgd = flags(n, 60);
    const pass = autoAttackGap(pgd, PGD, fakeAutoAttack(flags(n, 60 - (d.threshold - 1))));
    const fail = autoAttackGap(pgd, PGD, fakeAutoAttack(flags(n, 60 - d.threshold)));
    assert.equal(pass.passed, true, pass.detail);
    assert.equal(fail.passed, false, fail.detail);
    assert.match(fail.threshold, new RegExp(`fewer than ${d.threshold} images of 100`));
    assert.match(fail.power, /80% power against a true rate of/);
    // images AutoAttack leaves robust that PGD broke do not offset the ones it breaks
    const shifted = autoAttackGap(pgd, PGD, fakeAutoAttack(flags(n, 60, d.threshold)));
    assert.equal(shifted.passed, false, 'same count robust, but different images');
    assert.throws(() => autoAttackGap(pgd, PGD, fakeAutoAttack(flags(50, 10))), /same images/);
  });

  it('onlyIn and the one-sided McNemar test', () => {
    assert.equal(onlyIn(Uint8Array.from([1, 1, 0, 0]), Uint8Array.from([1, 0, 1, 0])), 1);
    assert.ok(Math.abs(oneSidedMcNemar(5, 0) - 1 / 32) < 1e-12);
    assert.ok(Math.abs(oneSidedMcNemar(3, 1) - 5 / 16) < 1e-12, 'P(X >= 3), X ~ Bin(4, 1/2)');
    assert.equal(oneSidedMcNemar(0, 0), 1);
    assert.throws(() => onlyIn(new Uint8Array(2), new Uint8Array(3)), /same images/);
  });
});

describe('sanity checks at medium: the study models, never trained here', () => {
  it('finds finished study runs by their exact config and lists the others as pending', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sanity-study-'));
    try {
      const s = sanitySettings('medium');
      assert.equal(s.size, 1000);
      assert.equal(s.studyModels, true);
      assert.deepEqual(s.variants, ['baseline', 'trainer-smooth', 'sat-silu', 'baseline-10', 'trainer-smooth-10', 'sat-silu-10'], "the study's primary arms, and its first design's");
      const before = findStudyRuns('medium', [root]);
      assert.ok(before.length >= 3 * 8 + 3 * 5 && before.every((r) => !r.dir), 'nothing finished: all pending');
      // one finished run (config, results, checkpoint) and one with another config
      const finish = (c: ReturnType<typeof makeConfig>, text = JSON.stringify(c, null, 2)) => {
        const dir = path.join(root, runId(c));
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'config.json'), text);
        fs.writeFileSync(path.join(dir, 'results.json'), '[]');
        fs.writeFileSync(path.join(dir, 'checkpoint.bin'), '');
        if (c.keep) fs.writeFileSync(path.join(dir, 'best.bin'), '');
      };
      finish(before[0].config);
      finish(before[1].config, JSON.stringify({ ...before[1].config, epochs: 1 }, null, 2));
      assert.equal(findStudyRuns('medium', [root])[0].dir, undefined, 'trained but still without its declared AutoAttack: pending');
      new RunFolder(path.join(root, runId(before[0].config)), { warn: () => {} }).writeEvaluation(AUTOATTACK_EVALUATION, { ...fakeAutoAttack(flags(1000, 1)), pgd: { ...PGD, accuracy: 0, robust: [] } });
      const after = findStudyRuns('medium', [root]);
      assert.equal(after[0].dir, path.join(root, runId(before[0].config)));
      assert.equal(after[1].dir, undefined, 'a folder with another config is not the study run');
      assert.equal(after.filter((r) => r.dir).length, 1);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('sanity checks keep their results in the run folder', () => {
  before(testBackend);

  it("reuses the run's stored AutoAttack, writes each measurement once, and a second render measures nothing", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sanity-keep-'));
    try {
      const n = 12;
      const { model, test } = trainedMnistModel();
      let calls = 0;
      const base = modelTarget('tiny', model, makeActivation('relu'), take(test, n), 3);
      const t = { ...base, logits: (x: tf.Tensor4D) => (calls++, base.logits(x)) };
      const settings: SanitySettings = {
        size: n, pgd: PGD, steps: [1, 2], square: { type: 'square', eps: 0.1, queries: 10 },
        autoattack: { version: 'standard' }, variants: [], masks: [], studyModels: true,
      };
      // The study's declared evaluation: AutoAttack and PGD-20 flags on the same n images.
      const aaRobust = flags(n, 3);
      const pgdRobust = flags(n, 5);
      new RunFolder(root, { warn: () => {} }).writeEvaluation(AUTOATTACK_EVALUATION, {
        ...fakeAutoAttack(aaRobust), robust: Array.from(aaRobust), pgd: { ...PGD, accuracy: 5 / n, robust: Array.from(pgdRobust) }, records: [],
      });
      const measured = storedAutoAttack(root, settings);
      assert.ok(measured, 'the stored evaluation matches the settings');
      assert.equal(storedAutoAttack(root, { ...settings, size: n + 1 }), undefined, 'another n is another measurement');
      assert.equal(storedAutoAttack(root, { ...settings, pgd: { ...PGD, steps: 10 } }), undefined, 'another PGD is another measurement');
      const store = { dir: root, name: 'sanity-checks-test' };
      const first = runChecks({ target: t, source: t, control: false, store, measured }, settings);
      assert.equal(first.pgd, 5, "check (a) reads the run's PGD flags");
      assert.equal(first.autoattack.robust.reduce((s, v) => s + v, 0), 3, "and the run's AutoAttack flags");
      assert.ok(calls > 0);
      const kept = new RunFolder(root, { warn: () => {} }).readEvaluation<{ entries: Record<string, unknown> }>('sanity-checks-test');
      assert.deepEqual(Object.keys(kept.entries).sort(), ['(b)', '(c)', '(d)', 'clean'], 'no AutoAttack or PGD of its own: they were reused');
      calls = 0;
      const tensors = tf.memory().numTensors;
      const again = runChecks({ target: t, source: t, control: false, store, measured }, settings);
      assert.equal(calls, 0, 'a second render reads every check from the run folder');
      assert.equal(tf.memory().numTensors, tensors);
      assert.deepEqual(again.checks, first.checks);
      calls = 0;
      runChecks({ target: t, source: t, control: false, store, measured }, { ...settings, steps: [1, 3] });
      assert.ok(calls > 0, 'other settings measure again');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
