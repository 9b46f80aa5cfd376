// One image of a stream: read, decode, preprocess. Runs inside a decoding worker, or in the
// calling thread when the pool has no workers; either way the same bytes come out, because the
// augmentation's randomness comes only from the task's seed.
import * as fs from 'node:fs';
import { makeRng } from '../../util/rng';
import { decode, type Decoder } from './decode';
import { preprocessToBytes, type PreprocessSpec } from './image-ops';

export interface ImageTask {
  file: string;
  spec: PreprocessSpec;
  /** Seed of this image's augmentation (derived from the run's seed, the epoch and its position). */
  seed: number;
  decoder: Decoder;
}

/** The network input (size × size × 3 bytes, RGB) for one task. */
export async function runImageTask(t: ImageTask): Promise<Uint8Array> {
  const buf = await fs.promises.readFile(t.file);
  const img = await decode(buf, t.file, t.decoder);
  return preprocessToBytes(img, t.spec, makeRng(t.seed));
}
