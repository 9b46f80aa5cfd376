// BatchMatMul on the native addon (oneDNN's matmul), in place on the wasm heap: a transposed
// operand is read through its strides, where the wasm path (lib/kernels/batch-matmul.ts) copies
// it into a transpose first. Batches that broadcast other than b's batch of 1, and non-float32
// tensors, go to that kernel.
import * as tf from '@tensorflow/tfjs';
import type { OneDnnAddon } from './native-addon';
import { heapOf, offsetOf, withOutputs, type Outcome } from './native-call';
import type { KernelArgs } from './scope';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

function batchMatMul({ inputs, backend, attrs }: KernelArgs<MatMulAttrs>, addon: OneDnnAddon): Outcome {
  const { a, b } = inputs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return 'non-float32 tensor';
  if (a.shape.length < 2 || b.shape.length < 2) return 'operands of rank < 2';
  const inner = (t: tf.TensorInfo, transposed: boolean) => {
    const [r, c] = t.shape.slice(-2);
    return { batch: tf.util.sizeFromShape(t.shape.slice(0, -2)), rows: transposed ? c : r, cols: transposed ? r : c };
  };
  const [ia, ib] = [inner(a, attrs.transposeA), inner(b, attrs.transposeB)];
  if (ia.cols !== ib.rows) return `inner dimensions differ (${ia.cols} vs ${ib.rows})`;
  if (!(ib.batch === ia.batch || ib.batch === 1) || a.shape.length !== b.shape.length) return 'batch broadcasting other than b of batch 1';
  const outShape = [...a.shape.slice(0, -2), ia.rows, ib.cols];
  if (ia.batch * ia.rows * ia.cols * ib.cols === 0) return 'empty operand';
  const dims = Int32Array.from([ia.batch, ia.rows, ia.cols, ib.cols, ib.batch, attrs.transposeA ? 1 : 0, attrs.transposeB ? 1 : 0]);
  const outs = withOutputs(backend, [outShape], ([out]) => addon.matmul(heapOf(backend), dims, offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, out)));
  return Array.isArray(outs) ? outs[0] : outs;
}

export const NATIVE_MATMUL_BODIES: Array<[string, (args: KernelArgs<never>, addon: OneDnnAddon) => Outcome]> = [[tf.BatchMatMul, batchMatMul]] as never;
