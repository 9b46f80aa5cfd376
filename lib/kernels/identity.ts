// Identity on wasm copies the tensor; tfjs runs it for every tensor the gradient tape saves
// (about one copy per activation per step). Sharing the buffer, as Reshape on wasm and
// Identity on the cpu backend do, is safe: tfjs tensors are immutable and refcounted.
import * as tf from '@tensorflow/tfjs';
import { originalKernel, type KernelArgs } from './scope';

function identity(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === 'string') return originalKernel(tf.Identity)!.kernelFunc(args as never) as tf.TensorInfo;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityKernels: Array<Omit<tf.KernelConfig, 'backendName'>> = [
  { kernelName: tf.Identity, kernelFunc: identity as unknown as tf.KernelFunc },
];
