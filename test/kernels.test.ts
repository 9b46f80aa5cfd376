// The wasm gradient kernels (lib/kernels) against the cpu backend's reference kernels, on many
// random shapes, plus whole gradients, memory leaks and the switches.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend, type BackendName } from '../lib/backend';
import { makeActivation } from '../lib/activations';
import { makeAttack } from '../lib/attacks';
import { registerWasmKernels, unregisterWasmKernels, WASM_KERNEL_NAMES, wasmKernelsEnabled } from '../lib/kernels';
import { nativeAddon } from '../lib/kernels/native-addon';
import { registerNativeKernels, unregisterNativeKernels } from '../lib/kernels/native';
import { buildModel } from '../lib/models';
import { isDecayed } from '../lib/models/layers';
import { satStep, Sgd } from '../lib/train';
import { makeRng, type Rng } from '../lib/util/rng';
import { randomData, relativeError } from './helpers/random-data';

/** Kernel inputs of any dtype (random ones come from randomData). */
interface Data {
  shape: number[];
  values: Float32Array | Int32Array | Uint8Array;
  dtype?: 'float32' | 'int32' | 'bool';
}

interface KernelCase {
  label: string;
  kernel: string;
  inputs: Record<string, Data>;
  attrs: Record<string, unknown>;
}

const TOLERANCE = 1e-4;


/** Runs each case on the current backend; an error is kept as the case's result. */
function runAll(cases: KernelCase[]): Array<Data | Error> {
  return cases.map((c) => {
    try {
      return tf.tidy(() => {
        const inputs: tf.NamedTensorMap = {};
        for (const [k, d] of Object.entries(c.inputs)) inputs[k] = tf.tensor(d.values, d.shape, d.dtype);
        const out = tf.engine().runKernel(c.kernel, inputs, c.attrs as tf.NamedAttrMap) as tf.Tensor;
        return { shape: out.shape, values: out.dataSync() as Float32Array, dtype: out.dtype as Data['dtype'] };
      });
    } catch (e) {
      return e as Error;
    }
  });
}

/** One `it` per case: wasm (our kernels) against cpu. */
function compareWithCpu(title: string, makeCases: () => KernelCase[]): void {
  describe(title, () => {
    const cases = makeCases();
    let wasm: Array<Data | Error> = [];
    let cpu: Array<Data | Error> = [];
    before(async () => {
      wasm = runAll(cases);
      await tf.setBackend('cpu');
      cpu = runAll(cases);
      await tf.setBackend('wasm');
    });
    cases.forEach((c, i) =>
      it(`${c.kernel} ${c.label}`, () => {
        const [w, r] = [wasm[i], cpu[i]];
        if (r instanceof Error) throw new Error(`cpu reference failed: ${r.message}`);
        if (w instanceof Error) throw w;
        assert.deepEqual([w.shape, w.dtype], [r.shape, r.dtype]);
        const err = relativeError(w.values, r.values);
        assert.ok(err <= TOLERANCE, `relative error ${err.toExponential(2)} > ${TOLERANCE}`);
      }),
    );
  });
}

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvSpec {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The gradient kernels of a (depthwise) conv described by `spec`, with random x, filter and dy. */
function convGradCases(rng: Rng, spec: ConvSpec, depthwise: boolean): KernelCase[] {
  const info = tf.backend_util.computeConv2DInfo(spec.x, spec.filter, spec.strides, 1, spec.pad, spec.dimRoundingMode, depthwise);
  const x = randomData(rng, spec.x);
  const filter = randomData(rng, spec.filter);
  const dy = randomData(rng, info.outShape);
  const common = { strides: spec.strides, pad: spec.pad, dimRoundingMode: spec.dimRoundingMode, ...(depthwise ? { dilations: 1 } : { dataFormat: 'NHWC' }) };
  const label = `x[${spec.x}] f[${spec.filter}] s${JSON.stringify(spec.strides)} pad ${JSON.stringify(spec.pad)}${spec.dimRoundingMode ? ` ${spec.dimRoundingMode}` : ''}`;
  const [filterKernel, inputKernel] = depthwise
    ? [tf.DepthwiseConv2dNativeBackpropFilter, tf.DepthwiseConv2dNativeBackpropInput]
    : [tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput];
  return [
    { label, kernel: filterKernel, inputs: { x, dy }, attrs: { ...common, filterShape: spec.filter } },
    { label, kernel: inputKernel, inputs: { dy, filter }, attrs: { ...common, inputShape: spec.x } },
  ];
}

const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

/** A random conv whose output is not empty. */
function randomConvSpec(rng: Rng, depthwise: boolean): ConvSpec {
  for (;;) {
    const [kh, kw] = [int(rng, 1, 5), int(rng, 1, 4)];
    const strides: [number, number] = [int(rng, 1, 3), int(rng, 1, 2)];
    const pads: Pad[] = ['same', 'valid', [[0, 0], [int(rng, 0, 3), int(rng, 0, 3)], [int(rng, 0, 2), int(rng, 0, 4)], [0, 0]]];
    const pad = pads[int(rng, 0, 2)];
    const cin = int(rng, 1, 4);
    const spec: ConvSpec = {
      x: [int(rng, 1, 3), int(rng, 1, 11), int(rng, 1, 11), cin],
      filter: [kh, kw, cin, depthwise ? int(rng, 1, 2) : int(rng, 1, 5)],
      strides: strides[0] === strides[1] ? strides[0] : strides,
      pad,
    };
    const info = tf.backend_util.computeConv2DInfo(spec.x, spec.filter, spec.strides, 1, spec.pad, undefined, depthwise);
    if (info.outHeight > 0 && info.outWidth > 0) return spec;
  }
}

/** Hand-picked shapes: training-sized layers, 1x1, odd sizes, big explicit pads, rounding modes. */
function fixedConvSpecs(depthwise: boolean): ConvSpec[] {
  const m = depthwise ? 2 : 6;
  return [
    { x: [2, 8, 8, 4], filter: [3, 3, 4, m], strides: 1, pad: 'same' },
    { x: [2, 8, 8, 4], filter: [3, 3, 4, m], strides: 2, pad: 'same' },
    { x: [2, 9, 7, 3], filter: [3, 3, 3, m], strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
    { x: [2, 9, 7, 3], filter: [1, 1, 3, m], strides: 1, pad: 'valid' },
    { x: [2, 9, 7, 3], filter: [1, 1, 3, m], strides: 2, pad: 'same' },
    { x: [1, 1, 1, 3], filter: [1, 1, 3, m], strides: 1, pad: 'valid' },
    { x: [1, 5, 5, 2], filter: [3, 3, 2, m], strides: 1, pad: [[0, 0], [4, 3], [0, 5], [0, 0]] },
    { x: [2, 7, 7, 3], filter: [5, 5, 3, m], strides: 2, pad: 1, dimRoundingMode: 'floor' },
    { x: [2, 8, 8, 3], filter: [2, 2, 3, m], strides: 3, pad: 2, dimRoundingMode: 'ceil' },
    { x: [3, 16, 16, 8], filter: [3, 3, 8, depthwise ? 1 : 16], strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  ];
}

function convCases(depthwise: boolean, seed: number, randomCount: number): KernelCase[] {
  const rng = makeRng(seed);
  const specs = [...fixedConvSpecs(depthwise), ...Array.from({ length: randomCount }, () => randomConvSpec(rng, depthwise))];
  return specs.flatMap((spec) => convGradCases(rng, spec, depthwise));
}

function matMulCases(): KernelCase[] {
  const rng = makeRng(7);
  const cases: KernelCase[] = [];
  const shapes: Array<[number[], number[]]> = [
    [[5, 7], [7, 3]],
    [[1, 4], [4, 1]],
    [[3, 5, 7], [3, 7, 2]],
    [[1, 5, 7], [4, 7, 2]],
    [[64, 128], [128, 10]],
  ];
  for (const [a, b] of shapes) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
        cases.push({
          label: `a[${swap(a, transposeA)}] b[${swap(b, transposeB)}] tA=${transposeA} tB=${transposeB}`,
          kernel: tf.BatchMatMul,
          inputs: { a: randomData(rng, swap(a, transposeA)), b: randomData(rng, swap(b, transposeB)) },
          attrs: { transposeA, transposeB },
        });
      }
    }
  }
  return cases;
}

/** Tile as BatchNorm's gradient uses it, other dtypes, and a shape left to the backend's kernel. */
function tileCases(): KernelCase[] {
  const rng = makeRng(8);
  const cases: Array<[number[], number[], Data['dtype']]> = [
    [[1, 1, 1, 16], [8, 8, 8, 1], 'float32'],
    [[2, 3, 4], [2, 5, 3], 'float32'],
    [[64, 1], [1, 3], 'float32'], // many small blocks: the backend's kernel
    [[4, 5, 6, 7], [1, 1, 1, 1], 'float32'],
    [[4, 4], [8, 8], 'int32'],
    [[2, 1, 3], [4, 16, 2], 'bool'],
  ];
  return cases.map(([shape, reps, dtype]) => {
    const data = randomData(rng, shape);
    const values = dtype === 'int32' ? Int32Array.from(data.values, (v) => Math.round(v * 100)) : dtype === 'bool' ? Uint8Array.from(data.values, (v) => (v > 0 ? 1 : 0)) : data.values;
    return { label: `${dtype} [${shape}] reps [${reps}]`, kernel: tf.Tile, inputs: { x: { shape, values, dtype } }, attrs: { reps } };
  });
}

function reduceCases(): KernelCase[] {
  const rng = makeRng(9);
  const cases: Array<[number[], number | number[], boolean, Data['dtype']]> = [
    [[64, 7, 7, 16], [0, 1, 2], false, 'float32'], // batch norm's statistics: our loop
    [[8, 5, 5, 3], [2, 0, 1], true, 'float32'],
    [[6, 4, 9], [-3, -2], false, 'float32'],
    [[300, 1], 0, true, 'float32'],
    [[1, 1, 5], [0, 1], false, 'float32'], // one row: the backend's kernel
    [[2, 3], 0, false, 'float32'],
    [[5, 6, 7], [1, 2], false, 'float32'], // trailing axes: the backend's kernel
    [[5, 6, 7], [0, 2], true, 'float32'],
    [[4, 3], [0, 1], false, 'float32'], // all axes: the backend's kernel
    [[9, 4], 0, false, 'int32'],
  ];
  return cases.flatMap(([shape, axis, keepDims, dtype]) => {
    const data = randomData(rng, shape);
    const values = dtype === 'int32' ? Int32Array.from(data.values, (v) => Math.round(v * 100)) : data.values;
    return [tf.Sum, tf.Mean].map((kernel) => ({
      label: `${dtype} [${shape}] axis ${JSON.stringify(axis)}${keepDims ? ' keepDims' : ''}`,
      kernel,
      inputs: { x: { shape, values, dtype } },
      attrs: { axis, keepDims },
    }));
  });
}

function batchNormCases(): KernelCase[] {
  const rng = makeRng(10);
  const positive = (shape: number[]) => ({ shape, values: Float32Array.from(randomData(rng, shape).values, (v) => v + 1.5) });
  const cases: Array<[string, number[], number[], boolean]> = [
    ['per channel, with scale and offset', [8, 5, 5, 3], [3], true],
    ['per channel, without scale and offset', [4, 6, 6, 16], [16], false],
    ['2D input', [10, 4], [4], true],
    ['statistics as [1,1,1,C]', [2, 3, 3, 5], [1, 1, 1, 5], true],
    ['one statistic for all channels: the backend kernel', [2, 3, 3, 5], [1], true],
  ];
  return cases.map(([label, shape, stat, affine]) => ({
    label,
    kernel: tf.FusedBatchNorm,
    inputs: {
      x: randomData(rng, shape),
      mean: randomData(rng, stat),
      variance: positive(stat),
      ...(affine ? { offset: randomData(rng, stat), scale: randomData(rng, stat) } : {}),
    },
    attrs: { varianceEpsilon: 1e-3 },
  }));
}

describe('wasm gradient kernels', function () {
  this.timeout(60_000);
  let previous: string | undefined;

  before(async () => {
    previous = tf.getBackend();
    await initBackend('wasm', true);
    unregisterNativeKernels(); // these tests are for the wasm kernels (test/native.test.ts tests the addon's)
  });

  after(async () => {
    const addon = nativeAddon();
    if (addon) registerNativeKernels(addon);
    if (previous && previous !== 'wasm') await initBackend(previous as BackendName, true);
  });

  it('are registered for wasm when the wasm backend is chosen', () => {
    for (const name of WASM_KERNEL_NAMES) assert.ok(tf.getKernel(name, 'wasm'), `${name} is not registered for wasm`);
  });

  compareWithCpu('Conv2D backprop against cpu', () => convCases(false, 1, 30));
  compareWithCpu('DepthwiseConv2dNative backprop against cpu', () => convCases(true, 2, 20));
  compareWithCpu('BatchMatMul with transposes against cpu', matMulCases);
  compareWithCpu('Tile against cpu', tileCases);
  compareWithCpu('Sum and Mean against cpu', reduceCases);
  compareWithCpu('FusedBatchNorm against cpu', batchNormCases);

  it('give the same whole-network gradients as cpu (conv, depthwise, dense)', async () => {
    const rng = makeRng(3);
    const shapes = { x: [2, 9, 9, 3], w1: [3, 3, 3, 4], w2: [3, 3, 4, 2], w3: [1, 1, 8, 5], dense: [5, 4] };
    const data = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, randomData(rng, s)]));
    const loss = (x: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, w3: tf.Tensor, dense: tf.Tensor) => {
      let h = tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]));
      h = tf.relu(tf.depthwiseConv2d(h, w2 as tf.Tensor4D, 1, 'same'));
      h = tf.conv2d(h, w3 as tf.Tensor4D, 2, 'same');
      const logits = tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, dense as tf.Tensor2D);
      return tf.sum(tf.square(logits)) as tf.Scalar;
    };
    const gradients = () =>
      tf.tidy(() => {
        const args = Object.keys(shapes).map((k) => tf.tensor(data[k].values, data[k].shape));
        return tf.grads(loss)(args).map((g) => g.dataSync() as Float32Array);
      });
    const wasm = gradients();
    await tf.setBackend('cpu');
    const cpu = gradients();
    await tf.setBackend('wasm');
    Object.keys(shapes).forEach((name, i) => {
      const err = relativeError(wasm[i], cpu[i]);
      assert.ok(err <= TOLERANCE, `gradient of ${name}: relative error ${err.toExponential(2)}`);
    });
  });

  it('give PreAct ResNet-18 the same SAT steps as cpu: losses and weights to 1e-4', async () => {
    // Two full SAT steps (PGD-1 attack, training step with batch norm, SGD update) on each backend.
    const run = () => {
      const model = buildModel('preact-resnet18', { inputShape: [16, 16, 3], numClasses: 10, width: 4, seed: 5 });
      const sgd = new Sgd(model.params, { momentum: 0.9, nesterov: true, weightDecay: 5e-4, decays: isDecayed });
      const x = tf.randomUniform([8, 16, 16, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
      const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
      const act = makeActivation('relu');
      const opts = { attack: makeAttack({ type: 'pgd-linf', eps: 8 / 255, steps: 1 }), attackerAct: act, trainerAct: act, labelSmoothing: 0, lr: 0.1 };
      const losses = [0, 1].map((seed) => satStep(model, sgd, x, y, { ...opts, seed }).loss);
      const weights = model.params.get('stem/conv/kernel')!.dataSync().slice();
      tf.dispose([x, y]);
      sgd.dispose();
      model.dispose();
      return { losses, weights };
    };
    const wasm = run();
    await tf.setBackend('cpu');
    const cpu = run();
    await tf.setBackend('wasm');
    wasm.losses.forEach((loss, i) => assert.ok(Math.abs(loss - cpu.losses[i]) <= 1e-4 * Math.abs(cpu.losses[i]), `step ${i + 1} loss: wasm ${loss}, cpu ${cpu.losses[i]}`));
    const err = relativeError(wasm.weights, cpu.weights);
    assert.ok(err <= TOLERANCE, `weights after two steps: relative error ${err.toExponential(2)}`);
  });

  it('leak no tensors or wasm buffers over a conv training step', () => {
    const rng = makeRng(4);
    const variable = (shape: number[]) => tf.variable(tf.tensor(randomData(rng, shape).values, shape));
    const params = [variable([3, 3, 3, 8]), variable([3, 3, 8, 2]), variable([1, 1, 16, 8]), variable([8, 4])];
    const x = tf.tensor4d(randomData(rng, [4, 12, 12, 3]).values, [4, 12, 12, 3]);
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4);
    const optimizer = tf.train.sgd(0.01);
    const [w1, w2, w3, dense] = params;
    const step = () =>
      optimizer.minimize(() => {
        let h = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 2, 'same'));
        h = tf.relu(tf.depthwiseConv2d(h, w2 as tf.Tensor4D, 1, 'same'));
        h = tf.conv2d(h, w3 as tf.Tensor4D, 1, 'valid');
        const logits = tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, dense as tf.Tensor2D);
        return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
      });
    const wasmBuffers = () => (tf.backend() as BackendWasm).dataIdMap.numDataIds();
    step(); // warm-up
    const [tensors, buffers] = [tf.memory().numTensors, wasmBuffers()];
    step();
    step();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(wasmBuffers(), buffers);
    tf.dispose([...params, x, labels]);
    optimizer.dispose();
  });

  it('reject what they do not compute with an error that says what to do', () => {
    const x = tf.zeros([1, 4, 4, 2]);
    const dy = tf.zeros([1, 4, 4, 2]);
    assert.throws(
      () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] }),
      /NHWC/,
    );
    assert.throws(
      () => tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { strides: 1, pad: 'same', dilations: 2, filterShape: [3, 3, 2, 1] }),
      /dilations 1 only/,
    );
    assert.throws(() => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: tf.zeros([1, 3, 3, 2]), filter: tf.zeros([3, 3, 2, 2]) }, { strides: 1, pad: 'same', inputShape: [1, 4, 4, 2] }), /dy has shape/);
    tf.dispose([x, dy]);
  });

  it('share the buffer on Identity and same-dtype Cast, and the copy outlives the original', () => {
    const backend = tf.backend() as BackendWasm;
    for (const copy of [tf.clone, (t: tf.Tensor) => tf.cast(t, 'float32')]) {
      const a = tf.tensor1d([1, 2, 3]);
      const b = copy(a);
      assert.equal(backend.getMemoryOffset(b.dataId), backend.getMemoryOffset(a.dataId), 'shares the buffer');
      a.dispose();
      assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3]);
      b.dispose();
    }
    const ints = tf.tidy(() => tf.cast(tf.tensor1d([1.7, -2.2]), 'int32'));
    assert.deepEqual([ints.dtype, ...ints.dataSync()], ['int32', 1, -2], 'a real cast still converts');
    ints.dispose();
  });

  it('can be switched off with SAT_WASM_KERNELS=0, and restored', () => {
    assert.equal(wasmKernelsEnabled(undefined), true);
    assert.equal(wasmKernelsEnabled('1'), true);
    for (const off of ['0', 'false', 'OFF', ' no ']) assert.equal(wasmKernelsEnabled(off), false);
    const ours = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
    registerWasmKernels(); // idempotent
    assert.equal(tf.getKernel(tf.Conv2DBackpropInput, 'wasm'), ours);
    try {
      unregisterWasmKernels();
      assert.equal(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm'), undefined, 'tfjs ships no Conv2DBackpropFilter for wasm');
      assert.notEqual(tf.getKernel(tf.Conv2DBackpropInput, 'wasm')?.kernelFunc, ours?.kernelFunc);
    } finally {
      registerWasmKernels();
      unregisterNativeKernels(); // registerWasmKernels puts the addon's on top where it is built
    }
    assert.equal(tf.getKernel(tf.Conv2DBackpropInput, 'wasm')?.kernelFunc, ours?.kernelFunc);
  });
});
