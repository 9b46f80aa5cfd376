// PreAct ResNet-18 (He et al. 2016, "Identity Mappings"), the CIFAR-10 model of adversarial
// training papers: BN-act-conv blocks, a 1x1 shortcut conv where shape changes.
import * as tf from '@tensorflow/tfjs';
import { bnAct, conv2d, dense, globalAvgPool, type Layer, ParamStore } from './layers';
import { assembleModel, type Model, type ModelOptions } from './types';

function preActBlock(store: ParamStore, name: string, inC: number, outC: number, stride: number): Layer {
  const pre1 = bnAct(store, `${name}/bn1`, inC);
  const conv1 = conv2d(store, `${name}/conv1`, inC, outC, 3, { stride });
  const pre2 = bnAct(store, `${name}/bn2`, outC);
  const conv2 = conv2d(store, `${name}/conv2`, outC, outC, 3);
  const shortcut = stride !== 1 || inC !== outC ? conv2d(store, `${name}/shortcut`, inC, outC, 1, { stride }) : null;
  return (x, ctx) =>
    tf.tidy(() => {
      const a = pre1(x, ctx);
      // As in the reference implementation, the projection shortcut sees the pre-activated input.
      const skip = shortcut ? shortcut(a, ctx) : x;
      return tf.add(conv2(pre2(conv1(a, ctx), ctx), ctx), skip);
    });
}

/** The first stage's channels when a config gives no width (the paper's). */
export const PREACT_RESNET_WIDTH = 64;

/** PreAct ResNet with `blocks` per stage; width is the first stage's channels (64 in the paper). */
export function preActResNet(opts: ModelOptions, blocks: number[] = [2, 2, 2, 2]): Model {
  const width = opts.width ?? PREACT_RESNET_WIDTH;
  const store = new ParamStore(opts.seed ?? 0);
  const stem = conv2d(store, 'stem/conv', opts.inputShape[2], width, 3);
  const stages: Layer[] = [];
  let inC = width;
  blocks.forEach((count, s) => {
    const outC = width * 2 ** s;
    for (let b = 0; b < count; b++) {
      stages.push(preActBlock(store, `stage${s + 1}/block${b}`, inC, outC, b === 0 && s > 0 ? 2 : 1));
      inC = outC;
    }
  });
  const finalBn = bnAct(store, 'final/bn', inC);
  const head = dense(store, 'fc', inC, opts.numClasses);
  const arch = blocks.join(',') === '2,2,2,2' ? 'preact-resnet18' : `preact-resnet(${blocks.join(',')})`;
  return assembleModel(arch, opts, store, (x, ctx) =>
    tf.tidy(() => {
      let y = stem(x, ctx);
      for (const block of stages) y = block(y, ctx);
      return head(globalAvgPool(finalBn(y, ctx)));
    }),
  );
}
