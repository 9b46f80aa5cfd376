// A small CNN for 28x28 images: three stages of 3x3 convs with BN (widths w, 2w, 4w; the first
// conv of stages 2 and 3 strided), then a dense layer. `convsPerStage` deepens it (1: the
// original three convs; the extra convs keep the stage's width and resolution), so the depth
// axis of a scaling study stays a model made for 28 px inputs.
import * as tf from '@tensorflow/tfjs';
import { batchNorm, conv2d, convBnAct, dense, flatten, ParamStore } from './layers';
import { assembleModel, type Model, type ModelOptions } from './types';

/** The first stage's channels when a config gives no width. */
export const MNIST_CNN_WIDTH = 16;

export function mnistCnn(opts: ModelOptions, convsPerStage = 1, arch = 'mnist-cnn'): Model {
  if (!Number.isInteger(convsPerStage) || convsPerStage < 1) throw new Error(`${arch}: convs per stage must be a positive integer, got ${convsPerStage}`);
  const [h, w, c] = opts.inputShape;
  const width = opts.width ?? MNIST_CNN_WIDTH;
  const store = new ParamStore(opts.seed ?? 0);
  const widths = [width, 2 * width, 4 * width];
  const strides = [1, 2, 2];
  const units = widths.flatMap((outC, i) =>
    Array.from({ length: convsPerStage }, (_, j) => {
      // The first conv of each stage keeps the original names, so mnist-cnn checkpoints still load.
      const suffix = j === 0 ? `${i + 1}` : `${i + 1}_${j + 1}`;
      const inC = j > 0 ? outC : i === 0 ? c : widths[i - 1];
      return {
        conv: conv2d(store, `conv${suffix}`, inC, outC, 3, { stride: j === 0 ? strides[i] : 1 }),
        bn: batchNorm(store, `bn${suffix}`, outC),
      };
    }),
  );
  const outH = Math.ceil(h / 4);
  const outW = Math.ceil(w / 4);
  const head = dense(store, 'fc', outH * outW * widths[2], opts.numClasses);
  return assembleModel(arch, opts, store, (x, ctx) =>
    tf.tidy(() => {
      let y: tf.Tensor4D = x;
      for (const u of units) y = convBnAct(u.conv, u.bn, y, ctx);
      return head(flatten(y));
    }),
  );
}

/** mnist-cnn-d<k>: the MNIST CNN with k conv layers (k a multiple of 3: k/3 per stage); undefined for other names. */
export function deepMnistCnn(name: string): ((opts: ModelOptions) => Model) | undefined {
  const m = /^mnist-cnn-d(\d+)$/.exec(name);
  const depth = m ? Number(m[1]) : NaN;
  if (!(depth >= 3 && depth % 3 === 0)) return undefined;
  return (opts) => mnistCnn(opts, depth / 3, name);
}
