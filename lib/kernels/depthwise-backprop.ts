// Depthwise conv gradients on wasm (the backend has neither), as forward depthwise convs.
import * as tf from '@tensorflow/tfjs';
import { convWithPads, filterGradPads, gradGeometry, inputGradPlan, phasePads, type ConvGradAttrs } from './conv-geometry';
import { depthwisePhaseFilter } from './phase-filter';
import { inScope, type KernelArgs } from './scope';

/**
 * dW[kh,kw,c,m] = sum_{n,oh,ow} x[n, oh*s+kh-top, ow*s+kw-left, c] * dy[n,oh,ow,c*M+m]: one
 * depthwise conv over x as [1, H, W, C*N] with dy as the filter [OH, OW, C*N, M] dilated by
 * the stride, giving [1, KH, KW, C*N*M]; then the sum over n.
 */
function depthwiseBackpropFilter({ inputs, backend, attrs }: KernelArgs<ConvGradAttrs & { filterShape: number[] }>): tf.TensorInfo {
  const { x, dy } = inputs;
  const { info, axes: [axisH, axisW] } = gradGeometry('DepthwiseConv2dNativeBackpropFilter', x.shape, attrs.filterShape, dy, attrs, true);
  const [n, h, w, c] = x.shape;
  const [oh, ow] = [info.outHeight, info.outWidth];
  const [kh, kw, , mult] = attrs.filterShape;
  return inScope(backend, (s) => {
    const xT = s.reshape(s.transpose(x, [1, 2, 3, 0]), [1, h, w, c * n]);
    const dyT = s.transpose(s.reshape(dy, [n, oh, ow, c, mult]), [1, 2, 3, 0, 4]);
    const filter = s.reshape(dyT, [oh, ow, c * n, mult]);
    const perSample = convWithPads(s, true, xT, filter, filterGradPads(axisH), filterGradPads(axisW), [axisH.stride, axisW.stride]);
    const dW = s.sum(s.reshape(perSample, [kh * kw * c, n, mult]), [1]);
    return s.reshape(dW, [kh, kw, c, mult]);
  });
}

/**
 * dx as a stride-1 depthwise conv over dy (channels C*M) with the flipped filter split into
 * stride phases as the channel multiplier (see inputGradPlan and depthwisePhaseFilter).
 * The output [N, U, V, C*M*sh*sw] is summed over m, then the phases are interleaved.
 */
function depthwiseBackpropInput({ inputs, backend, attrs }: KernelArgs<ConvGradAttrs & { inputShape: number[] }>): tf.TensorInfo {
  const { dy, filter } = inputs;
  const { info, axes: [axisH, axisW] } = gradGeometry('DepthwiseConv2dNativeBackpropInput', attrs.inputShape, filter.shape, dy, attrs, true);
  const [planH, planW] = [inputGradPlan(axisH), inputGradPlan(axisW)];
  const [sh, sw] = [axisH.stride, axisW.stride];
  const [kh, kw, c, mult] = filter.shape;
  // Every phase gets the most taps any phase has (zeros where it has fewer).
  const taps: [number, number] = [Math.ceil(kh / sh), Math.ceil(kw / sw)];
  const n = dy.shape[0];
  return inScope(backend, (s) => {
    const g = depthwisePhaseFilter(s, filter, taps, [sh, sw]);
    let y = convWithPads(s, true, dy, g, phasePads(axisH, planH, taps[0]), phasePads(axisW, planW, taps[1]), [1, 1]);
    const [u, v] = [planH.count, planW.count];
    if (mult > 1) y = s.sum(s.reshape(y, [n * u * v * c, mult, sh * sw]), [1]);
    // Channels are (c, phase row, phase col): move the phases next to their spatial axes.
    const rows =
      sh * sw === 1
        ? s.reshape(y, [n, u, v, c])
        : s.reshape(s.transpose(s.reshape(y, [n, u, v, c, sh, sw]), [0, 1, 4, 2, 5, 3]), [n, u * sh, v * sw, c]);
    return s.slice(rows, [0, planH.offset, planW.offset, 0], attrs.inputShape);
  });
}

export const depthwiseBackpropKernels: Array<Omit<tf.KernelConfig, 'backendName'>> = [
  { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, kernelFunc: depthwiseBackpropFilter as unknown as tf.KernelFunc },
  { kernelName: tf.DepthwiseConv2dNativeBackpropInput, kernelFunc: depthwiseBackpropInput as unknown as tf.KernelFunc },
];
