// The oneDNN addon's conv kernels (lib/kernels/native.ts) against the cpu backend on many random
// shapes, whole SAT steps against cpu and against the wasm kernels, and leaks (tensors, the
// addon's caches, RSS). Skipped with one line where the addon is not built, unless
// SAT_REQUIRE_NATIVE=1 (CI), where a missing addon fails.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { makeActivation } from '../lib/activations';
import { makeAttack } from '../lib/attacks';
import { initBackend, type BackendName } from '../lib/backend';
import { describeConvKernels } from '../lib/kernels';
import { nativeAddon, nativeEnabled, nativeStatus, setNativeThreads, threadsFromEnv } from '../lib/kernels/native-addon';
import { NATIVE_KERNEL_NAMES, registerNativeKernels, unregisterNativeKernels } from '../lib/kernels/native';
import { nativeKernelCounts, resetNativeKernelCounts } from '../lib/kernels/native-call';
import { buildModel, type Model } from '../lib/models';
import { isDecayed } from '../lib/models/layers';
import { satStep, Sgd } from '../lib/train';
import { makeRng, type Rng } from '../lib/util/rng';
import { type Data, randomData, relativeError } from './helpers/random-data';

const TOLERANCE = 1e-4;
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));


interface KernelCase {
  label: string;
  kernel: string;
  inputs: Record<string, Data>;
  attrs: Record<string, unknown>;
}

function runCase(c: KernelCase): Data | Error {
  try {
    return tf.tidy(() => {
      const inputs: tf.NamedTensorMap = {};
      for (const [k, d] of Object.entries(c.inputs)) inputs[k] = tf.tensor(d.values, d.shape);
      const out = tf.engine().runKernel(c.kernel, inputs, c.attrs as tf.NamedAttrMap) as tf.Tensor;
      return { shape: out.shape, values: out.dataSync() as Float32Array };
    });
  } catch (e) {
    return e as Error;
  }
}

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvSpec {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** A random conv with a non-empty output: strides, dilations, all three kinds of padding, 1x1. */
function randomSpec(rng: Rng, depthwise: boolean): ConvSpec {
  for (;;) {
    const cin = int(rng, 1, depthwise ? 12 : 20);
    const dilated = rng() < 0.25;
    const spec: ConvSpec = {
      x: [int(rng, 1, 4), int(rng, 1, 14), int(rng, 1, 14), cin],
      filter: [int(rng, 1, 5), int(rng, 1, 5), cin, depthwise ? int(rng, 1, 3) : int(rng, 1, 24)],
      strides: dilated ? [1, 1] : [int(rng, 1, 3), int(rng, 1, 3)],
      dilations: dilated ? [int(rng, 1, 3), int(rng, 1, 3)] : [1, 1],
      pad: (['same', 'valid', 'explicit'] as const).map((p) => (p === 'explicit' ? ([[0, 0], [int(rng, 0, 3), int(rng, 0, 3)], [int(rng, 0, 3), int(rng, 0, 3)], [0, 0]] as Pad) : p))[int(rng, 0, 2)],
    };
    const info = tf.backend_util.computeConv2DInfo(spec.x, spec.filter, spec.strides, spec.dilations, spec.pad, undefined, depthwise);
    if (info.outHeight > 0 && info.outWidth > 0) return spec;
  }
}

/** Layers of the models (smaller batches and images, for the cpu backend's sake): the MNIST CNN's, PreAct ResNet's 1x1 shortcut, the benchmark's reference layer. */
function modelSpecs(): ConvSpec[] {
  const same1: Pad = [[0, 0], [1, 1], [1, 1], [0, 0]];
  return [
    { x: [2, 28, 28, 1], filter: [3, 3, 1, 16], strides: [1, 1], dilations: [1, 1], pad: same1 },
    { x: [2, 28, 28, 16], filter: [3, 3, 16, 32], strides: [2, 2], dilations: [1, 1], pad: same1 },
    { x: [2, 32, 32, 3], filter: [3, 3, 3, 32], strides: [1, 1], dilations: [1, 1], pad: 'same' },
    { x: [2, 16, 16, 32], filter: [3, 3, 32, 32], strides: [1, 1], dilations: [1, 1], pad: 'same' },
    { x: [2, 16, 16, 32], filter: [1, 1, 32, 64], strides: [2, 2], dilations: [1, 1], pad: 'valid' },
    { x: [2, 15, 15, 24], filter: [5, 5, 24, 1], strides: [2, 2], dilations: [1, 1], pad: 'same' },
    // tfjs's rounding modes: the output size, not the padding, decides the padding after.
    { x: [2, 8, 8, 3], filter: [2, 2, 3, 5], strides: [3, 3], dilations: [1, 1], pad: 2, dimRoundingMode: 'ceil' },
    { x: [2, 7, 7, 3], filter: [5, 5, 3, 4], strides: [2, 2], dilations: [1, 1], pad: 1, dimRoundingMode: 'floor' },
    { x: [2, 9, 8, 6], filter: [3, 3, 6, 1], strides: [2, 2], dilations: [1, 1], pad: 1, dimRoundingMode: 'round' },
  ];
}

function convCases(rng: Rng, spec: ConvSpec, depthwise: boolean): KernelCase[] {
  const info = tf.backend_util.computeConv2DInfo(spec.x, spec.filter, spec.strides, spec.dilations, spec.pad, spec.dimRoundingMode, depthwise);
  const [x, filter, dy] = [randomData(rng, spec.x), randomData(rng, spec.filter), randomData(rng, info.outShape)];
  const label = `x[${spec.x}] f[${spec.filter}] s[${spec.strides}] d[${spec.dilations}] pad ${JSON.stringify(spec.pad)}`;
  const common = { strides: spec.strides, pad: spec.pad, dataFormat: 'NHWC', dilations: spec.dilations, dimRoundingMode: spec.dimRoundingMode };
  const cases: KernelCase[] = [{ label, kernel: depthwise ? tf.DepthwiseConv2dNative : tf.Conv2D, inputs: { x, filter }, attrs: common }];
  // tfjs differentiates undilated convs only; its cpu gradient kernels assume it.
  if (spec.dilations[0] === 1 && spec.dilations[1] === 1) {
    cases.push(
      { label, kernel: depthwise ? tf.DepthwiseConv2dNativeBackpropInput : tf.Conv2DBackpropInput, inputs: { dy, filter }, attrs: { ...common, inputShape: spec.x } },
      { label, kernel: depthwise ? tf.DepthwiseConv2dNativeBackpropFilter : tf.Conv2DBackpropFilter, inputs: { x, dy }, attrs: { ...common, filterShape: spec.filter } },
    );
  }
  const activation = (['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const)[int(rng, 0, 5)];
  const bias = randomData(rng, [info.outChannels]);
  const fused = depthwise ? tf.FusedDepthwiseConv2D : tf.FusedConv2D;
  cases.push({ label: `${label} + bias, ${activation}`, kernel: fused, inputs: { x, filter, bias }, attrs: { ...common, activation, leakyreluAlpha: 0.3 } });
  return cases;
}

const addon = nativeAddon();
const required = process.env.SAT_REQUIRE_NATIVE === '1';

describe('native oneDNN conv kernels', function () {
  this.timeout(900_000); // the cpu backend's references take minutes on a busy machine
  let previous: string | undefined;

  if (!addon) {
    if (required) {
      it('are built (SAT_REQUIRE_NATIVE=1)', () => assert.fail(`SAT_REQUIRE_NATIVE=1 but ${nativeStatus().reason}`));
    } else {
      it(`skipped: ${nativeStatus().reason}`, () => {
        assert.equal(describeConvKernels().startsWith('convs: wasm') || describeConvKernels().includes('SAT_WASM_KERNELS=0'), true);
      });
    }
    return;
  }

  before(async () => {
    previous = tf.getBackend();
    await initBackend('wasm', true);
    registerNativeKernels(addon); // in case another test file took them off
  });

  after(async () => {
    if (previous && previous !== 'wasm') await initBackend(previous as BackendName, true);
  });

  it('replace the wasm conv kernels, and `sat info` says so', () => {
    for (const name of NATIVE_KERNEL_NAMES) assert.ok(tf.getKernel(name, 'wasm'), name);
    assert.match(describeConvKernels(), /^convs: native \(oneDNN \d+\.\d+\.\d+ convolutions, \d+ threads?\)$/);
  });

  describe('against cpu on random shapes (relative error <= 1e-4)', () => {
    const rng = makeRng(21);
    const specs: Array<[ConvSpec, boolean]> = [
      ...modelSpecs().map((s): [ConvSpec, boolean] => [s, s.filter[3] === 1 && s.filter[2] > 1]),
      ...Array.from({ length: 40 }, (): [ConvSpec, boolean] => [randomSpec(rng, false), false]),
      ...Array.from({ length: 20 }, (): [ConvSpec, boolean] => [randomSpec(rng, true), true]),
    ];
    const cases = specs.flatMap(([spec, depthwise]) => convCases(rng, spec, depthwise));
    let native: Array<Data | Error> = [];
    let cpu: Array<Data | Error> = [];
    before(async function () {
      this.timeout(1_200_000); // the cpu backend's share: minutes on a busy machine
      resetNativeKernelCounts();
      native = cases.map(runCase);
      await tf.setBackend('cpu');
      cpu = cases.map(runCase);
      await tf.setBackend('wasm');
    });
    it('every case ran natively, none fell back', () => {
      const counts = nativeKernelCounts();
      const ran = Object.values(counts).reduce((n, c) => n + c.native, 0);
      assert.equal(ran, cases.length, JSON.stringify(counts));
      for (const [name, c] of Object.entries(counts)) assert.equal(c.fallback, 0, `${name} fell back`);
    });
    cases.forEach((c, i) =>
      it(`${c.kernel} ${c.label}`, () => {
        const [n, r] = [native[i], cpu[i]];
        if (r instanceof Error) throw new Error(`cpu reference failed: ${r.message}`);
        if (n instanceof Error) throw n;
        assert.deepEqual(n.shape, r.shape);
        const err = relativeError(n.values, r.values);
        assert.ok(err <= TOLERANCE, `relative error ${err.toExponential(2)} > ${TOLERANCE}`);
      }),
    );
  });

  it('use each filter tensor\'s own values when several share a shape (the reordered-weights cache)', () => {
    const rng = makeRng(22);
    const x = tf.tensor4d(randomData(rng, [2, 6, 6, 8]).values, [2, 6, 6, 8]);
    const filters = [0, 1, 2].map(() => tf.tensor4d(randomData(rng, [3, 3, 8, 16]).values, [3, 3, 8, 16]));
    // a, b, a again: a stale cache would give b's result for the second a.
    const outputs = [0, 1, 0].map((i) => tf.tidy(() => tf.conv2d(x, filters[i], 1, 'same').dataSync() as Float32Array));
    assert.ok(relativeError(outputs[0], outputs[1]) > 0.1, 'different filters, different outputs');
    assert.deepEqual(outputs[2], outputs[0]);
    tf.dispose([x, ...filters]);
  });

  it('read the wasm memory afresh after it grows', () => {
    const rng = makeRng(23);
    const x = tf.tensor4d(randomData(rng, [2, 8, 8, 4]).values, [2, 8, 8, 4]);
    const f = tf.tensor4d(randomData(rng, [3, 3, 4, 4]).values, [3, 3, 4, 4]);
    const before = tf.tidy(() => tf.conv2d(x, f, 1, 'same').dataSync() as Float32Array);
    const heap = () => ((tf.backend() as BackendWasm).wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer.byteLength;
    const size0 = heap();
    const big = tf.zeros([Math.ceil(size0 / 4) + (64 << 18)]); // more than the whole heap: it must grow
    assert.ok(heap() > size0, 'the heap grew');
    const after = tf.tidy(() => tf.conv2d(x, f, 1, 'same').dataSync() as Float32Array);
    assert.deepEqual(after, before);
    tf.dispose([x, f, big]);
  });

  describe('whole SAT steps', () => {
    interface StepResult {
      losses: number[];
      weights: Float32Array;
    }
    /** Two SAT steps (PGD-1, batch norm in training, SGD) from a fixed start; the stem's weights after. */
    const satSteps = (make: () => Model, inputShape: number[], stem: string, activation: 'relu' | 'silu'): StepResult => {
      const model = make();
      const sgd = new Sgd(model.params, { momentum: 0.9, nesterov: true, weightDecay: 5e-4, decays: isDecayed });
      const x = tf.randomUniform([8, inputShape[0], inputShape[1], inputShape[2]], 0, 1, 'float32', 6) as tf.Tensor4D;
      const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
      const act = makeActivation(activation);
      const opts = { attack: makeAttack({ type: 'pgd-linf', eps: 8 / 255, steps: 1 }), attackerAct: act, trainerAct: act, labelSmoothing: 0, lr: 0.1 };
      const losses = [0, 1].map((seed) => satStep(model, sgd, x, y, { ...opts, seed }).loss);
      const weights = model.params.get(stem)!.dataSync().slice() as Float32Array;
      tf.dispose([x, y]);
      sgd.dispose();
      model.dispose();
      return { losses, weights };
    };
    // A step through ReLU is compared only where no pre-activation lies within float error of 0:
    // one such value flips its mask, and the gradient below it moves by far more than 1e-4. In
    // PreAct ResNet-18, one of the 16,384 inputs to a stage-1 ReLU is 6.9e-7 at one native thread
    // and -1.7e-6 at two (the whole tensors agree to 2e-6), which moves the stem's gradient by
    // 2.9% (a trace of all 486 kernel calls finds no other divergence). SiLU has no such cliff,
    // so that net is compared through SiLU.
    const nets: Array<[string, () => Model, number[], string, 'relu' | 'silu']> = [
      ['MNIST CNN', () => buildModel('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 5 }), [28, 28, 1], 'conv1/kernel', 'relu'],
      ['PreAct ResNet-18', () => buildModel('preact-resnet18', { inputShape: [16, 16, 3], numClasses: 10, width: 8, seed: 5 }), [16, 16, 3], 'stem/conv/kernel', 'silu'],
    ];
    const close = (a: StepResult, b: StepResult, what: string) => {
      a.losses.forEach((loss, i) => assert.ok(Math.abs(loss - b.losses[i]) <= 1e-4 * Math.abs(b.losses[i]), `${what}: step ${i + 1} loss ${loss} vs ${b.losses[i]}`));
      const err = relativeError(a.weights, b.weights);
      assert.ok(err <= TOLERANCE, `${what}: weights after two steps, relative error ${err.toExponential(2)}`);
    };
    for (const [label, make, inputShape, stem, activation] of nets) {
      it(`${label}, ${activation}: native equals cpu and the wasm kernels (losses and weights to 1e-4)`, async () => {
        resetNativeKernelCounts();
        const native = satSteps(make, inputShape, stem, activation);
        const counts = nativeKernelCounts();
        for (const k of [tf.Conv2D, tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter]) assert.ok((counts[k]?.native ?? 0) > 0, `${k} ran natively`);
        unregisterNativeKernels();
        let wasm: StepResult;
        try {
          wasm = satSteps(make, inputShape, stem, activation);
        } finally {
          registerNativeKernels(addon);
        }
        await tf.setBackend('cpu');
        const cpu = satSteps(make, inputShape, stem, activation);
        await tf.setBackend('wasm');
        close(native, cpu, 'native vs cpu');
        close(native, wasm, 'native vs wasm kernels');
      });
    }
  });

  it('leak no tensors, wasm buffers, cached native memory or RSS over many SAT steps', function () {
    this.timeout(600_000);
    const model = buildModel('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    const sgd = new Sgd(model.params, { momentum: 0.9, nesterov: false, weightDecay: 5e-4, decays: isDecayed });
    const x = tf.randomUniform([16, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10), 'int32');
    const act = makeActivation('silu');
    const opts = { attack: makeAttack({ type: 'pgd-linf', eps: 0.1, steps: 1 }), attackerAct: act, trainerAct: act, labelSmoothing: 0, lr: 0.01 };
    const step = (seed: number) => satStep(model, sgd, x, y, { ...opts, seed });
    const buffers = () => (tf.backend() as BackendWasm).dataIdMap.numDataIds();
    for (let i = 0; i < 10; i++) step(i); // warm-up: caches fill, the heap reaches its size
    const start = { tensors: tf.memory().numTensors, buffers: buffers(), cache: addon.cacheStats(), rss: process.memoryUsage().rss };
    for (let i = 0; i < 80; i++) step(100 + i);
    const end = { tensors: tf.memory().numTensors, buffers: buffers(), cache: addon.cacheStats(), rss: process.memoryUsage().rss };
    tf.dispose([x, y]);
    sgd.dispose();
    model.dispose();
    assert.equal(end.tensors, start.tensors, 'tensors');
    assert.equal(end.buffers, start.buffers, 'wasm buffers');
    assert.deepEqual(end.cache, start.cache, 'the addon caches no new primitives or weights for the same shapes');
    // A leak of one activation per step (16x28x28x16 floats = 0.8 MB) would add 64 MB.
    const grownMb = (end.rss - start.rss) / 2 ** 20;
    assert.ok(grownMb < 24, `RSS grew ${grownMb.toFixed(1)} MB over 80 steps`);
  });

  it('run on one thread or several with the same results, and read SAT_THREADS strictly', () => {
    const rng = makeRng(24);
    const x = tf.tensor4d(randomData(rng, [8, 16, 16, 16]).values, [8, 16, 16, 16]);
    const f = tf.tensor4d(randomData(rng, [3, 3, 16, 32]).values, [3, 3, 16, 32]);
    const threads = addon.getThreads();
    try {
      setNativeThreads(1);
      assert.equal(addon.getThreads(), 1);
      assert.match(nativeStatus().reason, /1 thread\b/);
      const one = tf.tidy(() => tf.conv2d(x, f, 1, 'same').dataSync() as Float32Array);
      setNativeThreads(2);
      const two = tf.tidy(() => tf.conv2d(x, f, 1, 'same').dataSync() as Float32Array);
      assert.ok(relativeError(two, one) <= 1e-6);
    } finally {
      setNativeThreads(threads);
      tf.dispose([x, f]);
    }
    assert.equal(threadsFromEnv('3'), 3);
    assert.ok(threadsFromEnv(undefined) >= 1);
    assert.throws(() => threadsFromEnv('0'), /SAT_THREADS='0' is not a positive integer/);
    assert.throws(() => threadsFromEnv('two'), /SAT_THREADS/);
    assert.throws(() => setNativeThreads(0), /positive integer/);
    assert.equal(nativeEnabled('0'), false);
    assert.equal(nativeEnabled(undefined), true);
  });

  it('reject bad input with the wasm kernels\' errors, and fall back where the addon cannot run', () => {
    assert.throws(
      () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: tf.zeros([1, 3, 3, 2]), filter: tf.zeros([3, 3, 2, 2]) }, { strides: 1, pad: 'same', inputShape: [1, 4, 4, 2] }),
      /dy has shape/,
    );
    resetNativeKernelCounts();
    // NCHW: not ours; the wasm kernel that ran before says what to do.
    assert.throws(
      () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: tf.zeros([1, 4, 4, 2]), dy: tf.zeros([1, 4, 4, 2]) }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] }),
      /NHWC/,
    );
    assert.equal(nativeKernelCounts()[tf.Conv2DBackpropFilter]?.fallback, 1);
    // The addon checks offsets against the heap: a bad one is an error, never a stray write.
    const g = new Int32Array(20).fill(1); // a 1x1 conv of one pixel and channel...
    g[0] = 100; // ...over a batch of 100: 400 bytes of input
    g[18] = g[19] = 0; // no activation, no bias
    assert.throws(() => addon.conv(0, new ArrayBuffer(16), g, 0, 0, 0, -1, -1, 0), /outside the 16-byte heap/);
  });
});
