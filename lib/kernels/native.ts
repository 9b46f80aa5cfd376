// Native kernels for the wasm backend: convolutions here, conv + frozen batch norm as one conv
// (native-conv-bn.ts), batch norm (native-norm.ts) and activations (native-activation.ts) beside them. Convolution kernels that run oneDNN (the native addon) in place on the
// wasm heap: each kernel allocates its output with the backend, then hands the addon the wasm
// Memory's buffer (read again on every call: growing the memory replaces it) and the byte
// offsets of its tensors. Nothing is copied in or out.
// What the addon does not cover (NCHW, non-float32 tensors, PReLU fusion) and any error the addon
// raises (warned once per kernel and message) goes to the kernel registered before ours; bad
// input (dy of the wrong shape) is an error, as it is in the wasm kernels.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { ConvGradAttrs } from './conv-geometry';
import { CONV_OP, POST_OP, type ConvOp, type OneDnnAddon } from './native-addon';
import { geometry, tokenOf } from './native-geometry';
import { NATIVE_CONV_BN_BODIES } from './native-conv-bn';
import { AddonError, heapOf, nativeKernel, offsetOf, withOutputs, type Outcome } from './native-call';
import { NATIVE_ACTIVATION_BODIES } from './native-activation';
import { NATIVE_MATMUL_BODIES } from './native-matmul';
import { NATIVE_NORM_BODIES } from './native-norm';
import type { KernelArgs } from './scope';

type Conv2DInfo = tf.backend_util.Conv2DInfo;

interface ConvAttrs extends ConvGradAttrs {
  activation?: string;
  leakyreluAlpha?: number;
}

/** FusedConv2D activations the addon applies as a oneDNN post-op (ACT codes in sat_onednn.cc). */
const ACTIVATIONS: Record<string, number> = { linear: POST_OP.linear, relu: POST_OP.relu, relu6: POST_OP.relu6, elu: POST_OP.elu, leakyrelu: POST_OP.leakyrelu, sigmoid: POST_OP.sigmoid };

/** Why the addon cannot run this call, or undefined when it can. */
function unsupported(tensors: tf.TensorInfo[], attrs: ConvAttrs): string | undefined {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') return `dataFormat ${attrs.dataFormat}`;
  if (tensors.some((t) => t.dtype !== 'float32')) return 'non-float32 tensor';
  return undefined;
}

/** Runs one addon op; the output is allocated first (allocation may grow the heap). */
function runOp(backend: BackendWasm, addon: OneDnnAddon, op: ConvOp, g: Int32Array, outShape: number[], a: tf.TensorInfo, b: tf.TensorInfo, opts: { bias?: tf.TensorInfo; token?: number; alpha?: number } = {}): Outcome {
  if (tf.util.sizeFromShape(outShape) === 0) return backend.makeOutput(outShape, 'float32');
  const off = (t: tf.TensorInfo) => offsetOf(backend, t);
  const outs = withOutputs(backend, [outShape], ([out]) =>
    addon.conv(op, heapOf(backend), g, off(a), off(b), off(out), opts.bias ? off(opts.bias) : -1, opts.token ?? -1, opts.alpha ?? 0),
  );
  return outs instanceof AddonError ? outs : outs[0];
}

function forward(depthwise: boolean, fused: boolean) {
  return ({ inputs, backend, attrs }: KernelArgs<ConvAttrs>, addon: OneDnnAddon): Outcome => {
    const { x, filter, bias, preluActivationWeights } = inputs;
    const act = fused ? ACTIVATIONS[attrs.activation ?? 'linear'] : 0;
    if (act === undefined || preluActivationWeights) return `activation ${attrs.activation}`;
    const why = unsupported(bias ? [x, filter, bias] : [x, filter], attrs);
    if (why) return why;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
      depthwise,
    );
    if (bias && tf.util.sizeFromShape(bias.shape) !== info.outChannels) return 'bias not one value per channel';
    const g = geometry(info, depthwise ? info.inChannels : 1, act, Boolean(bias));
    return runOp(backend, addon, CONV_OP.forward, g, info.outShape, x, filter, { bias, token: tokenOf(filter.dataId), alpha: attrs.leakyreluAlpha ?? 0 });
  };
}

function backwardData(depthwise: boolean) {
  return ({ inputs, backend, attrs }: KernelArgs<ConvAttrs & { inputShape: number[] }>, addon: OneDnnAddon): Outcome => {
    const { dy, filter } = inputs;
    const why = unsupported([dy, filter], attrs);
    if (why) return why;
    const info = gradInfo(attrs.inputShape, filter.shape, dy, attrs, depthwise);
    const g = geometry(info, depthwise ? info.inChannels : 1);
    return runOp(backend, addon, CONV_OP.backwardData, g, attrs.inputShape, dy, filter, { token: tokenOf(filter.dataId) });
  };
}

function backwardWeights(depthwise: boolean) {
  return ({ inputs, backend, attrs }: KernelArgs<ConvAttrs & { filterShape: number[] }>, addon: OneDnnAddon): Outcome => {
    const { x, dy } = inputs;
    const why = unsupported([x, dy], attrs);
    if (why) return why;
    const info = gradInfo(x.shape, attrs.filterShape, dy, attrs, depthwise);
    const g = geometry(info, depthwise ? info.inChannels : 1);
    return runOp(backend, addon, CONV_OP.backwardWeights, g, attrs.filterShape, x, dy);
  };
}

/** The forward conv's geometry for a gradient kernel; dy must be shaped as its output. */
function gradInfo(xShape: number[], filterShape: number[], dy: tf.TensorInfo, attrs: ConvAttrs, depthwise: boolean): Conv2DInfo {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );
  if (dy.shape.join() !== info.outShape.join()) throw new Error(`${depthwise ? 'DepthwiseConv2dNative' : 'Conv2D'} gradient: dy has shape [${dy.shape}] but the forward conv's output is [${info.outShape}]`);
  return info;
}

const BODIES: Array<[string, (args: KernelArgs<never>, addon: OneDnnAddon) => Outcome]> = [
  [tf.Conv2D, forward(false, false)],
  [tf.FusedConv2D, forward(false, true)],
  [tf.DepthwiseConv2dNative, forward(true, false)],
  // Without the addon's batch norm, batch norm in inference runs as a 1x1 one of these (lib/kernels/batch-norm.ts).
  [tf.FusedDepthwiseConv2D, forward(true, true)],
  [tf.Conv2DBackpropInput, backwardData(false)],
  [tf.Conv2DBackpropFilter, backwardWeights(false)],
  [tf.DepthwiseConv2dNativeBackpropInput, backwardData(true)],
  [tf.DepthwiseConv2dNativeBackpropFilter, backwardWeights(true)],
  ...NATIVE_CONV_BN_BODIES,
  ...NATIVE_NORM_BODIES,
  ...NATIVE_ACTIVATION_BODIES,
  ...NATIVE_MATMUL_BODIES,
] as never;

/** Names of the kernels the addon replaces or adds (SatBatchNorm*, SatActivation*). */
export const NATIVE_KERNEL_NAMES: readonly string[] = BODIES.map(([name]) => name);

/** The kernels each replaced, to fall back to and to restore. */
const replaced = new Map<string, tf.KernelConfig | undefined>();

/** Installs the native kernels for the wasm backend over whatever is registered now. */
export function registerNativeKernels(addon: OneDnnAddon): void {
  if (replaced.size) return;
  for (const [name, body] of BODIES) {
    const existing = tf.getKernel(name, 'wasm');
    replaced.set(name, existing);
    if (existing) tf.unregisterKernel(name, 'wasm');
    // Keep the previous kernel's setup: the wasm backend runs it at start-up, and the fallback needs it.
    tf.registerKernel({ ...existing, kernelName: name, backendName: 'wasm', kernelFunc: nativeKernel(name, addon, () => replaced.get(name), body as never) });
  }
}

/** Puts back the kernels registerNativeKernels replaced. */
export function unregisterNativeKernels(): void {
  for (const [name, previous] of replaced) {
    tf.unregisterKernel(name, 'wasm');
    if (previous) tf.registerKernel(previous);
  }
  replaced.clear();
}

export function nativeKernelsRegistered(): boolean {
  return replaced.size > 0;
}
