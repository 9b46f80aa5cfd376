import type * as tf from '@tensorflow/tfjs';
import type { ForwardContext, ParamStore } from './layers';

/** A classifier with explicit variables. Inputs are NHWC pixels in [0,1]; outputs are logits. */
export interface Model {
  /** Architecture name, e.g. 'mnist-cnn', 'preact-resnet18'. */
  readonly arch: string;
  readonly inputShape: [number, number, number];
  readonly numClasses: number;
  /** Trainable variables by name ('stage1/block0/conv1/kernel', ...). */
  readonly params: Map<string, tf.Variable>;
  /** Non-trainable state (BatchNorm running statistics) by name. */
  readonly state: Map<string, tf.Variable>;
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D;
  dispose(): void;
}

export interface ModelOptions {
  inputShape: [number, number, number];
  numClasses: number;
  /** Width multiplier or base width, per architecture. */
  width?: number;
  /**
   * The activation ('smoothrelu-learnable', ...), needed only when it has a trainable parameter
   * per site (lib/models/learnable-activation.ts); others come with each forward pass.
   */
  activation?: string;
  seed?: number;
}

/** Wraps a forward function and the store holding its variables into a Model. */
export function assembleModel(
  arch: string,
  opts: ModelOptions,
  store: ParamStore,
  apply: (x: tf.Tensor4D, ctx: ForwardContext) => tf.Tensor2D,
): Model {
  return {
    arch,
    inputShape: opts.inputShape,
    numClasses: opts.numClasses,
    params: store.params,
    state: store.state,
    apply,
    dispose: () => store.dispose(),
  };
}
