import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import type { AttackConfig, LogitsFn } from '../lib/attacks';
import { take } from '../lib/data';
import { autoAttack, standardAttacks } from '../lib/eval/autoattack';
import { autoAttackGap, largeEpsZero, maskedTarget, modelTarget, robustAccuracy, robustFlags, squareNotStronger, stepsCurve, transferWeaker } from '../lib/eval/sanity';
import { testBackend } from './helpers/backend';
import { trainedMnistModel } from './helpers/tiny-mnist';

const EPS = 0.1;
/** AutoAttack's four attacks with small budgets, so a test takes seconds. */
const SMALL: AttackConfig[] = [
  { type: 'apgd-ce', eps: EPS, steps: 10 },
  { type: 'apgd-t', eps: EPS, steps: 10, targets: 3 },
  { type: 'fab-t', eps: EPS, steps: 10, targets: 3 },
  { type: 'square', eps: EPS, queries: 100 },
];

function setup(n: number) {
  const { model, test } = trainedMnistModel();
  return modelTarget('tiny ReLU CNN', model, makeActivation('relu'), take(test, n), 3);
}

describe('autoattack', () => {
  before(testBackend);

  it('the final robust accuracy is at most each component\'s, and a whole call leaks no tensors', () => {
    const t = setup(24);
    const tensors = tf.memory().numTensors;
    const all = autoAttack(t.logits, t.data, { eps: EPS, version: 'custom', attacks: SMALL, seed: 1, warn: () => {} });
    assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind');
    assert.equal(all.stages.length, 4);
    assert.ok(all.clean > 0.8, `trained model (clean ${all.clean})`);
    let before = all.clean;
    for (const s of all.stages) {
      assert.ok(s.robustAccuracy <= before, 'accuracy never rises from stage to stage');
      assert.equal(Math.round((before - s.robustAccuracy) * all.n), s.broken, 'broken = drop x n');
      before = s.robustAccuracy;
    }
    for (const a of SMALL) {
      const alone = autoAttack(t.logits, t.data, { eps: EPS, version: 'custom', attacks: [a], seed: 1, warn: () => {} });
      assert.ok(all.robustAccuracy <= alone.robustAccuracy, `${a.type}: AutoAttack ${all.robustAccuracy} vs alone ${alone.robustAccuracy}`);
      // Every point robust at the end was robust to this attack alone too.
      all.robust.forEach((r, i) => r && assert.equal(alone.robust[i], 1, `point ${i} robust overall but broken by ${a.type} alone`));
    }
  });

  it('the standard version: APGD-CE, APGD-T, FAB-T (9 targets), Square (5,000 queries)', () => {
    const s = standardAttacks(8 / 255, 'linf', 10);
    assert.deepEqual(s.map((a) => a.type), ['apgd-ce', 'apgd-t', 'fab-t', 'square']);
    assert.deepEqual([s[1].targets, s[2].targets], [9, 9]);
    assert.equal(standardAttacks(0.5, 'l2', 5)[1].targets, 4, 'no more targets than other classes');
  });

  it('refuses fewer than 4 classes and a mismatched custom attack before any work', () => {
    const t = setup(4);
    const three = { ...t.data, numClasses: 3 };
    assert.throws(() => autoAttack(t.logits, three, { eps: EPS }), /at least 4 classes.*has 3.*sat eval --attack pgd-linf/);
    assert.throws(() => autoAttack(t.logits, t.data, { eps: EPS, version: 'custom', attacks: [{ type: 'apgd-ce', eps: 0.2 }] }), /does not match the threat model/);
    assert.throws(() => autoAttack(t.logits, t.data, { eps: EPS, attacks: SMALL }), /use version 'custom'/);
  });

  it("reproduces AutoAttack's warnings: probabilities as outputs, randomized outputs, zero gradients", () => {
    const t = setup(10);
    const one: AttackConfig[] = [{ type: 'apgd-ce', eps: EPS, steps: 2 }];
    const warnings = (logits: LogitsFn) => autoAttack(logits, t.data, { eps: EPS, version: 'custom', attacks: one, warn: () => {} }).warnings.join('\n');
    assert.equal(warnings(t.logits), '', 'a plain model gives no warning');
    assert.match(warnings((x) => tf.tidy(() => tf.softmax(t.logits(x)))), /sum to one like probabilities/);
    assert.match(warnings((x) => tf.tidy(() => tf.add(t.logits(x), tf.randomNormal([x.shape[0], 10], 0, 0.5)) as tf.Tensor2D)), /randomized defense/);
    assert.match(warnings(maskedTarget(t, 'quantize').logits), /zero input gradient/);
  });

  it('a model that masks its gradients: PGD-CE reports it robust, every check FAILs, AutoAttack brings it down', () => {
    const t = setup(40);
    const masked = maskedTarget(t, 'saturate');
    const pgd: AttackConfig = { type: 'pgd-linf', eps: EPS, steps: 10 };
    const real = robustAccuracy(t, pgd);
    const fooledFlags = robustFlags(masked, pgd);
    const fooled = fooledFlags.reduce((s, v) => s + v, 0) / fooledFlags.length;
    const clean = robustAccuracy(t, null);
    assert.ok(fooled >= clean - 0.1, `PGD-CE sees the masked model as about as accurate as clean: ${fooled} vs clean ${clean}`);
    assert.ok(fooled > real + 0.3, `and far above the real model's PGD accuracy ${real}`);
    const aa = autoAttack(masked.logits, masked.data, { eps: EPS, version: 'custom', attacks: SMALL, seed: 1, warn: () => {} });
    assert.ok(aa.robustAccuracy < fooled - 0.3, `AutoAttack (DLR is scale-invariant) brings it down: ${aa.robustAccuracy} vs PGD ${fooled}`);
    const checks = [
      autoAttackGap(fooledFlags, pgd, aa),
      squareNotStronger(masked, pgd, { type: 'square', eps: EPS, queries: 100 }),
      largeEpsZero(masked, pgd),
      stepsCurve(masked, pgd, [1, 5, 10]),
      transferWeaker(t, masked, pgd, fooledFlags),
    ];
    for (const c of checks) assert.equal(c.passed, false, `${c.name} should FAIL on the masked model: ${c.detail}`);
    // The same checks PASS on the real model (so they are not built to fail).
    const realChecks = [largeEpsZero(t, pgd), stepsCurve(t, pgd, [1, 5, 10])];
    for (const c of realChecks) assert.equal(c.passed, true, `${c.name} should PASS on the real model: ${c.detail}`);
  });

  it('a zero-gradient (quantizing) model: the gradient attacks see nothing, Square brings it down', () => {
    const t = setup(30);
    const masked = maskedTarget(t, 'quantize');
    const aa = autoAttack(masked.logits, masked.data, { eps: 0.3, version: 'custom', attacks: [{ type: 'apgd-ce', eps: 0.3, steps: 5 }, { type: 'square', eps: 0.3, queries: 200 }], seed: 1, warn: () => {} });
    assert.ok(aa.stages[0].broken <= 0.1 * aa.stages[0].attacked, `APGD-CE has no gradient to follow (broke ${aa.stages[0].broken} of ${aa.stages[0].attacked} from its random start)`);
    assert.ok(aa.stages[1].broken >= 0.3 * aa.stages[1].attacked, `Square breaks many: ${aa.stages[1].broken} of ${aa.stages[1].attacked}`);
    assert.ok(aa.warnings.some((w) => /Square Attack lowered/.test(w)), "AutoAttack's own Square warning");
  });
});
