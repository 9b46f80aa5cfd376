// Importing the official SAT TensorFlow checkpoints: the name maps (checked against names and
// shapes written out here from the official model code), round trips of generated ResNet-50
// and EfficientNet-B0 checkpoints, the moving-average weights, SmoothReLU's per-site
// parameters, the refusal to half-load, and `sat eval --checkpoint`.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import { openCheckpoint, writeCheckpoint, type TensorToWrite } from '../lib/checkpoint';
import { importTfCheckpoint, resnetActivationSites, tfCheckpointTensors, TfImportError } from '../lib/checkpoint/import';
import { withSiteActivations } from '../lib/checkpoint/tf-model';
import { findReleasedCheckpoints, releasedModelFor } from '../lib/checkpoint/released';
import { imagenetLabels } from '../lib/data/imagenet-labels';
import type { ImageFolderIndex } from '../lib/data/image-folder';
import { syntheticImageFolder } from '../lib/data/synthetic';
import { officialAttack, officialCropFraction, PREPROCESSING } from '../lib/eval/official';
import { buildModel, type Model } from '../lib/models';
import { resNet } from '../lib/models/resnet';
import { testBackend } from './helpers/backend';
import { sat } from './helpers/sat-in-process';

const f32 = (name: string, shape: number[], values: Float32Array | number[]): TensorToWrite => ({ name, dtype: 'float32', shape, data: Float32Array.from(values) });

/** Gives BN statistics and affine parameters seeded random values, so every variable changes the logits. */
function randomizeBatchNorm(model: Model, seed: number): void {
  let i = 0;
  for (const [name, v] of [...model.params, ...model.state]) {
    const leaf = name.split('/').pop()!;
    if (!['gamma', 'beta', 'moving_mean', 'moving_variance'].includes(leaf)) continue;
    const lo = leaf === 'gamma' || leaf === 'moving_variance' ? 0.5 : -0.2;
    v.assign(tf.randomUniform(v.shape, lo, lo + 1, 'float32', seed + i++));
  }
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function assertSameVariables(a: Model, b: Model): void {
  for (const [name, va] of [...a.params, ...a.state]) {
    const vb = b.params.get(name) ?? b.state.get(name);
    assert.ok(vb, name);
    assert.equal(maxAbsDiff(va, vb), 0, `${name} differs after the round trip`);
  }
}

function logitsOf(model: Model, x: tf.Tensor4D, act = makeActivation('silu')): tf.Tensor2D {
  return model.apply(x, { training: false, act });
}

/** The checkpoint names tensorpack gives SAT's ResNet-50 (ResNet/resnet_model.py), with shapes. */
function officialResNet50(): Map<string, number[]> {
  const names = new Map<string, number[]>();
  const convBn = (scope: string, kernel: number[]) => {
    names.set(`${scope}/W`, kernel);
    const c = kernel[3];
    for (const p of ['bn/gamma', 'bn/beta', 'bn/mean/EMA', 'bn/variance/EMA']) names.set(`${scope}/${p}`, [c]);
  };
  convBn('conv0', [7, 7, 3, 64]);
  let inC = 64;
  [3, 4, 6, 3].forEach((count, g) => {
    const ch = 64 * 2 ** g;
    for (let b = 0; b < count; b++) {
      const s = `group${g}/block${b}`;
      convBn(`${s}/conv1`, [1, 1, inC, ch]);
      convBn(`${s}/conv2`, [3, 3, ch, ch]);
      convBn(`${s}/conv3`, [1, 1, ch, 4 * ch]);
      if (inC !== 4 * ch) convBn(`${s}/convshortcut`, [1, 1, inC, 4 * ch]);
      inC = 4 * ch;
    }
  });
  names.set('linear/W', [2048, 1000]);
  names.set('linear/b', [1000]);
  return names;
}

/** Names and shapes the TPU EfficientNet-B0 code creates (efficientnet_builder.py, efficientnet_model.py). */
function officialEfficientNetB0(): Map<string, number[]> {
  const names = new Map<string, number[]>();
  const s = 'efficientnet-b0';
  const bn = (scope: string, c: number) => {
    for (const p of ['gamma', 'beta', 'moving_mean', 'moving_variance']) names.set(`${scope}/${p}`, [c]);
  };
  names.set(`${s}/stem/conv2d/kernel`, [3, 3, 3, 32]);
  bn(`${s}/stem/tpu_batch_normalization`, 32);
  // 'r1_k3_s11_e1_i32_o16_se0.25', 'r2_k3_s22_e6_i16_o24_se0.25', … (_DEFAULT_BLOCKS_ARGS)
  const stages = [[1, 3, 1, 32, 16], [2, 3, 6, 16, 24], [2, 5, 6, 24, 40], [3, 3, 6, 40, 80], [3, 5, 6, 80, 112], [4, 5, 6, 112, 192], [1, 3, 6, 192, 320]];
  let i = 0;
  for (const [repeats, k, e, inF, outF] of stages) {
    for (let r = 0; r < repeats; r++, i++) {
      const cin = r === 0 ? inF : outF;
      const mid = cin * e;
      const b = `${s}/blocks_${i}`;
      const bns = e === 1 ? ['tpu_batch_normalization', 'tpu_batch_normalization_1'] : ['tpu_batch_normalization_1', 'tpu_batch_normalization_2'];
      if (e !== 1) {
        names.set(`${b}/conv2d/kernel`, [1, 1, cin, mid]);
        bn(`${b}/tpu_batch_normalization`, mid);
      }
      names.set(`${b}/depthwise_conv2d/depthwise_kernel`, [k, k, mid, 1]);
      bn(`${b}/${bns[0]}`, mid);
      const se = Math.max(1, Math.floor(cin * 0.25));
      names.set(`${b}/se/conv2d/kernel`, [1, 1, mid, se]);
      names.set(`${b}/se/conv2d/bias`, [se]);
      names.set(`${b}/se/conv2d_1/kernel`, [1, 1, se, mid]);
      names.set(`${b}/se/conv2d_1/bias`, [mid]);
      names.set(`${b}/${e === 1 ? 'conv2d' : 'conv2d_1'}/kernel`, [1, 1, mid, outF]);
      bn(`${b}/${bns[1]}`, outF);
    }
  }
  names.set(`${s}/head/conv2d/kernel`, [1, 1, 320, 1280]);
  bn(`${s}/head/tpu_batch_normalization`, 1280);
  names.set(`${s}/head/dense/kernel`, [1280, 1000]);
  names.set(`${s}/head/dense/bias`, [1000]);
  return names;
}

describe('TensorFlow checkpoint import', function () {
  this.timeout(120_000);
  let dir: string;
  const x32 = () => tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 11) as tf.Tensor4D;

  before(async () => {
    await testBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-import-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('ResNet-50 (tensorpack names)', () => {
    let a: Model;
    let b: Model;
    let prefix: string;
    before(() => {
      a = buildModel('resnet50', { inputShape: [32, 32, 3], numClasses: 1000, seed: 1 });
      b = buildModel('resnet50', { inputShape: [32, 32, 3], numClasses: 1000, seed: 2 });
      randomizeBatchNorm(a, 100);
      prefix = path.join(dir, 'Res50-silu', 'Res50-silu');
      fs.mkdirSync(path.dirname(prefix));
      const tensors = tfCheckpointTensors(a, { arch: 'resnet50' });
      // Training leftovers a tensorpack checkpoint also holds; the import must skip them.
      const extras = [f32('conv0/W/Momentum', [7, 7, 3, 64], new Float32Array(7 * 7 * 3 * 64)), f32('learning_rate', [], [0.1]), f32('xentropy-loss/EMA', [], [2.5])];
      writeCheckpoint(prefix, [...tensors.map((t) => f32(t.name, t.shape, t.values)), ...extras, { name: 'global_step', dtype: 'int64', shape: [], data: BigInt64Array.of(5n) }]);
    });
    after(() => {
      a.dispose();
      b.dispose();
    });

    it('writes exactly the names and shapes of the official code', () => {
      const ckpt = openCheckpoint(prefix);
      const expected = officialResNet50();
      const written = new Map(ckpt.list().map((v) => [v.name, v.shape]));
      for (const extra of ['conv0/W/Momentum', 'learning_rate', 'xentropy-loss/EMA', 'global_step']) written.delete(extra);
      assert.deepEqual([...written.keys()].sort(), [...expected.keys()].sort());
      for (const [name, shape] of expected) assert.deepEqual(written.get(name), shape, name);
    });

    it('stores the stem kernel for BGR input: its input channels reversed', () => {
      const stored = openCheckpoint(prefix).read('conv0/W');
      const ours = a.params.get('conv0/kernel')!;
      assert.equal(maxAbsDiff(tf.tensor(stored.values as Float32Array, stored.shape), tf.reverse(ours, 2)), 0);
      assert.ok(maxAbsDiff(tf.tensor(stored.values as Float32Array, stored.shape), ours) > 0.01);
    });

    it('round-trips every variable and the logits', () => {
      const differs = tf.tidy(() => maxAbsDiff(logitsOf(a, x32()), logitsOf(b, x32())));
      assert.ok(differs > 1e-3, 'the two seeds give different models');
      const report = importTfCheckpoint(b, openCheckpoint(prefix), { arch: 'resnet50' });
      assert.equal(report.mapping.length, a.params.size + a.state.size);
      assert.equal(report.elements, [...a.params.values(), ...a.state.values()].reduce((s, v) => s + v.size, 0));
      assert.deepEqual(report.ignored.sort(), ['conv0/W/Momentum', 'global_step', 'learning_rate', 'xentropy-loss/EMA']);
      assert.equal(PREPROCESSING[report.family].checkpointChannels, 'BGR');
      assertSameVariables(a, b);
      tf.tidy(() => {
        const la = logitsOf(a, x32());
        assert.equal(maxAbsDiff(la, logitsOf(b, x32())), 0);
        assert.ok(tf.max(tf.abs(la)).dataSync()[0] > 1e-2, 'logits are not trivially zero');
      });
    });
  });

  describe('EfficientNet-B0 (TPU names)', () => {
    let a: Model;
    let b: Model;
    before(() => {
      a = buildModel('efficientnet-b0', { inputShape: [32, 32, 3], numClasses: 1000, seed: 1 });
      b = buildModel('efficientnet-b0', { inputShape: [32, 32, 3], numClasses: 1000, seed: 2 });
      randomizeBatchNorm(a, 200);
    });
    after(() => {
      a.dispose();
      b.dispose();
    });

    it('maps onto exactly the official names and shapes, and round-trips', () => {
      const prefix = path.join(dir, 'effb0', 'model.ckpt-1000');
      fs.mkdirSync(path.dirname(prefix));
      const tensors = tfCheckpointTensors(a, { arch: 'efficientnet-b0' });
      const expected = officialEfficientNetB0();
      assert.deepEqual(tensors.map((t) => t.name).sort(), [...expected.keys()].sort());
      for (const t of tensors) assert.deepEqual(t.shape, expected.get(t.name), t.name);
      writeCheckpoint(prefix, tensors.map((t) => f32(t.name, t.shape, t.values)), { compression: 'snappy' });
      importTfCheckpoint(b, openCheckpoint(prefix), { arch: 'efficientnet-b0' });
      assertSameVariables(a, b);
      tf.tidy(() => assert.equal(maxAbsDiff(logitsOf(a, x32()), logitsOf(b, x32())), 0));
    });

    it('reads the moving-average shadows when asked, and BN vectors stored as [1,1,1,1,C]', () => {
      const prefix = path.join(dir, 'effb0-ema', 'model.ckpt');
      fs.mkdirSync(path.dirname(prefix));
      const tensors = tfCheckpointTensors(a, { arch: 'efficientnet-b0' });
      // SAT's eval BatchNormalization (EfficientNet/utils.py) makes BN variables [1,1,1,1,C].
      const bnShape = (t: { name: string; shape: number[] }) => (/tpu_batch_normalization/.test(t.name) ? [1, 1, 1, 1, ...t.shape] : t.shape);
      writeCheckpoint(prefix, [
        ...tensors.map((t) => f32(`${t.name}/ExponentialMovingAverage`, bnShape(t), t.values)),
        ...tensors.map((t) => f32(t.name, bnShape(t), t.values.map((v) => v + 1))),
        ...tensors.slice(0, 3).map((t) => f32(`${t.name}/RMSProp`, bnShape(t), t.values)),
      ]);
      const ckpt = openCheckpoint(prefix);
      const report = importTfCheckpoint(b, ckpt, { arch: 'efficientnet-b0', movingAverage: true });
      assert.deepEqual(report.ignored.sort(), tensors.slice(0, 3).map((t) => `${t.name}/RMSProp`).sort(), 'optimizer slots are skipped; the raw twins count as used');
      assertSameVariables(a, b);
      importTfCheckpoint(b, ckpt, { arch: 'efficientnet-b0' });
      const kernel = 'stem/conv/kernel';
      assert.equal(maxAbsDiff(b.params.get(kernel)!, tf.add(a.params.get(kernel)!, 1)), 0, 'without movingAverage the raw weights load');
    });
  });

  describe('errors and SmoothReLU sites (a small ResNet)', () => {
    const arch = { blocks: [1, 1], groups: 1, widthPerGroup: 64 };
    const small = (seed: number) => resNet({ inputShape: [16, 16, 3], numClasses: 10, width: 8, seed }, arch, 'resnet11');
    const opts = { arch: 'resnet11' };
    let a: Model;
    let tensors: ReturnType<typeof tfCheckpointTensors>;
    before(() => {
      a = small(1);
      randomizeBatchNorm(a, 300);
      tensors = tfCheckpointTensors(a, opts);
    });
    after(() => a.dispose());

    it('lists missing, unexpected and mis-shaped variables and loads nothing', () => {
      const prefix = path.join(dir, 'broken');
      writeCheckpoint(prefix, [
        ...tensors.filter((t) => t.name !== 'group1/block0/conv3/bn/variance/EMA').map((t) => (t.name === 'linear/b' ? f32(t.name, [11], new Float32Array(11)) : f32(t.name, t.shape, t.values))),
        f32('group2/block0/conv1/W', [1, 1, 32, 32], new Float32Array(32 * 32)),
      ]);
      const b = small(2);
      try {
        const original = b.params.get('conv0/kernel')!.dataSync().slice();
        assert.throws(
          () => importTfCheckpoint(b, openCheckpoint(prefix), opts),
          (e: unknown) => {
            assert.ok(e instanceof TfImportError);
            assert.deepEqual(e.missing, ['group1/block0/conv3/bn/variance/EMA']);
            assert.deepEqual(e.unexpected, ['group2/block0/conv1/W']);
            assert.equal(e.mismatched.length, 1);
            assert.match(e.message, /nothing was loaded/);
            assert.match(e.message, /linear\/b is \[11\] but resnet11's linear\/bias is \[10\]/);
            assert.match(e.message, /sat checkpoint inspect/);
            return true;
          },
        );
        assert.deepEqual(b.params.get('conv0/kernel')!.dataSync(), original, 'no variable was assigned');
      } finally {
        b.dispose();
      }
    });

    it('an EMA import of a checkpoint without shadows says to load the raw weights', () => {
      const prefix = path.join(dir, 'raw-only');
      writeCheckpoint(prefix, tensors.map((t) => f32(t.name, t.shape, t.values)));
      const b = small(2);
      try {
        assert.throws(() => importTfCheckpoint(b, openCheckpoint(prefix), { ...opts, movingAverage: true }), /no ExponentialMovingAverage variables/);
      } finally {
        b.dispose();
      }
    });

    it('loads one SmoothReLU a per activation site, in the order the model applies them', () => {
      const sites = resnetActivationSites(a);
      assert.deepEqual(sites.map((s) => s.site), ['conv0', 'group0/block0/conv1', 'group0/block0/conv2', 'group0/block0', 'group1/block0/conv1', 'group1/block0/conv2', 'group1/block0']);
      const write = (name: string, raw: (i: number) => number, skip?: string) =>
        writeCheckpoint(path.join(dir, name), [
          ...tensors.map((t) => f32(t.name, t.shape, t.values)),
          ...sites.filter((s) => s.site !== skip).map((s, i) => f32(`${s.site}/smoothrelu_beta`, [1], [raw(i)])),
        ]);
      const b = small(2);
      const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      try {
        // Equal betas: the same as one SmoothReLU with a = beta² everywhere.
        write('srelu-equal', () => 3);
        const equal = importTfCheckpoint(b, openCheckpoint(path.join(dir, 'srelu-equal')), opts);
        assert.deepEqual(equal.activationParams.map((p) => p.value), sites.map(() => 9));
        const perSite = (params: typeof equal.activationParams) =>
          withSiteActivations(b, params.map((p) => ({ site: p.site, channels: sites.find((s) => s.site === p.site)!.channels, act: makeActivation({ name: 'smoothrelu', param: p.value }) })));
        const uniform = makeActivation({ name: 'smoothrelu', param: 9 });
        tf.tidy(() => assert.ok(maxAbsDiff(perSite(equal.activationParams).apply(x, { training: false, act: uniform }), logitsOf(a, x, uniform)) < 1e-5));
        // Different betas per site give a different function, and a site out of order is caught.
        write('srelu-varied', (i) => 1 + i);
        const varied = importTfCheckpoint(b, openCheckpoint(path.join(dir, 'srelu-varied')), opts).activationParams;
        tf.tidy(() => assert.ok(maxAbsDiff(perSite(varied).apply(x, { training: false, act: uniform }), logitsOf(a, x, uniform)) > 1e-4));
        const swapped = [varied[0], varied[3], ...varied.slice(1, 3), ...varied.slice(4)];
        assert.throws(() => tf.tidy(() => perSite(swapped).apply(x, { training: false, act: uniform })), /out of step/);
        // A site without its beta is listed as missing.
        write('srelu-missing', () => 3, 'group1/block0/conv2');
        assert.throws(() => importTfCheckpoint(b, openCheckpoint(path.join(dir, 'srelu-missing')), opts), /missing from the checkpoint \(1\): group1\/block0\/conv2\/smoothrelu_beta/);
      } finally {
        x.dispose();
        b.dispose();
      }
    });
  });

  describe('official settings, labels and the catalog', () => {
    it('PGD-k at eps 4/255 with step max(1, 4/k)/255, random start, untargeted', () => {
      assert.deepEqual(officialAttack(10), { type: 'pgd-linf', eps: 4 / 255, stepSize: 1 / 255, steps: 10, randomStart: true, targeted: false, restarts: 0 });
      assert.equal(officialAttack(2).stepSize, 2 / 255);
      assert.equal(Math.floor(224 / officialCropFraction(224)), 256);
      assert.equal(Math.floor(299 / officialCropFraction(299)), 331);
    });

    it('maps class folders to ImageNet indices through a synset list', () => {
      const root = path.join(dir, 'imagenette');
      fs.mkdirSync(root);
      const wnids = Array.from({ length: 1000 }, (_, i) => `n${String(1440764 + i * 7).padStart(8, '0')}`);
      const index: ImageFolderIndex = { name: 'imagenette', root, dir: root, classNames: [wnids[0], wnids[217]], files: ['a', 'b', 'c'], labels: Int32Array.of(0, 1, 1), synthetic: false };
      assert.throws(() => imagenetLabels(index), /--synsets/);
      fs.writeFileSync(path.join(root, 'LOC_synset_mapping.txt'), wnids.map((w) => `${w} some words`).join('\n'));
      assert.deepEqual([...imagenetLabels(index).labels], [0, 217, 217]);
      fs.writeFileSync(path.join(root, 'bad.txt'), 'n01440764\n');
      assert.throws(() => imagenetLabels(index, path.join(root, 'bad.txt')), /expected 1000 WordNet IDs/);
    });

    it('recognises the download scripts\' layout', () => {
      assert.equal(releasedModelFor('data/checkpoints/Res50-silu/Res50-silu')?.arch, 'resnet50');
      assert.equal(releasedModelFor('/x/efficientnet-bL1-enhanced/efficientnet-bL1-enhanced.index')?.movingAverage, true);
      assert.equal(releasedModelFor('/x/model.ckpt'), undefined);
      assert.deepEqual(findReleasedCheckpoints(path.join(dir, 'nowhere')), []);
    });
  });

  describe('sat eval --checkpoint', () => {

    it('evaluates a generated EfficientNet-B0 checkpoint on a synthetic folder', async () => {
      const model = buildModel('efficientnet-b0', { inputShape: [32, 32, 3], numClasses: 1000, seed: 3 });
      const ckptDir = path.join(dir, 'efficientnet-b0');
      fs.mkdirSync(ckptDir);
      writeCheckpoint(path.join(ckptDir, 'efficientnet-b0'), tfCheckpointTensors(model, { arch: 'efficientnet-b0' }).map((t) => f32(t.name, t.shape, t.values)));
      model.dispose();
      const data = syntheticImageFolder(path.join(dir, 'synthetic-imagenet'), { classes: 3, perClass: 1, valPerClass: 1, size: 40, seed: 1 }).root;
      const r = await sat('eval', '--checkpoint', ckptDir, '--data', data, '--limit', '2', '--steps', '1', '--input-size', '32', '--batch-size', '2', '--json');
      assert.equal(r.code, 0, r.err);
      const records = r.out.split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(records.map((x) => [x.attack, x.steps, x.n]), [['clean', 0, 2], ['pgd-linf', 1, 2]]);
      assert.equal(records[0].model, 'efficientnet-b0');
      assert.equal(records[0].synthetic, true);
      assert.ok(Math.abs(records[1].eps - 4 / 255) < 1e-12);
      assert.match(r.err, /README \(efficientnet-b0, full 50k val\): clean 65\.2%/);
      const wrong = await sat('eval', '--checkpoint', ckptDir, '--arch', 'efficientnet-b1', '--data', data, '--limit', '1', '--steps', '1');
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.err, /nothing was loaded/);
    });
  });
});
