// BatchMatMul on wasm with transposeA or transposeB runs 7-30x slower than a plain one (the
// backend leaves XNNPACK's GEMM for a scalar loop): transpose explicitly, then multiply.
import * as tf from '@tensorflow/tfjs';
import { inScope, type KernelArgs } from './scope';

/** Swaps the last two axes. */
function innerTransposePerm(rank: number): number[] {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

function batchMatMul({ inputs, backend, attrs }: KernelArgs<{ transposeA: boolean; transposeB: boolean }>): tf.TensorInfo {
  const { a, b } = inputs;
  return inScope(backend, (s) => {
    const plainA = attrs.transposeA ? s.transpose(a, innerTransposePerm(a.shape.length)) : a;
    const plainB = attrs.transposeB ? s.transpose(b, innerTransposePerm(b.shape.length)) : b;
    return s.run(tf.BatchMatMul, { a: plainA, b: plainB }, { transposeA: false, transposeB: false }, true);
  });
}

export const batchMatMulKernels: Array<Omit<tf.KernelConfig, 'backendName'>> = [
  { kernelName: tf.BatchMatMul, kernelFunc: batchMatMul as unknown as tf.KernelFunc },
];
