// The Difference of Logits Ratio loss (Croce & Hein, ICML 2020, sec. 3 and eq. 7): a margin
// loss divided by a spread of the top logits, so it is invariant to shifting and rescaling the
// logits. Cross-entropy is not: logits scaled until softmax saturates give CE gradients that
// vanish in float32 while DLR's do not, which is why AutoAttack uses it against masking.
import * as tf from '@tensorflow/tfjs';

/** Guard against a zero spread (reference: 1e-12 in autopgd_base.py dlr_loss). */
const TINY = 1e-12;

function assertClasses(logits: tf.Tensor2D, need: number, what: string): void {
  if (logits.shape[1] < need) {
    throw new Error(`${what} needs at least ${need} classes, the model has ${logits.shape[1]}: use a cross-entropy attack (pgd-linf, apgd-ce) instead.`);
  }
}

/** One-hot rows (float) of integer class indices. */
function hot(indices: tf.Tensor1D, k: number): tf.Tensor2D {
  return tf.oneHot(tf.cast(indices, 'int32'), k).toFloat() as tf.Tensor2D;
}

/** Column j of the top-k indices. */
function rank(indices: tf.Tensor2D, j: number): tf.Tensor1D {
  return tf.squeeze(tf.slice(indices, [0, j], [-1, 1]), [1]) as tf.Tensor1D;
}

/**
 * −(a·z)/(b·z + tiny) per row, where the coefficient rows a and b pick logits by rank. tfjs has
 * no gradient for TopK, so the gradient is written out: with N = a·z and D = b·z + tiny,
 * d(−N/D)/dz = −a/D + N·b/D² (a and b are piecewise constant in z).
 */
function ratioLoss(logits: tf.Tensor2D, coefficients: (z: tf.Tensor2D) => { a: tf.Tensor2D; b: tf.Tensor2D }): tf.Tensor1D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const z = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const { a, b } = coefficients(z);
    const num = tf.sum(tf.mul(z, a), 1, true);
    const den = tf.add(tf.sum(tf.mul(z, b), 1, true), TINY);
    save([a, b, num, den]);
    return {
      value: tf.reshape(tf.neg(tf.div(num, den)), [-1]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor => {
        const [sa, sb, sn, sd] = saved;
        return tf.mul(tf.reshape(dy, [-1, 1]), tf.sub(tf.div(tf.mul(sb, sn), tf.square(sd)), tf.div(sa, sd)));
      },
    };
  });
  return f(logits) as tf.Tensor1D;
}

/**
 * Untargeted DLR, per example: −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3), with z_π the logits in
 * decreasing order. Positive once the example is misclassified; the attack maximises it.
 */
export function dlrLoss(logits: tf.Tensor2D, y: tf.Tensor1D): tf.Tensor1D {
  assertClasses(logits, 3, 'The DLR loss');
  return tf.tidy(() =>
    ratioLoss(logits, (z) => {
      const k = z.shape[1];
      const isTrue = tf.cast(hot(y, k), 'bool');
      const bestOther = tf.argMax(tf.where(isTrue, tf.fill(z.shape, -Infinity), z), 1) as tf.Tensor1D;
      const top = tf.topk(z, 3).indices as tf.Tensor2D;
      return { a: tf.sub(hot(y, k), hot(bestOther, k)), b: tf.sub(hot(rank(top, 0), k), hot(rank(top, 2), k)) };
    }),
  );
}

/**
 * Targeted DLR, per example: −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2) (Croce & Hein 2020, eq. 8).
 * Maximised, it pushes the target logit above the true one.
 */
export function dlrTargetedLoss(logits: tf.Tensor2D, y: tf.Tensor1D, target: tf.Tensor1D): tf.Tensor1D {
  assertClasses(logits, 4, 'The targeted DLR loss');
  return tf.tidy(() =>
    ratioLoss(logits, (z) => {
      const k = z.shape[1];
      const top = tf.topk(z, 4).indices as tf.Tensor2D;
      const b: tf.Tensor2D = tf.sub(hot(rank(top, 0), k), tf.mul(tf.add(hot(rank(top, 2), k), hot(rank(top, 3), k)), 0.5));
      return { a: tf.sub(hot(y, k), hot(target, k)), b };
    }),
  );
}
