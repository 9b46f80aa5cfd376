// The addon's batch norm and activations (lib/kernels/native-norm.ts, native-activation.ts, and
// the ops over them in native-ops.ts) against the cpu backend, forward and gradient, on ragged
// shapes and per-channel statistics in both shapes tfjs allows; whole SAT steps for every
// activation against the wasm path; threads; bad offsets. Skipped with one line where the addon
// is not built, unless SAT_REQUIRE_NATIVE=1 (CI).
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ACTIVATIONS, isLearnable, makeActivation, parseActivation, type GradientMode } from '../lib/activations';
import { makeAttack } from '../lib/attacks';
import { setNativeThreads } from '../lib/kernels/native-addon';
import { registerNativeKernels, unregisterNativeKernels } from '../lib/kernels/native';
import { nativeKernelCounts, resetNativeKernelCounts } from '../lib/kernels/native-call';
import { SAT_ACTIVATION, SAT_ACTIVATION_GRAD, SAT_BATCH_NORM_GRAD, SAT_BATCH_NORM_TRAINING } from '../lib/kernels/native-ops';
import { buildModel } from '../lib/models';
import { batchNormTraining, isDecayed } from '../lib/models/layers';
import { satStep, Sgd } from '../lib/train';
import { makeRng } from '../lib/util/rng';
import { assertClose, nativeSuite, tensor, wasmAndCpu } from './helpers/native';
import { randomData, relativeError } from './helpers/random-data';

/** Whole SAT steps, native vs the wasm kernels: two steps of training compound the differences. */
const STEP_TOLERANCE = 1e-4;

describe('native batch norm and activations', function () {
  this.timeout(900_000);
  const addon = nativeSuite(SAT_ACTIVATION);
  if (!addon) return;

  // Ragged sizes (no multiple of a vector width), one pixel, one channel; with given statistics also 2-D input.
  const shapes = [[3, 5, 7, 4], [1, 1, 1, 1], [2, 9, 3, 17], [4, 3, 3, 1], [16, 14, 14, 32]];

  describe('batch norm in training against cpu (y, batch moments, dx, dgamma, dbeta)', () => {
    // x of spread 3, and of spread 0.003: a variance near epsilon (1e-5), where epsilon matters.
    for (const [shape, spread] of [...shapes.map((s): [number[], number] => [s, 3]), [[2, 9, 3, 17], 0.003] as [number[], number]]) {
      it(`x [${shape}], spread ${spread}`, async () => {
        const c = shape[shape.length - 1];
        resetNativeKernelCounts();
        const [native, cpu] = await wasmAndCpu(shape.reduce((a, b) => a * 31 + b, 7), (rng) => {
          const x = tensor(rng, shape, spread, 0.5);
          const [gamma, beta] = [tensor(rng, [c], 0.5, 1) as tf.Tensor1D, tensor(rng, [c]) as tf.Tensor1D];
          const dy = tensor(rng, shape);
          const moments: tf.Tensor[] = [];
          const y = batchNormTraining(x as tf.Tensor4D, gamma, beta, (m) => moments.push(tf.keep(m.mean.clone()), tf.keep(m.variance.clone())));
          const grads = tf.grads((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(batchNormTraining(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D), dy)))([x, gamma, beta]);
          return [y, ...moments, ...grads];
        });
        const counts = nativeKernelCounts();
        assert.ok((counts[SAT_BATCH_NORM_TRAINING]?.native ?? 0) >= 2 && (counts[SAT_BATCH_NORM_GRAD]?.native ?? 0) >= 1, JSON.stringify(counts));
        assertClose(native, cpu, ['y', 'mean', 'variance', 'dx', 'dgamma', 'dbeta']);
      });
    }
  });

  describe('batch norm with given statistics (frozen) against cpu, forward and every gradient', () => {
    for (const shape of [...shapes, [37, 33]]) {
      for (const statRank of [1, shape.length]) {
        // tfjs differentiates statistics of rank > 1 with respect to x only (its other gradients fail to reshape).
        it(`x [${shape}], statistics of rank ${statRank}`, async () => {
          const c = shape[shape.length - 1];
          const statShape = statRank === 1 ? [c] : [...shape.slice(0, -1).map(() => 1), c];
          resetNativeKernelCounts();
          const [native, cpu] = await wasmAndCpu(shape.length * 1000 + statRank + c, (rng) => {
            const x = tensor(rng, shape, 2);
            const [mean, variance, offset, scale] = [tensor(rng, statShape, 0.3), tensor(rng, statShape, 0.4, 1), tensor(rng, statShape), tensor(rng, statShape, 0.5, 1)];
            const dy = tensor(rng, shape);
            const bn = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) => tf.batchNorm(x, m, v, o, s, 1e-3);
            const y = bn(x, mean, variance, offset, scale);
            const dxOnly = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(bn(x, mean, variance, offset, scale), dy)))(x);
            // Our FusedBatchNorm gradient is registered for every backend: dx's reference is its formula.
            const dxFormula = tf.div(tf.mul(dy, scale), tf.sqrt(tf.add(variance, 1e-3)));
            if (statRank > 1) return [y, dxOnly, dxFormula];
            const grads = tf.grads((x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(bn(x, m, v, o, s), dy)))([x, mean, variance, offset, scale]);
            return [y, dxOnly, dxFormula, ...grads];
          });
          assert.ok((nativeKernelCounts()[tf.FusedBatchNorm]?.native ?? 0) >= 2, 'FusedBatchNorm (y, and dx as a batch norm of dy) ran natively');
          assertClose([native[1], native[1]], [cpu[2], cpu[1]], ['dx alone vs dy * scale / sqrt(variance + eps)', 'dx alone']);
          assertClose([native[0], ...native.slice(3)], [cpu[0], ...cpu.slice(3)], ['y', 'dx', 'dmean', 'dvariance', 'doffset', 'dscale']);
        });
      }
    }
  });

  describe('activations against cpu, forward and gradient', () => {
    const specs = ['relu', 'softplus', 'psoftplus', 'psoftplus:3', 'silu', 'gelu', 'gelu-tanh', 'elu', 'celu:2', 'elu:0.5', 'smoothrelu', 'smoothrelu:3', 'mish'];
    it('cover every activation with a fixed parameter', () => {
      const covered = new Set(specs.map((s) => parseActivation(s).name));
      for (const name of ACTIVATIONS) if (!isLearnable({ name })) assert.ok(covered.has(name), name);
    });
    for (const spec of specs) {
      for (const mode of ['own', 'smooth'] as GradientMode[]) {
        it(`${spec}, ${mode} gradient`, async () => {
          resetNativeKernelCounts();
          const act = makeActivation(parseActivation(spec), { gradient: mode });
          const [native, cpu] = await wasmAndCpu(spec.length * 17 + mode.length, (rng) =>
            [[3, 5, 7, 2], [1001]].flatMap((shape) => {
              // Values in [-6, 6], exact zeros (the kinks), and large ones (overflow in exp).
              const values = randomData(rng, shape).values.map((v, i) => (i % 97 === 0 ? 0 : i % 89 === 0 ? Math.sign(v) * 40 : v * 6));
              const x = tf.tensor(values, shape);
              const dy = tensor(rng, shape);
              return [act(x), tf.grad((x: tf.Tensor) => tf.sum(tf.mul(act(x), dy)))(x)];
            }),
          );
          const counts = nativeKernelCounts();
          assert.ok((counts[SAT_ACTIVATION]?.native ?? 0) >= 2 && (counts[SAT_ACTIVATION_GRAD]?.native ?? 0) >= 2, JSON.stringify(counts));
          assertClose(native, cpu, ['y', 'dx', 'y (1-D)', 'dx (1-D)']);
        });
      }
    }
  });

  describe('BatchMatMul against cpu (transposed operands through strides, b broadcast)', () => {
    // [a shape, b shape, transposeA, transposeB]: the dense layer's forward and both gradients, ragged sizes, batches.
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[1, 128, 3136], [1, 3136, 10], false, false],
      [[1, 128, 10], [1, 3136, 10], false, true],
      [[1, 128, 3136], [1, 128, 10], true, false],
      [[1, 7, 5], [1, 3, 7], true, true],
      [[3, 5, 9], [3, 9, 4], false, false],
      [[4, 6, 5], [1, 5, 3], false, false],
      [[4, 6, 5], [1, 3, 6], true, true],
      [[1, 6, 5], [3, 5, 2], false, false], // a broadcast: the wasm kernel's
    ];
    for (const [sa, sb, ta, tb] of cases) {
      it(`a [${sa}]${ta ? 'ᵀ' : ''} b [${sb}]${tb ? 'ᵀ' : ''}`, async () => {
        resetNativeKernelCounts();
        const [native, cpu] = await wasmAndCpu(sa.concat(sb).reduce((x, y) => x * 7 + y, ta ? 1 : 2), (rng) => [tf.matMul(tensor(rng, sa) as tf.Tensor3D, tensor(rng, sb) as tf.Tensor3D, ta, tb)]);
        const c = nativeKernelCounts()[tf.BatchMatMul] ?? { native: 0, fallback: 0 };
        if (sa[0] === 1 && sb[0] > 1) assert.equal(c.fallback, 1, 'a broadcast goes to the wasm kernel');
        else assert.equal(c.native, 1, 'ran natively');
        assertClose(native, cpu, ['a b']);
      });
    }
  });

  describe('whole SAT steps for every activation: native equals the wasm kernels', () => {
    const steps = (activation: string, mode: GradientMode) => {
      const model = buildModel('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 3, width: 8 });
      const sgd = new Sgd(model.params, { momentum: 0.9, nesterov: false, weightDecay: 5e-4, decays: isDecayed });
      const x = tf.randomUniform([8, 28, 28, 1], 0, 1, 'float32', 4) as tf.Tensor4D;
      const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
      const act = makeActivation(parseActivation(activation), { gradient: isLearnable(parseActivation(activation)) ? 'own' : mode });
      const opts = { attack: makeAttack({ type: 'pgd-linf', eps: 0.1, steps: 1, stepSize: 0.1, randomStart: true }), attackerAct: act, trainerAct: act, labelSmoothing: 0, lr: 0.05 };
      const losses = [0, 1].map((seed) => satStep(model, sgd, x, y, { ...opts, seed }).loss);
      const weights = model.params.get('conv1/kernel')!.dataSync().slice() as Float32Array;
      tf.dispose([x, y]);
      sgd.dispose();
      model.dispose();
      return { losses, weights };
    };
    const cases: Array<[string, GradientMode]> = [...ACTIVATIONS.map((a): [string, GradientMode] => [a, 'own']), ['relu', 'smooth']];
    for (const [activation, mode] of cases) {
      it(`${activation} (${mode} gradient): losses and weights after two steps to ${STEP_TOLERANCE}`, () => {
        const tensors = tf.memory().numTensors;
        const native = steps(activation, mode);
        unregisterNativeKernels();
        let wasm: ReturnType<typeof steps>;
        try {
          wasm = steps(activation, mode);
        } finally {
          registerNativeKernels(addon);
        }
        assert.equal(tf.memory().numTensors, tensors, 'no tensors left behind');
        native.losses.forEach((l, i) => assert.ok(Math.abs(l - wasm.losses[i]) <= STEP_TOLERANCE * Math.abs(wasm.losses[i]), `step ${i + 1}: loss ${l} vs ${wasm.losses[i]}`));
        const err = relativeError(native.weights, wasm.weights);
        assert.ok(err <= STEP_TOLERANCE, `weights: relative error ${err.toExponential(2)}`);
      });
    }
  });

  it('give the same results on one thread and two', () => {
    const rng = makeRng(5);
    const threads = addon.getThreads();
    const x = tensor(rng, [16, 14, 14, 32], 2) as tf.Tensor4D;
    const [gamma, beta] = [tensor(rng, [32], 0.5, 1) as tf.Tensor1D, tensor(rng, [32]) as tf.Tensor1D];
    const silu = makeActivation('silu');
    const run = () => tf.tidy(() => tf.grads((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(silu(batchNormTraining(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D)))))([x, gamma, beta]).map((t) => t.dataSync().slice() as Float32Array));
    try {
      setNativeThreads(1);
      const one = run();
      setNativeThreads(2);
      const two = run();
      one.forEach((o, i) => assert.ok(relativeError(two[i], o) <= 1e-5, `output ${i}`));
    } finally {
      setNativeThreads(threads);
      tf.dispose([x, gamma, beta]);
    }
  });

  it('reject offsets outside the heap and bad arguments, naming the problem', () => {
    const heap = new ArrayBuffer(64);
    assert.throws(() => addon.batchNorm(0, heap, Int32Array.from([2, 3, 2, 2]), 1e-5, new Float64Array(9)), /lies outside the 64-byte heap/);
    assert.throws(() => addon.batchNorm(0, heap, Int32Array.from([2, 2, 2]), 1e-5, new Float64Array(9)), /Int32Array \[N, H, W, C\]/);
    assert.throws(() => addon.batchNorm(1, heap, Int32Array.from([1, 1, 1, 1]), 0, new Float64Array(9)), /epsilon must be positive/);
    assert.throws(() => addon.activation(0, 1, heap, 100, 0, -1, 0), /outside the heap/);
    assert.throws(() => addon.activation(99 as never, 1, heap, 4, 0, -1, 0), /unknown activation code 99/);
    assert.throws(() => addon.activation(7, 0, heap, 4, 0, -1, 0), /parameter must be positive/);
    assert.throws(() => addon.matmul(heap, Int32Array.from([1, 5, 5, 5, 1, 0, 0]), 0, 0, 0), /outside the heap/);
    assert.throws(() => addon.matmul(heap, Int32Array.from([2, 1, 1, 1, 3, 0, 0]), 0, 0, 0), /b's batch must be a's or 1/);
  });
});
