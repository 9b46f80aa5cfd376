// Measure 6, loss landscapes: the loss on a 2-D slice around an image, spanned by the
// gradient-sign direction (the first step of an L∞ attacker) and a random sign direction, and on
// a 1-D slice along the adversarial direction. Points stay in the pixel range (clipped), as the
// model only ever sees valid images; coordinates are in units of eps.
import * as tf from '@tensorflow/tfjs';
import { clipPixels } from '../attacks/common';
import { inputGradient, type Objective, takeArray } from './common';

/** n evenly spaced values from -span to span (n >= 2), or [0] for n = 1. */
export function linspace(from: number, to: number, n: number): number[] {
  if (n === 1) return [from];
  return Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1));
}

export interface Landscape2D {
  /** Offsets along the gradient-sign (a) and random-sign (b) directions, in units of eps. */
  a: number[];
  b: number[];
  /** loss[i][j] at x + eps·(a[j]·d_grad + b[i]·d_rand) (rows: b, columns: a, as heat maps want). */
  loss: number[][];
}

export interface LandscapeOptions {
  eps: number;
  /** Points per axis. */
  points: number;
  /** The slice spans [-span, span]·eps on each axis (default 2). */
  span?: number;
  seed?: number;
}

/**
 * One 2-D slice per image of x (an [N,...] batch; each image gets its own directions). The
 * objective must treat examples independently (inference mode), since the grid goes through it
 * in one batch per image.
 */
export function landscape2d(objective: (x: tf.Tensor4D, index: number) => tf.Tensor1D, x: tf.Tensor4D, o: LandscapeOptions): Landscape2D[] {
  const span = o.span ?? 2;
  const a = linspace(-span, span, o.points);
  const b = linspace(-span, span, o.points);
  const out: Landscape2D[] = [];
  for (let i = 0; i < x.shape[0]; i++) {
    const flat = takeArray(tf.tidy(() => {
      const xi = tf.slice(x, i, 1) as tf.Tensor4D;
      const dGrad = tf.sign(inputGradient((p) => objective(p, i), xi));
      const dRand = tf.sub(tf.mul(tf.cast(tf.greater(tf.randomUniform(xi.shape, 0, 1, 'float32', o.seed === undefined ? undefined : o.seed + i), 0.5), 'float32'), 2), 1);
      const ca = tf.tensor(b.flatMap(() => a).map((v) => v * o.eps), [a.length * b.length, 1, 1, 1]);
      const cb = tf.tensor(b.flatMap((v) => a.map(() => v * o.eps)), [a.length * b.length, 1, 1, 1]);
      const points = clipPixels(tf.add(tf.add(xi, tf.mul(ca, dGrad)), tf.mul(cb, dRand)) as tf.Tensor4D);
      return objective(points, i);
    }));
    out.push({ a, b, loss: b.map((_, r) => flat.slice(r * a.length, (r + 1) * a.length)) });
  }
  return out;
}

export interface Landscape1D {
  /** t: the point x + t·(x_adv - x); t = 1 is the adversarial example. */
  t: number[];
  /** loss[i][k] of image i at t[k]. */
  loss: number[][];
}

/** The loss along the segment from x through its adversarial example, t in [0, tMax]. */
export function landscape1d(objective: Objective, x: tf.Tensor4D, xAdv: tf.Tensor4D, points: number, tMax = 2): Landscape1D {
  const t = linspace(0, tMax, points);
  const n = x.shape[0];
  const columns = t.map((tk) => takeArray(tf.tidy(() => objective(clipPixels(tf.add(x, tf.mul(tf.sub(xAdv, x), tk)) as tf.Tensor4D)))));
  return { t, loss: Array.from({ length: n }, (_, i) => columns.map((c) => c[i])) };
}
