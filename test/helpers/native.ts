// What the native kernel tests share: a suite that runs on wasm with the addon's kernels (or
// skips with one line where the addon is not built, and fails under SAT_REQUIRE_NATIVE=1), the
// same computation on wasm and on cpu, and the comparison.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../../lib/backend';
import { nativeAddon, nativeStatus, type OneDnnAddon } from '../../lib/kernels/native-addon';
import { registerNativeKernels } from '../../lib/kernels/native';
import { makeRng, type Rng } from '../../lib/util/rng';
import { randomData, relativeError } from './random-data';

/** Native vs cpu: float32 throughout, other summation orders and exp/erf approximations. */
export const TOLERANCE = 1e-4;

/**
 * Call inside a describe: the addon, with hooks that switch to wasm and its kernels; or, where
 * the addon is not built, undefined after one test that says why (`kernel` must then be absent).
 */
export function nativeSuite(kernel: string): OneDnnAddon | undefined {
  const addon = nativeAddon();
  if (!addon) {
    if (process.env.SAT_REQUIRE_NATIVE === '1') it('are built (SAT_REQUIRE_NATIVE=1)', () => assert.fail(`SAT_REQUIRE_NATIVE=1 but ${nativeStatus().reason}`));
    else it(`skipped: ${nativeStatus().reason}`, () => assert.equal(tf.getKernel(kernel, 'wasm'), undefined));
    return undefined;
  }
  let previous: string | undefined;
  before(async () => {
    previous = tf.getBackend();
    await initBackend('wasm', true);
    registerNativeKernels(addon);
  });
  after(async () => {
    if (previous && previous !== 'wasm') await initBackend(previous as BackendName, true);
  });
  return addon;
}

/** Runs `fn` on the current backend (wasm, native kernels) and on cpu, each with the same random numbers; the values of each output. */
export async function wasmAndCpu(seed: number, fn: (rng: Rng) => tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const run = () => tf.tidy(() => fn(makeRng(seed)).map((t) => t.dataSync().slice() as Float32Array));
  const native = run();
  await tf.setBackend('cpu');
  try {
    return [native, run()];
  } finally {
    await tf.setBackend('wasm');
  }
}

export function assertClose(native: Float32Array[], reference: Float32Array[], names: string[], tolerance = TOLERANCE): void {
  assert.equal(native.length, reference.length);
  native.forEach((n, i) => {
    assert.equal(n.length, reference[i].length, `${names[i]}: size`);
    const err = relativeError(n, reference[i]);
    assert.ok(err <= tolerance, `${names[i]}: relative error ${err.toExponential(2)} > ${tolerance}`);
  });
}

/** Uniform values in [shift - scale, shift + scale). */
export function tensor(rng: Rng, shape: number[], scale = 1, shift = 0): tf.Tensor {
  const d = randomData(rng, shape);
  return tf.tensor(d.values.map((v) => v * scale + shift), shape);
}
