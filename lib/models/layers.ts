// Functional layers with explicit, named variables. A builder creates the variables in a
// ParamStore and returns a pure-looking closure `(x, ctx) => y`; the model is the composition.
// tfjs keeps a global registry of variable names, so variables stay unnamed there; our names
// live in the ParamStore maps (two models with the same layer names must coexist).
import * as tf from '@tensorflow/tfjs';
import type { ActivationFn } from '../activations';
import { deriveSeed } from '../util/rng';
import { nativeBatchNormTraining, nativeConvBn, type FrozenBatchNorm, type NativeActivationFn } from '../kernels/native-ops';

/** What a forward pass needs besides the input. */
export interface ForwardContext {
  /** Training mode: BatchNorm uses batch statistics and updates its running averages. */
  training: boolean;
  act: ActivationFn;
  /**
   * Seed of this pass's random layers (drop-connect, dropout). Trainers pass the step's seed so
   * a resumed run draws the same masks; without it each layer draws from its own seeded stream.
   */
  seed?: number;
}

export type Layer = (x: tf.Tensor4D, ctx: ForwardContext) => tf.Tensor4D;

/** Multiply-adds per example of the layers with weights (convolutions and dense layers). */
export class MacCounter {
  readonly byLayer = new Map<string, number>();

  add(layer: string, macs: number): void {
    this.byLayer.set(layer, (this.byLayer.get(layer) ?? 0) + macs);
  }

  get total(): number {
    let n = 0;
    for (const m of this.byLayer.values()) n += m;
    return n;
  }
}

let countingInto: MacCounter | undefined;

/**
 * Runs a model builder in counting mode: its ParamStores allocate no memory (variables are
 * shape-only stand-ins, so parameter counts still work) and its layers, when applied, record
 * their multiply-adds into `counter` and return zeros of their output shape instead of
 * computing. Counting EfficientNet-L1 (273M parameters) this way takes well under a second;
 * such a model can only be counted, not trained or evaluated.
 */
export function buildForCounting<T>(counter: MacCounter, build: () => T): T {
  const outer = countingInto;
  countingInto = counter;
  try {
    return build();
  } finally {
    countingInto = outer;
  }
}

/** Stands in for a variable in counting mode: a shape and a size, no data (tfjs ops reject it). */
function shapeOnlyVariable(shape: number[], trainable: boolean): tf.Variable {
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape, size, rank: shape.length, dtype: 'float32', trainable, dispose: () => {} } as unknown as tf.Variable;
}

/** Holds a model's variables: trainable parameters and non-trainable state (BN statistics). */
export class ParamStore {
  readonly params = new Map<string, tf.Variable>();
  readonly state = new Map<string, tf.Variable>();
  /** Set when built by buildForCounting: layers then count instead of computing. */
  readonly macs: MacCounter | undefined = countingInto;
  private counter = 0;

  constructor(private readonly seed: number) {}

  /** A seed for a random layer (drop-connect, dropout), from the store's seed and creation order. */
  layerSeed(): number {
    return deriveSeed(this.seed, this.counter++);
  }

  private unique(name: string): void {
    if (this.params.has(name) || this.state.has(name)) throw new Error(`duplicate variable name '${name}'`);
  }

  /** He-normal (fan-in) initialised weight, seeded by the store's seed and creation order. */
  heNormal(name: string, shape: number[], fanIn: number): tf.Variable {
    this.unique(name);
    const seed = deriveSeed(this.seed, this.counter++);
    const v = this.macs
      ? shapeOnlyVariable(shape, true)
      : tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed), true));
    this.params.set(name, v);
    return v;
  }

  constant(name: string, shape: number[], value: number, trainable: boolean): tf.Variable {
    this.unique(name);
    const v = this.macs ? shapeOnlyVariable(shape, trainable) : tf.tidy(() => tf.variable(tf.fill(shape, value), trainable));
    (trainable ? this.params : this.state).set(name, v);
    return v;
  }

  dispose(): void {
    for (const v of [...this.params.values(), ...this.state.values()]) v.dispose();
    this.params.clear();
    this.state.clear();
  }
}

/** Only conv (depthwise included) and dense kernels take weight decay; BN parameters and biases do not. */
export function isDecayed(name: string): boolean {
  return name.endsWith('/kernel') || name.endsWith('/depthwise_kernel');
}

export interface ConvOptions {
  stride?: number;
  /**
   * 'same': (k−1)/2 on each side, as PyTorch (and SAT's ResNet, via explicit padding) does it.
   * 'tf-same': TensorFlow's SAME, output ceil(size/stride) with the odd extra row and column at
   * the bottom and right (asymmetric at stride 2); EfficientNet's checkpoints need it.
   */
  padding?: 'same' | 'valid' | 'tf-same';
  bias?: boolean;
  /** Grouped convolution (ResNeXt): the kernel is [k, k, inC/groups, outC], as TF stores it. */
  groups?: number;
}

type Padding = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];

/** The padding argument tfjs takes for a k×k conv: tfjs's own 'same' is TensorFlow's SAME. */
function paddingOf(name: string, k: number, padding: ConvOptions['padding']): Padding {
  if (padding === 'valid') return 'valid';
  if (padding === 'tf-same') return 'same';
  const p = (k - 1) / 2;
  if (!Number.isInteger(p)) throw new Error(`conv '${name}': symmetric 'same' padding needs an odd kernel size, got ${k}`);
  return p === 0 ? 'valid' : [[0, 0], [p, p], [p, p], [0, 0]];
}

/**
 * Counting mode's stand-in for a convolution: records kernel size × output pixels (the
 * multiply-adds per example) and returns zeros of the output shape, computed by tfjs's own
 * shape logic so it matches the real op.
 */
function countConv(macs: MacCounter, name: string, x: tf.Tensor4D, kernelShape: number[], stride: number, pad: Padding, depthwise: boolean): tf.Tensor4D {
  const [kh, kw, kin, kout] = kernelShape;
  const info = tf.backend_util.computeConv2DInfo(x.shape, [kh, kw, kin, kout], stride, 1, pad, undefined, depthwise);
  macs.add(name, kh * kw * kin * kout * info.outHeight * info.outWidth);
  return tf.fill([x.shape[0], info.outHeight, info.outWidth, info.outChannels], 0);
}

export function conv2d(store: ParamStore, name: string, inC: number, outC: number, k: number, opts: ConvOptions = {}): Layer {
  const stride = opts.stride ?? 1;
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || inC % groups !== 0 || outC % groups !== 0) {
    throw new Error(`conv '${name}': ${groups} groups must divide both its input (${inC}) and output (${outC}) channels; choose a width that is a multiple of the group count.`);
  }
  const pad = paddingOf(name, k, opts.padding);
  const kernel = store.heNormal(`${name}/kernel`, [k, k, inC / groups, outC], k * k * (inC / groups));
  const bias = opts.bias ? store.constant(`${name}/bias`, [outC], 0, true) : null;
  const convolve = (x: tf.Tensor4D): tf.Tensor4D => {
    if (groups === 1) return tf.conv2d(x, kernel as tf.Tensor4D, stride, pad);
    // tfjs has no grouped conv: convolve each channel group with its slice of the kernel.
    const kernels = tf.split(kernel, groups, 3) as tf.Tensor4D[];
    const outputs = tf.split(x, groups, 3).map((xg, g) => tf.conv2d(xg as tf.Tensor4D, kernels[g], stride, pad));
    return tf.concat(outputs, 3);
  };
  const layer: ConvLayer = (x) =>
    tf.tidy(() => {
      if (store.macs) return countConv(store.macs, name, x, kernel.shape, stride, pad, false);
      const y = convolve(x);
      return bias ? tf.add(y, bias) : y;
    });
  // What convBnAct needs to run this conv and a batch norm as one op (a plain conv only).
  if (!store.macs && groups === 1 && !bias) layer.plain = { kernel: kernel as tf.Tensor4D, stride, pad };
  return layer;
}

/** A conv layer; `plain` when it is an ungrouped conv without bias (convBnAct can fuse it). */
export type ConvLayer = Layer & { plain?: { kernel: tf.Tensor4D; stride: number; pad: Padding } };
/** A batch norm layer, with its variables (convBnAct folds them into the conv in inference mode). */
export type BatchNormLayer = Layer & { frozen?: FrozenBatchNorm };

/**
 * act(bn(conv(x))). In inference mode (an attack's passes) the three run as one native conv where
 * the backend has it (lib/kernels/native-ops.ts nativeConvBn), else as the layers compose them.
 */
export function convBnAct(conv: ConvLayer, bn: BatchNormLayer, x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
  if (!ctx.training && conv.plain && bn.frozen) {
    const fused = tf.tidy(() => nativeConvBn(x, conv.plain!.kernel, { strides: conv.plain!.stride, pad: conv.plain!.pad }, bn.frozen!, ctx.act as NativeActivationFn));
    if (fused) return fused.activated ? fused.y : (ctx.act(fused.y) as tf.Tensor4D);
  }
  return ctx.act(bn(conv(x, ctx), ctx)) as tf.Tensor4D;
}

/** Depthwise k×k convolution (one filter per channel), kernel `<name>/depthwise_kernel` as in TF. */
export function depthwiseConv2d(store: ParamStore, name: string, channels: number, k: number, opts: Omit<ConvOptions, 'groups' | 'bias'> = {}): Layer {
  const stride = opts.stride ?? 1;
  const pad = paddingOf(name, k, opts.padding);
  const kernel = store.heNormal(`${name}/depthwise_kernel`, [k, k, channels, 1], k * k);
  return (x) =>
    tf.tidy(() => {
      if (store.macs) return countConv(store.macs, name, x, kernel.shape, stride, pad, true);
      return tf.depthwiseConv2d(x, kernel as tf.Tensor4D, stride, pad);
    });
}

const BN_MOMENTUM = 0.9;
const BN_EPSILON = 1e-5;

/** BatchNorm over N,H,W with running statistics; identity-initialised (gamma 1, beta 0). */
export function batchNorm(store: ParamStore, name: string, channels: number, opts: { gammaInit?: number } = {}): BatchNormLayer {
  const gamma = store.constant(`${name}/gamma`, [channels], opts.gammaInit ?? 1, true);
  const beta = store.constant(`${name}/beta`, [channels], 0, true);
  const mean = store.constant(`${name}/moving_mean`, [channels], 0, false);
  const variance = store.constant(`${name}/moving_variance`, [channels], 1, false);
  const layer: BatchNormLayer = (x, ctx) =>
    tf.tidy(() => {
      if (store.macs) return x; // counting mode: BN adds no multiply-adds worth counting
      if (!ctx.training) return tf.batchNorm(x, mean, variance, beta, gamma, BN_EPSILON) as tf.Tensor4D;
      return batchNormTraining(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, (m) => {
        const count = x.size / channels;
        // Running variance is the unbiased estimate, as in PyTorch.
        const unbiased = tf.mul(m.variance, count / Math.max(count - 1, 1));
        mean.assign(tf.add(tf.mul(mean, BN_MOMENTUM), tf.mul(m.mean, 1 - BN_MOMENTUM)));
        variance.assign(tf.add(tf.mul(variance, BN_MOMENTUM), tf.mul(unbiased, 1 - BN_MOMENTUM)));
      });
    });
  if (!store.macs) layer.frozen = { gamma, beta, mean, variance, epsilon: BN_EPSILON };
  return layer;
}

/** Per-channel batch mean and (biased) variance. */
export interface Moments {
  mean: tf.Tensor;
  variance: tf.Tensor;
}

/**
 * Batch norm with the batch's own moments, y = gamma * xhat + beta, xhat = (x - mean) / sqrt(var + eps),
 * and its gradient in closed form (sums over N, H, W; P their count):
 *   dbeta = sum(dy), dgamma = sum(dy * xhat), dx = gamma / sqrt(var + eps) / P * (P dy - dbeta - xhat dgamma).
 * tfjs would differentiate batchNorm and moments op by op, ~20 full-size ops; this takes 6.
 * `onMoments` receives the batch moments, for the running statistics; they are freed when it
 * returns (tfjs runs a custom op's forward pass in a tidy).
 */
export function batchNormTraining(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, onMoments: (m: Moments) => void = () => {}): tf.Tensor4D {
  // The native addon (wasm backend) does the forward pass and the whole gradient in one call each.
  const native = nativeBatchNormTraining(x, gamma, beta, BN_EPSILON, onMoments);
  if (native) return native as tf.Tensor4D;
  const op = tf.customGrad(((x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const m = tf.moments(x, [0, 1, 2]);
    onMoments(m);
    save([x, m.mean, m.variance, gamma]);
    return {
      value: tf.batchNorm(x, m.mean, m.variance, beta, gamma, BN_EPSILON),
      gradFunc: (dy: tf.Tensor4D, [x, mean, variance, gamma]: tf.Tensor[]) => {
        const axes = [0, 1, 2];
        const p = x.size / x.shape[x.rank - 1];
        const dBeta = tf.sum(dy, axes);
        const dGamma = tf.sum(tf.mul(dy, tf.batchNorm(x, mean, variance, undefined, undefined, BN_EPSILON)), axes);
        const a = tf.mul(gamma, tf.rsqrt(tf.add(variance, BN_EPSILON))); // per channel
        const k = tf.div(a, p);
        // dx = a dy - (k dgamma xhat + k dbeta); the bracket is itself a batch norm of x.
        const dx = tf.sub(tf.mul(dy, a), tf.batchNorm(x, mean, variance, tf.mul(k, dBeta), tf.mul(k, dGamma), BN_EPSILON));
        return [dx, dGamma, dBeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, gamma, beta) as tf.Tensor4D;
}

/** A dense layer on a [N, inDim] input. */
export function dense(store: ParamStore, name: string, inDim: number, outDim: number): (x: tf.Tensor2D) => tf.Tensor2D {
  const kernel = store.heNormal(`${name}/kernel`, [inDim, outDim], inDim);
  const bias = store.constant(`${name}/bias`, [outDim], 0, true);
  return (x) =>
    tf.tidy(() => {
      if (!store.macs) return tf.add(tf.matMul(x, kernel as tf.Tensor2D), bias);
      store.macs.add(name, inDim * outDim);
      return tf.fill([x.shape[0], outDim], 0);
    });
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

/**
 * Dropout in training, identity otherwise; survivors are scaled by 1/(1−rate). With
 * `perExample` it drops whole examples of a residual branch: drop-connect (stochastic depth),
 * as in the official EfficientNet code.
 */
export function dropout(store: ParamStore, rate: number, opts: { perExample?: boolean } = {}): <T extends tf.Tensor>(x: T, ctx: ForwardContext) => T {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate must be in [0, 1), got ${rate}.`);
  const layerSeed = store.layerSeed();
  let calls = 0;
  return (x, ctx) => {
    if (!ctx.training || rate === 0) return x;
    const seed = ctx.seed === undefined ? deriveSeed(layerSeed, calls++) : deriveSeed(ctx.seed, layerSeed);
    const noiseShape = opts.perExample ? [x.shape[0], ...x.shape.slice(1).map(() => 1)] : undefined;
    return tf.dropout(x, rate, noiseShape, seed) as typeof x;
  };
}

/**
 * Squeeze-and-excitation: global average pool, a reducing 1×1 conv, the activation, an
 * expanding 1×1 conv, then a sigmoid gate per channel. Both convs have biases, as in TF.
 */
export function squeezeExcite(store: ParamStore, name: string, channels: number, reduced: number): Layer {
  const reduce = conv2d(store, `${name}/reduce_conv`, channels, reduced, 1, { bias: true });
  const expand = conv2d(store, `${name}/expand_conv`, reduced, channels, 1, { bias: true });
  return (x, ctx) =>
    tf.tidy(() => {
      // Counting mode skips the pooling and gating, the costly parts on a large zero map.
      const squeezed = store.macs ? tf.fill([x.shape[0], 1, 1, channels], 0) : tf.mean(x, [1, 2], true);
      const gate = expand(ctx.act(reduce(squeezed as tf.Tensor4D, ctx)) as tf.Tensor4D, ctx);
      return store.macs ? x : tf.mul(x, tf.sigmoid(gate));
    });
}

/** Maps [0,1] pixels to [−1,1], the input scaling of SAT's ResNets and EfficientNets (x·2/255 − 1 on 0..255 pixels). */
export function centerPixels(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.mul(x, 2), 1));
}
