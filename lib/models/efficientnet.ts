// EfficientNet (Tan & Le 2019) by compound scaling of B0's block list, following the official
// TPU code (tensorflow/tpu, models/official/efficientnet: efficientnet_builder.py and
// efficientnet_model.py) in the copy SAT trains (cihangxie/SmoothAdversarialTraining,
// EfficientNet/), with any activation in place of Swish (SiLU).
//
// - MBConv blocks: 1×1 expansion (skipped when the ratio is 1), depthwise k×k conv,
//   squeeze-and-excitation, 1×1 projection; identity skip with drop-connect where the
//   block keeps its shape. The 3×3 and 5×5 convs pad TF-style ('SAME', asymmetric at stride 2)
//   so that TF's weights give TF's outputs.
// - BN momentum 0.9 and epsilon 1e-5 (our batchNorm): the settings SAT's README evaluates its
//   EfficientNets with (--batch_norm_momentum=0.9 --batch_norm_epsilon=1e-5); the official
//   code uses 0.99 and 1e-3.
// - Inputs in [0,1] are mapped to [−1,1] first, as SAT's --sat_preprocessing does.
//
// Variable names keep TF's scopes and block indexing; TF's auto-numbered layer names map so
// (TF names under efficientnet-b0/, ..., efficientnet-bL1/):
//   stem/conv, stem/bn                        stem/conv2d, stem/tpu_batch_normalization
//   blocks_i/expand_conv, expand_bn           blocks_i/conv2d, tpu_batch_normalization
//   blocks_i/depthwise_conv, depthwise_bn     blocks_i/depthwise_conv2d, tpu_batch_normalization_1 *
//   blocks_i/se/reduce_conv, se/expand_conv   blocks_i/se/conv2d, se/conv2d_1 (with biases)
//   blocks_i/project_conv, project_bn         blocks_i/conv2d_1, tpu_batch_normalization_2 *
//   head/conv, head/bn, head/dense            head/conv2d, head/tpu_batch_normalization, head/dense
//   * in blocks without expansion (ratio 1) TF's numbers shift down by one: depthwise BN is
//     tpu_batch_normalization, the projection conv2d and its BN tpu_batch_normalization_1.
import * as tf from '@tensorflow/tfjs';
import { batchNorm, centerPixels, conv2d, dense, depthwiseConv2d, dropout, globalAvgPool, type Layer, ParamStore, squeezeExcite } from './layers';
import { assembleModel, type Model, type ModelOptions } from './types';

export interface EfficientNetScaling {
  /** Width coefficient: channel multiplier before rounding to multiples of 8. */
  width: number;
  /** Depth coefficient: multiplier of each stage's block count, rounded up. */
  depth: number;
  /** Dropout rate before the classifier (training only). */
  dropout: number;
  /** The published input size (height = width). */
  resolution: number;
}

/** (width, depth, resolution, dropout) of the official efficientnet_builder.py's efficientnet_params. */
export const EFFICIENTNETS: Record<string, EfficientNetScaling> = {
  'efficientnet-b0': { width: 1.0, depth: 1.0, resolution: 224, dropout: 0.2 },
  'efficientnet-b1': { width: 1.0, depth: 1.1, resolution: 240, dropout: 0.2 },
  'efficientnet-b2': { width: 1.1, depth: 1.2, resolution: 260, dropout: 0.3 },
  'efficientnet-b3': { width: 1.2, depth: 1.4, resolution: 300, dropout: 0.3 },
  'efficientnet-b4': { width: 1.4, depth: 1.8, resolution: 380, dropout: 0.4 },
  'efficientnet-b5': { width: 1.6, depth: 2.2, resolution: 456, dropout: 0.4 },
  'efficientnet-b6': { width: 1.8, depth: 2.6, resolution: 528, dropout: 0.5 },
  'efficientnet-b7': { width: 2.0, depth: 3.1, resolution: 600, dropout: 0.5 },
  // SAT's 'efficientnet-bL1' from its EfficientNet/efficientnet_builder.py (the official code
  // stops at b8 and l2 = (4.3, 5.3, 800, 0.5)).
  'efficientnet-l1': { width: 3.9, depth: 3.7, resolution: 600, dropout: 0.5 },
};

/** One MBConv block's arguments (the official BlockArgs, SE ratio 0.25 and identity skip implied). */
export interface BlockArgs {
  kernel: number;
  stride: number;
  expand: number;
  inFilters: number;
  outFilters: number;
}

/** B0's stages, the official _DEFAULT_BLOCKS_ARGS ('r1_k3_s11_e1_i32_o16_se0.25', ...). */
const B0_STAGES: (BlockArgs & { repeats: number })[] = [
  { repeats: 1, kernel: 3, stride: 1, expand: 1, inFilters: 32, outFilters: 16 },
  { repeats: 2, kernel: 3, stride: 2, expand: 6, inFilters: 16, outFilters: 24 },
  { repeats: 2, kernel: 5, stride: 2, expand: 6, inFilters: 24, outFilters: 40 },
  { repeats: 3, kernel: 3, stride: 2, expand: 6, inFilters: 40, outFilters: 80 },
  { repeats: 3, kernel: 5, stride: 1, expand: 6, inFilters: 80, outFilters: 112 },
  { repeats: 4, kernel: 5, stride: 2, expand: 6, inFilters: 112, outFilters: 192 },
  { repeats: 1, kernel: 3, stride: 1, expand: 6, inFilters: 192, outFilters: 320 },
];
const SE_RATIO = 0.25;
const STEM_FILTERS = 32;
const HEAD_FILTERS = 1280;
/** The official survival_prob 0.8: drop-connect grows linearly to 0.2 at the last block. */
const DROP_CONNECT_RATE = 0.2;

/** The official round_filters: scale, round to a multiple of 8 (at least 8), never 10% below the scaled value. */
export function roundFilters(filters: number, width: number, divisor = 8): number {
  const scaled = filters * width;
  let rounded = Math.max(divisor, Math.floor((scaled + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * scaled) rounded += divisor;
  return rounded;
}

/** The official round_repeats: ceil(depth × repeats). */
export function roundRepeats(repeats: number, depth: number): number {
  return Math.ceil(depth * repeats);
}

/** The scaled block list, one entry per block, as the official Model._build expands it. */
export function efficientNetBlocks(width: number, depth: number): BlockArgs[] {
  const blocks: BlockArgs[] = [];
  for (const { repeats, ...stage } of B0_STAGES) {
    const inFilters = roundFilters(stage.inFilters, width);
    const outFilters = roundFilters(stage.outFilters, width);
    for (let r = 0; r < roundRepeats(repeats, depth); r++) {
      // Only a stage's first block changes stride and filters.
      blocks.push({ ...stage, inFilters: r === 0 ? inFilters : outFilters, outFilters, stride: r === 0 ? stage.stride : 1 });
    }
  }
  return blocks;
}

function mbConv(store: ParamStore, name: string, args: BlockArgs, dropConnectRate: number): Layer {
  const filters = args.inFilters * args.expand;
  const expand = args.expand === 1 ? null : { conv: conv2d(store, `${name}/expand_conv`, args.inFilters, filters, 1), bn: batchNorm(store, `${name}/expand_bn`, filters) };
  const dw = depthwiseConv2d(store, `${name}/depthwise_conv`, filters, args.kernel, { stride: args.stride, padding: 'tf-same' });
  const dwBn = batchNorm(store, `${name}/depthwise_bn`, filters);
  const se = squeezeExcite(store, `${name}/se`, filters, Math.max(1, Math.floor(args.inFilters * SE_RATIO)));
  const project = conv2d(store, `${name}/project_conv`, filters, args.outFilters, 1);
  const projectBn = batchNorm(store, `${name}/project_bn`, args.outFilters);
  const hasSkip = args.stride === 1 && args.inFilters === args.outFilters;
  const dropConnect = hasSkip ? dropout(store, dropConnectRate, { perExample: true }) : null;
  return (x, ctx) =>
    tf.tidy(() => {
      const a = (t: tf.Tensor4D) => ctx.act(t) as tf.Tensor4D;
      let y = expand ? a(expand.bn(expand.conv(x, ctx), ctx)) : x;
      y = se(a(dwBn(dw(y, ctx), ctx)), ctx);
      y = projectBn(project(y, ctx), ctx);
      return dropConnect ? tf.add(dropConnect(y, ctx), x) : y;
    });
}

/** The multiplier of the width coefficient when a config gives none (the published model). */
export const EFFICIENTNET_WIDTH = 1;

/**
 * An EfficientNet with the given coefficients; `opts.width` (default 1) multiplies the width
 * coefficient, for scaled-down versions. Any input size works; `scaling.resolution` is only
 * the published one.
 */
export function efficientNet(opts: ModelOptions, scaling: Omit<EfficientNetScaling, 'resolution'>, name?: string): Model {
  const width = scaling.width * (opts.width ?? EFFICIENTNET_WIDTH);
  if (!(width > 0 && scaling.depth > 0)) throw new Error(`EfficientNet width and depth coefficients must be positive, got ${width} and ${scaling.depth}.`);
  const store = new ParamStore(opts.seed ?? 0);
  const stemC = roundFilters(STEM_FILTERS, width);
  const stemConv = conv2d(store, 'stem/conv', opts.inputShape[2], stemC, 3, { stride: 2, padding: 'tf-same' });
  const stemBn = batchNorm(store, 'stem/bn', stemC);
  const args = efficientNetBlocks(width, scaling.depth);
  const blocks = args.map((b, i) => mbConv(store, `blocks_${i}`, b, (DROP_CONNECT_RATE * i) / args.length));
  const headC = roundFilters(HEAD_FILTERS, width);
  const headConv = conv2d(store, 'head/conv', args[args.length - 1].outFilters, headC, 1);
  const headBn = batchNorm(store, 'head/bn', headC);
  const headDropout = dropout(store, scaling.dropout);
  const classifier = dense(store, 'head/dense', headC, opts.numClasses);
  return assembleModel(name ?? `efficientnet(w=${width},d=${scaling.depth})`, opts, store, (x, ctx) =>
    tf.tidy(() => {
      const a = (t: tf.Tensor4D) => ctx.act(t) as tf.Tensor4D;
      let y = a(stemBn(stemConv(centerPixels(x), ctx), ctx));
      for (const block of blocks) y = block(y, ctx);
      y = a(headBn(headConv(y, ctx), ctx));
      return classifier(headDropout(globalAvgPool(y), ctx));
    }),
  );
}
