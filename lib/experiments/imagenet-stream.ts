// The `paper` profile's data: an ImageNet-style folder streamed from disk (decoding workers,
// bounded memory; lib/data/stream) under a name lib/data resolves by itself, so train() in any
// process (the grid's workers too) opens the same streams. Without real data, only the CI smoke
// of the paper path (SAT_PAPER_SMOKE) generates a small JPEG folder, labelled SYNTHETIC.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset, prepareDataset } from '../data';
import type { RealFolder, SyntheticFolderSpec } from '../data/image-folder-dataset';
import { streamDatasetName, type EvalCrop } from '../data/stream/dataset';
import { generateJpegFolder } from '../data/stream/generate';
import { SYNTHETIC_MARKER } from '../data/synthetic';
import type { ImageData, ImageDataSpec } from './imagenet-types';

/** data/synthetic-imagenet-jpeg-c<classes>-n<perClass>-v<val>-s<size>-seed<seed>: JPEGs of size·4/3 × size, written once. */
export async function syntheticJpegFolderFor(spec: SyntheticFolderSpec, parent: string): Promise<string> {
  const name = `synthetic-imagenet-jpeg-c${spec.classes}-n${spec.perClass}-v${spec.valPerClass}-s${spec.size}-seed${spec.seed}`;
  const root = path.join(parent, name);
  if (fs.existsSync(path.join(root, SYNTHETIC_MARKER))) return root;
  // Written under a temporary name and renamed, so an interrupted run never leaves half a folder.
  const tmp = path.join(parent, `${name}-${process.pid}.tmp`);
  fs.rmSync(tmp, { recursive: true, force: true });
  await generateJpegFolder(path.join(tmp, name), { ...spec, width: Math.round((spec.size * 4) / 3), height: spec.size });
  fs.rmSync(root, { recursive: true, force: true });
  fs.renameSync(path.join(tmp, name), root);
  fs.rmSync(tmp, { recursive: true, force: true });
  return root;
}

/** Opens the streams of `spec` on the real folder (or the generated stand-in when `real` is null) and names the data set. */
export async function prepareStreamedImageData(spec: ImageDataSpec & { stream: EvalCrop }, real: RealFolder | null, parent: string): Promise<ImageData> {
  const root = real?.root ?? (await syntheticJpegFolderFor(spec.synthetic, parent));
  // lib/data finds a streamed folder by its name in IMAGENET_DIR or data/: the generated one lies in data/.
  const dataset = streamDatasetName(path.basename(root), { size: spec.size, classes: spec.classes, cropScale: spec.cropScale, evalCrop: spec.stream });
  const limits = { trainLimit: spec.trainLimit, testLimit: spec.valLimit };
  await prepareDataset(dataset, limits);
  const d = loadDataset(dataset, limits);
  const synthetic = d.stream!.synthetic;
  return {
    dataset, root, synthetic,
    source: synthetic ? `SYNTHETIC: generated JPEG gratings (${path.relative(process.cwd(), root)}), not real data; ${d.source}` : `real images: ${real!.description}; ${d.source}`,
    classNames: d.stream!.train.index.classNames, train: d.stream!.train.n, val: d.stream!.test.n,
  };
}
