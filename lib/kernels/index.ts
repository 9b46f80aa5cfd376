// Gradient kernels for the wasm backend: the ones it lacks (Conv2DBackpropFilter, depthwise
// backprop) and the ones it runs far slower than the forward pass (Conv2DBackpropInput,
// BatchMatMul with a transposed operand, Identity, Tile, batch norm and its Sum and Mean). Each is
// built from the backend's own fast kernels or plain memory moves.
// SAT_WASM_KERNELS=0 leaves the backend as tfjs ships it (to compare, or to rule us out).
// Where the oneDNN addon (native/) is built and SAT_NATIVE is not 0, its convolutions replace
// the conv kernels on top of ours (lib/kernels/native.ts); ours stay as its fallback.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm'; // its kernels must be registered before we replace some
import { batchMatMulKernels } from './batch-matmul';
import { batchNormKernels } from './batch-norm';
import { registerBatchNormGradient } from './batch-norm-grad';
import { conv2dBackpropKernels } from './conv2d-backprop';
import { depthwiseBackpropKernels } from './depthwise-backprop';
import { identityKernels } from './identity';
import { reduceKernels } from './reduce';
import { tileKernels } from './tile';
import { originalKernel, rememberOriginal } from './scope';
import { nativeAddon, nativeStatus } from './native-addon';
import { registerNativeKernels, unregisterNativeKernels } from './native';

export { nativeStatus, setNativeThreads, type NativeStatus } from './native-addon';
export { NATIVE_KERNEL_NAMES, nativeKernelsRegistered, registerNativeKernels, unregisterNativeKernels } from './native';
export { nativeKernelCounts } from './native-call';

const KERNELS = [...conv2dBackpropKernels, ...depthwiseBackpropKernels, ...batchMatMulKernels, ...identityKernels, ...tileKernels, ...reduceKernels, ...batchNormKernels];

/** Names of the kernels registerWasmKernels installs for the wasm backend. */
export const WASM_KERNEL_NAMES: readonly string[] = KERNELS.map((k) => k.kernelName);

let registered = false;

/** False when SAT_WASM_KERNELS is 0, false, off or no. */
export function wasmKernelsEnabled(env = process.env.SAT_WASM_KERNELS): boolean {
  return !['0', 'false', 'off', 'no'].includes((env ?? '').trim().toLowerCase());
}

/** Installs our kernels for the 'wasm' backend (once; later calls do nothing). */
export function registerWasmKernels(): void {
  if (registered || !wasmKernelsEnabled()) return;
  for (const kernel of KERNELS) {
    const existing = tf.getKernel(kernel.kernelName, 'wasm');
    if (existing) {
      rememberOriginal(existing);
      tf.unregisterKernel(kernel.kernelName, 'wasm');
    }
    // The original's setup still runs at backend start-up: our kernels may call it.
    tf.registerKernel({ ...existing, ...kernel, backendName: 'wasm' });
  }
  registerBatchNormGradient();
  const addon = nativeAddon();
  if (addon) registerNativeKernels(addon);
  registered = true;
}

/** Which conv kernels run and why, for `sat info` and logs: "native convs: oneDNN 2.6.3 ..., 2 threads". */
export function describeConvKernels(): string {
  if (!wasmKernelsEnabled()) return 'convs: tfjs wasm (SAT_WASM_KERNELS=0)';
  const status = nativeStatus();
  return status.available ? `convs: native (${status.reason})` : `convs: wasm XNNPACK (${status.reason})`;
}

/** Restores the wasm backend's own kernels (for comparisons and benchmarks). */
export function unregisterWasmKernels(): void {
  if (!registered) return;
  unregisterNativeKernels();
  for (const kernel of KERNELS) {
    tf.unregisterKernel(kernel.kernelName, 'wasm');
    const original = originalKernel(kernel.kernelName);
    if (original) tf.registerKernel(original);
  }
  registered = false;
}
