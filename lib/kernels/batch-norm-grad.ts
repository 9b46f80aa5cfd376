// The gradient of FusedBatchNorm (tf.batchNorm with given statistics: batch norm frozen, as in
// every attack's pass) with respect to x: dy * scale / sqrt(variance + eps), which is itself a
// batch norm of dy (mean 0, offset 0), so one kernel (native or the 1x1 depthwise conv) instead
// of tfjs's chain (x - mean, dy * scale, tile, two full-size multiplies), which it computes even
// when only dx is wanted. Statistics of other shapes, and every other input's gradient, use
// tfjs's own formulas.
import * as tf from '@tensorflow/tfjs';

type GradFunc = tf.GradConfig['gradFunc'];

let original: tf.GradConfig | undefined;

const gradFunc: GradFunc = (dy, saved, attrs) => {
  const [x, mean, variance, scale] = saved;
  const theirs = () => original!.gradFunc(dy, saved, attrs);
  const c = x.shape[x.rank - 1];
  const perChannel = (t: tf.Tensor | undefined) => !t || (t.rank === 1 && t.size === c);
  if (!(dy instanceof tf.Tensor) || ![mean, variance, scale].every(perChannel)) return theirs();
  // tfjs runs each input's gradient in its own tidy: tfjs's shared terms cannot be kept across
  // them, so each gradient but dx recomputes them (wanted only when parameters are differentiated
  // through frozen statistics, which SAT never does).
  const lazily = (name: string) => () => theirs()[name]();
  const eps = (attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
  return {
    x: () => tf.tidy(() => { const zero = tf.zerosLike(variance); return tf.batchNorm(dy, zero, variance, zero, scale ?? tf.onesLike(variance), eps); }),
    mean: lazily('mean'),
    variance: lazily('variance'),
    scale: lazily('scale'),
    offset: lazily('offset'),
  };
};

/** Puts our FusedBatchNorm gradient in place of tfjs's (for every backend: the math is the same). */
export function registerBatchNormGradient(): void {
  if (original) return;
  original = tf.getGradient(tf.FusedBatchNorm);
  if (!original) return; // no tfjs gradient to delegate to: leave it so
  tf.registerGradient({ ...original, gradFunc });
}
