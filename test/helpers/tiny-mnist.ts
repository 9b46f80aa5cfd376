// A small MNIST CNN trained for a few hundred steps, shared by tests that need a trained model.
import { makeActivation } from '../../lib/activations';
import { batches, disposeBatch, type ImageDataset } from '../../lib/data';
import { loadMnist } from '../../lib/data/mnist';
import { buildModel, type Model } from '../../lib/models';
import { isDecayed } from '../../lib/models/layers';
import { Sgd } from '../../lib/train/optimizer';
import { satStep } from '../../lib/train/step';

let cached: { model: Model; test: ImageDataset } | undefined;

/** Clean-trained (no attack) CNN of width 8 on 2,000 digits for 2 epochs: ~95% test accuracy. */
export function trainedMnistModel(): { model: Model; test: ImageDataset } {
  if (cached) return cached;
  const { train, test } = loadMnist({ trainLimit: 2000, testLimit: 500 });
  const model = buildModel('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10, width: 8, seed: 1 });
  const opt = new Sgd(model.params, { momentum: 0.9, nesterov: false, weightDecay: 0, decays: isDecayed });
  const act = makeActivation('relu');
  for (let epoch = 0; epoch < 2; epoch++) {
    for (const b of batches(train, { batchSize: 50, shuffleSeed: epoch })) {
      satStep(model, opt, b.x, b.y, { attack: null, attackerAct: act, trainerAct: act, labelSmoothing: 0, lr: 0.05 });
      disposeBatch(b);
    }
  }
  opt.dispose();
  cached = { model, test };
  return cached;
}
