import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { scanImageFolder, centerCropBox } from '../lib/data/image-folder';
import { decode, loadSharp, resolveDecoder } from '../lib/data/stream/decode';
import { ImageFolderStream, streamMemoryBound } from '../lib/data/stream/folder-stream';
import { generateJpegFolder } from '../lib/data/stream/generate';
import {
  bicubicResize, efficientnetOfficialCrop, preprocessToBytes, resnetOfficialEval, resnetOfficialGeometry, type RgbImage,
} from '../lib/data/stream/image-ops';
import { runImageTask } from '../lib/data/stream/task';
import { makeRng } from '../lib/util/rng';
import { testBackend } from './helpers/backend';

const rowImage = (values: number[]): RgbImage => ({ data: Uint8Array.from(values.flatMap((v) => [v, v, v])), width: values.length, height: 1 });
const red = (img: RgbImage) => Array.from(img.data.filter((_, i) => i % 3 === 0));

/** Collects a stream's batches as plain arrays (disposing the tensors). */
async function collect(stream: AsyncIterable<{ x: tf.Tensor4D; y: tf.Tensor1D }>): Promise<{ x: Float32Array; y: Int32Array }[]> {
  const out: { x: Float32Array; y: Int32Array }[] = [];
  for await (const b of stream) {
    out.push({ x: b.x.dataSync() as Float32Array, y: b.y.dataSync() as Int32Array });
    b.x.dispose();
    b.y.dispose();
  }
  return out;
}

describe('streaming image pipeline', () => {
  describe('the official evaluation crops', () => {
    it("ResNet: tensorpack's ResizeShortestEdge rounds the long side, CenterCrop floors the offset", () => {
      // The example: 500x375 -> 341x256, cropped at x = 58 (our timm-style centerCropBox says 59).
      assert.deepEqual(resnetOfficialGeometry(500, 375, 224), { resizedW: 341, resizedH: 256, x: 58, y: 16 });
      assert.equal(Math.round(centerCropBox(500, 375, 224).x / (375 / 256)), 59);
      // Portrait: the same with the axes swapped.
      assert.deepEqual(resnetOfficialGeometry(375, 500, 224), { resizedW: 256, resizedH: 341, x: 16, y: 58 });
      // 500x377: 256·500/377 = 339.52 rounds to 340 (flooring would give 339); offset int(116·0.5) = 58.
      assert.deepEqual(resnetOfficialGeometry(500, 377, 224), { resizedW: 340, resizedH: 256, x: 58, y: 16 });
      // EfficientNet-B7's 600 px: shorter side to 632.
      assert.deepEqual(resnetOfficialGeometry(800, 600, 600), { resizedW: 843, resizedH: 632, x: 121, y: 16 });
    });

    it('EfficientNet: a central square of int(size/(size+32) · shorter side) at ((H − side) + 1) // 2', () => {
      assert.deepEqual(efficientnetOfficialCrop(500, 375, 224), { x: 86, y: 24, side: 328 });
      // B7 (600 px): 600/632 · 375 = 356.01 -> 356; offsets (500-356+1)//2 = 72, (375-356+1)//2 = 10.
      assert.deepEqual(efficientnetOfficialCrop(500, 375, 600), { x: 72, y: 10, side: 356 });
    });

    it("bicubic resize uses Keys' kernel with A = -0.75 (OpenCV's INTER_CUBIC) and replicated edges", () => {
      // 4 -> 8 pixels, output 3 samples at 1.25: taps 0,100,200,100 with weights
      // -0.10546875, 0.87890625, 0.26171875, -0.03515625 (hand-computed) = 136.72 -> 137.
      const up = bicubicResize(rowImage([0, 100, 200, 100]), { x: 0, y: 0, w: 4, h: 1 }, 8, 1, true);
      assert.equal(red(up)[3], 137);
      // Output 7 samples at 3.25: taps 2,3,3,3 (the last replicated) = 200·-0.10546875 + 100·1.10546875 = 89.45 -> 89.
      assert.equal(red(up)[7], 89);
      // Output 0 samples at -0.25: taps 0,0,0,1 = 100·-0.10546875 < 0, clamped to 0.
      assert.equal(red(up)[0], 0);
      // Same size is the identity; a constant stays constant when shrinking.
      const ramp = rowImage([3, 50, 97, 140, 200, 255]);
      assert.deepEqual(red(bicubicResize(ramp, { x: 0, y: 0, w: 6, h: 1 }, 6, 1, true)), red(ramp));
      assert.deepEqual(red(bicubicResize(ramp, { x: 0, y: 0, w: 6, h: 1 }, 6, 1, false)), red(ramp));
      assert.ok(red(bicubicResize(rowImage(Array(12).fill(77)), { x: 0, y: 0, w: 12, h: 1 }, 5, 1, true)).every((v) => v === 77));
      // TF1 (no half-pixel centres): output 1 of a 2x upscale samples source 0.5 exactly.
      const tf1 = bicubicResize(rowImage([0, 100, 200, 100]), { x: 0, y: 0, w: 4, h: 1 }, 8, 1, false);
      assert.equal(red(tf1)[2], 100, 'output 2 samples source 1');
    });

    it('resnetOfficialEval gives size x size from the rounded resize and floored crop', () => {
      const w = 50, h = 30, size = 20; // short side to 52: 87x52 (86.67 rounds up), crop at (33, 16)
      const img: RgbImage = { data: new Uint8Array(w * h * 3).map((_, i) => (i * 7) % 256), width: w, height: h };
      assert.deepEqual(resnetOfficialGeometry(w, h, size), { resizedW: 87, resizedH: 52, x: 33, y: 16 });
      const full = bicubicResize(img, { x: 0, y: 0, w, h }, 87, 52, true);
      const out = resnetOfficialEval(img, size);
      assert.equal(out.width, size);
      assert.deepEqual(Array.from(out.data.subarray(0, 3)), Array.from(full.data.subarray((16 * 87 + 33) * 3, (16 * 87 + 33) * 3 + 3)));
      const bytes = preprocessToBytes(img, { size, mode: 'eval', evalCrop: 'resnet-official' }, makeRng(0));
      assert.deepEqual(bytes, out.data);
    });
  });

  describe('decoding and streaming', () => {
    let tmp: string;
    let root: string;
    before(async () => {
      await testBackend();
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-stream-'));
      root = await generateJpegFolder(path.join(tmp, 'synthetic-stream'), { classes: 3, perClass: 7, valPerClass: 2, width: 64, height: 48, seed: 3 });
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it('sharp loads here, and sharp and jpeg-js decode the same JPEG to within a few levels', async () => {
      assert.ok(loadSharp(), 'sharp should load from its prebuilt binary');
      assert.equal(resolveDecoder('auto'), 'sharp');
      assert.equal(resolveDecoder('jpeg-js'), 'jpeg-js');
      assert.throws(() => resolveDecoder('libjpeg' as never), /Valid decoders: auto, sharp, jpeg-js/);
      const file = scanImageFolder({ root, split: 'train' }).files[0];
      const buf = fs.readFileSync(file);
      const [a, b] = [await decode(buf, file, 'sharp'), await decode(buf, file, 'jpeg-js')];
      assert.deepEqual([a.width, a.height, a.data.length], [64, 48, 64 * 48 * 3]);
      assert.deepEqual([b.width, b.height], [64, 48]);
      let diff = 0;
      for (let i = 0; i < a.data.length; i++) diff += Math.abs(a.data[i] - b.data[i]);
      assert.ok(diff / a.data.length < 2, `mean difference ${diff / a.data.length} levels`);
      await assert.rejects(decode(Buffer.from('not a jpeg at all'), 'bad.JPEG', 'sharp'), /cannot decode image bad\.JPEG/);
    });

    it('sharp and jpeg-js training crops cut the same box and flip (only the resampler differs)', async () => {
      const file = scanImageFolder({ root, split: 'train' }).files[2];
      const spec = { size: 24, mode: 'train' as const, cropScale: [0.3, 1] as [number, number] };
      for (const seed of [1, 2, 3]) {
        const [a, b] = [await runImageTask({ file, spec, seed, decoder: 'sharp' }), await runImageTask({ file, spec, seed, decoder: 'jpeg-js' })];
        let diff = 0;
        for (let i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
        // The generated images carry ±15 levels of pixel noise, which two resamplers average differently.
        assert.ok(diff / a.length < 8, `seed ${seed}: mean difference ${diff / a.length} levels`);
      }
      // A different seed gives a different crop.
      const [c, d] = [await runImageTask({ file, spec, seed: 1, decoder: 'sharp' }), await runImageTask({ file, spec, seed: 9, decoder: 'sharp' })];
      assert.notDeepEqual(c, d);
    });

    it('gives the same batches with 0, 1 or 2 workers, a shuffled order per epoch, and resumes at any batch', async () => {
      const index = scanImageFolder({ root, split: 'train' });
      const spec = { size: 24, mode: 'train' as const };
      const before = tf.memory().numTensors;
      const runs = [];
      for (const workers of [0, 1, 2]) {
        const s = new ImageFolderStream(index, { spec, workers, prefetchBatches: 2 });
        runs.push(await collect(s.batches({ batchSize: 4, seed: 5, epoch: 1 })));
        if (workers === 2) {
          const resumed = await collect(s.batches({ batchSize: 4, seed: 5, epoch: 1, fromBatch: 3 }));
          assert.deepEqual(resumed, runs[2].slice(3), 'batches 3.. of a resumed epoch equal the uninterrupted ones');
          const other = await collect(s.batches({ batchSize: 4, seed: 5, epoch: 2 }));
          assert.notDeepEqual(other.map((b) => Array.from(b.y)), runs[2].map((b) => Array.from(b.y)), 'another epoch, another order');
        }
        await s.close();
      }
      assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
      assert.deepEqual(runs[1], runs[0]);
      assert.deepEqual(runs[2], runs[0]);
      assert.deepEqual(runs[0].map((b) => b.y.length), [4, 4, 4, 4, 4, 1]);
      // Every image once per epoch, with its folder's label.
      const labels = runs[0].flatMap((b) => Array.from(b.y)).sort();
      assert.deepEqual(labels, Array.from(index.labels).sort());
      assert.ok(runs[0].every((b) => b.x.every((v) => v >= 0 && v <= 1)));
    });

    it('evaluation batches follow the folder order with the official crop; limit and keepLast cut the epoch', async () => {
      const index = scanImageFolder({ root, split: 'val' });
      const s = new ImageFolderStream(index, { spec: { size: 16, mode: 'eval', evalCrop: 'resnet-official' }, workers: 1 });
      try {
        const all = await collect(s.batches({ batchSize: 4 }));
        assert.deepEqual(all.flatMap((b) => Array.from(b.y)), Array.from(index.labels));
        const img = await decode(fs.readFileSync(index.files[0]), index.files[0], s.decoder);
        const want = resnetOfficialEval(img, 16).data;
        assert.deepEqual(Array.from(all[0].x.subarray(0, want.length), (v) => Math.round(v * 255)), Array.from(want));
        assert.equal(s.numBatches(4, { limit: 5 }), 2);
        assert.deepEqual((await collect(s.batches({ batchSize: 4, limit: 5, keepLast: false }))).map((b) => b.y.length), [4]);
      } finally {
        await s.close();
      }
    });

    it('names the file it cannot decode, from a worker', async () => {
      const bad = path.join(tmp, 'synthetic-bad', 'train', 'a');
      fs.mkdirSync(bad, { recursive: true });
      fs.writeFileSync(path.join(bad, 'broken.JPEG'), Buffer.from([0xff, 0xd8, 1, 2, 3]));
      const s = new ImageFolderStream(scanImageFolder({ root: path.dirname(path.dirname(bad)), split: 'train' }), { spec: { size: 8, mode: 'train' }, workers: 1 });
      try {
        await assert.rejects(collect(s.batches({ batchSize: 1, seed: 0 })), /cannot decode image .*broken\.JPEG/);
      } finally {
        await s.close();
      }
    });

    it('states its memory bound, independent of the number of images', () => {
      // (2 prefetched + 1) batches of 256 uint8 images at 224 px plus one float32 batch: 269.7 MB.
      assert.equal(streamMemoryBound(256, 224, 2), 3 * 256 * 224 * 224 * 3 + 256 * 224 * 224 * 12);
      assert.ok(Math.abs(streamMemoryBound(256, 224, 2) / 1e6 - 269.7) < 0.1);
    });
  });
});
