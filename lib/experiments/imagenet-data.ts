// The data of the ImageNet-scale notebooks: an ImageNet-style folder (ImageNet itself,
// Imagenette, or any root/{train,val}/<class>/ folder) when one is present, else a generated
// folder that every table and plot labels SYNTHETIC. The chosen folder is read into memory at
// a low resolution under a data set name that lib/data resolves by itself (image-folder-dataset.ts),
// so train() and `sat eval --run` find it from a config alone.
import * as path from 'node:path';
import {
  findRealImageFolder,
  imageDatasetName,
  loadImageFolderDataset,
  syntheticFolderFor,
  type RealFolder,
  type SyntheticFolderSpec,
} from '../data/image-folder-dataset';
import { scanImageFolder } from '../data/image-folder';
import type { EvalCrop } from '../data/stream/dataset';
import { dataDir } from '../util/fs';
import { prepareStreamedImageData } from './imagenet-stream';
import type { ImageData, ImageDataSpec } from './imagenet-types';

export type { ImageData, ImageDataSpec } from './imagenet-types';
export { findRealImageFolder, imageDatasetName, randomResizedCropFlip, syntheticFolderFor, type RealFolder, type SyntheticFolderSpec } from '../data/image-folder-dataset';

/** The trainer keeps data sets in memory; refuse anything bigger than this. */
const MAX_IN_MEMORY_BYTES = 4 * 1024 ** 3;

export interface PrepareOptions {
  log?: (s: string) => void;
  /** The real folder to use; default: findRealImageFolder(). null forces the generated stand-in. */
  real?: RealFolder | null;
  /** Where generated folders and class-subset views go (default data/). */
  dataDir?: string;
}

/**
 * Finds real data or generates the stand-in and reads both splits into memory at `spec.size`
 * (lib/data keeps them for train() under the returned name); returns the name and the source.
 */
export async function prepareImageData(spec: ImageDataSpec, opts: PrepareOptions = {}): Promise<ImageData> {
  const real = opts.real === undefined ? findRealImageFolder() : opts.real;
  const parent = opts.dataDir ?? dataDir();
  if (!real && spec.requireReal) {
    throw new Error(
      'These settings need ImageNet, and no ImageNet-style folder was found. Put it at data/imagenet (train/<class>/*.JPEG, val/<class>/*.JPEG) ' +
        'or set IMAGENET_DIR; for a CPU-sized run use the small profile (--profile small or SAT_PROFILE=small).',
    );
  }
  if (spec.stream) return prepareStreamedImageData({ ...spec, stream: spec.stream }, real, parent);
  const root = real?.root ?? syntheticFolderFor(spec.synthetic, parent);
  const trainCount = Math.min(spec.trainLimit ?? Infinity, scanImageFolder({ root, split: 'train' }).files.length);
  const bytes = trainCount * spec.size * spec.size * 3 * 4;
  if (bytes > MAX_IN_MEMORY_BYTES) {
    throw new Error(
      `${trainCount} training images at ${spec.size}px need ${(bytes / 1024 ** 3).toFixed(0)} GB in memory, and the trainer keeps data sets in memory. ` +
        'Set a trainLimit, or stream the folder from disk (ImageDataSpec.stream, as the paper profile does).',
    );
  }
  const d = await loadImageFolderDataset(
    root,
    { size: spec.size, classes: spec.classes, cropScale: spec.cropScale, trainLimit: spec.trainLimit, testLimit: spec.valLimit },
    { parent, log: opts.log },
  );
  const source = d.synthetic
    ? `SYNTHETIC: no ImageNet or Imagenette folder was found (IMAGENET_DIR, data/imagenet, data/imagenette2-160, ...), so this uses generated gratings (${path.relative(process.cwd(), d.root)}); not real data`
    : `real images: ${real!.description}${spec.classes && spec.classes < d.classesInFolder ? `, first ${spec.classes} of ${d.classesInFolder} classes` : ''}`;
  return { dataset: d.name, root: d.root, synthetic: d.synthetic, source, classNames: d.train.classNames ?? [], train: d.train.n, val: d.test.n };
}
