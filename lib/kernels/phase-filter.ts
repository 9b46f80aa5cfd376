// The filters of input-gradient convs (see inputGradPlan): flipped, split into stride phases
// and laid out for a forward conv. Built with memcpy and small loops: the backend's Reverse on
// the rank-6 view this needs costs more than the whole rearrangement here.
import * as tf from '@tensorflow/tfjs';
import type { KernelScope } from './scope';

/** A stride phase: the input row (col) offset a (b) within a stride, as in inputGradPlan. */
export type Phase = [number, number];

export function allPhases([sh, sw]: [number, number]): Phase[] {
  const phases: Phase[] = [];
  for (let a = 0; a < sh; a++) for (let b = 0; b < sw; b++) phases.push([a, b]);
  return phases;
}

/** Filter taps that fall in phase offset `a` of a stride: kh = a, a + stride, ... < size. */
export function phaseTaps(filterSize: number, stride: number, a: number): number {
  return Math.max(0, Math.ceil((filterSize - a) / stride));
}

/**
 * The flipped filter of one phase of a conv's input gradient: tap (m, n) is
 * f[a + (tapsH-1-m)*sh, b + (tapsW-1-n)*sw] transposed to [Co, Ci], so the result
 * [tapsH, tapsW, Co, Ci] is a forward-conv filter. `fT` is the filter as [KH*KW, Co, Ci]
 * (one backend transpose per kernel call); each tap is then one memcpy.
 */
export function convPhaseFilter(
  s: KernelScope,
  fT: tf.TensorInfo,
  [kh, kw]: [number, number],
  [a, b]: Phase,
  [th, tw]: [number, number],
  [sh, sw]: [number, number],
): tf.TensorInfo {
  const tapSize = fT.shape[1] * fT.shape[2];
  const out = s.allocate([th, tw, fT.shape[1], fT.shape[2]]);
  const dst = s.backend.typedArrayFromHeap(out) as Float32Array;
  const src = s.backend.typedArrayFromHeap(fT) as Float32Array;
  for (let m = 0; m < th; m++) {
    for (let n = 0; n < tw; n++) {
      const [y, x] = [a + (th - 1 - m) * sh, b + (tw - 1 - n) * sw];
      const to = (m * tw + n) * tapSize;
      if (y < kh && x < kw) dst.set(src.subarray((y * kw + x) * tapSize, (y * kw + x + 1) * tapSize), to);
      else dst.fill(0, to, to + tapSize);
    }
  }
  return out;
}

/**
 * The flipped filter of a depthwise conv's input gradient, all phases at once as the channel
 * multiplier: for f [KH, KW, C, M], [tapsH, tapsW, C*M, sh*sw] with entry (m, n, c*M+j, p) =
 * f[a + (tapsH-1-m)*sh, b + (tapsW-1-n)*sw, c, j] for phase p = (a, b), zero past the edge.
 * Depthwise filters are small, so a plain loop does.
 */
export function depthwisePhaseFilter(s: KernelScope, filter: tf.TensorInfo, [th, tw]: [number, number], strides: [number, number]): tf.TensorInfo {
  const [kh, kw, c, mult] = filter.shape;
  const [sh, sw] = strides;
  const phases = allPhases(strides);
  const np = phases.length;
  const out = s.allocate([th, tw, c * mult, np]);
  const dst = s.backend.typedArrayFromHeap(out) as Float32Array;
  const src = s.backend.typedArrayFromHeap(filter) as Float32Array;
  dst.fill(0);
  for (let m = 0; m < th; m++) {
    for (let n = 0; n < tw; n++) {
      phases.forEach(([a, b], p) => {
        const [y, x] = [a + (th - 1 - m) * sh, b + (tw - 1 - n) * sw];
        if (y >= kh || x >= kw) return;
        const from = (y * kw + x) * c * mult;
        const to = (m * tw + n) * c * mult * np + p;
        for (let i = 0; i < c * mult; i++) dst[to + i * np] = src[from + i];
      });
    }
  }
  return out;
}
