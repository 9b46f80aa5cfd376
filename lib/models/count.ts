// Model sizes: trainable parameters and multiply-adds (MACs) of one forward pass, measured on a
// counting build (lib/models/layers.ts, buildForCounting) so that even EfficientNet-L1 costs
// no weight memory and no convolution arithmetic. MACs count convolutions (grouped and
// depthwise included) and dense layers, the convention of the papers' "FLOPs" and of
// torchvision's GFLOPS column; BN, activations, pooling and additions are not counted.
import * as tf from '@tensorflow/tfjs';
import { buildModel, countParams, modelDefaults, type Model, type ModelOptions } from './index';
import { buildForCounting, MacCounter } from './layers';

export interface ModelSize {
  params: number;
  /** Multiply-adds per example at the model's input shape. */
  macs: number;
}

/** Sizes of the model that `build` makes (called in counting mode: nothing is allocated). */
export function measureModel(build: () => Model): ModelSize {
  const counter = new MacCounter();
  const model = buildForCounting(counter, build);
  try {
    tf.tidy(() => {
      model.apply(tf.fill([1, ...model.inputShape], 0), { training: false, act: (x) => x });
    });
    return { params: countParams(model), macs: counter.total };
  } finally {
    model.dispose();
  }
}

/** Sizes of a registered model at its published input unless `opts` says otherwise. */
export function countModel(name: string, opts: Partial<ModelOptions> = {}): ModelSize & Pick<ModelOptions, 'inputShape' | 'numClasses'> {
  const options: ModelOptions = { ...modelDefaults(name), ...opts };
  return { inputShape: options.inputShape, numClasses: options.numClasses, ...measureModel(() => buildModel(name, options)) };
}

export interface PublishedSize {
  params: number;
  /** Multiply-adds at the published input (the papers call them FLOPs). */
  macs?: number;
  source: string;
}

const TORCHVISION = 'torchvision.models docs (IMAGENET1K_V1 weights: num_params, GFLOPS)';
const EFFICIENTNET = 'params: torchvision.models docs (EfficientNet_B*_Weights.IMAGENET1K_V1 num_params, equal to the TF checkpoints\' trainable variables and to timm\'s tf_efficientnet_b*); MACs: Tan & Le 2019, Table 2 ("FLOPs")';

/**
 * Published sizes to check ours against. ResNeXt-50 32x8d, ResNeXt-152 32x8d and
 * EfficientNet-L1 have no published count we can cite (SAT's paper gives none).
 */
export const PUBLISHED: Record<string, PublishedSize> = {
  resnet50: { params: 25_557_032, macs: 4.09e9, source: TORCHVISION },
  resnet101: { params: 44_549_160, macs: 7.8e9, source: TORCHVISION },
  resnet152: { params: 60_192_808, macs: 11.51e9, source: TORCHVISION },
  'resnext50-32x4d': { params: 25_028_904, macs: 4.23e9, source: TORCHVISION },
  'resnext101-32x8d': { params: 88_791_336, macs: 16.41e9, source: TORCHVISION },
  'efficientnet-b0': { params: 5_288_548, macs: 0.39e9, source: EFFICIENTNET },
  'efficientnet-b1': { params: 7_794_184, macs: 0.7e9, source: EFFICIENTNET },
  'efficientnet-b2': { params: 9_109_994, macs: 1.0e9, source: EFFICIENTNET },
  'efficientnet-b3': { params: 12_233_232, macs: 1.8e9, source: EFFICIENTNET },
  'efficientnet-b4': { params: 19_341_616, macs: 4.2e9, source: EFFICIENTNET },
  'efficientnet-b5': { params: 30_389_784, macs: 9.9e9, source: EFFICIENTNET },
  'efficientnet-b6': { params: 43_040_704, macs: 19e9, source: EFFICIENTNET },
  'efficientnet-b7': { params: 66_347_960, macs: 37e9, source: EFFICIENTNET },
};
