// Softmax cross-entropy, shared by the attacks (inner maximisation) and the trainer (outer
// minimisation).
import * as tf from '@tensorflow/tfjs';

/**
 * Per-example cross-entropy of logits against integer labels, with optional label smoothing:
 * the target puts 1 − s on the label and s/K on every class.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing = 0): tf.Tensor1D {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const logp = tf.logSoftmax(logits);
    let target = tf.oneHot(labels, k).toFloat();
    if (smoothing > 0) target = tf.add(tf.mul(target, 1 - smoothing), smoothing / k);
    return tf.neg(tf.sum(tf.mul(logp, target), 1)) as tf.Tensor1D;
  });
}

/** Number of examples whose arg-max logit equals the label. */
export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'int32')) as tf.Scalar);
}
