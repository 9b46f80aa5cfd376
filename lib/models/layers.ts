// Functional layers with explicit, named variables. A builder creates the variables in a
// ParamStore and returns a pure-looking closure `(x, ctx) => y`; the model is the composition.
// tfjs keeps a global registry of variable names, so variables stay unnamed there; our names
// live in the ParamStore maps (two models with the same layer names must coexist).
import * as tf from '@tensorflow/tfjs';
import type { ActivationFn } from '../activations';
import { deriveSeed } from '../util/rng';

/** What a forward pass needs besides the input. */
export interface ForwardContext {
  /** Training mode: BatchNorm uses batch statistics and updates its running averages. */
  training: boolean;
  act: ActivationFn;
}

export type Layer = (x: tf.Tensor4D, ctx: ForwardContext) => tf.Tensor4D;

/** Holds a model's variables: trainable parameters and non-trainable state (BN statistics). */
export class ParamStore {
  readonly params = new Map<string, tf.Variable>();
  readonly state = new Map<string, tf.Variable>();
  private counter = 0;

  constructor(private readonly seed: number) {}

  private unique(name: string): void {
    if (this.params.has(name) || this.state.has(name)) throw new Error(`duplicate variable name '${name}'`);
  }

  /** He-normal (fan-in) initialised weight, seeded by the store's seed and creation order. */
  heNormal(name: string, shape: number[], fanIn: number): tf.Variable {
    this.unique(name);
    const seed = deriveSeed(this.seed, this.counter++);
    const v = tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed), true));
    this.params.set(name, v);
    return v;
  }

  constant(name: string, shape: number[], value: number, trainable: boolean): tf.Variable {
    this.unique(name);
    const v = tf.tidy(() => tf.variable(tf.fill(shape, value), trainable));
    (trainable ? this.params : this.state).set(name, v);
    return v;
  }

  dispose(): void {
    for (const v of [...this.params.values(), ...this.state.values()]) v.dispose();
    this.params.clear();
    this.state.clear();
  }
}

/** Only conv and dense kernels take weight decay; BN parameters and biases do not. */
export function isDecayed(name: string): boolean {
  return name.endsWith('/kernel');
}

export interface ConvOptions {
  stride?: number;
  /** 'same' padding as PyTorch does it: (k−1)/2 on each side (TF's 'same' is asymmetric at stride 2). */
  padding?: 'same' | 'valid';
  bias?: boolean;
}

export function conv2d(store: ParamStore, name: string, inC: number, outC: number, k: number, opts: ConvOptions = {}): Layer {
  const stride = opts.stride ?? 1;
  const p = opts.padding === 'valid' ? 0 : (k - 1) / 2;
  if (!Number.isInteger(p)) throw new Error(`conv '${name}': symmetric 'same' padding needs an odd kernel size, got ${k}`);
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [p, p], [p, p], [0, 0]];
  const kernel = store.heNormal(`${name}/kernel`, [k, k, inC, outC], k * k * inC);
  const bias = opts.bias ? store.constant(`${name}/bias`, [outC], 0, true) : null;
  return (x) =>
    tf.tidy(() => {
      const y = tf.conv2d(x, kernel as tf.Tensor4D, stride, p === 0 ? 'valid' : pad);
      return bias ? tf.add(y, bias) : y;
    });
}

const BN_MOMENTUM = 0.9;
const BN_EPSILON = 1e-5;

/** BatchNorm over N,H,W with running statistics; identity-initialised (gamma 1, beta 0). */
export function batchNorm(store: ParamStore, name: string, channels: number, opts: { gammaInit?: number } = {}): Layer {
  const gamma = store.constant(`${name}/gamma`, [channels], opts.gammaInit ?? 1, true);
  const beta = store.constant(`${name}/beta`, [channels], 0, true);
  const mean = store.constant(`${name}/moving_mean`, [channels], 0, false);
  const variance = store.constant(`${name}/moving_variance`, [channels], 1, false);
  return (x, ctx) =>
    tf.tidy(() => {
      if (!ctx.training) return tf.batchNorm(x, mean, variance, beta, gamma, BN_EPSILON) as tf.Tensor4D;
      const m = tf.moments(x, [0, 1, 2]);
      const count = x.size / channels;
      // Running variance is the unbiased estimate, as in PyTorch.
      const unbiased = tf.mul(m.variance, count / Math.max(count - 1, 1));
      mean.assign(tf.add(tf.mul(mean, BN_MOMENTUM), tf.mul(m.mean, 1 - BN_MOMENTUM)));
      variance.assign(tf.add(tf.mul(variance, BN_MOMENTUM), tf.mul(unbiased, 1 - BN_MOMENTUM)));
      return tf.batchNorm(x, m.mean, m.variance, beta, gamma, BN_EPSILON) as tf.Tensor4D;
    });
}

/** A dense layer on a [N, inDim] input. */
export function dense(store: ParamStore, name: string, inDim: number, outDim: number): (x: tf.Tensor2D) => tf.Tensor2D {
  const kernel = store.heNormal(`${name}/kernel`, [inDim, outDim], inDim);
  const bias = store.constant(`${name}/bias`, [outDim], 0, true);
  return (x) => tf.tidy(() => tf.add(tf.matMul(x, kernel as tf.Tensor2D), bias));
}

export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

export function flatten(x: tf.Tensor4D): tf.Tensor2D {
  return tf.reshape(x, [x.shape[0], -1]);
}

export function sequential(...layers: Layer[]): Layer {
  return (x, ctx) => layers.reduce((h, layer) => layer(h, ctx), x);
}

/** BN followed by the activation: the pre-activation unit of PreAct ResNets. */
export function bnAct(store: ParamStore, name: string, channels: number): Layer {
  const bn = batchNorm(store, name, channels);
  return (x, ctx) => tf.tidy(() => ctx.act(bn(x, ctx)) as tf.Tensor4D);
}
