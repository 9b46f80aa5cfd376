// Activations and their gradients on the native addon, in place on the wasm heap: one kernel
// for y = f(x), one for dx = dy * f'(x), whatever the activation (oneDNN's eltwise primitives
// where oneDNN has it, the addon's own loops for the others). lib/kernels/native-ops.ts makes
// them one tfjs op with a custom gradient, so an activation's gradient is one call, not a chain.
import * as tf from '@tensorflow/tfjs';
import type { ActivationCode, OneDnnAddon } from './native-addon';
import { heapOf, offsetOf, withOutputs, type Outcome } from './native-call';
import { SAT_ACTIVATION, SAT_ACTIVATION_GRAD } from './native-ops';
import type { KernelArgs } from './scope';

interface ActivationAttrs {
  code: ActivationCode;
  param: number;
}

function run({ inputs, backend, attrs }: KernelArgs<ActivationAttrs>, addon: OneDnnAddon, grad: boolean): Outcome {
  const { x, dy } = inputs;
  if (x.dtype !== 'float32' || (grad && dy.dtype !== 'float32')) return 'non-float32 tensor';
  if (grad && dy.shape.join() !== x.shape.join()) return `dy has shape [${dy.shape}], x [${x.shape}]`;
  const n = tf.util.sizeFromShape(x.shape);
  if (n === 0) return backend.makeOutput(x.shape, 'float32');
  const outs = withOutputs(backend, [x.shape], ([out]) =>
    addon.activation(attrs.code, attrs.param, heapOf(backend), n, offsetOf(backend, x), grad ? offsetOf(backend, dy) : -1, offsetOf(backend, out)),
  );
  return Array.isArray(outs) ? outs[0] : outs;
}

export const NATIVE_ACTIVATION_BODIES: Array<[string, (args: KernelArgs<never>, addon: OneDnnAddon) => Outcome]> = [
  [SAT_ACTIVATION, (args: KernelArgs<ActivationAttrs>, addon: OneDnnAddon) => run(args, addon, false)],
  [SAT_ACTIVATION_GRAD, (args: KernelArgs<ActivationAttrs>, addon: OneDnnAddon) => run(args, addon, true)],
] as never;
