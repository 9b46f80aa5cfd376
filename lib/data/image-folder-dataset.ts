// Image-folder data sets by name. An ImageNet-style folder (root/{train,val}/<class>/*.JPEG) read
// into memory at a low resolution is named
//   <folder>[-c<classes>]-<size>px-rrc<min>_<max>
// (folder: the folder's own name; classes: only the first that many classes; size: input side;
// rrc: the area range of the random-resized-crop augmentation). The name alone finds the folder
// again (the real folder, data/<folder>, or a generated stand-in rebuilt from its name), so a
// run's config.json rebuilds its data in any process, e.g. `sat eval --run`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataDir } from '../util/fs';
import { makeRng, permutation } from '../util/rng';
import { subset, take, type Augment, type ImageDataset } from './dataset';
import { findImageFolder, loadImageFolder, randomResizedCropBox, resizeBox, scanImageFolder } from './image-folder';
import { SYNTHETIC_MARKER, syntheticImageFolder } from './synthetic';

/** Where to look for real data, in order, besides IMAGENET_DIR / data/imagenet (findImageFolder). */
const IMAGENETTE_FOLDERS = ['imagenette2-160', 'imagenette2-320', 'imagenette2', 'imagenette'];

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

function syntheticFolderName(spec: SyntheticFolderSpec): string {
  return `synthetic-imagenet-c${spec.classes}-n${spec.perClass}-v${spec.valPerClass}-s${spec.size}-seed${spec.seed}`;
}

function parseSyntheticFolderName(name: string): SyntheticFolderSpec | undefined {
  const m = /^synthetic-imagenet-c(\d+)-n(\d+)-v(\d+)-s(\d+)-seed(\d+)$/.exec(name);
  return m ? { classes: +m[1], perClass: +m[2], valPerClass: +m[3], size: +m[4], seed: +m[5] } : undefined;
}

/** The generated folder for a spec: data/synthetic-imagenet-c<classes>-n<perClass>-v<val>-s<size>-seed<seed>, written once. */
export function syntheticFolderFor(spec: SyntheticFolderSpec, parent = dataDir()): string {
  const name = syntheticFolderName(spec);
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

export interface ImageFolderDatasetSpec {
  /** Network input side in pixels. */
  size: number;
  /** Use only the first `classes` classes (sorted folder names). */
  classes?: number;
  /** Area range of the random-resized crop of the training augmentation (ImageNet: [0.08, 1]). */
  cropScale: [number, number];
}

/** The name of a spec's data set on a folder (stable, so finished runs are reused). */
export function imageDatasetName(folderName: string, spec: ImageFolderDatasetSpec): string {
  const classes = spec.classes ? `-c${spec.classes}` : '';
  return `${folderName}${classes}-${spec.size}px-rrc${spec.cropScale.join('_')}`;
}

/** Every reading of a name: `foo-c5-32px-…` may be folder 'foo' with 5 classes or folder 'foo-c5'. */
export function parseImageDatasetName(name: string): { folder: string; spec: ImageFolderDatasetSpec }[] {
  const m = /^(.+)-(\d+)px-rrc([\d.]+)_([\d.]+)$/.exec(name);
  if (!m) return [];
  const spec: ImageFolderDatasetSpec = { size: Number(m[2]), cropScale: [Number(m[3]), Number(m[4])] };
  const out: { folder: string; spec: ImageFolderDatasetSpec }[] = [{ folder: m[1], spec }];
  const c = /^(.+)-c(\d+)$/.exec(m[1]);
  if (c) out.unshift({ folder: c[1], spec: { ...spec, classes: Number(c[2]) } });
  return out;
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

export interface ImageFolderSplits {
  name: string;
  /** The folder the images were read from (a class-subset view when `classes` is set). */
  root: string;
  train: ImageDataset;
  test: ImageDataset;
  augment: Augment;
  synthetic: boolean;
  classesInFolder: number;
}

const loaded = new Map<string, ImageFolderSplits>();
const key = (name: string, trainLimit?: number, testLimit?: number) => `${name}|${trainLimit ?? 'all'}|${testLimit ?? 'all'}`;

/**
 * Reads both splits of `root` into memory at spec.size (train: trainLimit images spread over the
 * classes; test: the folder's val split, testLimit images), each in a fixed shuffled order.
 * Kept per (name, limits) for the process, so runs of one study read the folder once.
 */
export async function loadImageFolderDataset(
  root: string,
  spec: ImageFolderDatasetSpec & { trainLimit?: number; testLimit?: number },
  opts: { parent?: string; log?: (s: string) => void } = {},
): Promise<ImageFolderSplits> {
  const name = imageDatasetName(path.basename(root), spec);
  const k = key(name, spec.trainLimit, spec.testLimit);
  const cached = loaded.get(k);
  if (cached) return cached;
  const classesInFolder = scanImageFolder({ root, split: 'train', perClass: 1 }).classNames.length;
  const view = spec.classes && spec.classes < classesInFolder ? classSubsetView(root, spec.classes, opts.parent ?? dataDir()) : root;
  opts.log?.(`reading ${spec.trainLimit ?? 'all'} training images from ${view} at ${spec.size}px ...`);
  const load = (split: 'train' | 'val', limit?: number) => loadImageFolder({ root: view, split, limit, size: spec.size, mode: 'eval' });
  const named = (ds: ImageDataset): ImageDataset => ({ ...ds, name });
  const train = named(shuffled(await load('train', spec.trainLimit), 1));
  const test = named(shuffled(await load('val', spec.testLimit), 2));
  const splits = { name, root: view, train, test, augment: randomResizedCropFlip(spec.cropScale), synthetic: train.synthetic === true, classesInFolder };
  loaded.set(k, splits);
  return splits;
}

/** The folder a data set name was read from: the real folder, data/<folder>, or a stand-in rebuilt from its name. */
function locateFolder(folder: string): string | undefined {
  const real = findRealImageFolder();
  if (real && path.basename(real.root) === folder) return real.root;
  const inData = path.join(dataDir(), folder);
  if (fs.existsSync(inData)) return inData;
  const synthetic = parseSyntheticFolderName(folder);
  return synthetic ? syntheticFolderFor(synthetic) : undefined;
}

/** Whether `name` is an image-folder data set name. */
export function isImageFolderDatasetName(name: string): boolean {
  return parseImageDatasetName(name).length > 0;
}

/** Loads (once per process) the data set a name describes; errors say where the folder should be. */
export async function prepareImageFolderDataset(name: string, limits: { trainLimit?: number; testLimit?: number }): Promise<ImageFolderSplits> {
  const cached = loadedImageFolderDataset(name, limits);
  if (cached) return cached;
  for (const { folder, spec } of parseImageDatasetName(name)) {
    const root = locateFolder(folder);
    if (root) return loadImageFolderDataset(root, { ...spec, ...limits });
  }
  const readings = parseImageDatasetName(name);
  const folder = readings.length ? readings[readings.length - 1].folder : name;
  throw new Error(
    `Data set '${name}' is read from the image folder '${folder}', which is not here: put it at ${path.join(dataDir(), folder)} ` +
      `(train/<class>/*.JPEG, val/<class>/*.JPEG) or point IMAGENET_DIR at it.`,
  );
}

/** The splits of a data set already read in this process (by prepareImageFolderDataset or loadImageFolderDataset). */
export function loadedImageFolderDataset(name: string, limits: { trainLimit?: number; testLimit?: number }): ImageFolderSplits | undefined {
  const exact = loaded.get(key(name, limits.trainLimit, limits.testLimit));
  if (exact) return exact;
  // A larger read of the same data set in this process: its first images (already in a fixed
  // shuffled order); no limit means all of what was read.
  const covers = (have: number, want?: number) => want === undefined || want <= have;
  for (const d of loaded.values()) {
    if (d.name === name && covers(d.train.n, limits.trainLimit) && covers(d.test.n, limits.testLimit)) {
      return { ...d, train: take(d.train, limits.trainLimit ?? d.train.n), test: take(d.test, limits.testLimit ?? d.test.n) };
    }
  }
  return undefined;
}
