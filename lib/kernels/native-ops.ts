// tfjs ops over the kernels only the native addon has (registered for the wasm backend when the
// addon loads): batch norm in training, activations, and conv + frozen batch norm (+ activation),
// each one op whose gradient is one native call. Each returns undefined where the current backend lacks the kernel (cpu, wasm
// without the addon, SAT_NATIVE=0): the caller then runs its composite of tfjs ops.
import * as tf from '@tensorflow/tfjs';
import { NATIVE_ACTIVATION, POST_OP, type ActivationCode } from './native-addon';

export const SAT_BATCH_NORM_TRAINING = 'SatBatchNormTraining';
export const SAT_BATCH_NORM_GRAD = 'SatBatchNormGrad';
export const SAT_ACTIVATION = 'SatActivation';
export const SAT_ACTIVATION_GRAD = 'SatActivationGrad';
export const SAT_CONV_BN = 'SatConvBn';
export const SAT_CONV_BN_BACKPROP_INPUT = 'SatConvBnBackpropInput';

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor | tf.Tensor[] {
  return tf.engine().runKernel(name, inputs as never, attrs as never) as tf.Tensor | tf.Tensor[];
}

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/**
 * Batch norm with the batch's own moments (see batchNormTraining in lib/models/layers.ts) as two
 * native calls, forward and backward; `onMoments` receives the batch mean and biased variance.
 */
export function nativeBatchNormTraining(
  x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, onMoments: (m: { mean: tf.Tensor; variance: tf.Tensor }) => void,
): tf.Tensor | undefined {
  const c = x.shape[x.rank - 1];
  if (!hasKernel(SAT_BATCH_NORM_TRAINING) || x.dtype !== 'float32' || x.size === 0 || gamma.size !== c || beta.size !== c) return undefined;
  const op = tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, variance] = runKernel(SAT_BATCH_NORM_TRAINING, { x, scale: gamma, offset: beta }, { epsilon }) as tf.Tensor[];
    onMoments({ mean, variance });
    save([x, mean, variance, gamma, beta]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [x, mean, variance, gamma, beta]: tf.Tensor[]) => runKernel(SAT_BATCH_NORM_GRAD, { x, dy, scale: gamma, offset: beta, mean, variance }, { epsilon }) as tf.Tensor[],
    };
  }) as unknown as CustomGradFn);
  return op(x, gamma, beta);
}

/** The native code of an activation (names of lib/activations.ts), or undefined where it has none. */
export function nativeActivationCode(name: string, param: number): ActivationCode | undefined {
  switch (name) {
    case 'relu': return NATIVE_ACTIVATION.relu;
    case 'silu': return NATIVE_ACTIVATION.silu;
    case 'gelu': return NATIVE_ACTIVATION.geluErf;
    case 'gelu-tanh': return NATIVE_ACTIVATION.geluTanh;
    case 'softplus': return NATIVE_ACTIVATION.softplus;
    case 'mish': return NATIVE_ACTIVATION.mish;
    case 'psoftplus': return NATIVE_ACTIVATION.psoftplus;
    case 'smoothrelu': return NATIVE_ACTIVATION.smoothrelu;
    // Our elu is celu(alpha) (elu is alpha 1): oneDNN's elu where that is the same function.
    case 'elu':
    case 'celu': return param === 1 ? NATIVE_ACTIVATION.elu : NATIVE_ACTIVATION.celu;
    default: return undefined;
  }
}

/** An activation function that says which native activation it is (so a conv can apply it as a post-op). */
export type NativeActivationFn = ((x: tf.Tensor) => tf.Tensor) & { native?: { code: ActivationCode; param: number } };

/**
 * The activation `code` as one op with a one-call gradient where the backend has the native
 * kernels, else `composite` (the same function in tfjs ops). Decided per call: the backend can change.
 */
export function withNativeActivation(code: ActivationCode | undefined, param: number, composite: (x: tf.Tensor) => tf.Tensor): NativeActivationFn {
  if (code === undefined) return composite;
  const attrs = { code, param };
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: runKernel(SAT_ACTIVATION, { x }, attrs) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, [x]: tf.Tensor[]) => runKernel(SAT_ACTIVATION_GRAD, { x, dy }, attrs) as tf.Tensor,
    };
  }) as unknown as CustomGradFn);
  const fn: NativeActivationFn = (x) => (x.dtype === 'float32' && hasKernel(SAT_ACTIVATION) ? (op(x) as tf.Tensor) : composite(x));
  fn.native = attrs;
  return fn;
}

/** dy * sigmoid(a x), the smooth gradient mode's backward pass, in one native call; undefined without the kernel. */
export function nativeSurrogateGradient(x: tf.Tensor, dy: tf.Tensor, a: number): tf.Tensor | undefined {
  if (!hasKernel(SAT_ACTIVATION_GRAD) || x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.join() !== dy.shape.join()) return undefined;
  return runKernel(SAT_ACTIVATION_GRAD, { x, dy }, { code: NATIVE_ACTIVATION.surrogate, param: a }) as tf.Tensor;
}

/** The activations a conv can apply as a oneDNN post-op (the others run after it). */
const POST_OPS: Partial<Record<ActivationCode, number>> = {
  [NATIVE_ACTIVATION.relu]: POST_OP.relu,
  [NATIVE_ACTIVATION.silu]: POST_OP.swish,
  [NATIVE_ACTIVATION.geluErf]: POST_OP.geluErf,
  [NATIVE_ACTIVATION.geluTanh]: POST_OP.geluTanh,
  [NATIVE_ACTIVATION.elu]: POST_OP.elu,
  [NATIVE_ACTIVATION.softplus]: POST_OP.softRelu,
  [NATIVE_ACTIVATION.mish]: POST_OP.mish,
};

export interface ConvBnAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  epsilon: number;
  /** The post-op activation (POST_OP), linear for none. */
  act: number;
  /** The gradient kernel's: x's shape. */
  inputShape?: number[];
}

/** Batch norm with frozen statistics: y = (x - mean) / sqrt(variance + epsilon) * gamma + beta. */
export interface FrozenBatchNorm {
  gamma: tf.Tensor;
  beta: tf.Tensor;
  mean: tf.Tensor;
  variance: tf.Tensor;
  epsilon: number;
}

/**
 * act(batchNorm(conv2d(x, filter))) with frozen batch norm, as one native conv where the backend
 * has it (the activation as its post-op where oneDNN has the function, and only relu while a
 * gradient is being recorded: its gradient needs only the output); undefined where it has not.
 * `activated` says whether the activation was applied (else the caller applies it).
 */
export function nativeConvBn(x: tf.Tensor4D, filter: tf.Tensor4D, conv: Pick<ConvBnAttrs, 'strides' | 'pad'>, bn: FrozenBatchNorm, act?: NativeActivationFn): { y: tf.Tensor4D; activated: boolean } | undefined {
  const stats = [bn.gamma, bn.beta, bn.mean, bn.variance];
  if (!hasKernel(SAT_CONV_BN) || [x, filter, ...stats].some((t) => t.dtype !== 'float32') || stats.some((t) => t.size !== filter.shape[3]) || x.shape[3] !== filter.shape[2]) return undefined;
  const postOp = act?.native ? POST_OPS[act.native.code] : undefined;
  const fuse = postOp !== undefined && (postOp === POST_OP.relu || !tf.engine().isTapeOn());
  const attrs: ConvBnAttrs = { ...conv, epsilon: bn.epsilon, act: fuse ? postOp : POST_OP.linear };
  const y = runKernel(SAT_CONV_BN, { x, filter, gamma: bn.gamma, beta: bn.beta, mean: bn.mean, variance: bn.variance }, attrs) as tf.Tensor4D;
  return { y, activated: fuse };
}

/**
 * The gradient of SatConvBn. The x-gradient (an attack's) is one native call after the
 * activation's gradient; the others (nobody trains through frozen batch norm today, but
 * tf.grads may ask) are composed from tfjs ops.
 */
tf.registerGradient({
  kernelName: SAT_CONV_BN,
  inputsToSave: ['x', 'filter', 'gamma', 'beta', 'mean', 'variance'],
  outputsToSave: [true],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const [x, filter, gamma, beta, mean, variance, y] = saved;
    const a = attrs as unknown as ConvBnAttrs;
    if (a.act !== POST_OP.linear && a.act !== POST_OP.relu) throw new Error(`${SAT_CONV_BN}: no gradient with post-op ${a.act} (only relu is fused while recording)`);
    // relu's gradient from its output: y > 0 exactly where the pre-activation is.
    const dz = (a.act === POST_OP.relu ? runKernel(SAT_ACTIVATION_GRAD, { x: y, dy: dy as tf.Tensor }, { code: NATIVE_ACTIVATION.relu, param: 0 }) : dy) as tf.Tensor4D;
    const rstd = () => tf.rsqrt(tf.add(variance, a.epsilon));
    const centred = () => tf.sub(tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, a.strides, a.pad as never, 'NHWC', 1, a.dimRoundingMode), mean);
    const perChannel = (t: tf.Tensor) => tf.reshape(tf.sum(t, [0, 1, 2]), gamma.shape);
    return {
      x: () => runKernel(SAT_CONV_BN_BACKPROP_INPUT, { dy: dz, filter, gamma, beta, mean, variance }, { ...a, inputShape: x.shape }) as tf.Tensor,
      filter: () => runKernel(tf.Conv2DBackpropFilter, { x, dy: tf.mul(dz, tf.mul(gamma, rstd())) }, { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dimRoundingMode: a.dimRoundingMode, filterShape: filter.shape }) as tf.Tensor,
      gamma: () => perChannel(tf.mul(dz, tf.mul(centred(), rstd()))),
      beta: () => perChannel(dz),
      mean: () => tf.neg(tf.mul(perChannel(dz), tf.mul(gamma, rstd()))),
      // d/dv of (c - m) * g * (v + eps)^(-1/2) = -(c - m) * g * (v + eps)^(-3/2) / 2
      variance: () => tf.mul(perChannel(tf.mul(dz, centred())), tf.mul(tf.mul(gamma, tf.pow(rstd(), 3)), -0.5)),
    };
  },
});
