// Sum and Mean over the leading axes (every axis but the channels): what batch norm computes
// for its statistics and its gradient, ~6% of a ResNet training step and ~15% of the MNIST
// CNN's. The wasm backend transposes the reduced axes to the end (a full copy) and sums with a
// scalar loop; XNNPACK's average pooling over one window as tall as all the rows does the same
// reduction 8-23x faster (float32 sums, as the backend's). Other reductions go to the
// backend's own kernels.
import * as tf from '@tensorflow/tfjs';
import { inScope, originalKernel, type KernelArgs } from './scope';

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/** The number of leading axes `axis` names, when it names exactly axes 0..k-1 (k < rank); else 0. */
function leadingAxes(axis: number | number[], rank: number): number {
  const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  return axes.length < rank && axes.every((a, i) => a === i) ? axes.length : 0;
}

function reduceLeading(kernel: typeof tf.Sum | typeof tf.Mean, args: KernelArgs<ReduceAttrs>): tf.TensorInfo {
  const { inputs: { x }, backend, attrs } = args;
  const k = x.dtype === 'float32' ? leadingAxes(attrs.axis, x.shape.length) : 0;
  const rows = tf.util.sizeFromShape(x.shape.slice(0, k));
  const kept = x.shape.slice(k);
  const width = tf.util.sizeFromShape(kept);
  // XNNPACK rejects a 1x1 pooling window, and one row needs no reduction anyway.
  if (k === 0 || rows < 2 || width === 0) return originalKernel(kernel)!.kernelFunc(args as never) as tf.TensorInfo;
  const outShape = attrs.keepDims ? [...x.shape.slice(0, k).map(() => 1), ...kept] : kept;
  return inScope(backend, (s) => {
    const image = s.reshape(x, [1, rows, 1, width]);
    const mean = s.run(tf.AvgPool, { x: image }, { filterSize: [rows, 1], strides: [1, 1], pad: 'valid' });
    if (kernel === tf.Sum) {
      const heap = s.heap();
      for (let i = s.offset(mean), end = i + width; i < end; i++) heap[i] *= rows;
    }
    return s.reshape(mean, outShape);
  });
}

export const reduceKernels: Array<Omit<tf.KernelConfig, 'backendName'>> = [
  { kernelName: tf.Sum, kernelFunc: ((args: KernelArgs<ReduceAttrs>) => reduceLeading(tf.Sum, args)) as unknown as tf.KernelFunc },
  { kernelName: tf.Mean, kernelFunc: ((args: KernelArgs<ReduceAttrs>) => reduceLeading(tf.Mean, args)) as unknown as tf.KernelFunc },
];
