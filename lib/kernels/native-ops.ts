// tfjs ops over the kernels only the native addon has (registered for the wasm backend when the
// addon loads): batch norm in training and activations, each one op whose custom gradient is one
// native call. Each returns undefined where the current backend lacks the kernel (cpu, wasm
// without the addon, SAT_NATIVE=0): the caller then runs its composite of tfjs ops.
import * as tf from '@tensorflow/tfjs';
import { NATIVE_ACTIVATION, type ActivationCode } from './native-addon';

export const SAT_BATCH_NORM_TRAINING = 'SatBatchNormTraining';
export const SAT_BATCH_NORM_GRAD = 'SatBatchNormGrad';
export const SAT_ACTIVATION = 'SatActivation';
export const SAT_ACTIVATION_GRAD = 'SatActivationGrad';

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

function runKernel(name: string, inputs: tf.NamedTensorMap, attrs: Record<string, number>): tf.Tensor | tf.Tensor[] {
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

/**
 * The activation `code` as one op with a one-call gradient where the backend has the native
 * kernels, else `composite` (the same function in tfjs ops). Decided per call: the backend can change.
 */
export function withNativeActivation(code: ActivationCode | undefined, param: number, composite: (x: tf.Tensor) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  if (code === undefined) return composite;
  const attrs = { code, param };
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: runKernel(SAT_ACTIVATION, { x }, attrs) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, [x]: tf.Tensor[]) => runKernel(SAT_ACTIVATION_GRAD, { x, dy }, attrs) as tf.Tensor,
    };
  }) as unknown as CustomGradFn);
  return (x) => (x.dtype === 'float32' && hasKernel(SAT_ACTIVATION) ? (op(x) as tf.Tensor) : composite(x));
}

/** dy * sigmoid(a x), the smooth gradient mode's backward pass, in one native call; undefined without the kernel. */
export function nativeSurrogateGradient(x: tf.Tensor, dy: tf.Tensor, a: number): tf.Tensor | undefined {
  if (!hasKernel(SAT_ACTIVATION_GRAD) || x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.join() !== dy.shape.join()) return undefined;
  return runKernel(SAT_ACTIVATION_GRAD, { x, dy }, { code: NATIVE_ACTIVATION.surrogate, param: a }) as tf.Tensor;
}
