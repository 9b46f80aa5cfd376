// Plumbing shared by the native kernels (convolutions, batch norm, activations): the wasm heap
// the addon works in, call counts, and the wrapper that falls back to the kernel registered
// before ours when the addon cannot run a call.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { OneDnnAddon } from './native-addon';
import type { KernelArgs } from './scope';

/** Calls per kernel on the native path and fallbacks to the previous kernel (tests, bench). */
const counts = new Map<string, { native: number; fallback: number }>();

export function nativeKernelCounts(): Record<string, { native: number; fallback: number }> {
  return Object.fromEntries([...counts].map(([k, v]) => [k, { ...v }]));
}

export function resetNativeKernelCounts(): void {
  counts.clear();
}

export function countCall(kernel: string, path: 'native' | 'fallback'): void {
  const c = counts.get(kernel) ?? { native: 0, fallback: 0 };
  c[path]++;
  counts.set(kernel, c);
}

/** The wasm Memory's buffer; read again on every call, since growing the memory replaces it. */
export function heapOf(backend: BackendWasm): ArrayBuffer {
  const wasm = backend.wasm as unknown as { asm?: { memory?: { buffer: ArrayBuffer } }; HEAPU8: Uint8Array };
  return (wasm.asm?.memory?.buffer ?? wasm.HEAPU8.buffer) as ArrayBuffer;
}

/** Byte offset of a tensor in the wasm heap. */
export function offsetOf(backend: BackendWasm, t: tf.TensorInfo): number {
  return backend.getMemoryOffset(t.dataId);
}

/** An error raised by the addon (oneDNN rejected or failed the op): the fallback runs. */
export class AddonError extends Error {}

/** A kernel body's result: its output(s), a reason it does not apply (string), or the addon's error. */
export type Outcome = tf.TensorInfo | tf.TensorInfo[] | string | AddonError;

/**
 * Allocates `shapes` (float32) with the backend, then runs `call` on them: outputs first, since
 * allocation may grow the heap. Frees them and returns an AddonError when the addon throws.
 */
export function withOutputs(backend: BackendWasm, shapes: number[][], call: (outs: tf.TensorInfo[]) => void): tf.TensorInfo[] | AddonError {
  const outs = shapes.map((s) => backend.makeOutput(s, 'float32'));
  try {
    call(outs);
  } catch (e) {
    for (const o of outs) backend.disposeData(o.dataId);
    return new AddonError((e as Error).message);
  }
  return outs;
}

const warned = new Set<string>();

/**
 * Builds a kernel that runs `body` on the native path, or the kernel that was registered before
 * ours when `body` names a reason or the addon throws. Without a previous kernel (kernels only
 * the addon has), either is an error.
 */
export function nativeKernel<A>(
  name: string,
  addon: OneDnnAddon,
  previous: () => tf.KernelConfig | undefined,
  body: (args: KernelArgs<A>, addon: OneDnnAddon) => Outcome,
): tf.KernelFunc {
  return ((args: KernelArgs<A>) => {
    const outcome = body(args, addon);
    if (outcome instanceof AddonError) {
      const message = `${name}: native kernel failed (${outcome.message}); using the wasm kernel for it`;
      if (!warned.has(message)) console.warn(`[sat] warning: ${message}`);
      warned.add(message);
    }
    if (typeof outcome !== 'string' && !(outcome instanceof AddonError)) {
      countCall(name, 'native');
      return outcome;
    }
    const fallback = previous();
    if (!fallback) throw new Error(`${name}: no wasm kernel to fall back to (${outcome instanceof AddonError ? outcome.message : outcome})`);
    countCall(name, 'fallback');
    return fallback.kernelFunc(args as never);
  }) as unknown as tf.KernelFunc;
}
