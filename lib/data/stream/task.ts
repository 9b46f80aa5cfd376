// One image of a stream: read, decode, preprocess. Runs inside a decoding worker, or in the
// calling thread when the pool has no workers; either way the same bytes come out, because the
// augmentation's randomness comes only from the task's seed. With sharp, training crops are cut
// and resized by libvips (about 3x less CPU than our JavaScript resampler); the crop box and flip
// are the same draws either way.
import * as fs from 'node:fs';
import { makeRng } from '../../util/rng';
import { decode, sharpCropResize, type Decoder } from './decode';
import { preprocessToBytes, randomResizedCropBox, type PreprocessSpec } from './image-ops';

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
  const rng = makeRng(t.seed);
  if (t.decoder === 'sharp' && t.spec.mode === 'train') {
    return sharpCropResize(buf, t.file, t.spec.size, (w, h) => ({ box: randomResizedCropBox(w, h, rng, t.spec.cropScale), flip: rng() < 0.5 }));
  }
  return preprocessToBytes(await decode(buf, t.file, t.decoder), t.spec, rng);
}
