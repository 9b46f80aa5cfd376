// Tile on wasm is an index loop per element, and tfjs's BatchNorm gradient tiles a [C] vector
// to the whole activation: a fifth of a ResNet training step. Here the input is copied once and
// each axis is then repeated with doubling memmoves (copyWithin), a few dozen calls in all.
import * as tf from '@tensorflow/tfjs';
import { originalKernel, type KernelArgs } from './scope';

/** Fills dst[0, total) by repeating its first `filled` elements (a doubling memmove). */
function repeatPrefix(heap: Uint8Array, dst: number, filled: number, total: number): void {
  while (filled < total) {
    const n = Math.min(filled, total - filled);
    heap.copyWithin(dst + filled, dst, dst + n);
    filled += n;
  }
}

function tile(args: KernelArgs<{ reps: number[] }>): tf.TensorInfo {
  const { inputs: { x }, backend, attrs: { reps } } = args;
  const shape = x.shape;
  const outShape = shape.map((d, i) => d * reps[i]);
  const size = outShape.reduce((a, b) => a * b, 1);
  // Copies needed: per axis, one block per outer index (and its doublings). A memmove call costs
  // about as much as the backend's loop spends on 4-8 elements: many small blocks (repeating
  // the last axes of a tall tensor) are the backend's strength, not ours.
  let calls = 0;
  for (let i = 0, outer = 1; i < shape.length; outer *= shape[i], i++) if (reps[i] > 1) calls += outer * (1 + Math.log2(reps[i]));
  if (x.dtype === 'string' || reps.length !== shape.length || size === 0 || calls > size / 8) {
    return originalKernel(tf.Tile)!.kernelFunc(args as never) as tf.TensorInfo;
  }
  const bytes = tf.util.bytesPerElement(x.dtype);
  const out = backend.makeOutput(outShape, x.dtype);
  const heap = new Uint8Array(backend.typedArrayFromHeap(out).buffer); // after makeOutput, which may grow it
  const base = backend.dataIdMap.get(out.dataId)!.memoryOffset;
  const src = backend.dataIdMap.get(x.dataId)!.memoryOffset;
  heap.copyWithin(base, src, src + shape.reduce((a, b) => a * b, 1) * bytes);
  // Expand axes from the last: [outer, d, inner] -> [outer, r*d, inner], inner already expanded.
  let inner = bytes;
  for (let i = shape.length - 1; i >= 0; i--) {
    const block = shape[i] * inner;
    const r = reps[i];
    if (r > 1) {
      const outer = shape.slice(0, i).reduce((a, b) => a * b, 1);
      for (let o = outer - 1; o >= 0; o--) {
        const dst = base + o * r * block;
        heap.copyWithin(dst, base + o * block, base + (o + 1) * block);
        repeatPrefix(heap, dst, block, r * block);
      }
    }
    inner = r * block;
  }
  return out;
}

export const tileKernels: Array<Omit<tf.KernelConfig, 'backendName'>> = [
  { kernelName: tf.Tile, kernelFunc: tile as unknown as tf.KernelFunc },
];
