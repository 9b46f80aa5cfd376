// Conv2D gradients on wasm, both as forward convs so that XNNPACK does the work:
// the wasm backend has no Conv2DBackpropFilter at all, and its Conv2DBackpropInput is a
// scalar loop about 10x slower than the forward conv.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { convWithPads, filterGradPads, gradGeometry, inputGradPlan, phasePads, type ConvAxis, type ConvGradAttrs, type InputGradPlan } from './conv-geometry';
import { allPhases, convPhaseFilter, phaseTaps, type Phase } from './phase-filter';
import { inScope, type KernelArgs, type KernelScope } from './scope';

/**
 * dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh-top, ow*s+kw-left, ci] * dy[n,oh,ow,co]:
 * a forward conv of x as Ci images [H, W, N] with dy as the filter [OH, OW, N, Co], dilated
 * by the stride (see stackedFilterGrad), or a matmul for 1x1 convs.
 */
function conv2dBackpropFilter({ inputs, backend, attrs }: KernelArgs<ConvGradAttrs & { filterShape: number[] }>): tf.TensorInfo {
  const { x, dy } = inputs;
  const { axes: [axisH, axisW] } = gradGeometry('Conv2DBackpropFilter', x.shape, attrs.filterShape, dy, attrs, false);
  if (isPointwise(axisH) && isPointwise(axisW)) return pointwiseFilterGrad(backend, x, dy, [axisH.stride, axisW.stride]);
  return inScope(backend, (s) => stackedFilterGrad(s, x, dy, axisH, axisW));
}

/**
 * The same conv, with the Ci images stacked into one tall image and one conv per filter row
 * kh, strided by the padded image height: each conv yields [1, Ci, KW, Co]. XNNPACK tiles
 * output pixels in fours per image; Ci images of KH*KW = 9 pixels waste a quarter of each
 * tile, one image of Ci*KW pixels does not. The tall image holds each x image between its zero
 * padding rows, so the conv for row kh reads it from row kh on (a view: one copy of x in all).
 * The convs share the filter and all parameters, so the backend packs dy for XNNPACK only once
 * (it caches packed filters by tensor and parameters; packing costs ~7 ns per element).
 */
function stackedFilterGrad(s: KernelScope, x: tf.TensorInfo, dy: tf.TensorInfo, axisH: ConvAxis, axisW: ConvAxis): tf.TensorInfo {
  const [ci, h, w, n] = [x.shape[3], axisH.inSize, axisW.inSize, x.shape[0]];
  const [kh, kw, co] = [axisH.filterSize, axisW.filterSize, dy.shape[3]];
  const [top, bottom] = filterGradPads(axisH).map((p) => Math.max(0, p)); // a negative pad: rows never read
  const period = top + h + bottom; // rows per padded image
  const rowSize = w * n;
  const xT = s.transpose(x, [3, 1, 2, 0]); // [Ci, H, W, N]
  const tall = period === h ? xT : s.allocate([ci * period, w, n]);
  if (tall !== xT) {
    const heap = s.heap();
    const [src, dst] = [s.offset(xT), s.offset(tall)];
    for (let q = 0; q < ci; q++) {
      const image = dst + q * period * rowSize;
      heap.fill(0, image, image + top * rowSize);
      heap.copyWithin(image + top * rowSize, src + q * h * rowSize, src + (q + 1) * h * rowSize);
      heap.fill(0, image + (top + h) * rowSize, image + period * rowSize);
    }
    s.release(xT);
  }
  const dyT = s.transpose(dy, [1, 2, 0, 3]); // [OH, OW, N, Co]
  const out = s.allocate([kh, kw, ci, co]);
  for (let r = 0; r < kh; r++) {
    // One shape for every row: the backend keys its packed filters by the conv's whole geometry.
    const rows = s.view(tall, r * rowSize, [1, ci * period - (kh - 1), w, n]);
    const y = convWithPads(s, false, rows, dyT, [0, 0], filterGradPads(axisW), [axisH.stride, axisW.stride], [period, 1]);
    const heap = s.heap(); // y is [1, Ci, KW, Co]
    const [from, to] = [s.offset(y), s.offset(out)];
    for (let q = 0; q < ci; q++) {
      for (let c = 0; c < kw; c++) heap.copyWithin(to + ((r * kw + c) * ci + q) * co, from + (q * kw + c) * co, from + (q * kw + c + 1) * co);
    }
    s.release(y);
  }
  return out;
}

/** A 1x1 conv whose outputs all read real input (no padding before, none read after). */
function isPointwise(a: ConvAxis): boolean {
  return a.filterSize === 1 && a.padBefore === 0 && (a.outSize - 1) * a.stride < a.inSize;
}

/**
 * dW of a 1x1 conv as one matmul, xs^T dy over all output positions (xs: x at the strided
 * positions). The conv route would give XNNPACK one output pixel per image, a quarter tile.
 */
function pointwiseFilterGrad(backend: BackendWasm, x: tf.TensorInfo, dy: tf.TensorInfo, [sh, sw]: [number, number]): tf.TensorInfo {
  const [n, oh, ow, co] = dy.shape;
  const ci = x.shape[3];
  return inScope(backend, (s) => {
    const xs = s.slice(x, [0, 0, 0, 0], [n, oh, ow, ci], [1, sh, sw]);
    const xT = s.transpose(s.reshape(xs, [n * oh * ow, ci]), [1, 0]);
    const dW = s.run(tf.BatchMatMul, { a: xT, b: s.reshape(dy, [n * oh * ow, co]) }, { transposeA: false, transposeB: false }, true);
    return s.reshape(dW, [1, 1, ci, co]);
  });
}

/** Copies one phase's conv output [N, countH, countW, C] into its rows and columns of dx. */
function scatterPhase(s: KernelScope, y: tf.TensorInfo, dx: tf.TensorInfo, [a, b]: Phase, strides: [number, number], plans: [InputGradPlan, InputGradPlan]): void {
  const [n, cu, cv, c] = y.shape;
  const [, h, w] = dx.shape;
  const [sh, sw] = strides;
  const heap = s.heap();
  const [src, dst] = [s.offset(y), s.offset(dx)];
  for (let bi = 0; bi < n; bi++) {
    for (let u = 0; u < cu; u++) {
      const i = u * sh + a - plans[0].offset;
      if (i < 0 || i >= h) continue;
      for (let v = 0; v < cv; v++) {
        const j = v * sw + b - plans[1].offset;
        if (j < 0 || j >= w) continue;
        const from = src + ((bi * cu + u) * cv + v) * c;
        heap.copyWithin(dst + ((bi * h + i) * w + j) * c, from, from + c);
      }
    }
  }
}

/**
 * dx as stride-1 forward convs over dy with the flipped, transposed filter: one conv for
 * stride 1, else one per stride phase, whose outputs interleave into dx (see inputGradPlan).
 */
function conv2dBackpropInput({ inputs, backend, attrs }: KernelArgs<ConvGradAttrs & { inputShape: number[] }>): tf.TensorInfo {
  const { dy, filter } = inputs;
  const { axes: [axisH, axisW] } = gradGeometry('Conv2DBackpropInput', attrs.inputShape, filter.shape, dy, attrs, false);
  const plans: [InputGradPlan, InputGradPlan] = [inputGradPlan(axisH), inputGradPlan(axisW)];
  const strides: [number, number] = [axisH.stride, axisW.stride];
  const [kh, kw, ci, co] = filter.shape;
  return inScope(backend, (s) => {
    const fT = s.transpose(s.reshape(filter, [kh * kw, ci, co]), [0, 2, 1]);
    const phaseConv = (phase: Phase, taps: [number, number]) => {
      const g = convPhaseFilter(s, fT, [kh, kw], phase, taps, strides);
      return convWithPads(s, false, dy, g, phasePads(axisH, plans[0], taps[0]), phasePads(axisW, plans[1], taps[1]), [1, 1]);
    };
    // Stride 1: the one phase's rows are exactly dx's (count = inSize, offset 0).
    if (strides[0] === 1 && strides[1] === 1) return phaseConv([0, 0], [kh, kw]);
    const dx = s.allocate(attrs.inputShape);
    (s.backend.typedArrayFromHeap(dx) as Float32Array).fill(0); // phases without taps get no gradient
    for (const [a, b] of allPhases(strides)) {
      const taps: [number, number] = [phaseTaps(kh, strides[0], a), phaseTaps(kw, strides[1], b)];
      if (taps[0] === 0 || taps[1] === 0) continue;
      scatterPhase(s, phaseConv([a, b], taps), dx, [a, b], strides, plans);
    }
    return dx;
  });
}

export const conv2dBackpropKernels: Array<Omit<tf.KernelConfig, 'backendName'>> = [
  { kernelName: tf.Conv2DBackpropFilter, kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc },
  { kernelName: tf.Conv2DBackpropInput, kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc },
];
