// Generated stand-ins for CIFAR-10 and ImageNet-style folders, so notebooks and tests run when
// the real data is absent. Each class is a coloured grating with its own orientation and
// frequency; each image gets a random phase, contrast, colour offset and pixel noise, so the
// classes are learnable by a small CNN but not by looking at a single pixel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import type { ImageDataset } from './dataset';
import { makeRng, permutation, deriveSeed, type Rng } from '../util/rng';

interface ClassPattern {
  /** Direction of the grating's wave vector. */
  cos: number;
  sin: number;
  /** Full periods across the shorter image side. */
  cycles: number;
  /** Per-channel weight of the grating. */
  tint: number[];
}

function classPatterns(numClasses: number, channels: number, seed: number): ClassPattern[] {
  const rng = makeRng(deriveSeed(seed, 0x5eed));
  return Array.from({ length: numClasses }, (_, k) => {
    const angle = (Math.PI * k) / numClasses;
    return {
      cos: Math.cos(angle),
      sin: Math.sin(angle),
      cycles: 1.5 + (k % 3),
      tint: Array.from({ length: channels }, () => 0.4 + 0.6 * rng()),
    };
  });
}

/** Draws one image (h x w x c, values in [0,1]) of the given class pattern into `out` at `offset`. */
function renderImage(out: Float32Array, offset: number, h: number, w: number, c: number, p: ClassPattern, rng: Rng): void {
  const phase = 2 * Math.PI * rng();
  const amp = 0.2 + 0.15 * rng();
  const shift = Array.from({ length: c }, () => 0.2 * (rng() - 0.5));
  const k = (2 * Math.PI * p.cycles) / Math.min(h, w);
  let o = offset;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const wave = Math.sin(k * (x * p.cos + y * p.sin) + phase);
      for (let ch = 0; ch < c; ch++) {
        const v = 0.5 + shift[ch] + amp * p.tint[ch] * wave + 0.16 * (rng() - 0.5);
        out[o++] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
}

export interface SyntheticImagesOptions {
  n: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  seed: number;
  name?: string;
}

/** A generated dataset with balanced classes in shuffled order. Marked `synthetic: true`. */
export function syntheticImages(opts: SyntheticImagesOptions): ImageDataset {
  const { n, height, width, channels, numClasses, seed } = opts;
  for (const [key, v] of Object.entries({ n, height, width, channels, numClasses })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`syntheticImages: ${key} must be a positive integer, got ${v}`);
  }
  const patterns = classPatterns(numClasses, channels, seed);
  const rng = makeRng(seed);
  const order = permutation(n, rng);
  const size = height * width * channels;
  const images = new Float32Array(n * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = order[i] % numClasses;
    renderImage(images, i * size, height, width, channels, patterns[labels[i]], rng);
  }
  return {
    name: opts.name ?? 'synthetic',
    images,
    labels,
    n,
    height,
    width,
    channels,
    numClasses,
    classNames: Array.from({ length: numClasses }, (_, k) => `class_${k}`),
    synthetic: true,
  };
}

/** A stand-in for CIFAR-10: 32x32x3, 10 classes, name 'synthetic-cifar10'. */
export function syntheticCifar10(opts: { n: number; seed: number }): ImageDataset {
  return syntheticImages({ ...opts, height: 32, width: 32, channels: 3, numClasses: 10, name: 'synthetic-cifar10' });
}

export interface SyntheticFolderOptions {
  classes?: number;
  /** Training images per class (default 20). */
  perClass?: number;
  /** Validation images per class (default perClass / 4, at least 1). */
  valPerClass?: number;
  /** Shorter side of the images; each side varies randomly up to 25% above it (default 64). */
  size?: number;
  seed?: number;
}

export interface SyntheticFolder {
  root: string;
  classNames: string[];
  train: number;
  val: number;
}

/** Name of the marker file written at the root of a synthetic folder. */
export const SYNTHETIC_MARKER = 'SYNTHETIC.txt';

/**
 * Writes a generated ImageNet-style folder, root/{train,val}/<class>/*.png. The folder's
 * name must contain 'synthetic' (e.g. data/synthetic-imagenet) so it is never taken for
 * real data; a SYNTHETIC.txt marker says the same inside it.
 */
export function syntheticImageFolder(dir: string, opts: SyntheticFolderOptions = {}): SyntheticFolder {
  const root = path.resolve(dir);
  if (!path.basename(root).toLowerCase().includes('synthetic')) {
    throw new Error(`syntheticImageFolder: the folder name must contain 'synthetic' so it is labelled as generated data (e.g. data/synthetic-imagenet), got ${root}`);
  }
  const classes = opts.classes ?? 10;
  const perClass = opts.perClass ?? 20;
  const valPerClass = opts.valPerClass ?? Math.max(1, Math.floor(perClass / 4));
  const size = opts.size ?? 64;
  const seed = opts.seed ?? 0;
  const patterns = classPatterns(classes, 3, seed);
  const classNames = Array.from({ length: classes }, (_, k) => `class_${String(k).padStart(3, '0')}`);
  const rng = makeRng(seed);
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(
    path.join(root, SYNTHETIC_MARKER),
    `Generated by syntheticImageFolder (seed ${seed}): coloured gratings, not real photographs.\n` +
      'Numbers measured on this folder say nothing about ImageNet.\n',
  );
  for (const [split, count] of [['train', perClass], ['val', valPerClass]] as const) {
    for (let k = 0; k < classes; k++) {
      const classDir = path.join(root, split, classNames[k]);
      fs.mkdirSync(classDir, { recursive: true });
      for (let i = 0; i < count; i++) {
        const h = size + Math.floor(rng() * (size / 4 + 1));
        const w = size + Math.floor(rng() * (size / 4 + 1));
        const pixels = new Float32Array(h * w * 3);
        renderImage(pixels, 0, h, w, 3, patterns[k], rng);
        const png = new PNG({ width: w, height: h });
        for (let p = 0; p < h * w; p++) {
          for (let ch = 0; ch < 3; ch++) png.data[p * 4 + ch] = Math.round(pixels[p * 3 + ch] * 255);
          png.data[p * 4 + 3] = 255;
        }
        fs.writeFileSync(path.join(classDir, `${split}_${String(i).padStart(5, '0')}.png`), PNG.sync.write(png));
      }
    }
  }
  return { root, classNames, train: classes * perClass, val: classes * valPerClass };
}
