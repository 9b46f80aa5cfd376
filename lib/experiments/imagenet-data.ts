// The data of the ImageNet-scale notebooks: an ImageNet-style folder (ImageNet itself,
// Imagenette, or any root/{train,val}/<class>/ folder) when one is present, else a generated
// folder that every table and plot labels SYNTHETIC. The chosen folder is read into memory at
// a low resolution and registered as a data set, so train() can use it by name.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { registerDataset, subset, type Augment, type ImageDataset } from '../data';
import { findImageFolder, loadImageFolder, randomResizedCropBox, resizeBox, scanImageFolder } from '../data/image-folder';
import { syntheticImageFolder, SYNTHETIC_MARKER } from '../data/synthetic';
import { dataDir } from '../util/fs';
import { makeRng, permutation } from '../util/rng';

/** Where to look for real data, in order, besides IMAGENET_DIR / data/imagenet (findImageFolder). */
const IMAGENETTE_FOLDERS = ['imagenette2-160', 'imagenette2-320', 'imagenette2', 'imagenette'];

/** The trainer keeps data sets in memory; refuse anything bigger than this. */
const MAX_IN_MEMORY_BYTES = 4 * 1024 ** 3;

export interface RealFolder {
  root: string;
  /** What it is, in words: 'ImageNet-style folder data/imagenet', 'Imagenette (data/imagenette2-160)'. */
  description: string;
}

/** A real ImageNet-style folder: IMAGENET_DIR, data/imagenet, or an unpacked Imagenette under data/; null when none. */
export function findRealImageFolder(): RealFolder | null {
  const candidates = [findImageFolder(), ...IMAGENETTE_FOLDERS.map((f) => path.join(dataDir(), f))];
  for (const root of candidates) {
    if (!root || !fs.existsSync(root)) continue;
    // A generated folder is never real data, wherever it lies.
    if (path.basename(root).toLowerCase().includes('synthetic') || fs.existsSync(path.join(root, SYNTHETIC_MARKER))) continue;
    const rel = path.relative(process.cwd(), root) || root;
    const kind = path.basename(root).toLowerCase().startsWith('imagenette') ? 'Imagenette' : 'ImageNet-style folder';
    return { root, description: `${kind} (${rel.startsWith('..') ? root : rel})` };
  }
  return null;
}

export interface SyntheticFolderSpec {
  classes: number;
  /** Training images per class. */
  perClass: number;
  valPerClass: number;
  /** Shorter side of the generated images (they vary up to 25% above it). */
  size: number;
  seed: number;
}

/** The generated folder for a spec: data/synthetic-imagenet-c<classes>-n<perClass>-v<val>-s<size>-seed<seed>, written once. */
export function syntheticFolderFor(spec: SyntheticFolderSpec, parent = dataDir()): string {
  const name = `synthetic-imagenet-c${spec.classes}-n${spec.perClass}-v${spec.valPerClass}-s${spec.size}-seed${spec.seed}`;
  const root = path.join(parent, name);
  if (fs.existsSync(path.join(root, SYNTHETIC_MARKER))) return root;
  // Written under a temporary name and renamed, so an interrupted run never leaves half a folder.
  const tmp = path.join(parent, `${name}-${process.pid}.tmp`);
  fs.rmSync(tmp, { recursive: true, force: true });
  syntheticImageFolder(tmp, { classes: spec.classes, perClass: spec.perClass, valPerClass: spec.valPerClass, size: spec.size, seed: spec.seed });
  fs.rmSync(root, { recursive: true, force: true });
  fs.renameSync(tmp, root);
  return root;
}

export interface ImageDataSpec {
  /** Network input side in pixels. */
  size: number;
  /** Training images read into memory (spread evenly over the classes). */
  trainLimit?: number;
  /** Validation images read into memory. */
  valLimit?: number;
  /** Use only the first `classes` classes (sorted folder names): ImageNet at CPU scale. */
  classes?: number;
  /** Area range of the random-resized crop of the training augmentation (ImageNet: [0.08, 1]). */
  cropScale: [number, number];
  /** The generated stand-in used when no real folder is present. */
  synthetic: SyntheticFolderSpec;
  /** Fail instead of generating the stand-in (the paper's settings on generated data would be hours of meaningless work). */
  requireReal?: boolean;
}

export interface ImageData {
  /** The registered data set name to put in a TrainConfig. */
  dataset: string;
  root: string;
  synthetic: boolean;
  /** Where the data came from, one line for notebooks; starts with SYNTHETIC for generated data. */
  source: string;
  classNames: string[];
  train: number;
  val: number;
}

/** The registered name of a spec's data set on a folder (stable, so finished runs are reused). */
export function imageDatasetName(folderName: string, spec: Pick<ImageDataSpec, 'size' | 'classes' | 'cropScale'>): string {
  const classes = spec.classes ? `-c${spec.classes}` : '';
  return `${folderName}${classes}-${spec.size}px-rrc${spec.cropScale.join('_')}`;
}

/**
 * Random-resized crop (area fraction in `scale`, aspect 3/4..4/3) and a random flip of each
 * stored image, resampled back to its own size: the standard ImageNet training augmentation
 * applied to the in-memory (already center-cropped) images.
 */
export function randomResizedCropFlip(scale: [number, number]): Augment {
  return (pixels, ds, rng) => {
    if (ds.channels !== 3) throw new Error(`randomResizedCropFlip needs RGB images, got ${ds.channels} channels`);
    const { height: h, width: w } = ds;
    const size = h * w * 3;
    const bytes = new Uint8Array(size);
    const out = new Float32Array(size);
    for (let i = 0; i < ds.n; i++) {
      const img = pixels.subarray(i * size, (i + 1) * size);
      for (let p = 0; p < size; p++) bytes[p] = Math.round(img[p] * 255);
      const box = randomResizedCropBox(w, h, rng, scale);
      resizeBox({ data: bytes, width: w, height: h }, box, w, h, out, 0, rng() < 0.5);
      img.set(out);
    }
  };
}

/** A symlinked view of a folder holding only its first `classes` classes (so loadImageFolder reads just those). */
function classSubsetView(root: string, classes: number, parent: string): string {
  const view = path.join(parent, `${path.basename(root)}-first${classes}classes`);
  for (const split of ['train', 'val'] as const) {
    const index = scanImageFolder({ root, split, perClass: 1 });
    const dir = path.join(view, split);
    fs.mkdirSync(dir, { recursive: true });
    for (const c of index.classNames.slice(0, classes)) {
      const link = path.join(dir, c);
      if (!fs.existsSync(link)) fs.symlinkSync(path.join(index.dir, c), link, 'dir');
    }
  }
  return view;
}

/** A fixed shuffle, so that `take(n)` of the split is balanced over classes and independent of the run's seed. */
function shuffled(ds: ImageDataset, seed: number): ImageDataset {
  return subset(ds, permutation(ds.n, makeRng(seed)));
}

/**
 * Finds real data or generates the stand-in, reads both splits into memory at `spec.size` and
 * registers them as a data set; returns its name and where it came from.
 */
export interface PrepareOptions {
  log?: (s: string) => void;
  /** The real folder to use; default: findRealImageFolder(). null forces the generated stand-in. */
  real?: RealFolder | null;
  /** Where generated folders and class-subset views go (default data/). */
  dataDir?: string;
}

export async function prepareImageData(spec: ImageDataSpec, opts: PrepareOptions = {}): Promise<ImageData> {
  const real = opts.real === undefined ? findRealImageFolder() : opts.real;
  const parent = opts.dataDir ?? dataDir();
  if (!real && spec.requireReal) {
    throw new Error(
      'These settings need ImageNet, and no ImageNet-style folder was found. Put it at data/imagenet (train/<class>/*.JPEG, val/<class>/*.JPEG) ' +
        'or set IMAGENET_DIR; for a CPU-sized run use the small profile (--profile small or SAT_PROFILE=small).',
    );
  }
  let root = real?.root ?? syntheticFolderFor(spec.synthetic, parent);
  const folderName = path.basename(root);
  const classesInFolder = scanImageFolder({ root, split: 'train', perClass: 1 }).classNames.length;
  if (spec.classes && spec.classes < classesInFolder) root = classSubsetView(root, spec.classes, parent);
  const trainCount = Math.min(spec.trainLimit ?? Infinity, scanImageFolder({ root, split: 'train' }).files.length);
  const bytes = trainCount * spec.size * spec.size * 3 * 4;
  if (bytes > MAX_IN_MEMORY_BYTES) {
    throw new Error(
      `${trainCount} training images at ${spec.size}px need ${(bytes / 1024 ** 3).toFixed(0)} GB in memory, and the trainer keeps data sets in memory. ` +
        'Set a trainLimit, or train at ImageNet scale with a trainer that streams batches from the folder (lib/data/image-folder.ts: imageFolderBatches).',
    );
  }
  const log = opts.log ?? (() => {});
  log(`reading ${trainCount} training images from ${root} at ${spec.size}px ...`);
  const load = (split: 'train' | 'val', limit?: number) => loadImageFolder({ root, split, limit, size: spec.size, mode: 'eval' });
  const [train, val] = [shuffled(await load('train', spec.trainLimit), 1), shuffled(await load('val', spec.valLimit), 2)];
  const synthetic = train.synthetic === true;
  const dataset = imageDatasetName(folderName, spec);
  const name = (ds: ImageDataset): ImageDataset => ({ ...ds, name: dataset });
  const augment = randomResizedCropFlip(spec.cropScale);
  const source = synthetic
    ? `SYNTHETIC: no ImageNet or Imagenette folder was found (IMAGENET_DIR, data/imagenet, data/imagenette2-160, ...), so this uses generated gratings (${path.relative(process.cwd(), root)}); not real data`
    : `real images: ${real!.description}${spec.classes && spec.classes < classesInFolder ? `, first ${spec.classes} of ${classesInFolder} classes` : ''}`;
  registerDataset(dataset, (o) => ({
    train: name(o.trainLimit && o.trainLimit < train.n ? subset(train, range(o.trainLimit)) : train),
    test: name(o.testLimit && o.testLimit < val.n ? subset(val, range(o.testLimit)) : val),
    augment,
    source,
  }));
  return { dataset, root, synthetic, source, classNames: train.classNames ?? [], train: train.n, val: val.n };
}

function range(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
