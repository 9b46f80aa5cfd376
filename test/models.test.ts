import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import { makeAttack } from '../lib/attacks';
import { modelsCommand } from '../lib/cli/models';
import { buildModel, modelDefaults, modelNames, type Model } from '../lib/models';
import { countModel, measureModel, PUBLISHED } from '../lib/models/count';
import { efficientNet, efficientNetBlocks, EFFICIENTNETS, roundFilters, roundRepeats } from '../lib/models/efficientnet';
import { batchNormTraining, buildForCounting, conv2d, depthwiseConv2d, dropout, type ForwardContext, isDecayed, MacCounter, ParamStore } from '../lib/models/layers';
import { RESNET_DEPTHS, resNet } from '../lib/models/resnet';
import { Sgd } from '../lib/train/optimizer';
import { satStep } from '../lib/train/step';
import { testBackend } from './helpers/backend';

const within = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance * expected, `${what}: ${actual} vs ${expected} (more than ${tolerance * 100}% apart)`);

/** Variable shapes of a registered model at its default input, from a counting build (no memory). */
function shapesOf(name: string): Map<string, number[]> {
  const model = buildForCounting(new MacCounter(), () => buildModel(name, modelDefaults(name)));
  return new Map([...model.params, ...model.state].map(([n, v]) => [n, v.shape]));
}

/** Per-layer multiply-adds of a registered model at its default input. */
function macsByLayer(name: string): Map<string, number> {
  const counter = new MacCounter();
  const { inputShape, numClasses } = modelDefaults(name);
  const model = buildForCounting(counter, () => buildModel(name, { inputShape, numClasses }));
  tf.tidy(() => void model.apply(tf.zeros([1, ...inputShape]), { training: false, act: (x) => x }));
  return counter.byLayer;
}

/**
 * Trainable parameters of a torchvision-style bottleneck ResNet/ResNeXt, written out
 * independently of lib/models/resnet.ts: stem conv+BN, per block conv1/conv2/conv3 with BNs
 * and a projection shortcut in each stage's first block, then the classifier.
 */
function bottleneckParams(blocks: number[], groups: number, widthPerGroup: number, classes = 1000): number {
  let n = 7 * 7 * 3 * 64 + 2 * 64;
  let inC = 64;
  blocks.forEach((count, s) => {
    const planes = 64 * 2 ** s;
    const w = (planes * groups * widthPerGroup) / 64;
    const out = 4 * planes;
    for (let b = 0; b < count; b++) {
      n += inC * w + 2 * w + 9 * (w / groups) * w + 2 * w + w * out + 2 * out;
      if (b === 0) n += inC * out + 2 * out;
      inC = out;
    }
  });
  return n + inC * classes + classes;
}

describe('ImageNet models', () => {
  before(testBackend);

  describe('sizes', () => {
    const sizes = new Map<string, ReturnType<typeof countModel>>();
    const size = (name: string) => sizes.get(name) ?? sizes.set(name, countModel(name)).get(name)!;

    it('counting builds allocate no tensors, even for EfficientNet-L1 (272M parameters)', () => {
      const before = tf.memory();
      for (const name of modelNames()) size(name);
      assert.equal(tf.memory().numTensors, before.numTensors);
      assert.equal(tf.memory().numBytes, before.numBytes);
      assert.ok(size('efficientnet-l1').params > 2e8);
    });

    it('parameter counts match the published ones within 0.5% (sources in lib/models/count.ts)', () => {
      for (const [name, published] of Object.entries(PUBLISHED)) within(size(name).params, published.params, 0.005, name);
    });

    it('ResNeXt-50 32x8d and ResNeXt-152 32x8d (no published count) match the bottleneck formula, itself checked on torchvision counts', () => {
      assert.equal(bottleneckParams(RESNET_DEPTHS[50], 1, 64), 25_557_032); // torchvision resnet50
      assert.equal(bottleneckParams(RESNET_DEPTHS[101], 32, 8), 88_791_336); // torchvision resnext101_32x8d
      assert.equal(size('resnext50-32x8d').params, bottleneckParams(RESNET_DEPTHS[50], 32, 8));
      assert.equal(size('resnext152-32x8d').params, bottleneckParams(RESNET_DEPTHS[152], 32, 8));
    });

    it('BN moving statistics are state, not counted as parameters', () => {
      for (const name of ['resnet50', 'efficientnet-b0']) {
        const model = buildForCounting(new MacCounter(), () => buildModel(name, modelDefaults(name)));
        assert.ok([...model.params.keys()].every((n) => !/moving_(mean|variance)$/.test(n)), `${name}: no statistics among params`);
        assert.ok([...model.state.keys()].every((n) => /moving_(mean|variance)$/.test(n)), `${name}: state is only statistics`);
        const gammas = [...model.params.keys()].filter((n) => n.endsWith('/gamma'));
        assert.equal(model.state.size, 2 * gammas.length);
        for (const g of gammas) assert.deepEqual(model.state.get(g.replace(/gamma$/, 'moving_mean'))?.shape, model.params.get(g)!.shape);
      }
    });

    it('multiply-adds match the published ones within 5% (torchvision GFLOPS; EfficientNet paper, Table 2)', () => {
      for (const [name, published] of Object.entries(PUBLISHED)) {
        if (published.macs) within(size(name).macs, published.macs, 0.05, `${name} MACs`);
      }
    });

    it('a layer counts k·k·Cin/groups·Cout·outH·outW multiply-adds at its real output size', () => {
      const resnet = macsByLayer('resnet50');
      assert.equal(resnet.get('conv0'), 7 * 7 * 3 * 64 * 112 * 112);
      assert.equal(resnet.get('group1/block0/conv2'), 3 * 3 * 128 * 128 * 28 * 28); // v1.5: the 3x3 conv strides
      assert.equal(resnet.get('group1/block0/conv1'), 256 * 128 * 56 * 56);
      assert.equal(resnet.get('linear'), 2048 * 1000);
      assert.equal(macsByLayer('resnext50-32x4d').get('group0/block0/conv2'), 3 * 3 * (128 / 32) * 128 * 56 * 56);
      const b0 = macsByLayer('efficientnet-b0');
      assert.equal(b0.get('stem/conv'), 3 * 3 * 3 * 32 * 112 * 112);
      assert.equal(b0.get('blocks_1/depthwise_conv'), 3 * 3 * 96 * 56 * 56);
      assert.equal(b0.get('blocks_1/se/reduce_conv'), 96 * 4);
    });

    it('sat models --json prints the counts of the models it is given', async () => {
      const printed: string[] = [];
      const log = console.log;
      console.log = (...a: unknown[]) => void printed.push(a.join(' '));
      try {
        assert.equal(await modelsCommand(['resnet50', 'efficientnet-b7', '--json']), 0);
      } finally {
        console.log = log;
      }
      const rows = JSON.parse(printed.join('\n')) as { model: string; inputShape: number[]; params: number; macs: number }[];
      assert.deepEqual(rows.map((r) => r.model), ['resnet50', 'efficientnet-b7']);
      assert.deepEqual(rows[1].inputShape, [600, 600, 3]);
      assert.deepEqual([rows[1].params, rows[1].macs], [size('efficientnet-b7').params, size('efficientnet-b7').macs]);
      await assert.rejects(modelsCommand(['resnet51']), /Unknown model 'resnet51'. Valid models: .*resnet50/);
    });
  });

  describe('structure', () => {
    it('round_filters and round_repeats follow the official formulas', () => {
      assert.equal(roundFilters(32, 1.1), 32); // 35.2 rounds down to 32, within 10%
      assert.equal(roundFilters(32, 1.2), 40); // 38.4 rounds up
      assert.equal(roundFilters(1280, 3.9), 4992);
      assert.equal(roundFilters(11, 1), 16); // 8 would be more than 10% below 11: add a divisor
      assert.equal(roundFilters(4, 1), 8); // never below the divisor
      assert.equal(roundRepeats(3, 1.2), 4); // 3.5999999999999996
      assert.equal(roundRepeats(4, 3.7), 15);
      const blockCount = (name: string) => efficientNetBlocks(EFFICIENTNETS[name].width, EFFICIENTNETS[name].depth).length;
      assert.deepEqual(['efficientnet-b0', 'efficientnet-b7', 'efficientnet-l1'].map(blockCount), [16, 55, 63]);
    });

    it('EfficientNet-B0 has the TF checkpoint’s blocks and shapes', () => {
      const s = shapesOf('efficientnet-b0');
      assert.deepEqual(s.get('stem/conv/kernel'), [3, 3, 3, 32]);
      assert.equal(s.get('blocks_0/expand_conv/kernel'), undefined, 'expansion ratio 1: no expand conv');
      assert.deepEqual(s.get('blocks_0/depthwise_conv/depthwise_kernel'), [3, 3, 32, 1]);
      assert.deepEqual(s.get('blocks_0/se/reduce_conv/kernel'), [1, 1, 32, 8]);
      assert.deepEqual(s.get('blocks_0/se/reduce_conv/bias'), [8]);
      assert.deepEqual(s.get('blocks_1/expand_conv/kernel'), [1, 1, 16, 96]);
      assert.deepEqual(s.get('blocks_1/se/expand_conv/kernel'), [1, 1, 4, 96]);
      assert.deepEqual(s.get('blocks_15/project_conv/kernel'), [1, 1, 1152, 320]);
      assert.deepEqual(s.get('head/conv/kernel'), [1, 1, 320, 1280]);
      assert.deepEqual(s.get('head/dense/kernel'), [1280, 1000]);
      assert.equal(s.has('blocks_16/project_conv/kernel'), false);
      assert.ok(isDecayed('blocks_0/depthwise_conv/depthwise_kernel') && !isDecayed('blocks_0/se/reduce_conv/bias'));
    });

    it('ResNets use tensorpack’s names; ResNeXt kernels hold in/groups input channels', () => {
      const r = shapesOf('resnet50');
      assert.deepEqual(r.get('conv0/kernel'), [7, 7, 3, 64]);
      assert.deepEqual(r.get('conv0/bn/gamma'), [64]);
      assert.deepEqual(r.get('group0/block0/convshortcut/kernel'), [1, 1, 64, 256]);
      assert.equal(r.has('group0/block1/convshortcut/kernel'), false);
      assert.deepEqual(r.get('group3/block2/conv3/bn/moving_variance'), [2048]);
      assert.deepEqual(r.get('linear/kernel'), [2048, 1000]);
      assert.deepEqual(shapesOf('resnext50-32x4d').get('group0/block0/conv2/kernel'), [3, 3, 4, 128]);
    });

    it('the registry gives every model the default width its builder uses when a config gives none', () => {
      const widths = Object.fromEntries(modelNames().map((name) => [name, modelDefaults(name).width]));
      assert.deepEqual(
        [widths['mnist-cnn'], widths['mnist-cnn-d6'], widths['preact-resnet18'], widths.resnet50, widths.resnet14, widths['efficientnet-b0']],
        [16, 16, 64, 64, 64, 1],
      );
      for (const name of modelNames()) {
        const { inputShape, numClasses, width } = modelDefaults(name);
        assert.ok(width !== undefined && width > 0, `${name} has a default width`);
        const built = (w?: number) => {
          const m = buildForCounting(new MacCounter(), () => buildModel(name, { inputShape, numClasses, width: w }));
          return [...m.params].map(([n, v]) => `${n}:${v.shape}`);
        };
        assert.deepEqual(built(width), built(undefined), `${name}: the registry's width ${width} is the builder's default`);
      }
    });

    it('bad widths and group counts fail with a message that says what to change', () => {
      const opts = { inputShape: [32, 32, 3] as [number, number, number], numClasses: 10, width: 8 };
      assert.throws(() => resNet(opts, { blocks: [1, 1], groups: 2, widthPerGroup: 3 }), /choose a base width/);
      assert.throws(() => resNet({ ...opts, width: 6 }, { blocks: [1], groups: 4, widthPerGroup: 16 }), /groups must divide/);
      assert.throws(() => resNet(opts, { blocks: [], groups: 1, widthPerGroup: 64 }), /positive integers/);
    });
  });

  describe('layers', () => {
    const ctx: ForwardContext = { training: false, act: (x) => x };
    const close = (a: tf.Tensor, b: tf.Tensor) => assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]) < 1e-4);

    it("'tf-same' padding puts the extra row and column at the bottom and right, as TensorFlow does", () => {
      const store = new ParamStore(1);
      const conv = conv2d(store, 'c', 2, 3, 3, { stride: 2, padding: 'tf-same' });
      const dw = depthwiseConv2d(store, 'd', 2, 3, { stride: 2, padding: 'tf-same' });
      tf.tidy(() => {
        const x = tf.randomUniform([1, 6, 6, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
        const padded = tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]);
        const y = conv(x, ctx);
        assert.deepEqual(y.shape, [1, 3, 3, 3]);
        close(y, tf.conv2d(padded, store.params.get('c/kernel') as tf.Tensor4D, 2, 'valid'));
        close(dw(x, ctx), tf.depthwiseConv2d(padded, store.params.get('d/depthwise_kernel') as tf.Tensor4D, 2, 'valid'));
      });
      store.dispose();
    });

    it('a grouped conv equals a dense conv with a block-diagonal kernel', () => {
      const store = new ParamStore(2);
      const conv = conv2d(store, 'g', 4, 6, 3, { groups: 2 });
      tf.tidy(() => {
        const x = tf.randomUniform([2, 5, 5, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
        const [k0, k1] = tf.split(store.params.get('g/kernel')!, 2, 3);
        const zero = tf.zeros([3, 3, 2, 3]);
        const dense = tf.concat([tf.concat([k0, zero], 3), tf.concat([zero, k1], 3)], 2) as tf.Tensor4D;
        close(conv(x, ctx), tf.conv2d(x, dense, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]));
      });
      store.dispose();
    });

    it('training batch norm: its closed-form gradient equals autodiff of batchNorm(moments), and it reports the moments', () => {
      tf.tidy(() => {
        const x = tf.add(tf.mul(tf.randomNormal([6, 5, 4, 3], 0, 1, 'float32', 3), 2), 0.5) as tf.Tensor4D;
        const gamma = tf.tensor1d([0.5, 1.5, -1]);
        const beta = tf.tensor1d([0.1, -0.2, 0.3]);
        const w = tf.randomNormal([6, 5, 4, 3], 0, 1, 'float32', 4); // a loss whose dy is not uniform
        const reference = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const m = tf.moments(x, [0, 1, 2]);
          return tf.sum(tf.mul(tf.square(tf.batchNorm(x as tf.Tensor4D, m.mean, m.variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-5)), w));
        };
        let moments: { mean: tf.Tensor; variance: tf.Tensor } | undefined;
        const ours = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.square(batchNormTraining(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, (m) => {
            tf.dispose([moments?.mean, moments?.variance].filter((t): t is tf.Tensor => !!t));
            moments = { mean: tf.keep(tf.clone(m.mean)), variance: tf.keep(tf.clone(m.variance)) };
          })), w));
        const expected = tf.grads(reference)([x, gamma, beta]);
        const actual = tf.grads(ours)([x, gamma, beta]);
        ['x', 'gamma', 'beta'].forEach((name, i) => {
          const err = tf.max(tf.abs(tf.sub(actual[i], expected[i]))).dataSync()[0] / tf.max(tf.abs(expected[i])).dataSync()[0];
          assert.ok(err < 1e-4, `gradient of ${name}: relative error ${err}`);
        });
        close(ours(x, gamma, beta), reference(x, gamma, beta));
        const m = tf.moments(x, [0, 1, 2]);
        close(moments!.mean, m.mean);
        close(moments!.variance, m.variance);
        tf.dispose([moments!.mean, moments!.variance]);
      });
    });

    it('drop-connect drops whole examples in training only, scales survivors, repeats for a seed', () => {
      const drop = dropout(new ParamStore(3), 0.5, { perExample: true });
      tf.tidy(() => {
        const x = tf.ones([64, 2, 2, 3]) as tf.Tensor4D;
        assert.equal(drop(x, ctx), x, 'identity in inference');
        const train = { ...ctx, training: true, seed: 7 };
        const y = drop(x, train);
        const perExample = tf.max(y, [1, 2, 3]).dataSync();
        assert.deepEqual(tf.min(y, [1, 2, 3]).dataSync(), perExample, 'one decision per example');
        assert.ok(perExample.every((v) => v === 0 || v === 2), 'survivors scaled by 1/(1-0.5)');
        const kept = perExample.filter((v) => v === 2).length;
        assert.ok(kept > 16 && kept < 48, `kept ${kept} of 64`);
        assert.deepEqual(drop(x, train).dataSync(), y.dataSync(), 'same seed, same mask');
      });
    });
  });

  describe('training', () => {
    const tiny: Record<string, () => Model> = {
      // Scaled-down versions of each family: 32x32 inputs, narrow, one or two blocks per stage.
      resnet: () => resNet({ inputShape: [32, 32, 3], numClasses: 10, width: 8, seed: 1 }, { blocks: [1, 1, 1, 1], groups: 1, widthPerGroup: 64 }),
      resnext: () => resNet({ inputShape: [32, 32, 3], numClasses: 10, width: 8, seed: 2 }, { blocks: [1, 2], groups: 4, widthPerGroup: 16 }),
      efficientnet: () => efficientNet({ inputShape: [32, 32, 3], numClasses: 10, width: 0.25, seed: 3 }, { width: 1, depth: 0.3, dropout: 0.2 }),
    };

    for (const [family, build] of Object.entries(tiny)) {
      it(`a scaled-down ${family} runs forward at any input size and trains; a SAT step leaves no tensors behind`, () => {
        const model = build();
        const act = makeActivation('silu');
        tf.tidy(() => {
          assert.deepEqual(model.apply(tf.zeros([2, 32, 32, 3]), { training: false, act }).shape, [2, 10]);
          assert.deepEqual(model.apply(tf.zeros([1, 37, 45, 3]), { training: false, act }).shape, [1, 10]);
        });
        const opt = new Sgd(model.params, { momentum: 0.9, nesterov: true, weightDecay: 5e-5, decays: isDecayed });
        const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
        const y = tf.tensor1d([0, 1, 2, 3], 'int32');
        const step = { attack: makeAttack({ type: 'pgd-linf', eps: 4 / 255, steps: 1 }), attackerAct: act, trainerAct: act, labelSmoothing: 0.1, lr: 0.1, seed: 1 };
        const first = [...model.params.keys()][0];
        const weightsBefore = model.params.get(first)!.dataSync().slice();
        const tensorsBefore = tf.memory().numTensors;
        for (let i = 0; i < 2; i++) assert.ok(Number.isFinite(satStep(model, opt, x, y, step).loss));
        assert.equal(tf.memory().numTensors, tensorsBefore);
        assert.notDeepEqual(model.params.get(first)!.dataSync(), weightsBefore, `${first} moved`);
        tf.dispose([x, y]);
        opt.dispose();
        model.dispose();
      });
    }

    it('a counting build counts the same parameters as the real model', () => {
      const real = tiny.efficientnet();
      const counted = measureModel(tiny.efficientnet);
      assert.equal(counted.params, [...real.params.values()].reduce((n, v) => n + v.size, 0));
      real.dispose();
    });
  });
});
