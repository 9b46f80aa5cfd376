import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as jpeg from 'jpeg-js';
import { PNG, type ColorType } from 'pngjs';
import {
  centerCropBox, decodeImage, imageFolderBatches, loadImageFolder, numImageFolderBatches, preprocessImage,
  randomResizedCropBox, resizeBox, scanImageFolder, type Progress, type RgbImage,
} from '../lib/data/image-folder';
import { syntheticImageFolder } from '../lib/data/synthetic';
import { makeRng } from '../lib/util/rng';
import { testBackend } from './helpers/backend';

type PixelFn = (y: number, x: number, c: number) => number;
/** A smooth pattern (JPEG keeps it close) that differs by channel. */
const smooth = (seed: number): PixelFn => (y, x, c) => (40 + seed * 20 + y * 3 + x * 2 + c * 30) & 255;
/** A pattern with a distinct value almost everywhere, for exact position checks. */
const distinct: PixelFn = (y, x, c) => (y * 7 + x * 3 + c * 50 + ((x * y) >> 2)) & 255;

function rgba(w: number, h: number, f: PixelFn, alpha: (y: number, x: number) => number = () => 255): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    for (let c = 0; c < 3; c++) data[(y * w + x) * 4 + c] = f(y, x, c);
    data[(y * w + x) * 4 + 3] = alpha(y, x);
  }
  return data;
}

function pngBytes(w: number, h: number, f: PixelFn, colorType: ColorType = 2, alpha?: (y: number, x: number) => number): Buffer {
  const png = new PNG({ width: w, height: h });
  rgba(w, h, f, alpha).copy(png.data);
  return PNG.sync.write(png, { colorType });
}

function jpegBytes(w: number, h: number, f: PixelFn): Buffer {
  return jpeg.encode({ data: rgba(w, h, f), width: w, height: h }, 100).data;
}

function write(file: string, bytes: Buffer | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
}

/** train: a_dog 3, b_cat 3, c_bird 4 images (mixed JPEG/PNG, odd names); val: 1 each. */
function makeFolder(root: string): void {
  const t = (cls: string, name: string) => path.join(root, 'train', cls, name);
  write(t('b_cat', 'cat0.JPEG'), jpegBytes(40, 30, smooth(1)));
  write(t('b_cat', 'cat1.png'), pngBytes(24, 36, smooth(2)));
  write(t('b_cat', 'cat2.jpeg'), jpegBytes(33, 33, smooth(3)));
  write(t('b_cat', 'notes.txt'), 'not an image');
  write(t('b_cat', '.hidden.png'), 'ignored');
  write(t('a_dog', 'dog0.jpg'), jpegBytes(50, 20, smooth(4)));
  write(t('a_dog', 'dog1.png'), pngBytes(20, 20, (y, x) => (y * 10 + x) & 255, 0)); // grayscale
  write(t('a_dog', 'dog2.JPEG'), pngBytes(16, 16, smooth(5), 6, (y) => y * 16)); // a PNG named .JPEG, with alpha
  for (let i = 0; i < 4; i++) write(t('c_bird', `bird${i}.png`), pngBytes(30 + i, 28, smooth(6 + i)));
  for (const cls of ['a_dog', 'b_cat', 'c_bird']) write(path.join(root, 'val', cls, 'v.png'), pngBytes(36, 36, smooth(0)));
}

describe('image folders', () => {
  let tmp: string;
  let root: string;
  before(async () => {
    await testBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-imgfolder-'));
    root = path.join(tmp, 'tiny-imagenet');
    makeFolder(root);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('decoding', () => {
    it('decodes PNG exactly and JPEG closely, as RGB', () => {
      const png = decodeImage(pngBytes(24, 36, distinct), 'a.png');
      assert.deepEqual([png.width, png.height, png.data.length], [24, 36, 24 * 36 * 3]);
      for (let y = 0; y < 36; y++) for (let x = 0; x < 24; x++) for (let c = 0; c < 3; c++) {
        assert.equal(png.data[(y * 24 + x) * 3 + c], distinct(y, x, c));
      }
      const jpg = decodeImage(jpegBytes(40, 30, smooth(1)), 'a.jpg');
      assert.deepEqual([jpg.width, jpg.height, jpg.data.length], [40, 30, 40 * 30 * 3]);
      let worst = 0;
      for (let y = 0; y < 30; y++) for (let x = 0; x < 40; x++) for (let c = 0; c < 3; c++) {
        worst = Math.max(worst, Math.abs(jpg.data[(y * 40 + x) * 3 + c] - smooth(1)(y, x, c)));
      }
      assert.ok(worst <= 8, `JPEG error ${worst}`);
    });

    it('turns grayscale into equal RGB and drops alpha', () => {
      const grayBytes = pngBytes(20, 20, (y, x) => (y * 10 + x) & 255, 0);
      assert.equal(grayBytes[25], 0, 'the test image really is a grayscale PNG');
      const gray = decodeImage(grayBytes, 'g.png');
      for (let p = 0; p < 400; p++) {
        const v = (Math.floor(p / 20) * 10 + (p % 20)) & 255;
        assert.deepEqual(Array.from(gray.data.subarray(p * 3, p * 3 + 3)), [v, v, v]);
      }
      const withAlpha = decodeImage(pngBytes(16, 16, distinct, 6, (y) => y * 16), 'a.png');
      assert.equal(withAlpha.data.length, 16 * 16 * 3);
      assert.equal(withAlpha.data[(5 * 16 + 3) * 3 + 1], distinct(5, 3, 1));
    });

    it('names the file it cannot decode', () => {
      assert.throws(() => decodeImage(Buffer.from('GIF89a....'), '/x/bad.JPEG'), (e: Error) => /cannot decode image \/x\/bad\.JPEG: not a JPEG or PNG/.test(e.message));
      const broken = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(50, 3)]);
      assert.throws(() => decodeImage(broken, '/x/broken.jpg'), /cannot decode image \/x\/broken\.jpg: /);
    });
  });

  describe('listing', () => {
    it('indexes classes by sorted folder name and finds only image files', () => {
      const idx = scanImageFolder({ root, split: 'train' });
      assert.deepEqual(idx.classNames, ['a_dog', 'b_cat', 'c_bird']);
      assert.equal(idx.files.length, 10);
      assert.deepEqual(Array.from(idx.labels), [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]);
      assert.deepEqual(idx.files.slice(3, 6).map((f) => path.basename(f)), ['cat0.JPEG', 'cat1.png', 'cat2.jpeg']);
      assert.ok(idx.files.every((f, i) => path.basename(path.dirname(f)) === idx.classNames[idx.labels[i]]));
      assert.equal(idx.name, 'tiny-imagenet');
      assert.equal(idx.synthetic, false);
      assert.equal(scanImageFolder({ root, split: 'val' }).files.length, 3);
    });

    it('keeps classes balanced under limit and perClass', () => {
      const limited = scanImageFolder({ root, split: 'train', limit: 7 });
      assert.deepEqual(Array.from(limited.labels), [0, 0, 0, 1, 1, 2, 2]);
      const per = scanImageFolder({ root, split: 'train', perClass: 2 });
      assert.deepEqual(Array.from(per.labels), [0, 0, 1, 1, 2, 2]);
      assert.deepEqual(per.files.slice(0, 2).map((f) => path.basename(f)), ['dog0.jpg', 'dog1.png']);
      assert.throws(() => scanImageFolder({ root, limit: 0 }), /limit must be a positive integer/);
    });

    it('accepts a root that holds class folders directly', () => {
      const idx = scanImageFolder({ root: path.join(root, 'train') });
      assert.deepEqual(idx.classNames, ['a_dog', 'b_cat', 'c_bird']);
      assert.equal(idx.files.length, 10);
    });

    it('explains a missing root, a missing split and an empty class folder', () => {
      const missing = path.join(tmp, 'no-such-folder');
      assert.throws(() => scanImageFolder({ root: missing }), (e: Error) =>
        e.message.includes(missing) && /root\/train\/<class>/.test(e.message) && e.message.includes('https://github.com/fastai/imagenette'));
      const onlyTrain = path.join(tmp, 'only-train');
      write(path.join(onlyTrain, 'train', 'a', 'x.png'), pngBytes(4, 4, smooth(0)));
      assert.throws(() => scanImageFolder({ root: onlyTrain, split: 'val' }), /has no 'val' folder/);
      fs.mkdirSync(path.join(onlyTrain, 'train', 'b_empty'));
      write(path.join(onlyTrain, 'train', 'b_empty', 'readme.txt'), 'no images');
      assert.throws(() => scanImageFolder({ root: onlyTrain }), (e: Error) => e.message.includes(path.join(onlyTrain, 'train', 'b_empty')) && /has no images/.test(e.message));
    });
  });

  describe('crops and resizing', () => {
    const image = (w: number, h: number, f: PixelFn): RgbImage => decodeImage(pngBytes(w, h, f), 'x.png');

    it('eval preprocessing is an exact center crop when no resize is needed (28 from a 32-pixel side)', () => {
      for (const [w, h] of [[48, 32], [32, 45]]) {
        const img = image(w, h, distinct);
        const out = new Float32Array(28 * 28 * 3);
        preprocessImage(img, 28, 'eval', makeRng(0), out);
        const left = Math.round((w - 28) / 2), top = Math.round((h - 28) / 2);
        for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) for (let c = 0; c < 3; c++) {
          assert.equal(out[(y * 28 + x) * 3 + c], Math.fround(distinct(y + top, x + left, c) / 255), `${w}x${h} at ${y},${x},${c}`);
        }
      }
    });

    it('centerCropBox follows resize-shorter-side-to-256 then crop 224', () => {
      const box = centerCropBox(500, 375, 224);
      const s = 375 / 256; // source pixels per resized pixel
      assert.ok(Math.abs(box.h - 224 * s) < 1e-9);
      assert.ok(Math.abs(box.y - 16 * s) < 1e-9);
      assert.ok(Math.abs(box.x + box.w / 2 - 250) < 1.5, 'horizontally centred');
    });

    it('bilinear upscaling matches the half-pixel formula; downscaling averages (antialiased)', () => {
      const img = image(2, 1, (_y, x) => (x === 0 ? 0 : 200));
      const out = new Float32Array(4 * 3);
      resizeBox(img, { x: 0, y: 0, w: 2, h: 1 }, 4, 1, out);
      assert.deepEqual(Array.from(out.filter((_, i) => i % 3 === 0)).map((v) => Math.round(v * 255 * 100) / 100), [0, 50, 150, 200]);
      // Columns 255,0,0 repeating: plain point sampling would alias; a filtered 8x shrink is ~1/3 everywhere.
      const stripes = image(96, 8, (_y, x) => (x % 3 === 0 ? 255 : 0));
      const small = new Float32Array(12 * 3);
      resizeBox(stripes, { x: 0, y: 0, w: 96, h: 8 }, 12, 1, small);
      for (const v of small) assert.ok(Math.abs(v - 1 / 3) < 0.06, `got ${v}`);
      const flipped = new Float32Array(4 * 3);
      resizeBox(img, { x: 0, y: 0, w: 2, h: 1 }, 4, 1, flipped, 0, true);
      assert.deepEqual(Array.from(flipped.filter((_, i) => i % 3 === 0)), Array.from(out.filter((_, i) => i % 3 === 0)).reverse());
    });

    it('random-resized crop boxes stay inside with area 8-100% and aspect 3/4-4/3', () => {
      const rng = makeRng(2);
      let minArea = 1, maxArea = 0;
      for (let i = 0; i < 2000; i++) {
        const b = randomResizedCropBox(120, 90, rng);
        assert.ok(Number.isInteger(b.x) && Number.isInteger(b.w) && b.x >= 0 && b.y >= 0 && b.x + b.w <= 120 && b.y + b.h <= 90, JSON.stringify(b));
        const area = (b.w * b.h) / (120 * 90);
        minArea = Math.min(minArea, area);
        maxArea = Math.max(maxArea, area);
        assert.ok(area > 0.07 && area <= 1, `area ${area}`);
        assert.ok(b.w / b.h > 0.7 && b.w / b.h < 1.4, `aspect ${b.w / b.h}`);
      }
      assert.ok(minArea < 0.12 && maxArea > 0.8, `areas ${minArea}..${maxArea}`);
      // A very wide image cannot fit the aspect range: the fallback is a centred crop of ratio 4/3.
      const wide = randomResizedCropBox(400, 10, makeRng(1), [0.9, 1]);
      assert.deepEqual(wide, { x: Math.floor((400 - 13) / 2), y: 0, w: 13, h: 10 });
    });

    it('train preprocessing gives size x size in [0,1], repeatably per seed', () => {
      const img = image(50, 40, distinct);
      const a = new Float32Array(16 * 16 * 3);
      const b = new Float32Array(16 * 16 * 3);
      preprocessImage(img, 16, 'train', makeRng(9), a);
      preprocessImage(img, 16, 'train', makeRng(9), b);
      assert.deepEqual(a, b);
      assert.ok(a.every((v) => v >= 0 && v <= 1));
      preprocessImage(img, 16, 'train', makeRng(10), b);
      assert.notDeepEqual(a, b);
    });
  });

  describe('streaming and loading', () => {
    it('streams batches of the right count and shape, shuffled by seed, with progress and no leaks', async () => {
      const idx = scanImageFolder({ root, split: 'train' });
      const start = tf.memory().numTensors;
      const run = async (shuffleSeed?: number, keepLast?: boolean) => {
        const shapes: number[][] = [];
        const labels: number[] = [];
        const progress: Progress[] = [];
        for await (const b of imageFolderBatches(idx, { size: 12, batchSize: 4, shuffleSeed, keepLast, onProgress: (p) => progress.push(p) })) {
          shapes.push(b.x.shape);
          labels.push(...(b.y.dataSync() as Int32Array));
          const x = b.x.dataSync();
          assert.ok(x.every((v) => v >= 0 && v <= 1));
          assert.equal(b.y.dtype, 'int32');
          b.x.dispose();
          b.y.dispose();
        }
        return { shapes, labels, progress };
      };
      const plain = await run();
      assert.deepEqual(plain.shapes, [[4, 12, 12, 3], [4, 12, 12, 3], [2, 12, 12, 3]]);
      assert.deepEqual(plain.labels, Array.from(idx.labels));
      assert.deepEqual(plain.progress.map((p) => [p.done, p.total]), [[4, 10], [8, 10], [10, 10]]);
      const shuffled = await run(3);
      assert.notDeepEqual(shuffled.labels, plain.labels);
      assert.deepEqual([...shuffled.labels].sort(), [...plain.labels].sort());
      assert.deepEqual((await run(3)).labels, shuffled.labels);
      const dropLast = await run(3, false);
      assert.equal(dropLast.shapes.length, 2);
      assert.equal(numImageFolderBatches(idx, { batchSize: 4, keepLast: false }), 2);
      assert.equal(tf.memory().numTensors, start);
    });

    it('materialises a split as an ImageDataset with the eval crop', async () => {
      const ds = await loadImageFolder({ root, split: 'val', size: 20 });
      assert.deepEqual([ds.n, ds.height, ds.width, ds.channels, ds.numClasses], [3, 20, 20, 3, 3]);
      assert.deepEqual(Array.from(ds.labels), [0, 1, 2]);
      assert.deepEqual(ds.classNames, ['a_dog', 'b_cat', 'c_bird']);
      assert.equal(ds.synthetic, undefined);
      assert.equal(ds.images.length, 3 * 20 * 20 * 3);
      const single = new Float32Array(20 * 20 * 3);
      preprocessImage(decodeImage(fs.readFileSync(path.join(root, 'val', 'b_cat', 'v.png')), 'v'), 20, 'eval', makeRng(0), single);
      assert.deepEqual(ds.images.subarray(1200, 2400), single);
      const two = await loadImageFolder({ root, split: 'train', size: 8, perClass: 1 });
      assert.deepEqual(Array.from(two.labels), [0, 1, 2]);
    });

    it('names an undecodable file when loading', async () => {
      const bad = path.join(tmp, 'bad-folder');
      write(path.join(bad, 'train', 'a', 'ok.png'), pngBytes(8, 8, smooth(0)));
      write(path.join(bad, 'train', 'a', 'zz-broken.jpg'), 'definitely not a jpeg');
      await assert.rejects(loadImageFolder({ root: bad, size: 8 }), (e: Error) => e.message.includes(path.join(bad, 'train', 'a', 'zz-broken.jpg')));
    });

    it('generates a synthetic folder that loads as synthetic data with varied image sizes', async () => {
      const dir = path.join(tmp, 'synthetic-imagenet');
      const made = syntheticImageFolder(dir, { classes: 4, perClass: 3, valPerClass: 2, size: 16, seed: 1 });
      assert.deepEqual([made.train, made.val], [12, 8]);
      const ds = await loadImageFolder({ root: dir, split: 'train', size: 16 });
      assert.equal(ds.synthetic, true);
      assert.equal(ds.name, 'synthetic-imagenet');
      assert.equal(ds.numClasses, 4);
      assert.equal(ds.n, 12);
      const val = scanImageFolder({ root: dir, split: 'val' });
      assert.equal(val.files.length, 8);
      assert.equal(val.synthetic, true);
      const sizes = new Set(scanImageFolder({ root: dir }).files.map((f) => {
        const img = decodeImage(fs.readFileSync(f), f);
        return `${img.width}x${img.height}`;
      }));
      assert.ok(sizes.size > 1, 'image sizes vary');
      assert.throws(() => syntheticImageFolder(path.join(tmp, 'imagenet')), /must contain 'synthetic'/);
    });
  });
});
