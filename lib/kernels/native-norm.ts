// Batch normalization on the native addon (oneDNN's primitive), in place on the wasm heap:
// tfjs's FusedBatchNorm (inference: statistics given), and two kernels only the addon has, one
// for the training forward pass (the batch's mean and biased variance computed and returned)
// and one for its whole gradient (dx, dgamma, dbeta in one pass); lib/kernels/native-ops.ts
// makes them one tfjs op with a custom gradient.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BN_MODE, type BnMode, type OneDnnAddon } from './native-addon';
import { heapOf, offsetOf, withOutputs, type Outcome } from './native-call';
import { SAT_BATCH_NORM_GRAD, SAT_BATCH_NORM_TRAINING } from './native-ops';
import type { KernelArgs } from './scope';

/** [N, H, W, C] for a 4-D NHWC tensor; any other rank as [rows, 1, 1, C] (channels last). */
function nhwcDims(shape: number[]): Int32Array {
  const c = shape[shape.length - 1] ?? 1;
  if (shape.length === 4) return Int32Array.from(shape);
  return Int32Array.from([tf.util.sizeFromShape(shape) / c, 1, 1, c]);
}

/** Why the addon cannot run batch norm on x with these per-channel tensors, or undefined. */
function unsupported(x: tf.TensorInfo, perChannel: Array<tf.TensorInfo | undefined>): string | undefined {
  const c = x.shape[x.shape.length - 1] ?? 0;
  if (x.dtype !== 'float32') return 'non-float32 input';
  if (perChannel.some((t) => !t)) return 'a statistic, scale or offset is missing';
  if (perChannel.some((t) => t!.dtype !== 'float32' || tf.util.sizeFromShape(t!.shape) !== c)) return 'statistics not one float per channel';
  if (tf.util.sizeFromShape(x.shape) === 0) return 'empty input';
  return undefined;
}

/** Runs one batch-norm mode: outputs allocated first, then the addon on every offset. */
function run(backend: BackendWasm, addon: OneDnnAddon, mode: BnMode, x: tf.TensorInfo, eps: number, inputs: tf.TensorInfo[], outShapes: number[][]): Outcome {
  return withOutputs(backend, outShapes, (outs) => {
    const offsets = Float64Array.from([...inputs, ...outs].map((t) => offsetOf(backend, t)));
    const padded = new Float64Array(9).fill(-1);
    padded.set(offsets);
    addon.batchNorm(mode, heapOf(backend), nhwcDims(x.shape), eps, padded);
  });
}

function inference({ inputs, backend, attrs }: KernelArgs<{ varianceEpsilon: number }>, addon: OneDnnAddon): Outcome {
  const { x, mean, variance, offset, scale } = inputs;
  const why = unsupported(x, [mean, variance, offset, scale]);
  if (why) return why;
  const outs = run(backend, addon, BN_MODE.inference, x, attrs.varianceEpsilon, [x, scale, offset, mean, variance], [x.shape]);
  return Array.isArray(outs) ? outs[0] : outs;
}

function training({ inputs, backend, attrs }: KernelArgs<{ epsilon: number }>, addon: OneDnnAddon): Outcome {
  const { x, scale, offset } = inputs;
  const why = unsupported(x, [scale, offset]);
  if (why) return why;
  const c = x.shape[x.shape.length - 1];
  return run(backend, addon, BN_MODE.training, x, attrs.epsilon, [x, scale, offset], [x.shape, [c], [c]]);
}

function gradient({ inputs, backend, attrs }: KernelArgs<{ epsilon: number }>, addon: OneDnnAddon): Outcome {
  const { x, dy, scale, offset, mean, variance } = inputs;
  const why = unsupported(x, [scale, offset, mean, variance]) ?? (dy.shape.join() !== x.shape.join() ? `dy has shape [${dy.shape}], x [${x.shape}]` : undefined);
  if (why) return why;
  const c = x.shape[x.shape.length - 1];
  return run(backend, addon, BN_MODE.backward, x, attrs.epsilon, [x, dy, scale, offset, mean, variance], [x.shape, [c], [c]]);
}

export const NATIVE_NORM_BODIES: Array<[string, (args: KernelArgs<never>, addon: OneDnnAddon) => Outcome]> = [
  [tf.FusedBatchNorm, inference],
  [SAT_BATCH_NORM_TRAINING, training],
  [SAT_BATCH_NORM_GRAD, gradient],
] as never;
