// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017, arXiv:1708.07747): 60,000 training and 10,000 test
// images of clothing, 28x28 grey, 10 classes, in MNIST's IDX format. Debian ships it (package
// dataset-fashion-mnist, /usr/share/datasets/fashion-mnist); FASHION_MNIST_DIR overrides;
// data/fashion-mnist is where `sat data fashion-mnist` puts a download.
import * as path from 'node:path';
import { dataDir } from '../util/fs';
import type { ImageDataset } from './dataset';
import { firstIdxDir, IDX_SPLIT_SIZES, loadIdxSplit } from './idx';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

const HOW_TO_GET =
  'install the Debian package (`sudo apt-get install dataset-fashion-mnist`), or run `sat data fashion-mnist` where there is internet, ' +
  `or download the four *-ubyte.gz files from ${FASHION_MNIST_URL} into data/fashion-mnist (or set FASHION_MNIST_DIR to their folder)`;

/** The folders searched, in order: FASHION_MNIST_DIR alone when set, else data/fashion-mnist, then Debian's. */
export function fashionMnistDirs(): string[] {
  const env = process.env.FASHION_MNIST_DIR;
  if (env) return [path.resolve(env)];
  return [path.join(dataDir(), 'fashion-mnist'), FASHION_MNIST_SYSTEM_DIR];
}

/** The folder holding Fashion-MNIST, or null. */
export function findFashionMnist(): string | null {
  return firstIdxDir(fashionMnistDirs());
}

const cache = new Map<string, ImageDataset>();

/** One split, all of it (60,000 or 10,000 images), read once per process. */
export function loadFashionMnist(split: 'train' | 'test'): ImageDataset {
  const dir = findFashionMnist();
  if (!dir) throw new Error(`Fashion-MNIST not found (looked in ${fashionMnistDirs().join(', ')}); ${HOW_TO_GET}`);
  const key = `${dir}|${split}`;
  let ds = cache.get(key);
  if (!ds) {
    ds = loadIdxSplit(dir, split, { name: 'fashion-mnist', classNames: FASHION_MNIST_CLASSES, fix: HOW_TO_GET, expected: IDX_SPLIT_SIZES });
    cache.set(key, ds);
  }
  return ds;
}
