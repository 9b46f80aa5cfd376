// `npm run bench:native`: the conv kernels on wasm (our XNNPACK-based kernels) against the oneDNN
// addon's, on the reference layer (64x32x32x32 -> 32, 3x3, 'same') and other layers of the
// benchmark nets, per thread count. Calls of the two paths alternate, so that a busy spell of a
// shared machine hits both alike. Prints median wall and CPU time per call.
// Usage: tsx bench/native-kernels.ts [--runs 7] [--threads 1,2] [--json]
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../lib/backend';
import { parse, parseInteger, UsageError } from '../lib/cli/args';
import { nativeAddon, nativeStatus, setNativeThreads } from '../lib/kernels/native-addon';
import { registerNativeKernels, unregisterNativeKernels } from '../lib/kernels/native';
import { cpuMs } from './kernel-profile';

interface Layer {
  label: string;
  x: [number, number, number, number];
  k: number;
  outC: number;
  stride: number;
}

const LAYERS: Layer[] = [
  { label: 'reference layer', x: [64, 32, 32, 32], k: 3, outC: 32, stride: 1 },
  { label: 'reference, 3 channels in', x: [64, 32, 32, 3], k: 3, outC: 32, stride: 1 },
  { label: 'reference, strided', x: [64, 32, 32, 32], k: 3, outC: 64, stride: 2 },
  { label: 'MNIST CNN conv2', x: [64, 28, 28, 16], k: 3, outC: 32, stride: 2 },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

export interface NativeKernelRow {
  layer: string;
  kernel: string;
  threads: number;
  wasm_ms: number;
  native_ms: number;
  native_cpu_ms: number;
  speedup: number;
}

function time(fn: () => tf.Tensor): { wall: number; cpu: number } {
  const [w0, c0] = [performance.now(), cpuMs()];
  const out = fn();
  out.dataSync();
  const r = { wall: performance.now() - w0, cpu: cpuMs() - c0 };
  out.dispose();
  return r;
}

async function main(): Promise<void> {
  const { values } = parse(process.argv.slice(2), { runs: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' } });
  const runs = parseInteger('runs', values.runs) ?? 7;
  const threads = (values.threads ?? '1,2').split(',').map((t) => parseInteger('threads', t.trim()) ?? 1);
  if (runs < 1 || threads.some((t) => t < 1)) throw new UsageError('--runs and --threads must be at least 1.');
  await initBackend('wasm', true);
  const addon = nativeAddon();
  if (!addon) throw new UsageError(`the native addon is not available: ${nativeStatus().reason}`);
  if (!values.json) console.log(`median of ${runs} calls, wasm and native alternating; load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
  for (const layer of LAYERS) {
    const x = tf.randomNormal(layer.x) as tf.Tensor4D;
    const f = tf.randomNormal([layer.k, layer.k, layer.x[3], layer.outC]) as tf.Tensor4D;
    const info = tf.backend_util.computeConv2DInfo(layer.x, f.shape, layer.stride, 1, 'same');
    const dy = tf.randomNormal(info.outShape) as tf.Tensor4D;
    const kernels: Array<[string, () => tf.Tensor]> = [
      ['forward', () => tf.conv2d(x, f, layer.stride, 'same')],
      ['input gradient', () => tf.conv2dTranspose(dy, f, layer.x, layer.stride, 'same')],
      ['weight gradient', () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: layer.stride, pad: 'same', dataFormat: 'NHWC', filterShape: f.shape }) as tf.Tensor],
    ];
    for (const t of threads) {
      setNativeThreads(t);
      for (const [kernel, fn] of kernels) {
        const wasm: number[] = [];
        const native: Array<{ wall: number; cpu: number }> = [];
        for (let i = 0; i <= runs; i++) {
          unregisterNativeKernels();
          const w = time(fn).cpu; // the wasm kernels run on one thread: CPU time is their time
          registerNativeKernels(addon);
          const n = time(fn);
          if (i > 0) { // the first call of each is warm-up
            wasm.push(w);
            native.push(n);
          }
        }
        // One thread: CPU time, steadier on a loaded machine; more: wall time (CPU time sums the threads).
        const nativeMs = t === 1 ? median(native.map((n) => n.cpu)) : median(native.map((n) => n.wall));
        const row: NativeKernelRow = {
          layer: `${layer.label} [${layer.x}] ${layer.k}x${layer.k}x${layer.outC} s${layer.stride}`,
          kernel,
          threads: t,
          wasm_ms: round(median(wasm)),
          native_ms: round(nativeMs),
          native_cpu_ms: round(median(native.map((n) => n.cpu))),
          speedup: round(median(wasm) / nativeMs),
        };
        console.log(values.json ? JSON.stringify(row) : `${row.layer.padEnd(58)} ${kernel.padEnd(16)} threads ${t}  wasm ${String(row.wasm_ms).padStart(6)} ms  native ${String(row.native_ms).padStart(6)} ms (${t === 1 ? 'cpu' : 'wall'})  x${row.speedup}`);
      }
    }
    tf.dispose([x, f, dy]);
  }
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(e instanceof UsageError ? `bench:native: ${e.message}` : `bench:native failed: ${e.stack}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
