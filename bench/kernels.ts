// Before/after of each wasm kernel we register: the backend as tfjs ships it against ours, on
// layers of the reference net and of PreAct ResNet-18 (batch 64), batch norm's kernels, plus a
// whole PGD-1 input-gradient pass of the reference net (the part of a SAT step that runs without
// our kernels).
// Usage: tsx bench/kernels.ts [--runs 5] [--json]      (median CPU time per call, in ms;
// 'missing' where tfjs has no wasm kernel at all)
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import { initBackend } from '../lib/backend';
import { parse, parseInteger, UsageError } from '../lib/cli/args';
import { registerWasmKernels, unregisterWasmKernels } from '../lib/kernels';
import { crossEntropy } from '../lib/loss';
import { cpuMs } from './kernel-profile';
import { referenceNet } from './reference-net';

interface Case {
  kernel: string;
  shape: string;
  run: () => tf.Tensor;
}

export interface KernelBench {
  kernel: string;
  shape: string;
  tfjs_ms: number | null;
  ours_ms: number;
  speedup: number | null;
}

const BATCH = 64;

function convCases(xShape: [number, number, number, number], outC: number, k: number, stride: number): Case[] {
  const x = tf.randomNormal(xShape) as tf.Tensor4D;
  const filter = tf.randomNormal([k, k, xShape[3], outC]) as tf.Tensor4D;
  const info = tf.backend_util.computeConv2DInfo(xShape, filter.shape, stride, 1, 'same');
  const dy = tf.randomNormal(info.outShape);
  const attrs = { strides: stride, pad: 'same', dataFormat: 'NHWC' } as const;
  const shape = `[${xShape}] ${k}x${k}x${outC} s${stride}`;
  return [
    { kernel: 'Conv2D (forward, for scale)', shape, run: () => tf.conv2d(x, filter, stride, 'same') },
    { kernel: tf.Conv2DBackpropInput, shape, run: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { ...attrs, inputShape: xShape }) as tf.Tensor },
    { kernel: tf.Conv2DBackpropFilter, shape, run: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: filter.shape }) as tf.Tensor },
  ];
}

function depthwiseCases(xShape: [number, number, number, number], mult: number, stride: number): Case[] {
  const x = tf.randomNormal(xShape) as tf.Tensor4D;
  const filter = tf.randomNormal([3, 3, xShape[3], mult]) as tf.Tensor4D;
  const info = tf.backend_util.computeConv2DInfo(xShape, filter.shape, stride, 1, 'same', undefined, true);
  const dy = tf.randomNormal(info.outShape);
  const attrs = { strides: stride, pad: 'same', dilations: 1 } as const;
  const shape = `[${xShape}] 3x3 x${mult} s${stride}`;
  return [
    { kernel: 'DepthwiseConv2dNative (forward)', shape, run: () => tf.depthwiseConv2d(x, filter, stride, 'same') },
    { kernel: tf.DepthwiseConv2dNativeBackpropInput, shape, run: () => tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter }, { ...attrs, inputShape: xShape }) as tf.Tensor },
    { kernel: tf.DepthwiseConv2dNativeBackpropFilter, shape, run: () => tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy }, { ...attrs, filterShape: filter.shape }) as tf.Tensor },
  ];
}

function matMulCases(m: number, k: number, n: number): Case[] {
  const a = tf.randomNormal([m, k]) as tf.Tensor2D;
  const b = tf.randomNormal([k, n]) as tf.Tensor2D;
  const [aT, bT] = [a.transpose() as tf.Tensor2D, b.transpose() as tf.Tensor2D];
  // Fresh operands each call, as in training (the backend caches packed weights per tensor).
  const fresh = (t: tf.Tensor2D) => tf.mul(t, 1) as tf.Tensor2D;
  const mm = (x: tf.Tensor2D, y: tf.Tensor2D, ta: boolean, tb: boolean) => () => tf.tidy(() => tf.matMul(fresh(x), fresh(y), ta, tb));
  const shape = `${m}x${k} @ ${k}x${n}`;
  return [
    { kernel: 'BatchMatMul', shape, run: mm(a, b, false, false) },
    { kernel: 'BatchMatMul transposeA', shape, run: mm(aT, b, true, false) },
    { kernel: 'BatchMatMul transposeB', shape, run: mm(a, bT, false, true) },
  ];
}

function otherCases(): Case[] {
  const gamma = tf.randomNormal([1, 1, 1, 64]);
  const act = tf.randomNormal([BATCH, 32, 32, 64]);
  const model = referenceNet();
  const x = tf.randomUniform([BATCH, 32, 32, 3]) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 10), 'int32');
  const relu = makeActivation('relu');
  const inputGrad = tf.grad((input: tf.Tensor) => tf.mean(crossEntropy(model.apply(input as tf.Tensor4D, { training: false, act: relu }), y)));
  const [mean, variance, offset, scale] = [tf.randomNormal([64]), tf.randomUniform([64], 0.5, 2), tf.randomNormal([64]), tf.randomNormal([64])];
  return [
    { kernel: 'Tile (BatchNorm gradient)', shape: `[1,1,1,64] -> [${act.shape}]`, run: () => tf.tile(gamma, [BATCH, 32, 32, 1]) },
    { kernel: 'Identity (tape saves)', shape: `[${act.shape}]`, run: () => tf.clone(act) },
    { kernel: 'Cast float32 to float32 (ReLU gradient)', shape: `[${act.shape}]`, run: () => tf.cast(act, 'float32') },
    { kernel: 'Sum over N,H,W (BatchNorm statistics)', shape: `[${act.shape}]`, run: () => tf.sum(act, [0, 1, 2]) },
    { kernel: 'Mean over N,H,W (BatchNorm statistics)', shape: `[${act.shape}]`, run: () => tf.mean(act, [0, 1, 2]) },
    { kernel: 'FusedBatchNorm', shape: `[${act.shape}]`, run: () => tf.batchNorm(act, mean, variance, offset, scale, 1e-5) },
    { kernel: 'PGD-1 input gradient, reference net', shape: `[${x.shape}]`, run: () => inputGrad(x) },
  ];
}

/** Median CPU ms of `runs` calls; null when the kernel does not exist (tfjs's wasm lacks it). */
function time(c: Case, runs: number): number | null {
  try {
    tf.dispose(c.run()); // warm-up
  } catch (e) {
    if (/not registered|No kernel/i.test((e as Error).message)) return null;
    throw e;
  }
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = cpuMs();
    const out = c.run(); // wasm kernels run synchronously: no read-back needed
    times.push(cpuMs() - t0);
    out.dispose();
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

async function main(): Promise<void> {
  const { values } = parse(process.argv.slice(2), { runs: { type: 'string' }, json: { type: 'boolean' } });
  const runs = parseInteger('runs', values.runs) ?? 5;
  if (runs < 1) throw new UsageError('--runs must be at least 1.');
  await initBackend('wasm', true);
  const cases = [
    ...convCases([BATCH, 32, 32, 3], 32, 3, 1),
    ...convCases([BATCH, 32, 32, 32], 32, 3, 1),
    ...convCases([BATCH, 32, 32, 32], 64, 3, 2),
    ...convCases([BATCH, 16, 16, 64], 64, 3, 1),
    ...convCases([BATCH, 8, 8, 128], 128, 3, 1),
    ...convCases([BATCH, 8, 8, 256], 512, 1, 2),
    ...convCases([BATCH, 4, 4, 512], 512, 3, 1),
    ...depthwiseCases([BATCH, 16, 16, 96], 1, 1),
    ...depthwiseCases([BATCH, 16, 16, 96], 2, 2),
    ...matMulCases(BATCH, 512, 10),
    ...matMulCases(256, 1024, 256),
    ...otherCases(),
  ];
  const results: KernelBench[] = [];
  for (const c of cases) {
    unregisterWasmKernels();
    const before = time(c, runs);
    registerWasmKernels();
    const after = time(c, runs)!;
    const r = { kernel: c.kernel, shape: c.shape, tfjs_ms: before, ours_ms: after, speedup: before === null ? null : before / after };
    results.push(r);
    if (values.json) console.log(JSON.stringify(r));
    else {
      const f = (v: number | null, d = 1) => (v === null ? 'missing' : v.toFixed(d));
      console.log(`${r.kernel.padEnd(42)} ${r.shape.padEnd(28)} tfjs ${f(r.tfjs_ms).padStart(8)}  ours ${f(r.ours_ms).padStart(7)}  ${r.speedup === null ? '' : `x${f(r.speedup)}`}`);
    }
  }
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(e instanceof UsageError ? `bench: ${e.message}` : `bench failed: ${e.message}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
