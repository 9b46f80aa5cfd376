// The fixed benchmark network, from raw tf ops: 32x32x3 input, six 3x3 convs without bias
// (channels 32,32,64,64,128,128; strides 1,1,2,1,2,1), each followed by the activation, then
// global average pooling and a dense layer to 10 classes. It has the Model interface, so the
// library's SAT step runs it like any other model.
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../lib/models';

const CONVS: Array<{ channels: number; stride: number }> = [
  { channels: 32, stride: 1 },
  { channels: 32, stride: 1 },
  { channels: 64, stride: 2 },
  { channels: 64, stride: 1 },
  { channels: 128, stride: 2 },
  { channels: 128, stride: 1 },
];
const NUM_CLASSES = 10;

export function referenceNet(seed = 0): Model {
  const params = new Map<string, tf.Variable>();
  const heNormal = (name: string, shape: number[], fanIn: number) =>
    params.set(name, tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', seed + params.size))));
  let inC = 3;
  CONVS.forEach(({ channels }, i) => {
    heNormal(`conv${i}/kernel`, [3, 3, inC, channels], 9 * inC);
    inC = channels;
  });
  heNormal('dense/kernel', [inC, NUM_CLASSES], inC);
  params.set('dense/bias', tf.variable(tf.zeros([NUM_CLASSES])));

  return {
    arch: 'reference',
    inputShape: [32, 32, 3],
    numClasses: NUM_CLASSES,
    params,
    state: new Map(),
    apply: (x, ctx) =>
      tf.tidy(() => {
        let h: tf.Tensor4D = x;
        CONVS.forEach(({ stride }, i) => {
          h = ctx.act(tf.conv2d(h, params.get(`conv${i}/kernel`) as tf.Tensor4D, stride, 'same')) as tf.Tensor4D;
        });
        const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
        return tf.add(tf.matMul(pooled, params.get('dense/kernel') as tf.Tensor2D), params.get('dense/bias')!) as tf.Tensor2D;
      }),
    dispose: () => {
      for (const v of params.values()) v.dispose();
      params.clear();
    },
  };
}
