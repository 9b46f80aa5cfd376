// `sat data fashion-mnist` / `sat data mnist`: fetches the four IDX files of an MNIST-style set
// into one folder and checks each by reading it (magic number, counts, images against labels):
// a damaged or truncated download fails there, with the file named, instead of in a training run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { byteProgress, downloadFile } from '../util/download';
import { IDX_FILES, findIdxFile, loadIdxPair } from './idx';

export interface IdxSetInfo {
  /** e.g. 'Fashion-MNIST'. */
  title: string;
  /** Folder URL the four *-ubyte.gz files are under (ends with /). */
  baseUrl: string;
  classNames: string[];
  /** How to bring the files by hand, for error messages. */
  manual: string;
}

const EXPECTED = { train: 60000, test: 10000 } as const;

/** Checks one split in `dir`; returns its image count or throws naming the file. */
function checkSplit(dir: string, split: 'train' | 'test', info: IdxSetInfo): number {
  const f = IDX_FILES[split];
  const images = findIdxFile(dir, f.images);
  const labels = findIdxFile(dir, f.labels);
  if (!images || !labels) throw new Error(`${info.title}: ${path.join(dir, f.images)}.gz or ${f.labels}.gz is missing; ${info.manual}`);
  const ds = loadIdxPair(images, labels, { name: info.title, classNames: info.classNames, fix: `delete it and run the command again, or ${info.manual}` });
  if (ds.n !== EXPECTED[split] || ds.height !== 28 || ds.width !== 28) {
    throw new Error(`${images}: ${ds.n} images of ${ds.height}x${ds.width}, expected ${EXPECTED[split]} of 28x28: not the ${info.title} ${split} set; ${info.manual}`);
  }
  return ds.n;
}

/** Downloads what is missing into `dir` and checks all four files. */
export async function installIdxSet(dir: string, info: IdxSetInfo, opts: { log?: (s: string) => void } = {}): Promise<void> {
  const log = opts.log ?? ((s: string) => console.error(s));
  fs.mkdirSync(dir, { recursive: true });
  for (const split of ['train', 'test'] as const) {
    for (const base of [IDX_FILES[split].images, IDX_FILES[split].labels]) {
      if (findIdxFile(dir, base)) continue;
      const url = `${info.baseUrl}${base}.gz`;
      log(`downloading ${url}`);
      try {
        await downloadFile(url, path.join(dir, `${base}.gz`), { onProgress: byteProgress(base) });
      } catch (e) {
        throw new Error(`${(e as Error).message}; ${info.manual}`);
      }
    }
    checkSplit(dir, split, info);
  }
}
