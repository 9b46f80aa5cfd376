// Identity on wasm copies the tensor; tfjs runs it for every tensor the gradient tape saves
// (about one copy per activation per step). Cast to the tensor's own dtype copies too, and
// ReLU's gradient casts its float32 step mask to float32. Sharing the buffer, as Reshape on
// wasm and Identity on the cpu backend do, is safe: tfjs tensors are immutable and refcounted.
import * as tf from '@tensorflow/tfjs';
import { originalKernel, type KernelArgs } from './scope';

function share(x: tf.TensorInfo, args: KernelArgs): tf.TensorInfo {
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function identity(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === 'string') return originalKernel(tf.Identity)!.kernelFunc(args as never) as tf.TensorInfo;
  return share(x, args);
}

function cast(args: KernelArgs<{ dtype: tf.DataType }>): tf.TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === 'string' || x.dtype !== args.attrs.dtype) return originalKernel(tf.Cast)!.kernelFunc(args as never) as tf.TensorInfo;
  return share(x, args as unknown as KernelArgs);
}

export const identityKernels: Array<Omit<tf.KernelConfig, 'backendName'>> = [
  { kernelName: tf.Identity, kernelFunc: identity as unknown as tf.KernelFunc },
  { kernelName: tf.Cast, kernelFunc: cast as unknown as tf.KernelFunc },
];
