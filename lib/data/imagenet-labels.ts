// ImageNet class indices for image folders. Released ImageNet models predict 1000 classes in
// the order of the sorted WordNet IDs (n01440764 = 0, …, n15075141 = 999), which is what both
// tensorpack's ILSVRC12 loader and the TPU EfficientNet labels use. A folder holding all 1000
// class folders gets that order by sorting; a subset (e.g. Imagenette's 10 classes) needs the
// full list to know each class's index.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ImageFolderIndex } from './image-folder';

const WNID = /^n\d{8}$/;
/** Files that list the 1000 WordNet IDs in class-index order, looked for in the folder's root. */
export const SYNSET_FILES = ['LOC_synset_mapping.txt', 'synsets.txt', 'synset_words.txt', 'imagenet_class_index.json'];

/** Reads a synset list: one WordNet ID per line (first word), or Keras's imagenet_class_index.json. */
export function readSynsetList(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const ids = file.endsWith('.json')
    ? Object.entries(JSON.parse(text) as Record<string, [string, string]>)
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([, v]) => v[0])
    : text.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((w) => w.length > 0);
  if (ids.length !== 1000 || !ids.every((w) => WNID.test(w))) {
    throw new Error(`${file} is not an ImageNet synset list: expected 1000 WordNet IDs (n01440764 …), found ${ids.length} entries${ids[0] ? ` starting '${ids[0]}'` : ''}.`);
  }
  return ids;
}

export interface ImagenetLabels {
  /** Each image's ImageNet class index (0…999), or the folder's own index for a synthetic folder. */
  labels: Int32Array;
  /** How the indices were found, in words. */
  source: string;
}

/**
 * The ImageNet class index of every image in `index`. Uses the sorted class folders when all
 * 1000 are there, else a synset list (`synsetsFile`, or one of SYNSET_FILES in the root or its
 * parent). A synthetic folder keeps its own indices (its classes are not ImageNet's).
 */
export function imagenetLabels(index: ImageFolderIndex, synsetsFile?: string): ImagenetLabels {
  if (index.synthetic && !synsetsFile) return { labels: index.labels, source: `generated classes 0…${index.classNames.length - 1} (synthetic folder, not ImageNet classes)` };
  const named = index.classNames.every((c) => WNID.test(c));
  if (!synsetsFile && index.classNames.length === 1000 && named) return { labels: index.labels, source: '1000 class folders in sorted WordNet-ID order' };
  const file = synsetsFile ?? [index.root, path.dirname(index.root)].flatMap((d) => SYNSET_FILES.map((f) => path.join(d, f))).find((f) => fs.existsSync(f));
  if (!file) {
    throw new Error(
      `${index.dir} has ${index.classNames.length} class folders${named ? '' : ` (e.g. '${index.classNames[0]}', not WordNet IDs)`}; ` +
        'ImageNet models need each class\'s index among the 1000 ImageNet classes. Use the full validation set in class folders ' +
        `(val/n01440764/…), or put a synset list (${SYNSET_FILES.join(', ')}: the 1000 WordNet IDs in class order, as shipped with ImageNet downloads) ` +
        'in the data folder or pass it with --synsets.',
    );
  }
  const order = new Map(readSynsetList(file).map((w, i) => [w, i]));
  const unknown = index.classNames.filter((c) => !order.has(c));
  if (unknown.length > 0) throw new Error(`class folders not in ${file}: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}; class folders must be named by WordNet ID (n01440764).`);
  const byClass = index.classNames.map((c) => order.get(c)!);
  return { labels: Int32Array.from(index.labels, (k) => byClass[k]), source: `class folders mapped through ${path.basename(file)}` };
}
