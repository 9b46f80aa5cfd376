import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset } from '../lib/data';
import { SYNTHETIC_MARKER } from '../lib/data/synthetic';
import {
  EXPERIMENT, IMAGENET_EPS, activationPoints, activationStudySettings, deltaVsReluFigure, imagenetActivations, paperTeaserFigure, teaserFigure, versusRelu,
} from '../lib/experiments/imagenet-activations';
import { prepareImageData, randomResizedCropFlip, type ImageDataSpec } from '../lib/experiments/imagenet-data';
import {
  PAPER_NUMBERS, SCALING_POINTS, TEASER_ACTIVATIONS, paperActivationPoints, paperAxisTrends, paperScalingPoints, teaserPaperPoints, unsourcedActivations,
} from '../lib/experiments/paper-numbers';
import { errorBar } from '../lib/plot';
import { displayName } from '../lib/report/compare';
import { runCost } from '../lib/report/cost';
import { PROFILES } from '../lib/experiments/profiles';
import { summarize } from '../lib/report/stats';
import { axisTrends, memberOf, memberResults, scalingSettings, scalingStudy, siluVsRelu } from '../lib/experiments/scaling';
import { countModel } from '../lib/models/count';
import { makeConfig, runId, train, type TrainConfig, type TrainResult } from '../lib/train';
import { buildModel, type Model } from '../lib/models';
import { makeRng } from '../lib/util/rng';
import { testBackend } from './helpers/backend';

const asRun = (c: Partial<TrainConfig>, experiment: string, profile: string) => makeConfig({ ...c, experiment, profile });

/** A finished-run stand-in with the given accuracies (no training). */
function fakeRun(config: Partial<TrainConfig>, accuracies: Record<string, number>): TrainResult {
  const c = makeConfig(config);
  const results = Object.entries(accuracies).map(([label, accuracy]) => {
    const steps = label === 'clean' ? 0 : Number(/PGD-(\d+)/.exec(label)![1]);
    return { run: 'r', dataset: c.dataset, model: c.model, activation: c.activation, seed: c.seed, attack: label === 'clean' ? ('clean' as const) : ('pgd-linf' as const), eps: label === 'clean' ? 0 : c.evaluation.attacks[0].eps, steps, accuracy, n: 100 };
  });
  return { runDir: '', config: c, metrics: [], results, reused: true, model: undefined as unknown as Model };
}

describe('experiments: imagenet-activations (notebook 02)', () => {
  before(testBackend);

  for (const profile of PROFILES) {
    it(`every run config is valid at '${profile}': the seven activations, PGD-1 at 4/255 with step = eps`, () => {
      const configs = imagenetActivations('some-folder-32px').runs(profile).map((c) => asRun(c, EXPERIMENT, profile));
      const seeds = activationStudySettings(profile).seeds;
      assert.equal(configs.length, TEASER_ACTIVATIONS.length * seeds.length);
      assert.deepEqual([...new Set(configs.map((c) => c.activation))], [...TEASER_ACTIVATIONS]);
      assert.equal(new Set(configs.map(runId)).size, configs.length, 'every run has its own id');
      for (const c of configs) {
        assert.equal(c.attack?.steps, 1, 'the paper trains with a one-step attack');
        assert.ok(Math.abs(c.attack!.eps - IMAGENET_EPS) < 1e-12);
        assert.equal(c.attack!.stepSize, c.attack!.eps, "SAT's PGD-1 steps the full eps");
        assert.equal(c.labelSmoothing, 0.1);
        assert.ok(c.evaluation.attacks.length > 0);
      }
    });
  }

  it("the paper profile is SAT's ResNet-50 recipe and needs real ImageNet", () => {
    const s = activationStudySettings('paper');
    const c = asRun({ ...s.base, dataset: 'imagenet-224px', activation: 'silu' }, EXPERIMENT, 'paper');
    assert.equal(c.model, 'resnet50');
    assert.equal(c.width, 64);
    assert.equal(c.epochs, 100);
    assert.deepEqual(c.schedule, { type: 'step', milestones: [30, 60, 90], gamma: 0.1, warmupEpochs: 0 });
    assert.equal(c.nesterov, true);
    assert.equal(c.weightDecay, 1e-4);
    assert.ok(c.evaluation.attacks.some((a) => a.steps === 200), 'the paper evaluates with PGD-200');
    assert.equal(s.data.size, 224);
    assert.equal(s.data.requireReal, true);
  });

  it('draws only the sourced paper points: five activations from the README, Softplus and parametric Softplus left out', () => {
    const points = paperActivationPoints('PGD-20');
    assert.deepEqual(points.map((p) => p.activation).sort(), ['elu', 'gelu', 'relu', 'silu', 'smoothrelu']);
    const silu = points.find((p) => p.activation === 'silu')!;
    assert.deepEqual([silu.clean, silu.robust], [69.7, 42.2]);
    assert.deepEqual(unsourcedActivations('PGD-20'), ['softplus', 'psoftplus:10']);
    for (const a of TEASER_ACTIVATIONS) assert.notEqual(displayName(a), a, `display name for ${a}`);
  });

  it('turns runs into points and figures: one legend entry per activation, ours circles, the paper diamonds, CI bars, ReLU marked', () => {
    const base = { ...activationStudySettings('smoke').base, dataset: 'x' };
    const runs = [0, 1, 2].flatMap((seed) => [
      fakeRun({ ...base, activation: 'relu', seed }, { clean: 0.8 + 0.01 * seed, 'PGD-3': 0.3 + 0.05 * seed }),
      fakeRun({ ...base, activation: 'silu', seed }, { clean: 0.82 + 0.01 * seed, 'PGD-3': 0.4 + 0.05 * seed + (seed === 1 ? 0.01 : 0) }),
    ]);
    const ours = activationPoints(runs);
    assert.deepEqual(ours.map((p) => p.arm), ['relu', 'silu']);
    assert.ok(Math.abs(ours[1].summaries['PGD-3 4/255'].mean - (0.45 + 0.01 / 3)) < 1e-9);
    const [d] = versusRelu(ours, 'PGD-3 4/255');
    assert.equal(d.activation, 'silu');
    assert.equal(d.delta.n, 3);
    assert.equal(d.delta.verdict, 'higher', 'paired by seed: the spread between seeds cancels');
    const input = { ours, robustColumn: 'PGD-3 4/255', oursLabel: 'ours (SYNTHETIC)', paper: teaserPaperPoints(), title: 'SYNTHETIC t' };
    const fig = teaserFigure(input);
    assert.equal(fig.data.length, 2);
    assert.equal(fig.data[0].name, 'ours (SYNTHETIC): ReLU (reference)');
    assert.equal((fig.data[0].marker as { symbol: string }).symbol, 'circle');
    assert.ok(((fig.data[1].error_y as { array: number[] }).array[0]) > 0, 'CI bars with 3 seeds');
    const paper = paperTeaserFigure('t');
    assert.equal(paper.data.length, 7);
    assert.ok(paper.data.every((t) => (t.marker as { symbol: string }).symbol === 'diamond'));
    assert.match(String(paper.data[1].name), /read off the paper's teaser figure/);
    const delta = deltaVsReluFigure(input);
    // ReLU is the origin: only SiLU of ours, at (+2, +10.3) points.
    assert.ok(Math.abs((delta.data[0].x as number[])[0] - 2) < 1e-9);
    assert.ok(Math.abs((delta.data[0].y as number[])[0] - (10 + 1 / 3)) < 1e-9);
    assert.equal(delta.data.length, 1 + 6, 'ours SiLU and the paper\'s six smooth activations');
    const one = activationPoints(runs.filter((r) => r.config.seed === 0));
    assert.equal(teaserFigure({ ...input, ours: one }).data[1].error_y, undefined, 'one seed: no bars');
  });

  it('draws 95% intervals within [0, 100]: two seeds far apart are clipped and the legend says so', () => {
    const base = { model: 'mnist-cnn', width: 4, evaluation: { size: 10, attacks: [{ type: 'pgd-linf' as const, eps: 4 / 255, steps: 3 }] } };
    const runs = [0, 1].flatMap((seed) => [
      fakeRun({ ...base, activation: 'relu', seed }, { clean: seed ? 0.99 : 0.6, 'PGD-3': seed ? 0.05 : 0.4 }),
      fakeRun({ ...base, activation: 'silu', seed }, { clean: 0.8 + 0.01 * seed, 'PGD-3': 0.4 + 0.01 * seed }),
    ]);
    const ours = activationPoints(runs);
    const fig = teaserFigure({ ours, robustColumn: 'PGD-3 4/255', oursLabel: 'ours', paper: teaserPaperPoints(), title: 't' });
    const relu = fig.data[0];
    const ey = relu.error_y as { array: number[]; arrayminus: number[] };
    const ex = relu.error_x as { array: number[]; arrayminus: number[] };
    const [x, y] = [(relu.x as number[])[0], (relu.y as number[])[0]];
    assert.ok(Math.abs(x + ex.array[0] - 100) < 1e-9 && Math.abs(y - ey.arrayminus[0]) < 1e-9, `bars end at 100 and 0: ${x}+${ex.array[0]}, ${y}-${ey.arrayminus[0]}`);
    assert.match(String(relu.name), /CI clipped to 0-100%/);
    assert.doesNotMatch(String(fig.data[1].name), /clipped/);
    assert.equal(errorBar(summarize([0.4])), undefined, 'one seed: no bar');
    assert.equal(errorBar(summarize([0.31, 0.3]), [-1, 1])!.clipped, false, 'a narrow interval is not clipped');
    assert.equal(errorBar(summarize([0.9, 0.3]), [-1, 1])!.clipped, true, 'a difference interval past -100 points is');
  });

  it('shows the teaser points read off the figure, ReLU and SiLU from the abstract', () => {
    const pts = teaserPaperPoints();
    assert.deepEqual(pts.map((p) => p.activation), ['relu', 'softplus', 'psoftplus:10', 'smoothrelu', 'elu', 'gelu', 'silu']);
    assert.deepEqual([pts[0].clean, pts[0].robust, pts[6].clean, pts[6].robust], [68.8, 33.0, 69.7, 42.3]);
    assert.ok(pts.slice(1, 6).every((p) => /read off the paper's teaser figure/.test(p.source)));
  });

  it('estimates GPU cost as FLOPs of (attack steps + 1) forward-backward passes', () => {
    const item = { model: 'resnet50', inputSize: 224, epochs: 2, trainImages: 10, attackSteps: 1, evalImages: 5, evalAttackSteps: [10] };
    const c = runCost(item);
    assert.ok(Math.abs(c.macs / 4.09e9 - 1) < 0.01, `ResNet-50 MACs ${c.macs}`);
    assert.equal(c.trainFlops, 10 * 2 * 2 * 3 * 2 * c.macs);
    assert.equal(c.evalFlops, 5 * (1 + 31) * 2 * c.macs);
    assert.ok(runCost({ ...item, attackSteps: 3 }).trainFlops === 2 * c.trainFlops);
  });

});

describe('experiments: imagenet-data', function () {
  this.timeout(30000);
  let dir: string;
  const spec = (extra: Partial<ImageDataSpec> = {}): ImageDataSpec => ({
    size: 16, trainLimit: 24, valLimit: 8, cropScale: [0.35, 1], synthetic: { classes: 3, perClass: 8, valPerClass: 3, size: 20, seed: 3 }, ...extra,
  });
  before(async () => {
    await testBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-imagenet-data-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('without real data generates a folder and labels the data set, its source and its results SYNTHETIC', async () => {
    const logs: string[] = [];
    const data = await prepareImageData(spec(), { real: null, dataDir: dir, log: (s) => logs.push(s) });
    assert.equal(data.synthetic, true);
    assert.match(data.source, /^SYNTHETIC/);
    assert.match(data.dataset, /synthetic/);
    assert.ok(fs.existsSync(path.join(data.root, SYNTHETIC_MARKER)));
    assert.equal(data.train, 24);
    assert.equal(data.val, 8);
    const splits = loadDataset(data.dataset, { trainLimit: 12, testLimit: 6 });
    assert.equal(splits.train.synthetic, true);
    assert.equal(splits.test.synthetic, true);
    assert.deepEqual([splits.train.n, splits.test.n, splits.train.height, splits.train.channels], [12, 6, 16, 3]);
    assert.equal(new Set(splits.test.labels).size, 3, 'the fixed shuffle spreads the classes over the first images');
    const r = await train(
      { dataset: data.dataset, trainLimit: 12, testLimit: 6, model: 'resnet14', width: 4, activation: 'relu', epochs: 1, batchSize: 6, augment: true, attack: null, evaluation: { size: 6, attacks: [] } },
      { runDir: path.join(dir, 'run'), quiet: true },
    );
    r.model.dispose();
    assert.ok(r.results.every((x) => x.synthetic === true), 'result records carry the synthetic flag');
    assert.ok(logs.some((l) => l.includes('reading')));
  });

  it('reuses the generated folder and reads a real folder as real, restricted to its first classes', async () => {
    const first = await prepareImageData(spec(), { real: null, dataDir: dir });
    const again = await prepareImageData(spec(), { real: null, dataDir: dir });
    assert.equal(again.root, first.root);
    // A "real" folder: a copy without the marker and without 'synthetic' in its name.
    const realRoot = path.join(dir, 'tiny-real');
    fs.cpSync(first.root, realRoot, { recursive: true });
    fs.rmSync(path.join(realRoot, SYNTHETIC_MARKER));
    const real = await prepareImageData(spec({ classes: 2 }), { real: { root: realRoot, description: 'test folder' }, dataDir: dir });
    assert.equal(real.synthetic, false);
    assert.match(real.source, /^real images: test folder, first 2 of 3 classes/);
    assert.equal(real.classNames.length, 2);
    assert.equal(loadDataset(real.dataset).test.synthetic, undefined);
  });

  it('refuses to fall back to generated data when the settings need ImageNet', async () => {
    await assert.rejects(prepareImageData(spec({ requireReal: true }), { real: null, dataDir: dir }), /need ImageNet.*IMAGENET_DIR/);
  });

  it('random-resized crop and flip keeps the shape and the value range', () => {
    const h = 8, w = 8, n = 2;
    const pixels = Float32Array.from({ length: n * h * w * 3 }, (_, i) => (i % 17) / 16);
    const before = pixels.slice();
    randomResizedCropFlip([0.35, 1])(pixels, { name: 't', images: pixels, labels: new Int32Array(n), n, height: h, width: w, channels: 3, numClasses: 2 }, makeRng(1));
    assert.equal(pixels.length, before.length);
    assert.ok(pixels.every((v) => v >= 0 && v <= 1));
    assert.ok(pixels.some((v, i) => Math.abs(v - before[i]) > 1e-3), 'the images changed');
  });
});

describe('experiments: scaling (notebook 03)', () => {
  before(testBackend);

  for (const profile of PROFILES) {
    it(`every run config is valid at '${profile}' and maps back to its family member`, () => {
      const configs = scalingStudy().runs(profile).map((c) => asRun(c, 'scaling', profile));
      const family = scalingSettings(profile).family;
      assert.equal(configs.length, family.reduce((s, m) => s + m.activations.length, 0) * scalingSettings(profile).seeds.length);
      assert.equal(new Set(configs.map(runId)).size, configs.length);
      for (const c of configs) {
        const m = memberOf(c, profile);
        assert.ok(m.activations.includes(c.activation));
        assert.equal(c.attack?.steps, 1);
      }
      if (profile !== 'paper') {
        assert.deepEqual([...new Set(family.map((m) => m.axis))], profile === 'smoke' ? ['base', 'depth'] : ['base', 'depth', 'width', 'all']);
        assert.ok(family.every((m) => m.activations.join() === 'relu,silu'), 'ReLU and SiLU side by side');
        assert.ok(family.every((m) => m.resolution === 28 && m.model.startsWith('mnist-cnn')), 'a model family made for 28 px');
        assert.ok(configs.every((c) => c.dataset === (profile === 'smoke' ? 'mnist' : 'fashion-mnist')), 'real Fashion-MNIST (MNIST at smoke)');
        assert.ok(configs.every((c) => c.attack?.stepSize === c.attack?.eps && c.attack?.randomStart), 'PGD-1, step = eps, random start');
      } else {
        assert.ok(family.some((m) => m.model === 'efficientnet-l1') && family.some((m) => m.model === 'resnext152-32x8d'));
      }
    });
  }

  it('grows the small family along each axis as named', () => {
    const family = scalingSettings('medium').family;
    const size = (label: string) => {
      const m = family.find((f) => f.label.startsWith(label))!;
      return countModel(m.model, { inputShape: [m.resolution, m.resolution, 1], numClasses: 10, width: m.width });
    };
    assert.ok(size('2x deeper').params > size('base').params && size('3x deeper').params > size('2x deeper').params);
    assert.ok(size('2x wider').macs > 3 * size('base').macs, 'width doubles every conv');
    assert.ok(size('deeper and wider').macs > Math.max(size('2x deeper').macs, size('2x wider').macs));
    const model = buildModel('mnist-cnn-d6', { inputShape: [28, 28, 1], numClasses: 10, width: 4, seed: 0 });
    assert.equal([...model.params.keys()].filter((k) => k.endsWith('kernel') && k.startsWith('conv')).length, 6, 'six convs');
    model.dispose();
    assert.throws(() => buildModel('mnist-cnn-d5', { inputShape: [28, 28, 1], numClasses: 10 }), /Unknown model/);
  });

  it('computes trends from the base model and SiLU - ReLU, paired by seed', () => {
    const s = scalingSettings('medium');
    const runs = [0, 1, 2].flatMap((seed) => s.family.flatMap((m, i) =>
      m.activations.map((activation) => fakeRun({ ...s.base, model: m.model, width: m.width, activation, seed }, { clean: 0.8, 'PGD-50': 0.1 + 0.1 * i + 0.001 * i * seed + (activation === 'silu' ? 0.05 + 0.01 * seed : 0) + 0.02 * seed })),
    ));
    const results = memberResults(runs, 'medium');
    assert.equal(results.length, 12);
    assert.ok(Math.abs(results[0].accuracy['PGD-50 0.1'].mean - 0.12) < 1e-9);
    const trends = axisTrends(results, 'PGD-50 0.1');
    const all = trends.find((t) => t.axis === 'all' && t.activation === 'relu')!;
    // member 5 minus the base: 0.5 + 0.005 seed, a small spread against 0.02 seed between seeds
    assert.ok(Math.abs(all.delta.mean - 0.505) < 1e-9, `paired delta ${all.delta.mean}`);
    assert.equal(all.delta.verdict, 'higher', 'a nearly constant difference is detected despite the seed-to-seed spread');
    const sr = siluVsRelu(results, 'PGD-50 0.1');
    assert.equal(sr.length, 6);
    assert.ok(Math.abs(sr[0].delta.mean - 0.06) < 1e-9);
    assert.equal(sr[0].delta.n, 3);
  });

  it("lists the paper's scaling points once each, sized by our model counts", () => {
    const pts = paperScalingPoints();
    assert.equal(pts.length, SCALING_POINTS.length);
    const r50 = pts.find((p) => p.label === 'ResNet-50')!;
    const r50at380 = pts.find((p) => p.inputSize === 380 && p.arch === 'resnet50')!;
    assert.equal(r50at380.params, r50.params);
    assert.ok(r50at380.macs > 2.5 * r50.macs, 'MACs grow with the square of the resolution');
    assert.ok(Math.abs(pts.find((p) => p.arch === 'efficientnet-b0')!.params / 5288548 - 1) < 0.005);
    const keys = PAPER_NUMBERS.map((p) => `${p.model}|${p.activation}|${p.metric}`);
    assert.equal(new Set(keys).size, keys.length, 'no paper number listed twice');
    const all = paperAxisTrends('PGD-50').find((t) => t.axis === 'all')!;
    assert.ok(Math.abs(all.delta - (51.0 - 41.9)) < 1e-9);
  });
});
