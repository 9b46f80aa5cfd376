// Conv + frozen batch norm (+ activation) as one native conv (lib/kernels/native-conv-bn.ts and
// nativeConvBn in native-ops.ts) against the same layers composed on cpu, forward and every
// gradient; the MNIST CNN's inference pass and x-gradient against the wasm path; AutoAttack's
// per-image verdicts against the wasm path; bad arguments. Skipped with one line where the addon
// is not built, unless SAT_REQUIRE_NATIVE=1 (CI).
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { makeActivation, parseActivation, type GradientMode } from '../lib/activations';
import type { AttackConfig } from '../lib/attacks';
import { take } from '../lib/data';
import { autoAttack } from '../lib/eval/autoattack';
import { CONV_OP } from '../lib/kernels/native-addon';
import { registerNativeKernels, unregisterNativeKernels } from '../lib/kernels/native';
import { nativeKernelCounts, resetNativeKernelCounts } from '../lib/kernels/native-call';
import { nativeConvBn, SAT_CONV_BN, SAT_CONV_BN_BACKPROP_INPUT, type NativeActivationFn } from '../lib/kernels/native-ops';
import { buildModel } from '../lib/models';
import { makeRng, type Rng } from '../lib/util/rng';
import { assertClose, nativeSuite, tensor, TOLERANCE } from './helpers/native';
import { relativeError } from './helpers/random-data';
import { trainedMnistModel } from './helpers/tiny-mnist';

describe('native conv + frozen batch norm', function () {
  this.timeout(900_000);
  const addon = nativeSuite(SAT_CONV_BN);
  if (!addon) return;

  type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
  // [x shape, filter shape, stride, pad]: the MNIST CNN's layers, ragged sizes, 1x1 and 5x5 filters, tfjs's SAME at stride 2.
  const geometries: Array<[number[], number[], number, Pad]> = [
    [[3, 28, 28, 1], [3, 3, 1, 16], 1, [[0, 0], [1, 1], [1, 1], [0, 0]]],
    [[2, 14, 14, 32], [3, 3, 32, 64], 2, [[0, 0], [1, 1], [1, 1], [0, 0]]],
    [[2, 9, 7, 5], [3, 3, 5, 3], 2, 'same'],
    [[1, 6, 5, 3], [5, 5, 3, 7], 1, 'valid'],
    [[4, 3, 3, 17], [1, 1, 17, 9], 1, 'valid'],
  ];
  const layer = (x: tf.Tensor, f: tf.Tensor, stride: number, pad: Pad, bn: tf.Tensor[], act: (x: tf.Tensor) => tf.Tensor) =>
    act(tf.batchNorm(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, stride, pad), bn[2], bn[3], bn[1], bn[0], 1e-3));
  /** Random inputs: x, filter, gamma (some negative), beta, mean, variance, dy. */
  const inputs = (rng: Rng, xs: number[], fs: number[], ys: number[]) => {
    const c = fs[3];
    return { x: tensor(rng, xs), f: tensor(rng, fs, 0.5), bn: [tensor(rng, [c], 1, 0.5), tensor(rng, [c]), tensor(rng, [c], 0.3), tensor(rng, [c], 0.4, 1)], dy: tensor(rng, ys) };
  };

  describe('against the layers composed on cpu: y, and dx, dfilter, dgamma, dbeta, dmean, dvariance', () => {
    // relu and silu fuse as a post-op (relu also while recording a gradient), psoftplus runs after the conv.
    for (const spec of ['relu', 'silu', 'gelu', 'mish', 'psoftplus:3']) {
      for (const [xs, fs, stride, pad] of geometries) {
        it(`${spec}: x [${xs}], filter [${fs}], stride ${stride}, ${typeof pad === 'string' ? pad : 'explicit'} padding`, async () => {
          const act = makeActivation(parseActivation(spec)) as NativeActivationFn;
          const ys = tf.backend_util.computeConv2DInfo(xs as never, fs as never, stride, 1, pad).outShape;
          const seed = xs.concat(fs).reduce((a, b) => a * 13 + b, spec.length);
          const fused = (x: tf.Tensor, f: tf.Tensor, bn: tf.Tensor[]) => {
            const r = nativeConvBn(x as tf.Tensor4D, f as tf.Tensor4D, { strides: stride, pad }, { gamma: bn[0], beta: bn[1], mean: bn[2], variance: bn[3], epsilon: 1e-3 }, act);
            assert.ok(r, 'the native op ran');
            return r.activated ? r.y : act(r.y);
          };
          const run = (f: typeof fused) =>
            tf.tidy(() => {
              const t = inputs(makeRng(seed), xs, fs, ys);
              const y = f(t.x, t.f, t.bn);
              const dxOnly = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x, t.f, t.bn), t.dy)))(t.x);
              const all = tf.grads((x: tf.Tensor, w: tf.Tensor, g: tf.Tensor, b: tf.Tensor, m: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(f(x, w, [g, b, m, v]), t.dy)))([t.x, t.f, ...t.bn]);
              return [y, dxOnly, ...all].map((t) => t.dataSync().slice() as Float32Array);
            });
          resetNativeKernelCounts();
          const native = run(fused);
          const counts = nativeKernelCounts();
          assert.ok((counts[SAT_CONV_BN]?.native ?? 0) >= 3 && (counts[SAT_CONV_BN_BACKPROP_INPUT]?.native ?? 0) >= 2, JSON.stringify(counts));
          await tf.setBackend('cpu');
          let cpu: Float32Array[];
          try {
            cpu = run((x, f, bn) => layer(x, f, stride, pad, bn, act));
          } finally {
            await tf.setBackend('wasm');
          }
          assertClose(native, cpu, ['y', 'dx alone', 'dx', 'dfilter', 'dgamma', 'dbeta', 'dmean', 'dvariance']);
        });
      }
    }
  });

  it('applies the activation as a post-op outside a gradient, and only relu inside one', () => {
    const rng = makeRng(9);
    const x = tensor(rng, [2, 6, 6, 3]) as tf.Tensor4D;
    const f = tensor(rng, [3, 3, 3, 4]) as tf.Tensor4D;
    const bn = { gamma: tf.ones([4]), beta: tf.zeros([4]), mean: tf.zeros([4]), variance: tf.ones([4]), epsilon: 1e-5 };
    const activated = (spec: string, taped: boolean) => {
      let out = false;
      const f1 = (x: tf.Tensor) => {
        const r = nativeConvBn(x as tf.Tensor4D, f, { strides: 1, pad: 'same' }, bn, makeActivation(parseActivation(spec)) as NativeActivationFn)!;
        out = r.activated;
        return tf.sum(r.y);
      };
      tf.tidy(() => (taped ? tf.grad(f1)(x) : f1(x)));
      return out;
    };
    assert.deepEqual(['relu', 'silu', 'psoftplus'].map((s) => [activated(s, false), activated(s, true)]), [[true, true], [true, false], [false, false]]);
    assert.equal(nativeConvBn(x, f, { strides: 1, pad: 'same' }, { ...bn, gamma: tf.ones([5]) }), undefined, 'statistics of the wrong size: no native op');
    tf.dispose([x, f, ...Object.values(bn).filter((v): v is tf.Tensor => v instanceof tf.Tensor)]);
  });

  it('folds the current batch norm: new values of the variables after an assign are used', () => {
    const model = buildModel('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 2, width: 4 });
    const act = makeActivation('relu');
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const logits = () => tf.tidy(() => model.apply(x, { training: false, act }).dataSync().slice() as Float32Array);
    const before = logits();
    // Training-mode passes assign new running statistics; a weight update assigns a new filter.
    model.state.get('bn2/moving_variance')!.assign(tf.fill([8], 3));
    model.params.get('conv3/kernel')!.assign(tf.mul(model.params.get('conv3/kernel')!, 2));
    const fused = logits();
    unregisterNativeKernels();
    let composed: Float32Array;
    try {
      composed = logits();
    } finally {
      registerNativeKernels(addon);
    }
    assert.ok(relativeError(before, composed) > 1e-2, 'the assigns changed the output');
    assert.ok(relativeError(fused, composed) <= TOLERANCE, `fused after assigns: relative error ${relativeError(fused, composed).toExponential(2)}`);
    x.dispose();
    model.dispose();
  });

  it("keeps a diverged layer's outputs non-finite where the layers composed are (an overflowing conv, an infinite variance)", async () => {
    // What a training run at a huge learning rate leaves: weights that overflow the conv, running
    // variances at infinity. The trainer finds divergence by the non-finite logits this gives.
    const run = () =>
      tf.tidy(() => {
        const x = tf.ones([1, 4, 4, 2]);
        const f = tf.fill([3, 3, 2, 3], 1e38);
        const bn = { gamma: tf.ones([3]), beta: tf.zeros([3]), mean: tf.zeros([3]), variance: tf.tensor1d([Infinity, 1, 1]), epsilon: 1e-5 };
        const r = nativeConvBn(x as tf.Tensor4D, f as tf.Tensor4D, { strides: 1, pad: 'same' }, bn);
        const y = r ? r.y : tf.batchNorm(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same'), bn.mean, bn.variance, bn.beta, bn.gamma, bn.epsilon);
        return Array.from(y.dataSync(), (v) => (Number.isNaN(v) ? 'nan' : Number.isFinite(v) ? 'finite' : 'inf'));
      });
    const native = run();
    await tf.setBackend('cpu');
    let cpu: string[];
    try {
      cpu = run();
    } finally {
      await tf.setBackend('wasm');
    }
    assert.ok(cpu.includes('nan') && !cpu.includes('finite'), `the composite gives no finite value here: ${cpu.join()}`);
    assert.deepEqual(native, cpu);
  });

  describe('the MNIST CNN in inference mode: logits and x-gradient equal the wasm path', () => {
    const cases: Array<[string, GradientMode]> = [['relu', 'own'], ['silu', 'own'], ['softplus', 'own'], ['celu:2', 'own'], ['relu', 'smooth']];
    for (const [spec, mode] of cases) {
      it(`${spec} (${mode} gradient)`, () => {
        const model = buildModel('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 4, width: 8 });
        const act = makeActivation(parseActivation(spec), { gradient: mode });
        const x = tf.randomUniform([5, 28, 28, 1], 0, 1, 'float32', 6) as tf.Tensor4D;
        const y = tf.oneHot(tf.tensor1d([0, 3, 5, 7, 9], 'int32'), 10);
        const run = () =>
          tf.tidy(() => {
            const f = (x: tf.Tensor) => model.apply(x as tf.Tensor4D, { training: false, act });
            return [f(x), tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), y)))(x)].map((t) => t.dataSync().slice() as Float32Array);
          });
        const tensors = tf.memory().numTensors;
        resetNativeKernelCounts();
        const native = run();
        assert.equal(nativeKernelCounts()[SAT_CONV_BN]?.native, 6, 'three fused convs, two passes');
        unregisterNativeKernels();
        let wasm: Float32Array[];
        try {
          wasm = run();
        } finally {
          registerNativeKernels(addon);
        }
        assert.equal(tf.memory().numTensors, tensors, 'no tensors left behind');
        assertClose(native, wasm, ['logits', 'dx']);
        tf.dispose([x, y]);
        model.dispose();
      });
    }
  });

  it("AutoAttack's per-image verdicts equal the wasm path's (small budgets, all four attacks)", () => {
    const { model, test } = trainedMnistModel();
    const act = makeActivation('relu');
    const data = take(test, 32);
    const eps = 0.1;
    const attacks: AttackConfig[] = [
      { type: 'apgd-ce', eps, steps: 10 },
      { type: 'apgd-t', eps, steps: 10, targets: 3 },
      { type: 'fab-t', eps, steps: 10, targets: 3 },
      { type: 'square', eps, queries: 200 },
    ];
    const run = () => autoAttack((x) => model.apply(x, { training: false, act }), data, { eps, version: 'custom', attacks, seed: 3, warn: () => {} });
    const tensors = tf.memory().numTensors;
    resetNativeKernelCounts();
    const native = run();
    assert.ok((nativeKernelCounts()[SAT_CONV_BN]?.native ?? 0) > 0, 'the fused conv ran');
    unregisterNativeKernels();
    let wasm: ReturnType<typeof run>;
    try {
      wasm = run();
    } finally {
      registerNativeKernels(addon);
    }
    assert.equal(tf.memory().numTensors, tensors, 'no tensors left behind');
    assert.ok(native.robustAccuracy > 0 && native.robustAccuracy < native.clean, `a mix of verdicts (clean ${native.clean}, robust ${native.robustAccuracy})`);
    assert.deepEqual(Array.from(native.robust), Array.from(wasm.robust), 'the same images robust');
    assert.deepEqual(native.stages.map((s) => s.broken), wasm.stages.map((s) => s.broken), 'each attack broke as many');
  });

  it('rejects offsets outside the heap and bad arguments, naming the problem', () => {
    const heap = new ArrayBuffer(4096);
    const g = Int32Array.from([1, 4, 4, 1, 2, 3, 3, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    const stats = Float64Array.from([0, 0, 0, 0]);
    assert.throws(() => addon.convBn(CONV_OP.forward, heap, g, 4090, 0, 0, stats, 1e-5, -1), /convBn tensor 0 .* lies outside the 4096-byte heap/);
    assert.throws(() => addon.convBn(CONV_OP.forward, heap, g, 0, 0, 0, Float64Array.from([0, 0, 0, 5000]), 1e-5, -1), /statistic 3 lies outside the heap/);
    assert.throws(() => addon.convBn(CONV_OP.forward, heap, g, 0, 0, 0, stats, 0, -1), /epsilon must be positive/);
    assert.throws(() => addon.convBn(2 as never, heap, g, 0, 0, 0, stats, 1e-5, -1), /op must be 0 \(forward\) or 1 \(backward data\)/);
    const withAct = Int32Array.from(g);
    withAct[18] = 1;
    assert.throws(() => addon.convBn(CONV_OP.backwardData, heap, withAct, 0, 0, 0, stats, 1e-5, -1), /backward pass takes no activation/);
    const grouped = Int32Array.from(g);
    grouped[17] = 2;
    grouped[3] = 2;
    grouped[4] = 2;
    assert.throws(() => addon.convBn(CONV_OP.forward, heap, grouped, 0, 0, 0, stats, 1e-5, -1), /ungrouped conv/);
  });
});
