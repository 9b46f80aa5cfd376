// mnist-<px>px: the real MNIST digits (same split and limits as 'mnist') resized bilinearly to
// px x px, for studies that vary the input resolution.
import * as tf from '@tensorflow/tfjs';
import type { ImageDataset } from './dataset';
import { loadMnist } from './mnist';

/** MNIST's own 28 px, or the name of its resize. */
export function mnistDatasetAt(resolution: number): string {
  return resolution === 28 ? 'mnist' : `mnist-${resolution}px`;
}

/** The resolution a name like 'mnist-20px' asks for, or undefined when it is not one. */
export function parseMnistResolution(name: string): number | undefined {
  const m = /^mnist-(\d+)px$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function resized(ds: ImageDataset, px: number): ImageDataset {
  const images = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(ds.images, [ds.n, ds.height, ds.width, ds.channels]), [px, px]).dataSync() as Float32Array);
  return { ...ds, name: mnistDatasetAt(px), images: Float32Array.from(images), height: px, width: px };
}

export function loadMnistAt(px: number, opts: { trainLimit?: number; testLimit?: number }): { train: ImageDataset; test: ImageDataset } {
  if (!(Number.isInteger(px) && px >= 4 && px <= 512)) throw new Error(`mnist-${px}px: the resolution must be an integer from 4 to 512 pixels.`);
  const d = loadMnist({ trainLimit: opts.trainLimit, testLimit: opts.testLimit });
  return { train: resized(d.train, px), test: resized(d.test, px) };
}
