// Measure 5, the trainer's side: how noisy and how large the weight gradient of a training step
// is. Noise is the cosine similarity of the weight gradients of the batch's two halves (1: both
// halves agree on the update; near 0: the step is mostly noise); the norm is the global L2 norm of
// the full batch's weight gradient. Logged by the trainer only when the config asks
// (TrainConfig.gradientStats), since the two half-batch gradients cost one more
// forward/backward pass per step.
import * as tf from '@tensorflow/tfjs';
import type { ActivationFn } from '../activations';
import { crossEntropy } from '../loss';
import type { Model } from '../models';

/** Global L2 norm of a list of gradient tensors (all of them as one vector). */
export function globalNorm(grads: tf.Tensor[]): number {
  return tf.tidy(() => Math.sqrt(grads.reduce((s, g) => s + tf.sum(tf.square(g)).dataSync()[0], 0)));
}

/** Cosine of two gradient lists taken as one vector each; 0 when either is all zeros. */
export function gradientCosine(a: tf.Tensor[], b: tf.Tensor[]): number {
  return tf.tidy(() => {
    let dot = 0;
    let na = 0;
    let nb = 0;
    a.forEach((g, i) => {
      dot += tf.sum(tf.mul(g, b[i])).dataSync()[0];
      na += tf.sum(tf.square(g)).dataSync()[0];
      nb += tf.sum(tf.square(b[i])).dataSync()[0];
    });
    return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
  });
}

export interface HalfBatchOptions {
  act: ActivationFn;
  labelSmoothing?: number;
  seed?: number;
}

/**
 * Cosine similarity of the mean-loss weight gradients of the first and second half of the batch,
 * each computed as the trainer computes it (training mode, the trainer's gradient mode). Training
 * mode updates BatchNorm's running statistics, so they are saved and restored: the measurement
 * leaves the model exactly as it found it. Undefined for a batch of fewer than 2 examples.
 */
export function halfBatchCosine(model: Model, x: tf.Tensor4D, y: tf.Tensor1D, opts: HalfBatchOptions): number | undefined {
  const n = x.shape[0];
  if (n < 2) return undefined;
  const params = [...model.params.values()];
  const saved = [...model.state.values()].map((v) => tf.clone(v));
  const half = (start: number, size: number): tf.Tensor[] => {
    const { grads, value } = tf.variableGrads(() => {
      const logits = model.apply(tf.slice(x, start, size), { training: true, act: opts.act, seed: opts.seed });
      return tf.mean(crossEntropy(logits, tf.slice(y, start, size), opts.labelSmoothing ?? 0)) as tf.Scalar;
    }, params);
    value.dispose();
    return params.map((p) => grads[p.name]);
  };
  const h = Math.floor(n / 2);
  const a = half(0, h);
  const b = half(h, h);
  const cosine = gradientCosine(a, b);
  [...model.state.values()].forEach((v, i) => v.assign(saved[i]));
  tf.dispose([...a, ...b, ...saved]);
  return cosine;
}
