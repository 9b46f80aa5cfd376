// A small CNN for 28x28 digits: three 3x3 convs (the last two strided) with BN, then a dense layer.
import * as tf from '@tensorflow/tfjs';
import { batchNorm, conv2d, dense, flatten, ParamStore } from './layers';
import { assembleModel, type Model, type ModelOptions } from './types';

export function mnistCnn(opts: ModelOptions): Model {
  const [h, w, c] = opts.inputShape;
  const width = opts.width ?? 16;
  const store = new ParamStore(opts.seed ?? 0);
  const widths = [width, 2 * width, 4 * width];
  const strides = [1, 2, 2];
  const units = widths.map((outC, i) => ({
    conv: conv2d(store, `conv${i + 1}`, i === 0 ? c : widths[i - 1], outC, 3, { stride: strides[i] }),
    bn: batchNorm(store, `bn${i + 1}`, outC),
  }));
  const outH = Math.ceil(h / 4);
  const outW = Math.ceil(w / 4);
  const head = dense(store, 'fc', outH * outW * widths[2], opts.numClasses);
  return assembleModel('mnist-cnn', opts, store, (x, ctx) =>
    tf.tidy(() => {
      let y: tf.Tensor4D = x;
      for (const u of units) y = ctx.act(u.bn(u.conv(y, ctx), ctx)) as tf.Tensor4D;
      return head(flatten(y));
    }),
  );
}
