// The Difference of Logits Ratio loss (Croce & Hein, ICML 2020, sec. 3 and eq. 7): a margin
// loss divided by a spread of the top logits, so it is invariant to shifting and rescaling the
// logits. Cross-entropy is not: logits scaled until softmax saturates give CE gradients that
// vanish in float32 while DLR's do not, which is why AutoAttack uses it against masking.
import * as tf from '@tensorflow/tfjs';

/** Guard against a zero spread (reference: 1e-12 in autopgd_base.py dlr_loss). */
const TINY = 1e-12;

/** z_y per example. */
function trueLogit(logits: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.sum(tf.mul(logits, tf.oneHot(tf.cast(y, 'int32'), logits.shape[1])), 1) as tf.Tensor1D;
}

function assertClasses(logits: tf.Tensor2D, need: number, what: string): void {
  if (logits.shape[1] < need) {
    throw new Error(`${what} needs at least ${need} classes, the model has ${logits.shape[1]}: use a cross-entropy attack (pgd-linf, apgd-ce) instead.`);
  }
}

/**
 * Untargeted DLR, per example: −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3), with z_π the logits in
 * decreasing order. Positive once the example is misclassified; the attack maximises it.
 */
export function dlrLoss(logits: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  assertClasses(logits, 3, 'The DLR loss');
  return tf.tidy(() => {
    const { values, indices } = tf.topk(logits, 3);
    const top = tf.unstack(values, 1);
    const zy = trueLogit(logits, y);
    // The best other class is the runner-up when the top class is the true one.
    const topIsTrue = tf.equal(tf.squeeze(tf.slice(indices, [0, 0], [-1, 1]), [1]), tf.cast(y, 'int32'));
    const bestOther = tf.where(topIsTrue, top[1], top[0]);
    return tf.neg(tf.div(tf.sub(zy, bestOther), tf.add(tf.sub(top[0], top[2]), TINY))) as tf.Tensor1D;
  });
}

/**
 * Targeted DLR, per example: −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2) (Croce & Hein 2020, eq. 8).
 * Maximised, it pushes the target logit above the true one.
 */
export function dlrTargetedLoss(logits: tf.Tensor2D, y: tf.Tensor1D, target: tf.Tensor1D): tf.Tensor1D {
  assertClasses(logits, 4, 'The targeted DLR loss');
  return tf.tidy(() => {
    const top = tf.unstack(tf.topk(logits, 4).values, 1);
    const spread = tf.sub(top[0], tf.mul(tf.add(top[2], top[3]), 0.5));
    return tf.neg(tf.div(tf.sub(trueLogit(logits, y), trueLogit(logits, target)), tf.add(spread, TINY))) as tf.Tensor1D;
  });
}
