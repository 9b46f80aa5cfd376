// Bottleneck ResNets and ResNeXts for ImageNet (He et al. 2016; Xie et al. 2017), as SAT
// trains them: the tensorpack code of cihangxie/SmoothAdversarialTraining (ResNet/
// resnet_model.py), any activation in place of ReLU.
//
// - ResNet v1.5: the stride-2 convolution of a downsampling block is its 3×3 conv2, not the
//   1×1 conv1 ("ImageNet in 1 Hour", Sec. 5.1), as in tensorpack and torchvision.
// - Padding: convs pad symmetrically ((k−1)/2 each side; SAT pads strided convs explicitly
//   this way), the stem's max-pool uses TF 'SAME'.
// - The last BN of each block starts with gamma = 0, as in SAT's code.
// - Inputs in [0,1] are mapped to [−1,1] first, as SAT's image_preprocess does.
//
// Variable names follow tensorpack's, so its checkpoints map one to one:
//   conv0/kernel, conv0/bn/{gamma,beta,moving_mean,moving_variance}
//   group<s>/block<b>/{conv1,conv2,conv3,convshortcut}/kernel (+ /bn/...), linear/{kernel,bias}
// (tensorpack: W for kernel, b for bias, bn/mean/EMA and bn/variance/EMA for the statistics).
import * as tf from '@tensorflow/tfjs';
import { batchNorm, centerPixels, conv2d, type ConvOptions, dense, globalAvgPool, type Layer, ParamStore } from './layers';
import { assembleModel, type Model, type ModelOptions } from './types';

export interface ResNetArch {
  /** Bottleneck blocks per stage: [3, 4, 6, 3] is ResNet-50. Any length ≥ 1. */
  blocks: number[];
  /** Groups of each 3×3 conv (ResNeXt's cardinality, the 32 of 32x4d); 1 for ResNet. */
  groups: number;
  /** Channels per group of the first stage's 3×3 conv at base width 64 (the 4 of 32x4d); 64 for ResNet. */
  widthPerGroup: number;
}

/** Blocks per stage of the standard depths (SAT's nets.py; He et al. 2016, Table 1). */
export const RESNET_DEPTHS: Record<number, number[]> = { 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3] };

/** The registered family: the models of SAT's ResNet scaling study (its README's table) plus torchvision's ResNeXt-101 32x8d. */
export const RESNETS: Record<string, ResNetArch> = {
  resnet50: { blocks: RESNET_DEPTHS[50], groups: 1, widthPerGroup: 64 },
  resnet101: { blocks: RESNET_DEPTHS[101], groups: 1, widthPerGroup: 64 },
  resnet152: { blocks: RESNET_DEPTHS[152], groups: 1, widthPerGroup: 64 },
  'resnext50-32x4d': { blocks: RESNET_DEPTHS[50], groups: 32, widthPerGroup: 4 },
  'resnext50-32x8d': { blocks: RESNET_DEPTHS[50], groups: 32, widthPerGroup: 8 },
  'resnext101-32x8d': { blocks: RESNET_DEPTHS[101], groups: 32, widthPerGroup: 8 },
  'resnext152-32x8d': { blocks: RESNET_DEPTHS[152], groups: 32, widthPerGroup: 8 },
};

/** Conv then BN, named as tensorpack names them: `<name>/kernel`, `<name>/bn/...`. */
function convBn(store: ParamStore, name: string, inC: number, outC: number, k: number, opts: ConvOptions & { gammaInit?: number } = {}): Layer {
  const conv = conv2d(store, name, inC, outC, k, opts);
  const bn = batchNorm(store, `${name}/bn`, outC, { gammaInit: opts.gammaInit });
  return (x, ctx) => bn(conv(x, ctx), ctx);
}

/** 1×1 reduce, 3×3 (strided, grouped), 1×1 expand; projection shortcut where the shape changes. */
function bottleneck(store: ParamStore, name: string, inC: number, width: number, outC: number, stride: number, groups: number): Layer {
  const conv1 = convBn(store, `${name}/conv1`, inC, width, 1);
  const conv2 = convBn(store, `${name}/conv2`, width, width, 3, { stride, groups });
  const conv3 = convBn(store, `${name}/conv3`, width, outC, 1, { gammaInit: 0 });
  const shortcut = inC !== outC || stride !== 1 ? convBn(store, `${name}/convshortcut`, inC, outC, 1, { stride }) : null;
  return (x, ctx) =>
    tf.tidy(() => {
      const a = (t: tf.Tensor4D) => ctx.act(t) as tf.Tensor4D;
      const branch = conv3(a(conv2(a(conv1(x, ctx)), ctx)), ctx);
      return a(tf.add(branch, shortcut ? shortcut(x, ctx) : x));
    });
}

function archName(arch: ResNetArch): string {
  const depth = 3 * arch.blocks.reduce((a, b) => a + b, 0) + 2;
  const base = arch.groups === 1 && arch.widthPerGroup === 64 ? `resnet${depth}` : `resnext${depth}-${arch.groups}x${arch.widthPerGroup}d`;
  const standard = Object.values(RESNET_DEPTHS).some((b) => b.join() === arch.blocks.join());
  return standard ? base : `${base}[${arch.blocks.join(',')}]`;
}

/** The base width when a config gives none (the published one). */
export const RESNET_BASE_WIDTH = 64;

/**
 * A bottleneck ResNet/ResNeXt. `opts.width` is the base width (64 as published): the stem's
 * channels and the first stage's `planes`; stage s has planes·2^s, its 3×3 convs
 * planes·2^s·groups·widthPerGroup/64 channels and its blocks output 4·planes·2^s.
 * Any input size works (global average pooling); 224×224 is the published one.
 */
export function resNet(opts: ModelOptions, arch: ResNetArch, name = archName(arch)): Model {
  const base = opts.width ?? RESNET_BASE_WIDTH;
  if (arch.blocks.length === 0 || arch.blocks.some((b) => !Number.isInteger(b) || b < 1)) {
    throw new Error(`ResNet blocks per stage must be positive integers, got [${arch.blocks.join(', ')}].`);
  }
  const store = new ParamStore(opts.seed ?? 0);
  const stem = convBn(store, 'conv0', opts.inputShape[2], base, 7, { stride: 2 });
  const blocks: Layer[] = [];
  let inC = base;
  arch.blocks.forEach((count, s) => {
    const planes = base * 2 ** s;
    const width = (planes * arch.groups * arch.widthPerGroup) / 64;
    if (!Number.isInteger(width)) {
      throw new Error(`${name}: stage ${s} would have ${width} channels in its 3x3 conv (planes ${planes} x ${arch.groups} groups x ${arch.widthPerGroup} / 64); choose a base width that makes it whole.`);
    }
    for (let b = 0; b < count; b++) {
      blocks.push(bottleneck(store, `group${s}/block${b}`, inC, width, 4 * planes, b === 0 && s > 0 ? 2 : 1, arch.groups));
      inC = 4 * planes;
    }
  });
  const head = dense(store, 'linear', inC, opts.numClasses);
  return assembleModel(name, opts, store, (x, ctx) =>
    tf.tidy(() => {
      let y = ctx.act(stem(centerPixels(x), ctx)) as tf.Tensor4D;
      y = tf.maxPool(y, 3, 2, 'same');
      for (const block of blocks) y = block(y, ctx);
      return head(globalAvgPool(y));
    }),
  );
}
