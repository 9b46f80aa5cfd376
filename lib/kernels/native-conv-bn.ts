// A convolution followed by batch norm with frozen statistics (every attack's forward pass), and
// optionally the activation after it, as one oneDNN convolution on the native addon: the batch
// norm folds into the filter and a bias, the activation runs as a post-op. Its x-gradient is one
// backward-data convolution with the same folded filter. Kernels only the addon has;
// lib/kernels/native-ops.ts nativeConvBn makes them one tfjs op with a gradient.
import * as tf from '@tensorflow/tfjs';
import { CONV_OP, type OneDnnAddon } from './native-addon';
import { heapOf, offsetOf, withOutputs, type Outcome } from './native-call';
import { geometry, tupleTokenOf } from './native-geometry';
import type { ConvBnAttrs } from './native-ops';
import { SAT_CONV_BN, SAT_CONV_BN_BACKPROP_INPUT } from './native-ops';
import type { KernelArgs } from './scope';

/** Why the addon cannot run it, or undefined; native-ops.ts checks the same before calling. */
function unsupported(tensors: tf.TensorInfo[], filter: tf.TensorInfo, perChannel: tf.TensorInfo[]): string | undefined {
  if (tensors.some((t) => t.dtype !== 'float32')) return 'non-float32 tensor';
  if (filter.shape.length !== 4) return `filter of rank ${filter.shape.length}`;
  if (perChannel.some((t) => tf.util.sizeFromShape(t.shape) !== filter.shape[3])) return 'batch norm statistics not one per output channel';
  return undefined;
}

function run(op: typeof CONV_OP.forward | typeof CONV_OP.backwardData, { inputs, backend, attrs }: KernelArgs<ConvBnAttrs>, addon: OneDnnAddon): Outcome {
  const { x, dy, filter, gamma, beta, mean, variance } = inputs;
  const a = op === CONV_OP.forward ? x : dy;
  const stats = [gamma, beta, mean, variance];
  const why = unsupported([a, filter, ...stats], filter, stats);
  if (why) return why;
  const xShape = (op === CONV_OP.forward ? x.shape : attrs.inputShape) as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(xShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  if (op === CONV_OP.backwardData && dy.shape.join() !== info.outShape.join()) throw new Error(`${SAT_CONV_BN_BACKPROP_INPUT}: dy has shape [${dy.shape}] but the forward conv's output is [${info.outShape}]`);
  const outShape = op === CONV_OP.forward ? info.outShape : xShape;
  if (tf.util.sizeFromShape(outShape) === 0) return backend.makeOutput(outShape, 'float32');
  const g = geometry(info, 1, op === CONV_OP.forward ? attrs.act : 0);
  const token = tupleTokenOf([filter.dataId, gamma.dataId, variance.dataId]);
  const outs = withOutputs(backend, [outShape], ([out]) =>
    addon.convBn(op, heapOf(backend), g, offsetOf(backend, a), offsetOf(backend, filter), offsetOf(backend, out), Float64Array.from(stats.map((t) => offsetOf(backend, t))), attrs.epsilon, token),
  );
  return Array.isArray(outs) ? outs[0] : outs;
}

export const NATIVE_CONV_BN_BODIES: Array<[string, (args: KernelArgs<never>, addon: OneDnnAddon) => Outcome]> = [
  [SAT_CONV_BN, (args: KernelArgs<ConvBnAttrs>, addon: OneDnnAddon) => run(CONV_OP.forward, args, addon)],
  [SAT_CONV_BN_BACKPROP_INPUT, (args: KernelArgs<ConvBnAttrs>, addon: OneDnnAddon) => run(CONV_OP.backwardData, args, addon)],
] as never;
