import { strict as assert } from 'node:assert';
import { armSummaries, armValues, compareArms, contrastFamily, displayName, pilotDesign, pairArms, recordsByArm, robustColumn, runsTotal, summarizeRuns, type ArmValue } from '../lib/report/compare';
import { contrastSentence, controlCheck, controlSentence } from '../lib/report/conclusions';
import { ciHalfWidth, familyVerdicts, pairedDifference, median, pairedMinimumDetectable, summarize, tQuantile975, tallyVerdicts, type Verdict } from '../lib/report/stats';
import { maskingRule, maskingShares, robustnessOf, type AutoAttackFile } from '../lib/report/robustness';
import { armCosts, costOf, estimateCost } from '../lib/report/run-cost';

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
    // Two contrasts have a verdict, so Holm's strictest level is 0.05 / 2.
    assert.ok(Math.abs(by.trainer.minimumDetectableHolm - pairedMinimumDetectable(by.trainer.delta!.sd, 6, { alpha: 0.025 })) < 1e-12);
    assert.ok(by.trainer.minimumDetectableHolm > by.trainer.minimumDetectable, 'a stricter level needs a larger difference');
    assert.ok(Number.isNaN(by.psoftplus.minimumDetectableHolm), 'no Holm level while pending');
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

describe('report: arms of runs (summaries, pairs, labels)', () => {
  const rec = (attack: string, steps: number, accuracy: number) => ({ run: 'r', dataset: 'd', model: 'm', activation: 'x', seed: 0, attack, eps: attack === 'clean' ? 0 : 0.1, steps, accuracy, n: 100 });
  const run = (activation: string, seed: number, clean: number, pgd: number) => ({
    config: { seed, activation }, results: [rec('clean', 0, clean), rec('pgd-linf', 20, pgd)], reused: false, metrics: [{ seconds: 4, images_per_s: 100 }, { seconds: 6, images_per_s: 300 }],
  });
  // SiLU runs in seed order 2, 0, 1; ReLU lacks seed 2.
  const runs = [run('silu', 2, 0.9, 0.62), run('relu', 0, 0.8, 0.5), run('silu', 0, 0.85, 0.6), run('relu', 1, 0.82, 0.55), run('silu', 1, 0.86, 0.64)] as never[];
  const act = (r: { config: { activation: string } }) => r.config.activation;

  it('summarizes every column per arm and pairs two arms by seed on the seeds both have', () => {
    const [silu, relu] = armSummaries(runs, act);
    assert.equal(silu.arm, 'silu');
    assert.deepEqual([...silu.bySeed['PGD-20 0.1'].keys()], [2, 0, 1]);
    assert.deepEqual(silu.summaries.clean, summarize([0.9, 0.85, 0.86]));
    assert.equal(relu.runs.length, 2);
    assert.deepEqual(armSummaries(runs, act, ['gelu', 'relu']).map((a) => a.arm), ['relu'], 'only arms with runs, in the order asked');
    const d = pairArms(silu, relu, 'PGD-20 0.1')!;
    assert.deepEqual(d.seeds, [0, 1]);
    assert.deepEqual({ ...d, seeds: undefined }, { ...pairedDifference([0.6, 0.64], [0.5, 0.55]), seeds: undefined });
    assert.equal(pairArms(silu, relu, 'PGD-50 0.1'), null, 'no such column');
    assert.equal(pairArms(armSummaries(runs.filter((r) => (r as { config: { seed: number } }).config.seed === 2), act)[0], relu, 'clean'), null, 'no shared seed');
  });

  it('names the robust column, relabels records by arm, and lists runs with their throughput', () => {
    assert.equal(robustColumn({ attacks: [{ type: 'pgd-linf', eps: 0.1, steps: 10 }, { type: 'pgd-linf', eps: 0.1 }] }), 'PGD-10 0.1', 'the last attack; PGD defaults to 10 steps');
    assert.throws(() => robustColumn({ attacks: [] }, 'study s'), /study s evaluates no attack: add one to evaluation.attacks/);
    assert.deepEqual(recordsByArm(runs.slice(0, 1), () => 'SAT: SiLU').map((r) => r.activation), ['SAT: SiLU', 'SAT: SiLU']);
    const [line] = summarizeRuns(runs, act, { throughput: true });
    assert.match(line, /^silu {2}seed 2: trained in 10 s \(200 img\/s\) +clean 90\.0%, PGD-20 62\.0%$/);
    assert.equal(runsTotal([{ reused: true }, { reused: false }], 12.4), '2 runs (1 reused) in 12 s');
  });
});

describe('report: conclusions and verdict counts', () => {
  const WORDS: Record<Verdict, string> = { higher: 'more robust', lower: 'less robust', 'no interval': 'unresolved', 'no detectable difference at this scale': 'no different' };
  const v = (arm: string, xs: number[]): ArmValue[] => xs.map((value, seed) => ({ arm, seed, value }));
  const base = [0.50, 0.52, 0.49, 0.51, 0.50];

  it('the control check: pending below 5 pairs, converged inside the margin, not converged above it', () => {
    const check = (control: number[]) => controlCheck({ name: 'AA', values: [...v('b', base), ...v('c', control)] }, { baseline: 'b', control: 'c', marginPoints: 2 });
    assert.equal(check([0.5, 0.5, 0.5]).state, 'pending');
    assert.equal(check([0.505, 0.515, 0.495, 0.5, 0.51]).state, 'converged');
    assert.equal(check(base.map((x, i) => x + 0.05 + [1, 3, 2, 0, 4][i] * 1e-3)).state, 'not converged');
    assert.equal(check([0.51, 0.53, 0.47, 0.53, 0.48]).state, 'not converged', 'an interval reaching past +2 points fails even when it contains 0');
    assert.equal(controlSentence(check([0.5]), 'the 2x control'), 'Convergence (control): pending (1 of 5 seed pairs).');
    assert.match(controlSentence(check([0.505, 0.515, 0.495, 0.5, 0.51]), 'the 2x control'), /^Convergence \(control\): converged; the 2x control moves AA by \+0\.1 points \[−0\.\d, \+\d\.\d\]\.$/);
  });

  it('one sentence per contrast in the study\'s words; pending without enough pairs', () => {
    const fam = contrastFamily([{ name: 'AA', values: [...v('b', base), ...v('s', base.map((x, i) => x + 0.1 + [1, 3, 2, 0, 4][i] * 1e-3)), ...v('p', [0.6])] }], { baseline: 'b', arms: ['b', 's', 'p'] });
    const say = (arm: string) => contrastSentence(fam.find((c) => c.arm === arm), { arm, baseline: 'ReLU', endpoint: 'AA', phrases: WORDS });
    assert.match(say('s'), /^s vs ReLU on AA: \+10\.\d points \[\+\d+\.\d, \+\d+\.\d\] over 5 paired seeds \(Holm p = [\d.e-]+\): more robust; this design detects \d+\.\d points with 80% power at alpha 0\.05, \d+\.\d at Holm's strictest level\.$/);
    assert.equal(say('p'), 'p vs ReLU on AA: pending (1 of 5 seed pairs needed for a verdict).');
    assert.equal(say('gone'), 'gone vs ReLU on AA: pending (0 of 5 seed pairs needed for a verdict).');
  });

  it('counts verdicts without comparing their text; half-widths are 0 with one seed', () => {
    const diffs = [pairedDifference([0.6, 0.62, 0.61], [0.5, 0.5, 0.52]), pairedDifference([0.5, 0.4, 0.6], [0.5, 0.5, 0.5])];
    const fam = familyVerdicts(diffs);
    assert.deepEqual(fam.map((f) => f.verdict), ['higher', 'no detectable difference at this scale']);
    assert.deepEqual(tallyVerdicts(fam), { higher: 1, lower: 0, 'no detectable difference at this scale': 1, 'no interval': 0 });
    assert.equal(ciHalfWidth(summarize([0.5])), 0);
    const s = summarize([0.4, 0.5, 0.6]);
    assert.ok(Math.abs(ciHalfWidth(s) - (s.ciHigh - s.mean)) < 1e-15 && ciHalfWidth(s) > 0);
  });
});

describe('report: robustness from AutoAttack records (counts of images)', () => {
  const file = (aa: number[], pgd: number[], squareBroken: number): AutoAttackFile => ({
    version: 'standard', norm: 'linf', robustAccuracy: 0, records: [],
    n: aa.length, eps: 0.1, clean: 0.9, robust: aa, warnings: [], seconds: 1,
    stages: [{ attack: 'square', label: 'Square', robustAccuracy: 0, attacked: 10, broken: squareBroken, seconds: 1 }],
    pgd: { type: 'pgd-linf', eps: 0.1, steps: 20, accuracy: 0, robust: pgd },
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

describe('report: the pilot rule (seeds from the measured paired sd)', () => {
  it('gives the fewest pairs whose expected 95% half-width is within the target, and the effect the planned seeds detect', () => {
    // ReLU and an arm on 3 seeds; paired differences -0.10, -0.12, -0.08: sd 0.02.
    const v: ArmValue[] = [
      { arm: 'relu', seed: 0, value: 0.7 }, { arm: 'relu', seed: 1, value: 0.7 }, { arm: 'relu', seed: 2, value: 0.7 },
      { arm: 'silu', seed: 0, value: 0.6 }, { arm: 'silu', seed: 1, value: 0.58 }, { arm: 'silu', seed: 2, value: 0.62 },
    ];
    const family = contrastFamily([{ name: 'AutoAttack', values: v }], { baseline: 'relu', arms: ['relu', 'silu'] });
    const [p] = pilotDesign(family, { planned: () => 8, halfWidth: 0.02 });
    assert.equal(p.pairs, 3);
    assert.ok(Math.abs(p.sd - 0.02) < 1e-12);
    // t(n-1) * 0.02 / sqrt(n) <= 0.02 first at n = 7 (2.447 / 2.646 = 0.925), not at n = 6 (2.571 / 2.449 = 1.05).
    assert.equal(p.pairsForHalfWidth, 7);
    assert.ok((tQuantile975(5) * p.sd) / Math.sqrt(6) > 0.02);
    assert.ok(Math.abs(p.detectableAtPlanned - pairedMinimumDetectable(0.02, 8)) < 1e-12);
    assert.equal(pilotDesign(contrastFamily([{ name: 'AutoAttack', values: v.filter((x) => x.seed === 0) }], { baseline: 'relu', arms: ['relu', 'silu'] }), { planned: () => 8, halfWidth: 0.02 }).length, 0, 'one pair has no sd');
  });
});

describe('report: what runs cost (cost.json)', () => {
  const e = (stage: string, cpuSeconds: number, fromEpoch?: number) => ({ stage, cpuSeconds, seconds: 2 * cpuSeconds, threads: 1, loadAverage: 3, host: 'h', endedAt: '', ...(fromEpoch === undefined ? {} : { fromEpoch }) });
  it('sums stages per run and takes medians per arm over the complete runs only', () => {
    const whole = costOf([e('training', 100, 0), e('training', 50, 5), e('final evaluation', 20), e('autoattack-linf-0.1', 400)])!;
    assert.deepEqual([whole.training, whole.finalEvaluation, whole.evaluations['autoattack-linf-0.1'], whole.total, whole.wall, whole.complete], [150, 20, 400, 570, 1140, true]);
    assert.equal(costOf([]), null);
    const rows = [
      { arm: 'relu', cost: whole },
      { arm: 'relu', cost: costOf([e('training', 200, 0), e('final evaluation', 30), e('autoattack-linf-0.1', 500)]) },
      { arm: 'relu', cost: costOf([e('training', 300, 0), e('final evaluation', 40), e('autoattack-linf-0.1', 600)]) },
      { arm: 'relu', cost: costOf([e('training', 9, 4), e('final evaluation', 1)]) },
      { arm: 'silu', cost: null },
    ];
    const [relu] = armCosts(rows, ['relu', 'silu']);
    assert.equal(armCosts(rows, ['relu', 'silu']).length, 1, 'an arm without a complete run has no cost');
    assert.deepEqual([relu.runs, relu.training, relu.finalEvaluation, relu.evaluations['autoattack-linf-0.1'], relu.total], [3, 200, 30, 500, 730]);
    assert.equal(median([3, 1, 2, 10]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it('prices pending runs by training passes (epochs x (attack steps + 1)) plus the median evaluation', () => {
    const pgd1 = (epochs: number) => ({ epochs, attack: { type: 'pgd-linf' as const, eps: 0.1, steps: 1 } });
    const finished = [
      // 20 epochs x 2 passes = 40 passes, 400 CPU-s of training: 10 CPU-s per pass; evaluations 500 and 700
      { cost: costOf([e('training', 400, 0), e('final evaluation', 100), e('autoattack-linf-0.1', 400)]), config: pgd1(20) },
      { cost: costOf([e('training', 400, 0), e('final evaluation', 100), e('autoattack-linf-0.1', 600)]), config: pgd1(20) },
      { cost: costOf([e('training', 999, 3), e('final evaluation', 1)]), config: pgd1(20) }, // resumed from before cost was recorded: left out
    ];
    const est = estimateCost(finished, [pgd1(40), { epochs: 40, attack: { type: 'pgd-linf', eps: 0.1, steps: 5 } }])!;
    assert.deepEqual([est.perPass, est.evaluation, est.recorded], [10, 600, 2]);
    assert.equal(est.cpuSeconds, 10 * 80 + 600 + 10 * 240 + 600, 'a 40-epoch PGD-1 run is 80 passes, a PGD-5 one 240');
    assert.equal(estimateCost(finished.slice(2), [pgd1(40)]), null, 'no complete record: no estimate');
  });
});
