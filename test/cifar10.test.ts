import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CIFAR10_FOLDER, CIFAR10_RECORD_BYTES, findCifar10, loadCifar10 } from '../lib/data/cifar10';
import { syntheticCifar10 } from '../lib/data/synthetic';
import { dataCommand } from '../lib/cli/data';
import { installCifar10 } from '../lib/data/cifar10-install';
import { downloadFile, md5File } from '../lib/util/download';
import { extractTarGz } from '../lib/util/tar';

// Pixel byte of image i, channel c, row y, column x: distinct enough that any mix-up of
// channel order, planar vs interleaved layout, rows vs columns or record order shows.
const pixelByte = (i: number, c: number, y: number, x: number) => (i * 37 + c * 101 + y * 13 + x * 7 + y * x) & 255;
const labelOf = (i: number) => (i * 3) % 10;

/** Writes records first..first+count-1 in the CIFAR-10 binary format. */
function writeBatch(file: string, first: number, count: number): void {
  const buf = Buffer.alloc(count * CIFAR10_RECORD_BYTES);
  for (let r = 0; r < count; r++) {
    const i = first + r;
    const rec = r * CIFAR10_RECORD_BYTES;
    buf[rec] = labelOf(i);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
      buf[rec + 1 + c * 1024 + y * 32 + x] = pixelByte(i, c, y, x);
    }
  }
  fs.writeFileSync(file, buf);
}

const TRAIN_COUNTS = [3, 2, 2, 1, 2];
const TEST_COUNT = 4;
const META = 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n';

/** A complete small CIFAR-10 folder under `parent`; returns the cifar-10-batches-bin path. */
function makeCifarDir(parent: string): string {
  const dir = path.join(parent, CIFAR10_FOLDER);
  fs.mkdirSync(dir, { recursive: true });
  let first = 0;
  TRAIN_COUNTS.forEach((count, b) => {
    writeBatch(path.join(dir, `data_batch_${b + 1}.bin`), first, count);
    first += count;
  });
  writeBatch(path.join(dir, 'test_batch.bin'), 1000, TEST_COUNT);
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), META);
  return dir;
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sat-cifar-'));
}

function assertPixels(images: Float32Array, n: number, firstIndex: number): void {
  for (let i = 0; i < n; i++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) {
    const got = images[((i * 32 + y) * 32 + x) * 3 + c];
    const want = Math.fround(pixelByte(firstIndex + i, c, y, x) / 255);
    if (got !== want) assert.fail(`image ${i} row ${y} col ${x} channel ${c}: got ${got * 255}, want ${want * 255}`);
  }
}

/** Runs `fn` with console.log/error captured; returns the exit code and the error lines. */
async function capture(fn: () => Promise<number>): Promise<{ code: number; err: string; out: string }> {
  const err: string[] = [];
  const out: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    return { code: await fn(), err: err.join('\n'), out: out.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe('CIFAR-10 binary loader', () => {
  let root: string;
  let dir: string;
  const savedEnv = process.env.CIFAR10_DIR;
  before(() => {
    root = tmpDir();
    dir = makeCifarDir(root);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.CIFAR10_DIR;
    else process.env.CIFAR10_DIR = savedEnv;
  });

  it('puts every training pixel at its NHWC position and channel, across all five batch files', () => {
    const ds = loadCifar10({ dir, split: 'train' });
    const n = TRAIN_COUNTS.reduce((a, b) => a + b, 0);
    assert.equal(ds.n, n);
    assert.deepEqual([ds.height, ds.width, ds.channels, ds.numClasses], [32, 32, 3, 10]);
    assert.equal(ds.images.length, n * 3072);
    assertPixels(ds.images, n, 0);
    assert.deepEqual(Array.from(ds.labels), Array.from({ length: n }, (_, i) => labelOf(i)));
    assert.equal(ds.classNames?.[9], 'truck');
    assert.equal(ds.synthetic, undefined);
    assert.equal(ds.name, 'cifar10');
  });

  it('loads the test split and honours limit across file boundaries', () => {
    const test = loadCifar10({ dir, split: 'test' });
    assert.equal(test.n, TEST_COUNT);
    assertPixels(test.images, TEST_COUNT, 1000);
    const four = loadCifar10({ dir, split: 'train', limit: 4 }); // 3 from batch 1, 1 from batch 2
    assert.equal(four.n, 4);
    assertPixels(four.images, 4, 0);
    assert.equal(loadCifar10({ dir, split: 'train', limit: 1000 }).n, 10);
  });

  it('accepts the parent folder and CIFAR10_DIR, and findCifar10 reports where it is', () => {
    assert.equal(loadCifar10({ dir: root, split: 'test' }).n, TEST_COUNT);
    process.env.CIFAR10_DIR = root;
    assert.equal(findCifar10(), dir);
    assert.equal(loadCifar10({ split: 'test' }).n, TEST_COUNT);
    const empty = tmpDir();
    process.env.CIFAR10_DIR = empty;
    assert.equal(findCifar10(), null);
    assert.throws(() => loadCifar10({ split: 'test' }), (e: Error) => /not found/.test(e.message) && e.message.includes(empty) && /sat data cifar10/.test(e.message));
    fs.rmSync(empty, { recursive: true });
  });

  it('names the folder, the layout and where to get the data when it is missing', () => {
    const missing = path.join(root, 'nowhere');
    assert.throws(
      () => loadCifar10({ dir: missing, split: 'train' }),
      (e: Error) => e.message.includes(missing) && e.message.includes('https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz') && /CIFAR10_DIR/.test(e.message),
    );
  });

  describe('damaged files', () => {
    let bad: string;
    beforeEach(() => {
      bad = makeCifarDir(tmpDir());
    });
    afterEach(() => fs.rmSync(path.dirname(bad), { recursive: true, force: true }));

    it('rejects a file whose size is not a multiple of 3073 bytes, naming it', () => {
      fs.appendFileSync(path.join(bad, 'data_batch_2.bin'), Buffer.alloc(5));
      assert.throws(
        () => loadCifar10({ dir: bad, split: 'train', limit: 1 }),
        (e: Error) => e.message.includes('data_batch_2.bin') && /6151 bytes/.test(e.message) && /multiple of 3073/.test(e.message) && /sat data cifar10/.test(e.message),
      );
    });

    it('rejects an empty file and a missing batch file', () => {
      fs.writeFileSync(path.join(bad, 'test_batch.bin'), '');
      assert.throws(() => loadCifar10({ dir: bad, split: 'test' }), /test_batch\.bin has 0 bytes/);
      fs.rmSync(path.join(bad, 'data_batch_4.bin'));
      assert.throws(() => loadCifar10({ dir: bad, split: 'train' }), (e: Error) => e.message.includes('data_batch_4.bin') && /missing/.test(e.message));
    });

    it('rejects labels outside 0..9 with the file and record', () => {
      const file = path.join(bad, 'test_batch.bin');
      const buf = fs.readFileSync(file);
      buf[2 * CIFAR10_RECORD_BYTES] = 10;
      fs.writeFileSync(file, buf);
      assert.throws(() => loadCifar10({ dir: bad, split: 'test' }), (e: Error) => e.message.includes('test_batch.bin') && /record 2 has label 10/.test(e.message));
    });

    it('rejects a class-name file without 10 names', () => {
      fs.writeFileSync(path.join(bad, 'batches.meta.txt'), 'cat\ndog\n');
      assert.throws(() => loadCifar10({ dir: bad, split: 'test' }), /batches\.meta\.txt: expected 10 class names/);
    });
  });
});

describe('synthetic CIFAR-10 stand-in', () => {
  it('has CIFAR-10 shape, balanced labels, says it is synthetic, and repeats by seed', () => {
    const a = syntheticCifar10({ n: 200, seed: 3 });
    assert.deepEqual([a.n, a.height, a.width, a.channels, a.numClasses], [200, 32, 32, 3, 10]);
    assert.equal(a.synthetic, true);
    assert.equal(a.name, 'synthetic-cifar10');
    assert.equal(a.images.length, 200 * 3072);
    const counts = new Array(10).fill(0);
    a.labels.forEach((l) => counts[l]++);
    assert.deepEqual(counts, new Array(10).fill(20));
    assert.ok(a.images.every((v) => v >= 0 && v <= 1));
    const again = syntheticCifar10({ n: 200, seed: 3 });
    assert.deepEqual(again.labels, a.labels);
    assert.deepEqual(again.images, a.images);
    assert.notDeepEqual(syntheticCifar10({ n: 200, seed: 4 }).images, a.images);
  });

  it('has classes a simple orientation feature separates (so a CNN can learn them)', () => {
    // Structure tensor of the grey image gives the dominant gradient direction (as 2*angle).
    const feature = (ds: ReturnType<typeof syntheticCifar10>, i: number): [number, number] => {
      let xx = 0, xy = 0, yy = 0;
      const g = (y: number, x: number) => {
        const o = ((i * 32 + y) * 32 + x) * 3;
        return ds.images[o] + ds.images[o + 1] + ds.images[o + 2];
      };
      for (let y = 0; y < 31; y++) for (let x = 0; x < 31; x++) {
        const gx = g(y, x + 1) - g(y, x);
        const gy = g(y + 1, x) - g(y, x);
        xx += gx * gx; xy += gx * gy; yy += gy * gy;
      }
      return [(xx - yy) / (xx + yy), (2 * xy) / (xx + yy)];
    };
    const train = syntheticCifar10({ n: 300, seed: 1 });
    const test = syntheticCifar10({ n: 200, seed: 2 });
    const centroids = Array.from({ length: 10 }, () => [0, 0, 0]);
    for (let i = 0; i < train.n; i++) {
      const [a, b] = feature(train, i);
      const c = centroids[train.labels[i]];
      c[0] += a; c[1] += b; c[2]++;
    }
    let correct = 0;
    for (let i = 0; i < test.n; i++) {
      const [a, b] = feature(test, i);
      let best = -1, bestD = Infinity;
      centroids.forEach(([sa, sb, n], k) => {
        const d = (a - sa / n) ** 2 + (b - sb / n) ** 2;
        if (d < bestD) { bestD = d; best = k; }
      });
      if (best === test.labels[i]) correct++;
    }
    assert.ok(correct / test.n > 0.6, `nearest-centroid accuracy ${correct / test.n} (chance is 0.1)`);
  });
});

describe('sat data cifar10', () => {
  let work: string;
  beforeEach(() => {
    work = tmpDir();
  });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  const hasTar = (() => {
    try {
      execFileSync('tar', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  /** A .tar.gz of a small CIFAR-10 folder (plus a long-named file), made by the system tar. */
  function makeArchive(): { archive: string; longName: string } {
    const src = path.join(work, 'src');
    const dir = makeCifarDir(src);
    const longName = `${'n'.repeat(120)}.txt`;
    fs.writeFileSync(path.join(dir, longName), 'long name survives\n');
    const archive = path.join(work, 'cifar.tar.gz');
    execFileSync('tar', ['czf', archive, '-C', src, CIFAR10_FOLDER]);
    return { archive, longName };
  }

  it('checks the md5, unpacks with its own tar reader and yields identical data', async function () {
    if (!hasTar) this.skip();
    const { archive, longName } = makeArchive();
    const dest = path.join(work, 'dest');
    const folder = await installCifar10(archive, dest, await md5File(archive));
    assert.equal(folder, path.join(dest, CIFAR10_FOLDER));
    const ds = loadCifar10({ dir: folder, split: 'train' });
    assertPixels(ds.images, ds.n, 0);
    assert.equal(fs.readFileSync(path.join(folder, longName), 'utf8'), 'long name survives\n');
    await assert.rejects(installCifar10(archive, dest, '0'.repeat(32)), (e: Error) => /has md5 [0-9a-f]{32}, expected 0{32}/.test(e.message));
  });

  it('says a damaged archive cannot be unpacked', async () => {
    const junk = path.join(work, 'junk.tar.gz');
    fs.writeFileSync(junk, 'this is not gzip');
    await assert.rejects(extractTarGz(junk, path.join(work, 'out')), (e: Error) => e.message.includes(junk) && /cannot unpack/.test(e.message));
  });

  it('fails fast with a clear line when the host cannot be reached', async () => {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const r = await capture(() => dataCommand(['cifar10', '--dir', work, '--url', `http://127.0.0.1:${port}/cifar.tar.gz`]));
    assert.equal(r.code, 1);
    const last = r.err.split('\n').pop() ?? '';
    assert.match(last, /^sat data: could not reach 127\.0\.0\.1:\d+ \(ECONNREFUSED: connection refused\)/);
    assert.match(last, /cifar-10-binary\.tar\.gz/);
    assert.match(last, /CIFAR10_DIR/);
    assert.deepEqual(fs.readdirSync(work), []); // no partial download left behind
  });

  it('times out on a host that never answers', async () => {
    const server = http.createServer(() => { /* never respond */ });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const t0 = Date.now();
      await assert.rejects(downloadFile(`http://127.0.0.1:${port}/x`, path.join(work, 'x'), { timeoutMs: 300 }), /could not reach 127\.0\.0\.1:\d+ \(no answer in time\)/);
      assert.ok(Date.now() - t0 < 3000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('downloads with progress, then rejects a file with the wrong md5 and removes it', async () => {
    const body = Buffer.alloc(100_000, 7);
    const server = http.createServer((_, res) => {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const seen: number[] = [];
      const file = path.join(work, 'dl.bin');
      await downloadFile(`http://127.0.0.1:${port}/a`, file, { onProgress: (got) => seen.push(got) });
      assert.deepEqual(fs.readFileSync(file), body);
      assert.equal(seen[seen.length - 1], body.length);
      fs.rmSync(file);
      const r = await capture(() => dataCommand(['cifar10', '--dir', work, '--url', `http://127.0.0.1:${port}/cifar.tar.gz`]));
      assert.equal(r.code, 1);
      assert.match(r.err, /sat data: .*cifar-10-binary\.tar\.gz has md5 [0-9a-f]{32}, expected c32a1d4ab5d03f1284b67883e8d87530/);
      assert.deepEqual(fs.readdirSync(work), []);
    } finally {
      server.close();
    }
  });

  it('does nothing when CIFAR-10 is already there, and rejects bad arguments', async () => {
    makeCifarDir(work);
    const ok = await capture(() => dataCommand(['cifar10', '--dir', work]));
    assert.equal(ok.code, 0);
    assert.match(ok.out, /already in/);
    for (const args of [['imagenet'], [], ['cifar10', '--bogus'], ['cifar10', '--dir']]) {
      const r = await capture(() => dataCommand(args));
      assert.equal(r.code, 2, `${args.join(' ')}: a usage error`);
      assert.equal(r.err.split('\n').length, 1);
      assert.match(r.err, /^sat data: /);
    }
  });
});
