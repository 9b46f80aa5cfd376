// What the native conv kernels (native.ts, native-conv-bn.ts) hand the addon besides offsets: the
// conv's geometry and a token per set of weights, so the addon reorders weights into oneDNN's
// layout once however many passes use them.
import * as tf from '@tensorflow/tfjs';
import { GEOMETRY_SLOTS } from './native-addon';

/**
 * A token per tensor: tfjs tensors are immutable, so one dataId always holds the same values
 * (a variable that is assigned gets a new dataId).
 */
const tokens = new WeakMap<object, number>();
let nextToken = 1;
export function tokenOf(dataId: object): number {
  let t = tokens.get(dataId);
  if (t === undefined) {
    t = nextToken++;
    tokens.set(dataId, t);
  }
  return t;
}

/** Tokens of tuples of tensors (a filter and the batch norm folded into it), from the same counter. */
const tupleTokens = new Map<string, number>();
export function tupleTokenOf(dataIds: object[]): number {
  const key = dataIds.map(tokenOf).join();
  let t = tupleTokens.get(key);
  if (t === undefined) {
    // Training makes new weights every step: forget old tuples rather than grow without bound.
    if (tupleTokens.size >= 4096) tupleTokens.clear();
    t = nextToken++;
    tupleTokens.set(key, t);
  }
  return t;
}

/**
 * The addon's geometry. The bottom and right padding are the ones the output size implies:
 * oneDNN checks out = (in + before + after - extent) / stride + 1, and tfjs's 'ceil' rounding or
 * 'valid' slack can disagree with its padInfo; zeros past the input are what tfjs computes.
 */
export function geometry(info: tf.backend_util.Conv2DInfo, groups: number, act = 0, hasBias = false): Int32Array {
  const p = info.padInfo;
  const after = (out: number, stride: number, filter: number, dilation: number, size: number, before: number) => (out - 1) * stride + (filter - 1) * dilation + 1 - size - before;
  const g = new Int32Array(GEOMETRY_SLOTS.length);
  g.set([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outChannels,
    info.filterHeight, info.filterWidth, info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    p.top, p.left,
    after(info.outHeight, info.strideHeight, info.filterHeight, info.dilationHeight, info.inHeight, p.top),
    after(info.outWidth, info.strideWidth, info.filterWidth, info.dilationWidth, info.inWidth, p.left),
    groups, act, hasBias ? 1 : 0,
  ]);
  return g;
}
