import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadDataset, take } from '../lib/data';
import { attackStrength } from '../lib/eval/attack-strength';
import { checkRows, type SanityCheck } from '../lib/eval/sanity';
import { CIFAR10_ACTIVATIONS, cifar10Activations, cifarSettings } from '../lib/experiments/cifar10';
import { paperNumbers, PAPER_NUMBERS } from '../lib/experiments/paper-numbers';
import { PROFILES } from '../lib/experiments/profiles';
import {
  convergenceChecks,
  EXPERIMENT,
  overfittingChecks,
  recordsByVariant,
  reluVsSmoothBackward,
  studySettings,
  armSeeds,
  controlCheck,
  epochSelection,
  earlierDesignContrasts,
  keptEpochs,
  LAST_EPOCH_EVALUATION,
  lastEpochContrasts,
  lastEpochRows,
  lastEpochSentences,
  repeatedTrajectories,
  trajectorySentence,
  maskingContrasts,
  maskingSentence,
  modelPairTests,
  siluBesidePaper,
  studyConclusion,
  studyContrasts,
  studyTable,
  studyVariants,
  VARIANTS,
  variantOf,
} from '../lib/experiments/relu-vs-smooth-backward';
import type { RunRobustness } from '../lib/report/robustness';
import { tQuantile975 } from '../lib/report/stats';
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
      assert.equal(configs.length, studyVariants(profile).reduce((n, v) => n + armSeeds(v, profile).length, 0));
      const ids = new Set<string>();
      for (const c of configs) {
        const full = asRun(c, EXPERIMENT, profile);
        ids.add(runId(full));
        assert.equal(full.dataset, profile === 'smoke' ? 'mnist' : 'fashion-mnist', 'Fashion-MNIST except at smoke');
        const v = variantOf(full, profile);
        assert.equal(full.attack?.steps, v.trainSteps, 'the paper trains with a one-step attack; the secondary design with PGD-5');
        assert.equal(full.attack?.stepSize, v.trainSteps === 1 ? full.attack?.eps : (2.5 * full.attack!.eps) / v.trainSteps, "PGD-1: the official code's step max(step, eps/iterations) = eps; PGD-5: 2.5 eps / steps");
        assert.equal(full.attack?.randomStart, true);
        assert.ok(full.valSize! > 0 && full.epochEvalSize > 0, 'per-epoch numbers come from a validation split');
        assert.equal(full.activation, v.activation);
      }
      assert.equal(ids.size, configs.length, 'every run has its own id');
      if (profile !== 'smoke') assert.ok(seeds.length >= 5, 'at least 5 paired seeds');
    });
  }
  it('medium trains the earlier designs\' arms (stored), ReLU and the control on the first seeds, the other primary arms seed by seed, their further seeds, the control\'s, then the secondary arms', () => {
    const runs = reluVsSmoothBackward().runs('medium');
    const tiers = runs.map((c) => variantOf(asRun(c, EXPERIMENT, 'medium'), 'medium'));
    const order = tiers.map((v) => v.tier);
    const stages = order.filter((t, i) => i === 0 || t !== order[i - 1]);
    assert.deepEqual(stages, ['earlier', ...[0, 1, 2, 3, 4].flatMap(() => ['primary', 'control']), 'primary', 'control', 'secondary']);
    const firstNew = order.indexOf('primary');
    const first = studySettings('medium').seeds;
    assert.deepEqual(runs.slice(firstNew, firstNew + 2 * first.length).map((c, i) => [tiers[firstNew + i].key, c.seed]), first.flatMap((s) => [['baseline', s], ['baseline-2x', s]]), 'the validation split and the convergence criterion read the epochs before the other arms are trained');
    const next = firstNew + 2 * first.length;
    assert.deepEqual(runs.slice(next, next + 4).map((c, i) => [tiers[next + i].key, c.seed]), [['trainer-smooth', 0], ['sat-silu', 0], ['trainer-smooth', 1], ['sat-silu', 1]], 'ReLU is not trained twice; pairs complete early');
    assert.equal(order.filter((t) => t === 'primary').length, 3 * studySettings('medium').primarySeeds!.length, 'three primary arms x their seeds');
    assert.equal(order.filter((t) => t === 'control').length, studySettings('medium').controlSeeds!.length);
    assert.ok(studySettings('medium').primarySeeds!.length >= 8 && (studySettings('medium').controlSeeds ?? studySettings('medium').primarySeeds!).length >= 5);
    const epochs = (k: string) => runs.find((c) => variantOf(asRun(c, EXPERIMENT, 'medium'), 'medium').key === k)!.epochs!;
    const keep = (k: string) => runs.find((c) => variantOf(asRun(c, EXPERIMENT, 'medium'), 'medium').key === k)!.keep;
    assert.deepEqual(['baseline-10', 'baseline-20', 'baseline-40', 'baseline', 'baseline-2x'].map((k) => [epochs(k), keep(k)]), [[10, undefined], [20, undefined], [40, undefined], [40, 'best-val-adv'], [80, 'best-val-adv']], 'the earlier designs keep the last epoch (their stored ids), the study its best validation epoch');
    const pgd5 = tiers.filter((v) => v.trainSteps === 5).map((v) => v.key);
    assert.deepEqual([...new Set(pgd5)], ['baseline-pgd5', 'sat-silu-pgd5'], 'the PGD-5 design: ReLU and SiLU');
    assert.equal(pgd5.length, 2 * 5, 'five paired seeds each, in the secondary tier');
  });

  it('tests one model pair on its per-image flags (McNemar), per seed pair of the conclusion\'s contrasts', () => {
    const v = (k: string) => VARIANTS.find((x) => x.key === k)!;
    const r = (flags: boolean[]) => ({ flags, robust: flags.filter(Boolean).length }) as unknown as RunRobustness;
    const rows = [
      { variant: v('baseline'), seed: 0, r: r([true, true, false, false, true]) },
      { variant: v('sat-silu'), seed: 0, r: r([false, false, false, false, true]) },
      { variant: v('sat-silu'), seed: 1, r: r([true, true, true, true, true]) },
      { variant: v('sat-psoftplus'), seed: 0, r: r([true, true, true, true, true]) },
    ];
    const t = modelPairTests(rows, 'medium');
    assert.deepEqual(t.map((x) => [x.variant.key, x.seed]), [['sat-silu', 0]], 'a pair needs both models; secondary arms are not in the conclusion');
    assert.deepEqual([t[0].n, t[0].difference, t[0].onlyArm, t[0].onlyBaseline], [5, -2, 0, 2]);
    assert.ok(Math.abs(t[0].p - 0.5) < 1e-12, 'two discordant images, both one way: exact two-sided p = 2 x 0.5^2');
  });

  it('compares how often arms mask: Fisher per conclusion arm, Holm across them, pending below 5 runs per arm', () => {
    const v = (k: string) => VARIANTS.find((x) => x.key === k)!;
    const row = (key: string, seed: number, masking: boolean) => ({ variant: v(key), seed, r: { masking } as unknown as RunRobustness });
    const seeds = [0, 1, 2, 3, 4, 5];
    const rows = [
      ...seeds.map((s) => row('baseline', s, s === 4)),
      ...seeds.slice(0, 5).map((s) => row('sat-silu', s, true)),
      ...seeds.slice(0, 5).map((s) => row('trainer-smooth', s, s === 1)),
      ...seeds.slice(0, 3).map((s) => row('sat-silu-pgd5', s, true)),
      ...seeds.slice(0, 3).map((s) => row('baseline-pgd5', s, false)),
      row('sat-psoftplus', 0, true),
    ];
    const c = maskingContrasts(rows, 'medium');
    const by = Object.fromEntries(c.map((x) => [x.variant.key, x]));
    assert.deepEqual(c.map((x) => x.variant.key), ['trainer-smooth', 'sat-silu', 'sat-silu-pgd5'], 'the conclusion\'s arms only');
    // 5 of 5 against 1 of 6: Fisher's two-sided p = (6 + 1) / 462 (the tables as or less likely); Holm over the 2 ready contrasts doubles the smaller p.
    assert.ok(Math.abs(by['sat-silu'].arm.fisherP - 0.015151515) < 1e-6, String(by['sat-silu'].arm.fisherP));
    assert.ok(Math.abs(by['sat-silu'].pHolm - 2 * by['sat-silu'].arm.fisherP) < 1e-12);
    assert.equal(by['sat-silu'].verdict, 'masks more often');
    assert.equal(by['trainer-smooth'].verdict, 'no detectable difference in how often it masks');
    assert.equal(by['sat-silu-pgd5'].verdict, 'pending');
    assert.equal(by['sat-silu-pgd5'].baseline.key, 'baseline-pgd5', 'SiLU with PGD-5 against ReLU with PGD-5');
    assert.match(maskingSentence(by['sat-silu']), /^Masking: SAT: SiLU fwd \+ bwd masks on 5 of 5 runs \(100% \[48, 100\]\), ReLU on 1 of 6 runs \(17% \[0, 64\]\); Fisher's exact p = 0\.015, Holm p = 0\.030 across the masking contrasts: masks more often than ReLU\.$/);
    assert.match(maskingSentence(by['trainer-smooth']), /: no detectable difference in how often it masks\.$/);
    assert.match(maskingSentence(by['sat-silu-pgd5']), /ReLU, PGD-5 training on 0 of 3 runs .*: pending \(5 runs per arm needed for a verdict\)\.$/);
  });

  it('checks the headline contrast at the last epoch: SiLU - ReLU there, each arm\'s last against its kept epoch, one Holm family; a run that kept its last epoch needs no second evaluation', () => {
    const dirs: string[] = [];
    /** A run of an arm with a validation curve and AutoAttack robust counts of its model and (if given) of its last epoch. */
    const run = (key: string, seed: number, curve: number[], kept: number, last?: number) => {
      const v = VARIANTS.find((x) => x.key === key)!;
      const config = makeConfig({ ...asRun(reluVsSmoothBackward([v]).runs('medium')[0], EXPERIMENT, 'medium'), seed });
      const metrics = curve.map((val, epoch) => ({ epoch, step: epoch + 1, loss: 1, acc: 0.5, lr: 0.1, images_per_s: 1, seconds: 1, val_clean_acc: 0.8, val_adv_acc: val }));
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'last-epoch-'));
      dirs.push(dir);
      fs.mkdirSync(path.join(dir, 'evaluations'));
      const file = (robust: number) => JSON.stringify({ n: 1000, clean: 0.9, robust: Array.from({ length: 1000 }, (_, i) => (i < robust ? 1 : 0)), pgd: { type: 'pgd-linf', eps: 0.1, steps: 20, accuracy: 0.8, robust: Array(1000).fill(1) }, stages: [{ attack: 'square', broken: 0 }], seconds: 1, records: [] });
      fs.writeFileSync(path.join(dir, 'evaluations', 'autoattack-linf-0.1.json'), file(kept));
      if (last !== undefined) fs.writeFileSync(path.join(dir, 'evaluations', `${LAST_EPOCH_EVALUATION}.json`), file(last));
      return { runDir: dir, config, metrics, results: [], reused: true, model: undefined as unknown as Model } as TrainResult;
    };
    try {
      const seeds = [0, 1, 2, 3, 4, 5];
      const runs = [
        // ReLU: seed 0 collapses after its 2nd epoch (kept 700, last 200); the others keep their last epoch (no second file).
        ...seeds.map((s) => (s === 0 ? run('baseline', s, [0.7, 0.75, 0.4], 700, 200) : run('baseline', s, [0.7, 0.74, 0.75], 700))),
        // SiLU keeps its 2nd epoch; its last epoch is 10 + s images more robust; seed 5's is not evaluated yet.
        ...seeds.map((s) => run('sat-silu', s, [0.7, 0.72, 0.71], 600 + s, s === 5 ? undefined : 610 + 2 * s)),
        run('trainer-smooth', 0, [0.7, 0.72, 0.71], 650), // not an arm of this check
      ];
      const rows = lastEpochRows(runs, 'medium');
      assert.deepEqual(rows.map((r) => [r.variant.key, r.seed, r.keptEpoch, r.last?.robust ?? null, r.collapsed]), [
        ['baseline', 0, 2, 200, true], ...[1, 2, 3, 4, 5].map((s) => ['baseline', s, 3, 700, false]),
        ...[0, 1, 2, 3, 4].map((s) => ['sat-silu', s, 2, 610 + 2 * s, false]), ['sat-silu', 5, 2, null, false],
      ]);
      const c = lastEpochContrasts(rows);
      const by = (endpoint: string, arm: string) => c.find((x) => x.endpoint === endpoint && x.arm === arm)!;
      const between = by('AutoAttack at the last epoch', 'sat-silu');
      // Seeds 0-4: 610 - 200 = +410, then 610 + 2s - 700: mean (410 - 88 - 86 - 84 - 82) / 5 = 14 images.
      assert.deepEqual([between.pairs, between.baseline, between.verdictHolm], [5, 'baseline', 'no detectable difference at this scale']);
      assert.ok(Math.abs(between.delta!.mean - 0.014) < 1e-9, String(between.delta!.mean));
      const silu = by('AutoAttack, last epoch vs kept epoch', 'sat-silu:last');
      assert.deepEqual([silu.pairs, silu.baseline, silu.verdictHolm], [5, 'sat-silu:kept', 'higher'], 'last - kept = 10 + s images, s = 0..4');
      const relu = by('AutoAttack, last epoch vs kept epoch', 'baseline:last');
      assert.deepEqual([relu.pairs, relu.verdictHolm], [6, 'no detectable difference at this scale'], 'one collapse of 500 images among 5 equal pairs (seeds 1-5 kept their last epoch)');
      assert.equal(c.length, 3, 'one family of three contrasts');
      const lines = lastEpochSentences(c, rows);
      assert.match(lines[0], /^Sensitivity, the last epoch .*, 11 of 12 runs evaluated: SAT: SiLU fwd \+ bwd vs ReLU on AutoAttack at the last epoch \(Holm over this check's 3 contrasts\): \+1\.4 .*not detectably different from ReLU.* Runs that overfit catastrophically .*: ReLU on 1 of 6, SAT: SiLU fwd \+ bwd on 0 of 6\.$/, lines[0]);
      assert.match(lines[2], /^SAT: SiLU fwd \+ bwd at its last epoch vs its kept epoch on AutoAttack: .*more robust at the last epoch/, lines[2]);
      assert.ok(studyConclusion(studyContrasts(runs, 'medium'), controlCheck(runs, 'medium'), 'medium', [], runs).some((l) => l.startsWith('Sensitivity, the last epoch')), 'the conclusion states it');
      assert.deepEqual(lastEpochContrasts(rows.filter((r) => r.seed < 4)).map((x) => x.verdictHolm), ['pending', 'pending', 'pending'], '4 pairs: pending');
    } finally {
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('chooses the epochs on the validation split: ReLU\'s validation PGD-10 of the model, paired by seed, 10 -> 20 -> 40 (last epoch), 40 -> 80 (kept epoch)', () => {
    const at = (key: string, seed: number, curve: number[]) => {
      const v = VARIANTS.find((x) => x.key === key)!;
      const config = makeConfig({ ...asRun(reluVsSmoothBackward([v]).runs('medium')[0], EXPERIMENT, 'medium'), seed });
      const metrics = curve.map((val, epoch) => ({ epoch, step: epoch + 1, loss: 1, acc: 0.5, lr: 0.1, images_per_s: 1, seconds: 1, val_clean_acc: 0.8, val_adv_acc: val }));
      return { runDir: '', config, metrics, results: [rec(seed, 'clean', 0.9), { ...rec(seed, 'pgd-linf', 0.7), steps: 20 }], reused: true, model: undefined as unknown as Model } as TrainResult;
    };
    const runs = [
      at('baseline-10', 0, [0.7]), at('baseline-10', 1, [0.71]), at('baseline-20', 0, [0.73]), at('baseline-20', 1, [0.745]),
      // The second design's control collapses on seed 1 (30 points below its best epoch) and is read at its last epoch.
      at('baseline-40', 0, [0.735]), at('baseline-40', 1, [0.75, 0.45]),
      // The study keeps the best validation epoch: seed 0 peaks at its first epoch, and its control collapses after its best.
      at('baseline', 0, [0.76, 0.75]), at('baseline', 1, [0.77]), at('baseline-2x', 0, [0.765, 0.4]), at('baseline-2x', 1, [0.775]), at('sat-silu', 0, [0.9]),
    ];
    const [first, second, third] = epochSelection(runs, 'medium');
    assert.deepEqual([first, second, third].map((e) => [e.from, e.to, e.keep]), [[10, 20, false], [20, 40, false], [40, 80, true]]);
    assert.ok(Math.abs(first.delta!.mean - 0.0325) < 1e-9 && first.longEnough === false, 'ReLU gained 3.25 points from 10 to 20 epochs: 10 is not long enough');
    assert.deepEqual([second.collapsed, second.longEnough], [[1], null], 'a collapsed run read at its last epoch: no reading');
    assert.ok(Math.abs(second.delta!.mean - (0.005 - 0.295) / 2) < 1e-9 && Math.abs(second.bestDelta!.mean - 0.005) < 1e-9, 'the best-epoch reading sits beside the last-epoch one');
    assert.deepEqual(third.collapsed, [0]);
    assert.ok(Math.abs(third.delta!.mean - 0.005) < 1e-9 && third.longEnough === true, 'kept epochs: 0.76 -> 0.765 and 0.77 -> 0.775, half a point: 40 is long enough, the collapse after the kept epoch notwithstanding');
    assert.equal(epochSelection(runs.slice(0, 2), 'medium')[0].delta, null, 'no pair without the longer runs');
    assert.deepEqual([first.preliminary, third.preliminary], [true, true], 'two pairs: a preliminary reading');
    const onePair = epochSelection(runs.filter((r) => r.config.seed === 0), 'medium');
    assert.deepEqual(onePair.map((e) => [e.delta?.n, e.longEnough]), [[1, null], [1, null], [1, null]], 'one pair: no reading');
    const lines = studyConclusion(studyContrasts(runs, 'medium'), controlCheck(runs, 'medium'), 'medium', [], runs);
    assert.ok(lines.some((l) => /control overfits catastrophically on 1 of its 2 finished seeds \(0\) after its best validation epoch; every run keeps/.test(l)), lines.join('\n'));
    assert.deepEqual(studyContrasts(runs, 'medium').map((c) => c.arm).filter((a) => /-(10|20|40)$/.test(a)), [], 'the earlier designs are not in the study\'s family');
    assert.deepEqual([...new Set(earlierDesignContrasts(runs, 'medium').map((c) => `${c.arm} - ${c.baseline}`))], ['baseline-10 - baseline-20', 'baseline-40 - baseline-20']);
    const kept = keptEpochs(runs, 'medium');
    assert.deepEqual(kept.map((k) => [k.variant.key, k.seed, k.kept, k.keptVal, k.lastVal]), [['baseline', 0, 1, 0.76, 0.75], ['baseline', 1, 1, 0.77, 0.77], ['baseline-2x', 0, 1, 0.765, 0.4], ['baseline-2x', 1, 1, 0.775, 0.775], ['sat-silu', 0, 1, 0.9, 0.9]], 'only the runs that keep an epoch (1-based)');
  });

  it('checks that the current ReLU runs repeat the second design\'s 40-epoch runs of the same seed, epoch by epoch', () => {
    const at = (key: string, seed: number, losses: number[]) => {
      const v = VARIANTS.find((x) => x.key === key)!;
      const config = makeConfig({ ...asRun(reluVsSmoothBackward([v]).runs('medium')[0], EXPERIMENT, 'medium'), seed });
      const metrics = losses.map((loss, epoch) => ({ epoch, step: epoch + 1, loss, acc: 0.5, lr: 0.1, images_per_s: 1, seconds: 1, val_clean_acc: 0.8, val_adv_acc: 0.7 }));
      return { runDir: '', config, metrics, results: [], reused: true, model: undefined as unknown as Model } as TrainResult;
    };
    const runs = [at('baseline', 0, [1, 0.5, 0.4]), at('baseline-40', 0, [1, 0.5, 0.4]), at('baseline', 1, [1, 0.5, 0.4]), at('baseline-40', 1, [1, 0.51, 0.41]), at('baseline', 2, [1])];
    // Seed 1's earlier run resumed after epoch 1 on 2 threads (provenance.json: the latest start first).
    const dirs = runs.map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'trajectory-')));
    const start = (threads: number, fromEpoch: number) => ({ dataSource: 'test', gitCommit: null, threads, backend: 'wasm', fromEpoch });
    runs.forEach((r, i) => {
      r.runDir = dirs[i];
      fs.writeFileSync(path.join(dirs[i], 'provenance.json'), JSON.stringify(i === 3 ? [start(2, 1), start(1, 0)] : [start(1, 0)]));
    });
    try {
      const t = repeatedTrajectories(runs, 'medium');
      assert.deepEqual(t.map((x) => [x.seed, x.epochs, x.differing]), [[0, 3, []], [1, 3, [2, 3]]], 'seed 2 has no earlier run to compare with');
      assert.deepEqual(t[1].threads, { now: '1 thread', before: '1 thread (epoch 1), 2 threads (epochs 2-3)' });
      assert.match(trajectorySentence(t[0]), /agree exactly on all 3 epochs/);
      assert.match(trajectorySentence(t[1]), /DIFFER at epochs 2-3: the current run trained on 1 thread, the earlier one on 1 thread \(epoch 1\), 2 threads \(epochs 2-3\)/);
      assert.match(trajectorySentence({ ...t[1], threads: { now: '1 thread', before: '1 thread' } }), /on the same threads \(1 thread\): not explained/);
    } finally {
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    }
  });

  /** A finished medium run of an arm: clean 0.9 and the given PGD-20 accuracy. */
  const at = (key: string, seed: number, robust: number) => {
    const v = VARIANTS.find((x) => x.key === key)!;
    const config = makeConfig({ ...asRun(reluVsSmoothBackward([v]).runs('medium')[0], EXPERIMENT, 'medium'), seed });
    return { runDir: '', config, metrics: [], results: [rec(seed, 'clean', 0.9), { ...rec(seed, 'pgd-linf', robust), steps: 20 }], reused: true, model: undefined as unknown as Model } as TrainResult;
  };

  it('states the first design\'s verdicts in the conclusion, labelled as not long enough', () => {
    const runs = [0, 1, 2, 3, 4].flatMap((seed) => [at('baseline-10', seed, 0.7 + 0.01 * seed), at('sat-silu-10', seed, 0.6 + 0.011 * seed)]);
    const earlier = earlierDesignContrasts(runs, 'medium');
    const lines = studyConclusion(studyContrasts(runs, 'medium'), controlCheck(runs, 'medium'), 'medium', earlier);
    const first = lines.filter((l) => l.startsWith('First design (10 epochs'));
    assert.equal(first.length, 1, lines.join('\n'));
    assert.match(first[0], /SAT: SiLU fwd \+ bwd, 10 epochs \(first design\) vs ReLU \(attacker ReLU, trainer ReLU\), 10 epochs \(first design\) on PGD-20 0.1: .* less robust than ReLU/);
    assert.equal(studyConclusion(studyContrasts(runs, 'medium'), controlCheck(runs, 'medium'), 'medium').filter((l) => l.startsWith('First design')).length, 0);
  });

  it('puts SiLU - ReLU beside the paper\'s on every endpoint, with the Holm verdict or pending', () => {
    const runs = [0, 1, 2, 3, 4].flatMap((seed) => [at('baseline', seed, 0.7 + 0.01 * seed), at('sat-silu', seed, 0.6 + 0.011 * seed)]);
    const [paper, ours] = siluBesidePaper(studyContrasts(runs, 'medium'), 'medium');
    assert.match(paper, /SiLU \+9\.3 points of PGD-200 robust accuracy over ReLU and \+0\.9 clean/);
    assert.match(ours, /PGD-20 0\.1 −9\.8 \[[^\]]+\] points \(5 pairs, Holm p = [0-9.e-]+: SiLU lower\)/, ours);
    assert.match(ours, /clean \+0\.0 \(identical difference on every seed: no interval\) points \(5 pairs\);/, ours);
    const [, one] = siluBesidePaper(studyContrasts(runs.filter((r) => r.config.seed === 0), 'medium'), 'medium');
    assert.match(one, /PGD-20 0\.1 −10\.0 \(one seed: no interval\) points \(pending: 1 of 5 seed pairs\)/, one);
    assert.equal(one.match(/one seed: no interval/g)?.length, 2, 'said once per endpoint');
    const noisy = [0, 1, 2, 3, 4].flatMap((seed) => [at('baseline', seed, 0.7), at('sat-silu', seed, 0.7 + [0.01, -0.02, 0.015, -0.01, 0.005][seed])]);
    const [, none] = siluBesidePaper(studyContrasts(noisy, 'medium'), 'medium');
    assert.match(none, /PGD-20 0\.1 \+0\.0 \[[^\]]+\] points \(5 pairs, Holm p = [0-9.e-]+: no detectable difference at this scale\)/, none);
  });

  it('has the PGD-5 design only where the study is powered, and pairs its SiLU arm with ReLU trained the same way', () => {
    for (const p of ['smoke', 'small'] as const) assert.ok(studyVariants(p).every((v) => v.trainSteps === 1), `no PGD-5 arms at ${p}`);
    const runs = ['baseline', 'baseline-pgd5', 'sat-silu-pgd5', 'sat-silu'].flatMap((key) => [0, 1, 2, 3, 4].map((seed) => {
      const v = VARIANTS.find((x) => x.key === key)!;
      const config = makeConfig({ ...asRun(reluVsSmoothBackward([v]).runs('medium')[0], EXPERIMENT, 'medium'), seed });
      assert.equal(variantOf(config, 'medium').key, key, 'variantOf tells the PGD-5 arms from the PGD-1 arms by the attack');
      // ReLU PGD-1 0.5, ReLU PGD-5 0.6, SiLU PGD-5 0.6 + 0.01 x seed, SiLU PGD-1 0.4
      const robust = { baseline: 0.5, 'baseline-pgd5': 0.6, 'sat-silu-pgd5': 0.6 + 0.01 * seed, 'sat-silu': 0.4 }[key]!;
      return { runDir: '', config, metrics: [], results: [rec(seed, 'clean', 0.9), { ...rec(seed, 'pgd-linf', robust), steps: 20 }], reused: true, model: undefined as unknown as Model } as TrainResult;
    }));
    const robust = studyContrasts(runs, 'medium').filter((c) => c.endpoint !== 'clean');
    const of = (arm: string) => robust.find((c) => c.arm === arm)!;
    assert.equal(of('sat-silu-pgd5').baseline, 'baseline-pgd5');
    assert.ok(Math.abs(of('sat-silu-pgd5').delta!.mean - 0.02) < 1e-9, 'SiLU PGD-5 minus ReLU PGD-5, not minus ReLU PGD-1');
    assert.equal(of('baseline-pgd5').baseline, 'baseline');
    assert.ok(Math.abs(of('baseline-pgd5').delta!.mean - 0.1) < 1e-9);
    assert.ok(Math.abs(of('sat-silu').delta!.mean + 0.1) < 1e-9);
    assert.equal(robust.length, 3, 'one contrast per arm that is not a baseline of itself');
  });

  it('keeps ReLU forward in the 2x2 grid, differs only in gradients, and doubles epochs for the control', () => {
    const byKey = Object.fromEntries(VARIANTS.map((v) => [v.key, v]));
    for (const k of ['baseline', 'attacker-smooth', 'trainer-smooth', 'both-smooth'] as const) assert.equal(byKey[k].activation, 'relu');
    assert.deepEqual([byKey['attacker-smooth'].attackerGradient, byKey['attacker-smooth'].trainerGradient], ['smooth', 'own']);
    assert.deepEqual([byKey['trainer-smooth'].attackerGradient, byKey['trainer-smooth'].trainerGradient], ['own', 'smooth']);
    assert.equal(byKey['sat-psoftplus'].activation, 'psoftplus:10');
    assert.equal(byKey['sat-silu'].activation, 'silu');
    const runs = reluVsSmoothBackward().runs('small');
    const epochs = (k: string) => runs.find((c) => variantOf(c as TrainConfig, 'small').key === k)!.epochs!;
    assert.equal(epochs('baseline-2x'), 2 * epochs('baseline'));
  });

  it('variantOf rejects a config that is no variant', () => {
    assert.throws(() => variantOf({ activation: 'gelu', attackerGradient: 'own', trainerGradient: 'own', epochs: 2 }, 'small'), /not a variant/);
  });

  const rec = (seed: number, attack: 'clean' | 'pgd-linf', accuracy: number) => ({ run: 'r', dataset: 'mnist', model: 'mnist-cnn', activation: 'relu', seed, attack, eps: attack === 'clean' ? 0 : 0.1, steps: attack === 'clean' ? 0 : 5, accuracy, n: 10 });
  const run = (key: string, seed: number, robust: number, valCurve: number[] = []): TrainResult => {
    const v = VARIANTS.find((x) => x.key === key)!;
    const config = makeConfig({ ...reluVsSmoothBackward([v]).runs('smoke')[0], seed });
    const metrics = valCurve.map((a, epoch) => ({ epoch, step: epoch, loss: 1, acc: 0.9, lr: 0.1, images_per_s: 1, seconds: 1, val_clean_acc: 0.8, val_adv_acc: a }));
    return { runDir: '', config, metrics, results: [rec(seed, 'clean', 0.9), rec(seed, 'pgd-linf', robust)], reused: true, model: undefined as unknown as Model };
  };

  it('labels records by variant; the table pairs each arm with ReLU by seed, with a t interval and a verdict', () => {
    const runs = [
      run('baseline', 0, 0.5), run('baseline', 1, 0.6), run('baseline', 2, 0.4),
      run('sat-psoftplus', 0, 0.55), run('sat-psoftplus', 1, 0.66), run('sat-psoftplus', 2, 0.44),
      run('sat-silu', 0, 0.5), run('sat-silu', 1, 0.7),
    ];
    const labelled = recordsByVariant(runs, 'smoke');
    assert.equal(labelled[6].activation, VARIANTS.find((v) => v.key === 'sat-psoftplus')!.label);
    const rows = studyTable(runs, 'smoke');
    assert.deepEqual(rows.map((r) => r.variant.key), ['baseline', 'sat-silu', 'sat-psoftplus']);
    assert.equal(rows[0].robustDelta, undefined, 'no delta for the baseline itself');
    const sp = rows[2].robustDelta!;
    assert.ok(Math.abs(sp.mean - 0.05) < 1e-9, `mean delta ${sp.mean}`);
    const diffs = [0.05, 0.06, 0.04];
    const sd = Math.sqrt(diffs.reduce((a, d) => a + (d - 0.05) ** 2, 0) / 2);
    assert.ok(Math.abs(sp.ciLow - (0.05 - tQuantile975(2) * sd / Math.sqrt(3))) < 1e-9, 'Student t with n - 1 = 2 df');
    assert.equal(sp.verdict, 'higher');
    const silu = rows[1].robustDelta!;
    assert.equal(silu.n, 2, 'pairs only the seeds both arms have');
    assert.equal(silu.verdict, 'no detectable difference at this scale', '+0.0 and +0.1 do not exclude 0 with 2 seeds');
    assert.equal(rows[1].cleanDelta!.mean, 0);
  });

  it('checks convergence on the validation curve and flags catastrophic overfitting', () => {
    const flat = [run('baseline', 0, 0.5, [0.30, 0.50, 0.502, 0.503]), run('baseline', 1, 0.5, [0.3, 0.49, 0.50, 0.499])];
    const [c] = convergenceChecks(flat, 'smoke');
    assert.equal(c.variant.key, 'baseline');
    assert.equal(c.window, 1);
    assert.ok(c.converged, `change ${c.change.mean}`);
    const rising = [run('baseline', 0, 0.5, [0.3, 0.4, 0.45, 0.5])];
    assert.equal(convergenceChecks(rising, 'smoke')[0].converged, false);
    const co = overfittingChecks([run('baseline', 0, 0.5, [0.3, 0.45, 0.05]), ...flat], 'smoke');
    assert.deepEqual(co.map((x) => x.flagged), [true, false, false]);
  });
});

describe('experiments: sanity-checks', () => {
  for (const profile of PROFILES) {
    it(`checks the study's models at '${profile}' (same configs); the transfer source is another activation and seed`, () => {
      const c = sanityConfigs(profile);
      const study = reluVsSmoothBackward().runs(profile);
      const ids = new Set(study.map((s) => runId(asRun(s, EXPERIMENT, profile))));
      for (const v of c.variants) assert.ok(ids.has(runId(makeConfig({ ...v.config, experiment: EXPERIMENT }))), `${v.key} has a study run's config`);
      const src = makeConfig(c.source);
      assert.ok(!ids.has(runId(src)), 'the transfer source is trained separately');
      assert.notEqual(src.activation, makeConfig(c.variants[0].config).activation, 'another activation');
      assert.notEqual(src.seed, makeConfig(c.variants[0].config).seed, 'another seed');
      const s = sanitySettings(profile);
      assert.equal(s.steps[0], 1, 'check (d) starts at one step');
      assert.ok(s.steps.every((k, i) => i === 0 || k > s.steps[i - 1]), 'steps increase');
    });
  }

  it('checkRows gives one PASS/FAIL row per check, with its threshold', () => {
    const check = (passed: boolean): SanityCheck => ({ name: 'n', criterion: 'c', threshold: 't', passed, n: 10, falseAlarm: 0.05, power: 'p', points: [], detail: 'd' });
    const rows = checkRows('m', [check(true), check(false)]);
    assert.deepEqual(rows.map((r) => r.verdict), ['PASS', 'FAIL']);
    assert.equal(rows[0].threshold, 't');
    assert.equal(rows[0].power, 'p');
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

describe('experiments: the quick start (sat compare)', () => {
  const rec = (activation: string, seed: number, attack: 'clean' | 'pgd-linf', accuracy: number) => ({ run: 'r', dataset: 'mnist', model: 'mnist-cnn', activation, seed, attack, eps: attack === 'clean' ? 0 : 0.2, steps: attack === 'clean' ? 0 : 10, accuracy, n: 500 });
  it("trains with the paper's PGD-1 step (= eps) and states seeds and the paired interval", async () => {
    const { compareSummary, mnistReluVsSilu } = await import('../lib/experiments/mnist-relu-vs-silu');
    for (const c of mnistReluVsSilu().runs('small')) assert.equal(c.attack?.stepSize, c.attack?.eps);
    const three = [0, 1, 2].flatMap((s) => [rec('relu', s, 'clean', 0.9), rec('relu', s, 'pgd-linf', 0.5 + 0.1 * s), rec('silu', s, 'clean', 0.9), rec('silu', s, 'pgd-linf', 0.53 + 0.1 * s)]);
    const lines = compareSummary(three, ['relu', 'silu']);
    assert.match(lines[0], /^3 seeds \(0, 1, 2\)/);
    // the same +3.0 on every seed: no zero-width interval, no verdict
    assert.match(lines[2], /silu - relu: \+3\.0 \(identical difference on every seed: no interval\) points$/);
    const one = compareSummary(three.filter((r) => r.seed === 0), ['relu', 'silu']);
    assert.match(one[0], /^one seed/);
    assert.match(one[2], /\+3\.0 \(one seed: no interval\) points$/);
  });
});
