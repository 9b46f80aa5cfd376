import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { flipHorizontal, padCropFlip, shiftImage } from '../lib/data/augment';
import { batches, disposeBatch, type ImageDataset } from '../lib/data/dataset';
import { makeRng, type Rng } from '../lib/util/rng';
import { testBackend } from './helpers/backend';

const H = 6, W = 5, C = 3;
const SIZE = H * W * C;
/** A distinct positive value for every (image, row, col, channel). */
const value = (i: number, y: number, x: number, c: number) => 1 + i * 1000 + y * 100 + x * 10 + c;

function images(n: number): Float32Array {
  const a = new Float32Array(n * SIZE);
  for (let i = 0; i < n; i++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
    a[i * SIZE + (y * W + x) * C + c] = value(i, y, x, c);
  }
  return a;
}

const at = (a: Float32Array, i: number, y: number, x: number, c: number) => a[i * SIZE + (y * W + x) * C + c];

function dataset(n: number): ImageDataset {
  return { name: 't', images: images(n), labels: new Int32Array(n), n, height: H, width: W, channels: C, numClasses: 1 };
}

/** An Rng that returns the given draws in order. */
function scripted(draws: number[]): Rng {
  let k = 0;
  return () => {
    if (k >= draws.length) throw new Error('rng drawn more often than scripted');
    return draws[k++];
  };
}

/** The draw that padCropFlip maps to offset d (uniform over 2*pad+1 values). */
const drawFor = (d: number, pad: number) => (d + pad + 0.5) / (2 * pad + 1);

describe('augmentation', () => {
  it('flipHorizontal is a true mirror and its own inverse', () => {
    const a = images(1);
    flipHorizontal(a, H, W, C);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
      assert.equal(at(a, 0, y, x, c), value(0, y, W - 1 - x, c));
    }
    flipHorizontal(a, H, W, C);
    assert.deepEqual(a, images(1));
  });

  it('shiftImage moves content by the offset and fills the uncovered border with zeros', () => {
    const src = images(1);
    const out = new Float32Array(SIZE).fill(-1);
    for (const [dy, dx] of [[0, 0], [2, -3], [-4, 4], [1, 1], [-1, -2], [H, 0], [0, -W], [3, 9]]) {
      shiftImage(src, out, H, W, C, dy, dx);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
        const sy = y + dy, sx = x + dx;
        const want = sy >= 0 && sy < H && sx >= 0 && sx < W ? value(0, sy, sx, c) : 0;
        assert.equal(at(out, 0, y, x, c), want, `dy=${dy} dx=${dx} y=${y} x=${x} c=${c}`);
      }
    }
  });

  it('padCropFlip crops at the drawn offset and flips on the drawn coin, per image', () => {
    const ds = dataset(2);
    const pixels = images(2);
    // Image 0: shift (dy=2, dx=-3), no flip. Image 1: no shift, flip.
    padCropFlip(4)(pixels, ds, scripted([drawFor(2, 4), drawFor(-3, 4), 0.9, drawFor(0, 4), drawFor(0, 4), 0.1]));
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
      const sy = y + 2, sx = x - 3;
      assert.equal(at(pixels, 0, y, x, c), sy < H && sx >= 0 ? value(0, sy, sx, c) : 0);
      assert.equal(at(pixels, 1, y, x, c), value(1, y, W - 1 - x, c));
    }
  });

  it('padCropFlip keeps the shape, repeats with the seed and uses every offset and both flips', () => {
    const n = 400;
    const ds = dataset(n);
    const a = images(n);
    const b = images(n);
    padCropFlip(2)(a, ds, makeRng(5));
    padCropFlip(2)(b, ds, makeRng(5));
    assert.equal(a.length, n * SIZE);
    assert.deepEqual(a, b);
    // Recover each image's shift and flip from where the (nonzero) centre pixel value went.
    const seen = new Set<string>();
    let flips = 0;
    for (let i = 0; i < n; i++) {
      let found = '';
      for (let y = 0; y < H && !found; y++) for (let x = 0; x < W && !found; x++) {
        const v = at(a, i, y, x, 0);
        if (v === value(i, 2, 2, 0)) found = `${y},${x}`;
      }
      assert.ok(found, `image ${i}: centre pixel lost`);
      const [y, x] = found.split(',').map(Number);
      // Unflipped: centre moves to (2-dy, 2-dx); flipped: column mirrored.
      const unflipped = at(a, i, y, Math.min(W - 1, x + 1), 0) === value(i, 2, 3, 0) || at(a, i, y, Math.max(0, x - 1), 0) === value(i, 2, 1, 0);
      if (!unflipped) flips++;
      seen.add(`${y},${unflipped ? x : W - 1 - x}`);
    }
    assert.equal(seen.size, 25, 'every (dy, dx) in -2..2 should occur');
    assert.ok(flips > n * 0.4 && flips < n * 0.6, `${flips} flips of ${n}`);
    // pad=0: only flips, so each image is itself or its mirror.
    const c = images(3);
    padCropFlip(0)(c, dataset(3), makeRng(1));
    for (let i = 0; i < 3; i++) {
      const same = at(c, i, 0, 0, 0) === value(i, 0, 0, 0);
      assert.equal(at(c, i, 3, 1, 2), value(i, 3, same ? 1 : W - 2, 2));
    }
  });

  it('works as a batches() augment without changing batch shapes', async () => {
    await testBackend();
    const before = tf.memory().numTensors;
    const ds = dataset(10);
    const shapes: number[][] = [];
    for (const b of batches(ds, { batchSize: 4, shuffleSeed: 1, augment: padCropFlip(4) })) {
      shapes.push(b.x.shape);
      disposeBatch(b);
    }
    assert.deepEqual(shapes, [[4, H, W, C], [4, H, W, C], [2, H, W, C]]);
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(ds.images, images(10), 'the dataset itself must not change');
  });

  it('rejects a bad pad and mismatched pixel arrays', () => {
    assert.throws(() => padCropFlip(-1), /pad must be a non-negative integer/);
    assert.throws(() => padCropFlip(4)(new Float32Array(5), dataset(1), makeRng(0)), /do not hold 1 images of 6x5x3/);
  });
});
