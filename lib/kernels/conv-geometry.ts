// Index arithmetic shared by the conv gradient kernels, one spatial axis at a time, and a
// forward conv that accepts negative padding (it crops the input instead).
import * as tf from '@tensorflow/tfjs';
import type { KernelScope } from './scope';

/** The attributes tfjs passes a conv or depthwise-conv gradient kernel (besides the shapes). */
export interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | [number, number];
}

/**
 * The geometry of the forward conv whose gradient a kernel computes, after checking what the
 * kernel got: NHWC, no dilation, rank-4 shapes, and dy shaped as the forward conv's output.
 */
export function gradGeometry(kernel: string, xShape: number[], filterShape: number[], dy: tf.TensorInfo, attrs: ConvGradAttrs, depthwise: boolean) {
  assertSupported(kernel, attrs.dataFormat, attrs.dilations);
  if (xShape.length !== 4 || filterShape.length !== 4) {
    throw new Error(`${kernel}: expected a rank-4 input and filter, got shapes [${xShape}] and [${filterShape}].`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );
  if (dy.shape.join() !== info.outShape.join()) {
    throw new Error(`${kernel}: dy has shape [${dy.shape}] but the forward conv's output is [${info.outShape}].`);
  }
  return { info, axes: convAxes(info) };
}

/** One spatial axis of the forward conv whose gradient we compute. */
export interface ConvAxis {
  inSize: number;
  outSize: number;
  filterSize: number;
  stride: number;
  /** Zero padding before the input (top or left). */
  padBefore: number;
}

export function convAxes(info: tf.backend_util.Conv2DInfo): [ConvAxis, ConvAxis] {
  return [
    { inSize: info.inHeight, outSize: info.outHeight, filterSize: info.filterHeight, stride: info.strideHeight, padBefore: info.padInfo.top },
    { inSize: info.inWidth, outSize: info.outWidth, filterSize: info.filterWidth, stride: info.strideWidth, padBefore: info.padInfo.left },
  ];
}

/** Padding before and after one axis; either may be negative (crop). */
export type AxisPads = [number, number];

/**
 * Filter gradient as a forward conv: the input x slides under the output gradient dy, which
 * acts as a filter dilated by the stride. Output position k reads x at k + o*stride - padBefore,
 * for k in [0, filterSize): the padding after makes the output exactly filterSize long.
 */
export function filterGradPads(a: ConvAxis): AxisPads {
  return [a.padBefore, a.filterSize + (a.outSize - 1) * a.stride - a.inSize - a.padBefore];
}

/**
 * Input gradient as stride-1 forward convs over dy, one per stride phase (sub-pixel
 * convolution): input row i with i + padBefore = u*stride + a receives
 * sum_m dy[u - m] * f[a + m*stride] over the taps m of phase a (see phaseTaps). The convs
 * compute rows u in [first, first + count); phase a's row u lands on input row
 * (u - first)*stride + a - offset.
 */
export interface InputGradPlan {
  first: number;
  count: number;
  offset: number;
}

export function inputGradPlan(a: ConvAxis): InputGradPlan {
  const first = Math.floor(a.padBefore / a.stride);
  const count = Math.ceil((a.inSize + a.padBefore) / a.stride) - first;
  return { first, count, offset: a.padBefore - first * a.stride };
}

/** Padding of dy for a phase conv with `taps` taps: its output rows are u = first, first + 1, ... */
export function phasePads(a: ConvAxis, plan: InputGradPlan, taps: number): AxisPads {
  const before = taps - 1 - plan.first;
  return [before, plan.count - a.outSize - before + taps - 1];
}

/** An NHWC conv (regular or depthwise) whose padding may be negative on any side. */
export function convWithPads(
  scope: KernelScope,
  depthwise: boolean,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  padsH: AxisPads,
  padsW: AxisPads,
  dilations: [number, number],
  strides: [number, number] = [1, 1],
): tf.TensorInfo {
  const [n, h, w, c] = x.shape;
  const crop = (p: number) => Math.max(0, -p);
  const cropped = scope.slice(
    x,
    [0, crop(padsH[0]), crop(padsW[0]), 0],
    [n, h - crop(padsH[0]) - crop(padsH[1]), w - crop(padsW[0]) - crop(padsW[1]), c],
  );
  const keep = (p: number) => Math.max(0, p);
  const pad = [[0, 0], padsH.map(keep), padsW.map(keep), [0, 0]];
  const kernel = depthwise ? tf.DepthwiseConv2dNative : tf.Conv2D;
  const y = scope.run(kernel, { x: cropped, filter }, { strides, dilations, pad, dataFormat: 'NHWC' });
  if (cropped !== x) scope.release(cropped);
  return y;
}

/** Our kernels compute NHWC, undilated convs only, which is all tfjs can differentiate. */
export function assertSupported(kernel: string, dataFormat: string | undefined, dilations?: number | [number, number]): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports dataFormat 'NHWC' only, got '${dataFormat}'; transpose the input to NHWC.`);
  }
  const d = dilations === undefined ? [1, 1] : typeof dilations === 'number' ? [dilations, dilations] : dilations;
  if (d.some((v) => v !== 1)) {
    throw new Error(`${kernel} on wasm supports dilations 1 only (as tfjs's own gradients do), got [${d}].`);
  }
}
