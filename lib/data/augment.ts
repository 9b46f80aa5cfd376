// CIFAR-style augmentation on raw NHWC pixels: zero-padded random crop + random horizontal flip.
import type { Augment, ImageDataset } from './dataset';
import type { Rng } from '../util/rng';

/**
 * Writes into `out` the image `src` (h x w x c) shifted so that out[y][x] = src[y+dy][x+dx],
 * with zeros where that falls outside `src`. This equals cropping at offset (pad+dy, pad+dx)
 * from the image zero-padded by `pad` on each side.
 */
export function shiftImage(src: Float32Array, out: Float32Array, h: number, w: number, c: number, dy: number, dx: number): void {
  const row = w * c;
  for (let y = 0; y < h; y++) {
    const sy = y + dy;
    const o = y * row;
    if (sy < 0 || sy >= h) {
      out.fill(0, o, o + row);
      continue;
    }
    // Columns x with 0 <= x+dx < w copy one contiguous run; the rest are padding.
    const x0 = Math.max(0, -dx);
    const x1 = Math.min(w, w - dx);
    if (x1 <= x0) {
      out.fill(0, o, o + row);
      continue;
    }
    out.fill(0, o, o + x0 * c);
    out.set(src.subarray(sy * row + (x0 + dx) * c, sy * row + (x1 + dx) * c), o + x0 * c);
    out.fill(0, o + x1 * c, o + row);
  }
}

/** Mirrors an image (h x w x c) left-right in place. */
export function flipHorizontal(img: Float32Array, h: number, w: number, c: number): void {
  for (let y = 0; y < h; y++) {
    const base = y * w * c;
    for (let x = 0; x < w >> 1; x++) {
      const a = base + x * c;
      const b = base + (w - 1 - x) * c;
      for (let k = 0; k < c; k++) {
        const t = img[a + k];
        img[a + k] = img[b + k];
        img[b + k] = t;
      }
    }
  }
}

/**
 * The standard CIFAR training augmentation (pad by `pad` with zeros, random crop back to the
 * original size, flip left-right with probability 1/2). Per image it draws, in this order:
 * the row offset, the column offset (each uniform in 0..2*pad), then the flip coin.
 */
export function padCropFlip(pad = 4): Augment {
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`padCropFlip: pad must be a non-negative integer, got ${pad}`);
  return (pixels: Float32Array, ds: ImageDataset, rng: Rng) => {
    const { height: h, width: w, channels: c } = ds;
    const size = h * w * c;
    if (pixels.length !== ds.n * size) {
      throw new Error(`padCropFlip: ${pixels.length} pixel values do not hold ${ds.n} images of ${h}x${w}x${c}`);
    }
    const scratch = new Float32Array(size);
    for (let i = 0; i < ds.n; i++) {
      const img = pixels.subarray(i * size, (i + 1) * size);
      const dy = Math.floor(rng() * (2 * pad + 1)) - pad;
      const dx = Math.floor(rng() * (2 * pad + 1)) - pad;
      const flip = rng() < 0.5;
      if (dy !== 0 || dx !== 0) {
        shiftImage(img, scratch, h, w, c, dy, dx);
        img.set(scratch);
      }
      if (flip) flipHorizontal(img, h, w, c);
    }
  };
}
