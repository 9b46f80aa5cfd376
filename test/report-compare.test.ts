import { strict as assert } from 'node:assert';
import { armValues, compareArms, contrastFamily, displayName, summarizeRuns, type ArmValue } from '../lib/report/compare';
import { maskingRule, maskingShares, robustnessOf, type AutoAttackFile } from '../lib/report/robustness';

const values = (arm: string, xs: number[], seeds = xs.map((_, i) => i)): ArmValue[] => xs.map((value, i) => ({ arm, seed: seeds[i], value }));

describe('report: comparing arms', () => {
  it('pairs by seed, keeps only shared seeds, and refuses two values for one seed', () => {
    const v = [...values('relu', [0.5, 0.6, 0.7]), ...values('silu', [0.6, 0.8], [2, 0])];
    const [relu, silu] = compareArms(v, { baseline: 'relu' });
    assert.equal(relu.delta, null);
    assert.deepEqual(silu.seeds, [0, 2]);
    assert.deepEqual(silu.delta!.seeds, [0, 2]);
    // seed 0: 0.8 - 0.5, seed 2: 0.6 - 0.7
    assert.ok(Math.abs(silu.delta!.mean - (0.3 - 0.1) / 2) < 1e-12);
    assert.throws(() => compareArms([...v, { arm: 'silu', seed: 0, value: 0.1 }], { baseline: 'relu' }), /two values for seed 0/);
  });

  it('a family: pending below 5 pairs, Holm over the rest, the smallest detectable difference from the paired sd', () => {
    const base = values('relu', [0.50, 0.52, 0.49, 0.51, 0.50, 0.48]);
    const big = values('silu', [0.60, 0.61, 0.60, 0.62, 0.59, 0.58]);
    const none = values('trainer', [0.51, 0.50, 0.50, 0.52, 0.49, 0.49]);
    const few = values('psoftplus', [0.7, 0.7, 0.71]);
    const fam = contrastFamily([{ name: 'robust', values: [...base, ...big, ...none, ...few] }], { baseline: 'relu', arms: ['relu', 'silu', 'trainer', 'psoftplus'] });
    const by = Object.fromEntries(fam.map((c) => [c.arm, c]));
    assert.equal(by.silu.verdictHolm, 'higher');
    assert.equal(by.trainer.verdictHolm, 'no detectable difference at this scale');
    assert.equal(by.psoftplus.pending, true);
    assert.equal(by.psoftplus.verdictHolm, 'pending');
    assert.ok(by.silu.pHolm >= by.silu.delta!.p, 'Holm never lowers a p-value');
    assert.ok(by.trainer.minimumDetectable > Math.abs(by.trainer.delta!.mean), 'an undetected difference is below the detectable one');
  });

  it('reads one column per run, names activations for people, and lists runs', () => {
    const runs = [
      { config: { seed: 0, activation: 'relu' }, results: [{ attack: 'clean', eps: 0, steps: 0, accuracy: 0.9 }, { attack: 'pgd-linf', eps: 0.1, steps: 20, accuracy: 0.6 }], reused: true, metrics: [{ seconds: 10 }] },
    ] as never[];
    assert.deepEqual(armValues(runs, () => 'a', 'PGD-20 0.1'), [{ arm: 'a', seed: 0, value: 0.6 }]);
    assert.deepEqual(armValues(runs, () => 'a', 'PGD-50 0.1'), []);
    assert.equal(displayName('silu'), 'SiLU');
    assert.equal(displayName('psoftplus:10'), 'parametric Softplus a=10');
    assert.match(summarizeRuns(runs, () => 'ReLU')[0], /^ReLU {2}seed 0: stored; trained in 10 s .*clean 90\.0%, PGD-20 60\.0%$/);
  });
});

describe('report: robustness from AutoAttack records (counts of images)', () => {
  const file = (aa: number[], pgd: number[], squareBroken: number): AutoAttackFile => ({
    n: aa.length, eps: 0.1, clean: 0.9, robust: aa, warnings: [], seconds: 1,
    stages: [{ attack: 'square', label: 'Square', robustAccuracy: 0, attacked: 10, broken: squareBroken, seconds: 1 }],
    pgd: { steps: 20, accuracy: 0, robust: pgd },
  });

  it('robust only when AutoAttack and PGD both fail; McNemar on the disagreements', () => {
    const r = robustnessOf(file([1, 1, 0, 0, 1], [1, 0, 1, 0, 1], 0));
    assert.equal(r.autoAttack, 3);
    assert.equal(r.pgd, 3);
    assert.equal(r.robust, 2);
    assert.equal(r.onlyPgdRobust, 1);
    assert.equal(r.onlyAutoAttackRobust, 1);
    assert.equal(r.mcnemarP, 1);
  });

  it("masking: AutoAttack's 0.2% warning, and the binomial rule's threshold in images at n = 1,000", () => {
    const rule = maskingRule(1000);
    assert.ok(rule.achievedFalseAlarm <= 0.05);
    assert.equal(rule.threshold, 6, 'Binomial(1000, 0.002): P(X >= 6) = 0.017, P(X >= 5) = 0.053');
    const flags = Array.from({ length: 1000 }, () => 1);
    assert.equal(robustnessOf(file(flags, flags, 2)).autoAttackWarning, true);
    assert.equal(robustnessOf(file(flags, flags, 2)).masking, false);
    assert.equal(robustnessOf(file(flags, flags, 6)).masking, true);
    assert.equal(robustnessOf(file(flags, flags, 1)).autoAttackWarning, false);
  });

  it('masking shares per arm with exact intervals and Fisher against the baseline', () => {
    const rows = [...Array(8)].map((_, i) => ({ arm: 'relu', masking: i < 6 })).concat([...Array(8)].map((_, i) => ({ arm: 'silu', masking: i < 1 })));
    const [relu, silu] = maskingShares(rows, 'relu');
    assert.equal(relu.masking, 6);
    assert.ok(Number.isNaN(relu.fisherP));
    assert.ok(silu.fisherP < 0.05 && silu.fisherP > 0.03, `6/8 vs 1/8: Fisher two-sided p = 0.041, got ${silu.fisherP}`);
    assert.ok(silu.interval.low === 0 || silu.interval.low < 0.01);
  });
});
