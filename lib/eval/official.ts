// The official evaluation of the released SAT models (cihangxie/SmoothAdversarialTraining), as
// data: what it does to an image before the network, per family, and the attack it runs. Used by
// released-models.ts and shown in notebook 06.
import type { TfFamily } from '../checkpoint/import';

/** What the official evaluation does to an image before the network, per family. */
export interface Preprocessing {
  family: TfFamily;
  /** The channel order the checkpoint's first layer was trained on (our imported model always takes RGB). */
  checkpointChannels: 'RGB' | 'BGR';
  /** Pixel scaling; our models apply it themselves (centerPixels), so they take [0,1]. */
  scaling: string;
  /** The eval crop: resize the shorter side to size + 32 and take the central size × size (crop fraction size/(size+32)). */
  crop: string;
  interpolation: string;
  bnEpsilon: number;
  /** Where each of these is in the official code. */
  source: string;
}

export const PREPROCESSING: Record<TfFamily, Preprocessing> = {
  resnet: {
    family: 'resnet',
    checkpointChannels: 'BGR',
    scaling: 'x·2/255 − 1, i.e. [0,1] → [−1,1] (ResNet/adv_model.py image_preprocess, IMAGE_SCALE = 2/255)',
    crop: 'shorter side to size+32, center crop size×size (third_party/imagenet_utils.py fbresnet_augmentor: ResizeShortestEdge(input_size + 32), CenterCrop)',
    interpolation: "bicubic (cv2.INTER_CUBIC); ours the same kernel (Keys, A = −0.75, half-pixel centres) in double precision where cv2 uses 11-bit fixed point, so pixels may differ by one level; the long side rounded and the crop offset floored as tensorpack does (lib/data/stream/image-ops.ts)",
    bnEpsilon: 1e-5,
    source: 'ResNet/adv_model.py, ResNet/third_party/imagenet_utils.py, ResNet/main.py (BGR), tensorpack BatchNorm (epsilon 1e-5)',
  },
  efficientnet: {
    family: 'efficientnet',
    checkpointChannels: 'RGB',
    scaling: 'x·2/255 − 1 (EfficientNet/main.py normalize_features with --sat_preprocessing=True), not the ImageNet mean/std',
    crop: 'central square of side size/(size+32) × shorter side, resized to size×size (preprocessing.py _decode_and_center_crop, CROP_PADDING = 32)',
    interpolation: 'bicubic (TF1 tf.image.resize_bicubic, no half-pixel centres); ours the same kernel, rounded to 8 bits where TF keeps floats (at most half a level)',
    bnEpsilon: 1e-5,
    source: 'EfficientNet/main.py, EfficientNet/preprocessing.py, README (--batch_norm_epsilon=1e-5; the TF default 1e-3 is not used)',
  },
};

/** The eval crop fraction both families use: size/(size+32) (0.875 at 224). */
export function officialCropFraction(size: number): number {
  // A hair below size/(size+32), so that floor(size / fraction) is size + 32 despite rounding.
  return size / (size + 32 + 1e-6);
}

/** The official robustness evaluation (README; ResNet/adv_model.py PGDAttacker; main.py --attack-epsilon=4.0 --attack-step-size=1.0). */
export function officialAttack(steps: number): { type: 'pgd-linf'; eps: number; stepSize: number; steps: number; randomStart: true; targeted: false; restarts: 0 } {
  // PGDAttacker: step = max(step_size, eps / num_iter) in 0..255 units; random start in the
  // eps ball always (prob_start_from_clean = 0); the true label's loss is ascended.
  return { type: 'pgd-linf', eps: 4 / 255, stepSize: Math.max(1, 4 / steps) / 255, steps, randomStart: true, targeted: false, restarts: 0 };
}
