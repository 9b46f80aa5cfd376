// Installing CIFAR-10 from its official archive: md5 check, unpacking, and a read of each split.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extractTarGz } from '../util/tar';
import { md5File } from '../util/download';
import { CIFAR10_FOLDER, CIFAR10_MD5, CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, loadCifar10 } from './cifar10';

/** True when `dir` holds all six CIFAR-10 batch files. */
export function hasAllCifarFiles(dir: string): boolean {
  return [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].every((f) => fs.existsSync(path.join(dir, f)));
}

/** Checks the archive's md5, unpacks it into `dir` and checks the result; returns the CIFAR-10 folder. */
export async function installCifar10(archive: string, dir: string, expectedMd5 = CIFAR10_MD5): Promise<string> {
  const md5 = await md5File(archive);
  if (md5 !== expectedMd5) {
    throw new Error(`${archive} has md5 ${md5}, expected ${expectedMd5}: it is damaged or not the CIFAR-10 binary archive; delete it and download it again`);
  }
  await extractTarGz(archive, dir);
  const folder = path.join(dir, CIFAR10_FOLDER);
  if (!hasAllCifarFiles(folder)) throw new Error(`${archive} unpacked, but ${folder} lacks some of the batch files; the archive is not CIFAR-10's binary version`);
  // Reading one record per split checks every file's size and the first labels.
  loadCifar10({ dir: folder, split: 'train', limit: 1 });
  loadCifar10({ dir: folder, split: 'test', limit: 1 });
  return folder;
}

