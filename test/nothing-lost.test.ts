// Issue 24: bad inputs and faults that lost data, were silently wrong or crashed with a raw
// system error. One test per case; each names the case of the issue it covers.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { parseActivation } from '../lib/activations';
import { loadDataset, registerDataset, type ImageDataset } from '../lib/data';
import { scanImageFolder } from '../lib/data/image-folder';
import { syntheticImageFolder } from '../lib/data/synthetic';
import { decodeSafetensors } from '../lib/export/safetensors';
import { makeConfig, train } from '../lib/train';
import { loadCheckpointState } from '../lib/train/run-checkpoint';
import { acquireLock, RunFolder, RunLockedError } from '../lib/train/run-folder';
import { testBackend } from './helpers/backend';
import { sat } from './helpers/sat-in-process';
import { ROOT, runSat, runScript } from './helpers/subprocess';

// The real module object (not the import's namespace copy), so a test can make one write fail.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const realFs = require('node:fs') as typeof fs & Record<string, unknown>;

const tmp = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `sat-i24-${tag}-`));

/** A tiny run's options for `sat train`: 64 digits, width 4, 2 epochs of 2 steps. */
const TINY = ['--train-limit', '64', '--test-limit', '32', '--width', '4', '--epochs', '2', '--batch-size', '32', '--eval-size', '32', '--eval-steps', '1', '--eps', '0.2', '--seed', '5', '--quiet'];

/**
 * Makes the fsync of files whose path matches `match` fail with ENOSPC (a full disk): the write
 * path's temporary file exists by then, as on a disk that fills mid-write. Returns the undo.
 */
function fillDiskFor(match: RegExp): () => void {
  const { openSync, fsyncSync } = realFs;
  const doomed = new Set<number>();
  realFs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
    const fd = (openSync as (...a: unknown[]) => number)(p, ...rest);
    if (match.test(String(p)) && rest[0] === 'w') doomed.add(fd);
    else doomed.delete(fd); // a number reused after a close
    return fd;
  }) as typeof fs.openSync;
  realFs.fsyncSync = ((fd: number) => {
    if (doomed.delete(fd)) throw Object.assign(new Error('ENOSPC: no space left on device, fsync'), { code: 'ENOSPC', errno: -28, syscall: 'fsync' });
    return fsyncSync(fd);
  }) as typeof fs.fsyncSync;
  return () => Object.assign(realFs, { openSync, fsyncSync });
}

const tmpFiles = (dir: string) => fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.tmp'));

/** An IDX file of unsigned bytes (gzip), as MNIST ships them. */
function idxGz(dims: number[], fill = 0): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x00000800 + dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return zlib.gzipSync(Buffer.concat([header, Buffer.alloc(dims.reduce((a, b) => a * b, 1), fill)]));
}

/** Writes an MNIST-style IDX set of `train` and `test` blank 28x28 images into `dir`. */
function writeIdxSet(dir: string, train: number, test: number): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), idxGz([train, 28, 28], 3));
  fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), idxGz([train]));
  fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte.gz'), idxGz([test, 28, 28], 3));
  fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'), idxGz([test]));
  return dir;
}

/** Waits until `f` returns a value (polling), or fails after `ms`. */
async function until<T>(f: () => T | undefined | null | false, ms: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const lockPid = (dir: string): number | null => {
  try {
    const pid = JSON.parse(fs.readFileSync(path.join(dir, 'lock'), 'utf8')).pid as number;
    return pid !== process.pid ? pid : null;
  } catch {
    return null;
  }
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('issue 24: nothing lost, nothing silently wrong', function () {
  this.timeout(180_000);
  let finished: string; // a finished tiny run, shared by the read-only tests
  before(async () => {
    await testBackend();
    finished = path.join(tmp('finished'), 'run');
    const r = await sat('train', ...TINY, '--out', finished);
    assert.equal(r.code, 0, r.err);
  });

  describe('data loss', () => {
    it('1: rerunning a finished run with the same options reuses it: no file is rewritten', async () => {
      const dir = path.join(tmp('rerun'), 'run');
      assert.equal((await sat('train', ...TINY, '--out', dir)).code, 0);
      const before = ['results.json', 'metrics.jsonl', 'checkpoint.bin'].map((f) => fs.statSync(path.join(dir, f)).mtimeMs);
      const r = await sat('train', ...TINY, '--out', dir);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /reusing finished run/);
      assert.match(r.out, /clean/, 'its results are printed');
      assert.deepEqual(['results.json', 'metrics.jsonl', 'checkpoint.bin'].map((f) => fs.statSync(path.join(dir, f)).mtimeMs), before);
    });

    it('1: a finished run and other options in its folder: refused, naming the keys that differ', async () => {
      const r = await sat('train', ...TINY, '--seed', '6', '--out', finished);
      assert.equal(r.code, 1);
      assert.match(r.err, /holds a finished run of another config \(seed: 5 there, 6 here\).*--force/);
    });

    it('1/4: kill -9 during a rerun with --force leaves a folder that is not finished (sat eval refuses it)', async () => {
      const dir = path.join(tmp('kill-rerun'), 'run');
      assert.equal((await sat('train', ...TINY, '--out', dir)).code, 0);
      const ckpt = path.join(dir, 'checkpoint.bin');
      const first = fs.statSync(ckpt).mtimeMs;
      const long = [...TINY.slice(0, TINY.indexOf('--epochs')), '--epochs', '40', ...TINY.slice(TINY.indexOf('--epochs') + 2)];
      const rerun = runSat(['train', ...long, '--force', '--checkpoint-every-steps', '1', '--out', dir]);
      try {
        const pid = await until(() => fs.existsSync(ckpt) && fs.statSync(ckpt).mtimeMs > first && lockPid(dir), 90_000, 'the rerun to write a checkpoint');
        process.kill(pid, 'SIGKILL');
        await rerun.done;
      } finally {
        rerun.child.kill('SIGKILL');
      }
      assert.equal(fs.existsSync(path.join(dir, 'results.json')), false, 'the finished marker was removed before the rerun wrote anything');
      const e = await sat('eval', '--run', dir, '--size', '8', '--steps', '1');
      assert.equal(e.code, 2, e.out);
      assert.match(e.err, /not finished.*--allow-unfinished/);
    });

    it('2: sat eval --autoattack prints its results before writing, and a full disk loses nothing', async () => {
      const undo = fillDiskFor(/evaluations/);
      let r;
      try {
        r = await sat('eval', '--run', finished, '--autoattack', '--n', '4', '--pgd-steps', '1', '--json');
      } finally {
        undo();
      }
      assert.equal(r.code, 1);
      assert.ok(JSON.parse(r.out).stages, `the result was printed: ${r.out}`);
      assert.match(r.err, /cannot write .*evaluations.*autoattack-linf-0\.2\.json: the disk is full \(ENOSPC\)/);
      const aside = /written to (\S+) instead/.exec(r.err)?.[1];
      assert.ok(aside && fs.existsSync(aside), r.err);
      assert.equal(JSON.parse(fs.readFileSync(aside, 'utf8')).robust.length, 4, 'the per-image flags are kept');
      assert.deepEqual(tmpFiles(finished), []);
    });

    it('2: a full disk during training names the file and the cause; the last checkpoint is whole and resumes', async () => {
      const dir = path.join(tmp('enospc-train'), 'run');
      const c = { trainLimit: 64, testLimit: 32, width: 4, epochs: 2, batchSize: 32, seed: 5, evaluation: { size: 32, attacks: [{ type: 'pgd-linf' as const, eps: 0.3, steps: 1 }] } };
      (await train(c, { runDir: dir, quiet: true, stopAfterEpochs: 1 })).model.dispose();
      const undo = fillDiskFor(/checkpoint\.bin/);
      try {
        await assert.rejects(train(c, { runDir: dir, quiet: true, resume: true }), /cannot write .*checkpoint\.bin: the disk is full \(ENOSPC\)/);
      } finally {
        undo();
      }
      assert.deepEqual(tmpFiles(dir), []);
      const r = await train(c, { runDir: dir, quiet: true, resume: true });
      r.model.dispose();
      assert.equal(r.results.length, 2, 'resumed from the whole checkpoint and finished');
    });

    it('2: a full disk during export names the file and the cause and leaves no temporary file', async () => {
      const out = path.join(tmp('enospc-export'), 'm.safetensors');
      const undo = fillDiskFor(/m\.safetensors/);
      let r;
      try {
        r = await sat('export', '--run', finished, '--out', out);
      } finally {
        undo();
      }
      assert.equal(r.code, 1);
      assert.match(r.err, /cannot write .*m\.safetensors: the disk is full \(ENOSPC\)/);
      assert.deepEqual(fs.readdirSync(path.dirname(out)), []);
    });

    it('3: sat export refuses to overwrite a file without --force', async () => {
      const out = path.join(tmp('export-exists'), 'm.safetensors');
      fs.writeFileSync(out, 'precious');
      const r = await sat('export', '--run', finished, '--out', out);
      assert.equal(r.code, 2);
      assert.match(r.err, /exists: pass --force/);
      assert.equal(fs.readFileSync(out, 'utf8'), 'precious');
      assert.equal((await sat('export', '--run', finished, '--out', out, '--force')).code, 0);
      assert.notEqual(fs.readFileSync(out, 'utf8'), 'precious');
    });

    it('4: the folder state comes from one marker, removed first when the run is reopened', () => {
      const dir = path.join(tmp('state'), 'run');
      const run = new RunFolder(dir);
      assert.equal(run.state(), 'empty');
      run.writeConfig({ seed: 1 });
      assert.equal(run.state(), 'in-progress');
      run.writeResults([]);
      assert.equal(run.state(), 'finished');
      run.reopen();
      assert.equal(run.state(), 'in-progress');
      assert.equal(fs.existsSync(run.files.results), false);
    });
  });

  describe('silently wrong', () => {
    it('activation parameters only where an activation has one (relu:5, silu:2, mish:1e9)', () => {
      for (const a of ['relu:5', 'silu:2', 'mish:1e9']) assert.throws(() => parseActivation(a), /takes no parameter.*drop ':/, a);
      assert.deepEqual(parseActivation('psoftplus:5'), { name: 'psoftplus', param: 5 });
      assert.deepEqual(parseActivation('celu:2'), { name: 'celu', param: 2 });
    });

    it('sat eval --checkpoint --on-bad-image skip over a folder of only bad images is an error, not 0%', async () => {
      const { writeCheckpoint } = await import('../lib/checkpoint');
      const { tfCheckpointTensors } = await import('../lib/checkpoint/import');
      const { buildModel } = await import('../lib/models');
      const dir = tmp('all-bad');
      const model = buildModel('efficientnet-b0', { inputShape: [32, 32, 3], numClasses: 1000, seed: 3 });
      const ckpt = path.join(dir, 'efficientnet-b0');
      fs.mkdirSync(ckpt);
      writeCheckpoint(path.join(ckpt, 'efficientnet-b0'), tfCheckpointTensors(model, { arch: 'efficientnet-b0' }).map((t) => ({ name: t.name, dtype: 'float32' as const, shape: t.shape, data: t.values })));
      model.dispose();
      const data = syntheticImageFolder(path.join(dir, 'synthetic-imagenet'), { classes: 2, perClass: 1, valPerClass: 1, size: 40, seed: 1 }).root;
      for (const f of scanImageFolder({ root: data, split: 'val' }).files) fs.writeFileSync(f, 'not an image');
      const r = await sat('eval', '--checkpoint', ckpt, '--data', data, '--steps', '1', '--input-size', '32', '--batch-size', '2', '--on-bad-image', 'skip', '--json');
      assert.equal(r.code, 1, r.out);
      assert.match(r.err, /no image could be evaluated: all 2 were unreadable/);
    });

    it('sat eval --run refuses the options of its other forms, naming the form (--n, --limit, --on-bad-image, --batch-size, --checkpoint)', async () => {
      const cases: [string[], RegExp][] = [
        [['--n', '8'], /--n is not an option of sat eval --run DIR.*belongs to sat eval --run DIR --autoattack/],
        [['--limit', '4'], /--limit is not an option of sat eval --run DIR.*belongs to sat eval --checkpoint PREFIX/],
        [['--on-bad-image', 'skip'], /--on-bad-image is not an option/],
        [['--batch-size', '2'], /--batch-size is not an option/],
        [['--checkpoint', path.join(finished, 'checkpoint.bin')], /--run and --checkpoint both name what to evaluate/],
        [['--autoattack', '--limit', '4'], /--limit is not an option of sat eval --run DIR --autoattack/],
      ];
      for (const [extra, want] of cases) {
        const r = await sat('eval', '--run', finished, ...(extra[0] === '--autoattack' ? ['--n', '8'] : ['--size', '8', '--steps', '1']), ...extra);
        assert.equal(r.code, 2, `${extra.join(' ')}: ${r.out}`);
        assert.match(r.err, want);
      }
    });

    it('sat eval --run and sat export on an unfinished run: refused without --allow-unfinished; the metadata records epoch and step', async () => {
      const dir = path.join(tmp('unfinished'), 'run');
      const c = { trainLimit: 64, testLimit: 32, width: 4, epochs: 3, batchSize: 32, seed: 5, evaluation: { size: 32, attacks: [{ type: 'pgd-linf' as const, eps: 0.3, steps: 1 }] } };
      (await train(c, { runDir: dir, quiet: true, stopAfterEpochs: 1 })).model.dispose();
      const e = await sat('eval', '--run', dir, '--size', '8', '--steps', '1');
      assert.equal(e.code, 2);
      assert.match(e.err, /the run is not finished.*--allow-unfinished/);
      const e2 = await sat('eval', '--run', dir, '--size', '8', '--steps', '1', '--allow-unfinished');
      assert.equal(e2.code, 0, e2.err);
      assert.match(e2.err, /warning: evaluating an unfinished run/);
      const out = path.join(tmp('unfinished-export'), 'm.safetensors');
      const x = await sat('export', '--run', dir, '--out', out);
      assert.equal(x.code, 2);
      assert.match(x.err, /not finished.*--allow-unfinished/);
      assert.equal((await sat('export', '--run', dir, '--out', out, '--allow-unfinished')).code, 0);
      const meta = decodeSafetensors(fs.readFileSync(out)).metadata;
      assert.deepEqual([meta.epoch, meta.epochs, meta.step, meta.finished], ['1', '3', '2', 'false']);
      const done = path.join(tmp('finished-export'), 'm.safetensors');
      assert.equal((await sat('export', '--run', finished, '--out', done)).code, 0);
      const m2 = decodeSafetensors(fs.readFileSync(done)).metadata;
      assert.deepEqual([m2.epoch, m2.epochs, m2.step, m2.finished], ['2', '2', '4', 'true']);
    });

    it('sat eval --run and sat export on a run still training (its lock held by a live process): refused', async () => {
      const dir = path.join(tmp('locked'), 'run');
      fs.cpSync(finished, dir, { recursive: true });
      const holder = runScript(path.join(ROOT, 'test/helpers/hold-lock.ts'), [dir]);
      try {
        await holder.waitFor(/locked/);
        const x = await sat('export', '--run', dir, '--out', path.join(tmp('locked-export'), 'm.safetensors'));
        assert.equal(x.code, 2);
        assert.match(x.err, new RegExp(`process ${holder.child.pid} .* is training into it.*--allow-unfinished`));
        const e = await sat('eval', '--run', dir, '--size', '8', '--steps', '1');
        assert.equal(e.code, 2);
        assert.match(e.err, /is training into it/);
      } finally {
        holder.child.kill('SIGKILL');
        await holder.done;
      }
    });

    it('seeds outside [0, 2^32) are refused (4294967296, -4294967296, 1e30)', async () => {
      for (const seed of [2 ** 32, -(2 ** 32), 1e30, -1]) assert.throws(() => makeConfig({ seed }), /seed must be an integer in \[0, 2\^32\)/, String(seed));
      makeConfig({ seed: 2 ** 32 - 1 });
      const r = await sat('train', ...TINY, '--seed', '4294967296', '--out', path.join(tmp('seed'), 'run'));
      assert.equal(r.code, 1);
      assert.match(r.err, /seed must be an integer in \[0, 2\^32\)/);
    });

    it('MNIST_DIR holding 300 images is not mnist-full (unless SAT_DATA_SUBSET=1); the data folder is recorded in provenance.json', async () => {
      const dir = writeIdxSet(path.join(tmp('idx300'), 'mnist'), 300, 300);
      const saved = { MNIST_DIR: process.env.MNIST_DIR, SAT_DATA_SUBSET: process.env.SAT_DATA_SUBSET };
      process.env.MNIST_DIR = dir;
      delete process.env.SAT_DATA_SUBSET;
      try {
        assert.throws(() => loadDataset('mnist-full'), /holds 300 train images, but mnist-full has 60000.*SAT_DATA_SUBSET=1/);
        process.env.SAT_DATA_SUBSET = '1';
        const runDir = path.join(tmp('provenance'), 'run');
        const r = await train({ dataset: 'mnist-full', trainLimit: 32, testLimit: 16, width: 2, epochs: 1, batchSize: 16, evaluation: { size: 16, attacks: [] } }, { runDir, quiet: true });
        r.model.dispose();
        const p = new RunFolder(runDir).readProvenance();
        assert.equal(p?.dataDir, dir);
        assert.ok(p && p.node === process.version && typeof p.threads === 'number' && p.fromEpoch === 0, JSON.stringify(p));
        assert.equal(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8').includes('dataDir'), false, 'outside the hashed config');
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    });

    it('nested folders inside an image class folder are refused, not silently left out', () => {
      const root = syntheticImageFolder(path.join(tmp('nested'), 'synthetic-imagenet'), { classes: 2, perClass: 2, valPerClass: 1, size: 16, seed: 1 }).root;
      const files = scanImageFolder({ root, split: 'train' }).files;
      const nested = path.join(path.dirname(files[0]), 'more');
      fs.mkdirSync(nested);
      fs.copyFileSync(files[0], path.join(nested, path.basename(files[0])));
      assert.throws(() => scanImageFolder({ root, split: 'train' }), /holds sub-folders \(more\) whose images would be left out/);
    });

    it('sat info --json, sat info extra and sat compare --profile smoke extra are refused', async () => {
      for (const args of [['info', '--json'], ['info', 'extra']]) {
        const r = await sat(...args);
        assert.equal(r.code, 2, args.join(' '));
      }
      const c = runSat(['compare', '--profile', 'smoke', 'extra']);
      const timer = setTimeout(() => c.child.kill('SIGKILL'), 30_000);
      const r = await c.done;
      clearTimeout(timer);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /unexpected argument 'extra'/);
    });

    it('kill of the process that started bin/sat.mjs (npx, its shell) stops the trainer with whole files', async () => {
      const dir = path.join(tmp('npx'), 'run');
      const long = [...TINY.slice(0, TINY.indexOf('--epochs')), '--epochs', '200', ...TINY.slice(TINY.indexOf('--epochs') + 2)];
      // As under npx: a shell between the one who kills and bin/sat.mjs, which does not pass signals on.
      const cmd = [process.execPath, path.join(ROOT, 'bin', 'sat.mjs'), 'train', ...long, '--checkpoint-every-steps', '1', '--out', dir].map((a) => `'${a}'`).join(' ');
      const shell = spawn('sh', ['-c', `${cmd} & wait`], { stdio: 'ignore' });
      let trainer: number | undefined;
      try {
        trainer = await until(() => fs.existsSync(path.join(dir, 'checkpoint.bin')) && lockPid(dir), 90_000, 'training to start');
        shell.kill('SIGKILL');
        await until(() => !alive(trainer!), 30_000, `the trainer (pid ${trainer}) to stop after its parent's parent was killed`);
      } finally {
        shell.kill('SIGKILL');
        if (trainer && alive(trainer)) process.kill(trainer, 'SIGKILL');
      }
      assert.equal(fs.existsSync(path.join(dir, 'lock')), false, 'the lock was released');
      assert.equal(tmpFiles(dir).length, 0);
      assert.ok(loadCheckpointState(path.join(dir, 'checkpoint.bin'), {}).epoch >= 0, 'the checkpoint is whole');
    });
  });

  describe('crashes and misleading messages', () => {
    it('sat export --out DIR, --out /proc/x, --out FILE/m.safetensors: one message naming the path and the cause, no temporary file', async () => {
      const dir = tmp('export-dir');
      const r = await sat('export', '--run', finished, '--out', dir);
      assert.equal(r.code, 2);
      assert.match(r.err, /is a folder: name a file/);
      assert.deepEqual(fs.readdirSync(dir), []);
      const p = await sat('export', '--run', finished, '--out', '/proc/x');
      assert.equal(p.code, 1);
      assert.match(p.err, /cannot write \/proc\/x: files cannot be created in \/proc/);
      const file = path.join(dir, 'existing-file');
      fs.writeFileSync(file, 'x');
      const f = await sat('export', '--run', finished, '--out', path.join(file, 'm.safetensors'));
      assert.equal(f.code, 2);
      assert.match(f.err, new RegExp(`${file} is a file, not a folder`));
    });

    it('--resume with config.json deleted says it is missing; with another config names the key', async () => {
      const dir = path.join(tmp('resume'), 'run');
      const c = { trainLimit: 64, testLimit: 32, width: 4, epochs: 3, batchSize: 32, seed: 5, evaluation: { size: 32, attacks: [{ type: 'pgd-linf' as const, eps: 0.3, steps: 1 }] } };
      (await train(c, { runDir: dir, quiet: true, stopAfterEpochs: 1 })).model.dispose();
      await assert.rejects(train({ ...c, lr: 0.01 }, { runDir: dir, quiet: true, resume: true }), /differs from this run's config \(lr: 0\.05 there, 0\.01 here\)/);
      fs.rmSync(path.join(dir, 'config.json'));
      await assert.rejects(train(c, { runDir: dir, quiet: true, resume: true }), /config\.json is missing/);
    });

    it('a new --out under a read-only folder names the read-only folder (not ENOENT ... mkdir)', async () => {
      const ro = tmp('ro');
      const { mkdirSync, accessSync } = realFs;
      let mounted = false;
      try {
        // A real read-only mount where this process may mount (root in a container), else an injected EROFS.
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro], { stdio: 'ignore' });
        mounted = true;
      } catch {
        realFs.mkdirSync = ((p: fs.PathLike, o?: fs.MakeDirectoryOptions) => {
          if (String(p).startsWith(ro)) throw Object.assign(new Error(`ENOENT: no such file or directory, mkdir '${p}'`), { code: 'ENOENT' });
          return mkdirSync(p, o);
        }) as typeof fs.mkdirSync;
        realFs.accessSync = ((p: fs.PathLike, m?: number) => {
          if (String(p) === ro) throw Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' });
          return accessSync(p, m);
        }) as typeof fs.accessSync;
      }
      try {
        const r = await sat('train', ...TINY, '--out', path.join(ro, 'new', 'run'));
        assert.equal(r.code, 1);
        assert.match(r.err, new RegExp(`cannot write .*: ${ro} cannot be written \\(read-only file system or no permission\\)`));
      } finally {
        Object.assign(realFs, { mkdirSync, accessSync });
        if (mounted) execFileSync('umount', [ro]);
      }
    });

    it('a lock naming a live pid that is not its holder (pid 1, a reused pid) is taken over', () => {
      const warnings: string[] = [];
      const dir = tmp('pid1');
      fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ host: os.hostname(), pid: 1, startedAt: new Date().toISOString(), procStart: '0' }));
      const lock = acquireLock(dir, (s) => warnings.push(s));
      lock.release();
      assert.match(warnings.join('\n'), /took over the lock .* from process 1 .*pid 1 now belongs to another process/);
      // A lock of an older sat (no start time) naming a pid whose process started after the lock.
      const dir2 = tmp('reused');
      const sleeper = spawn('sleep', ['30']);
      try {
        fs.writeFileSync(path.join(dir2, 'lock'), JSON.stringify({ host: os.hostname(), pid: sleeper.pid, startedAt: '2020-01-01T00:00:00.000Z' }));
        acquireLock(dir2, (s) => warnings.push(s)).release();
      } finally {
        sleeper.kill('SIGKILL');
      }
      // A live holder is still refused.
      const dir3 = tmp('live');
      fs.writeFileSync(path.join(dir3, 'lock'), JSON.stringify({ host: os.hostname(), pid: process.ppid, startedAt: new Date().toISOString() }));
      assert.throws(() => acquireLock(dir3), RunLockedError);
    });

    it('test images of another size than the training images are refused before training', async () => {
      const ds = (n: number, height: number, width: number): ImageDataset => ({ name: 'shapes', images: new Float32Array(n * height * width), labels: new Int32Array(n), n, height, width, channels: 1, numClasses: 10 });
      registerDataset('i24-shape-mismatch', () => ({ train: ds(64, 28, 28), test: ds(16, 14, 56), source: 'generated' }));
      const dir = path.join(tmp('shapes'), 'run');
      await assert.rejects(train({ dataset: 'i24-shape-mismatch', width: 2, epochs: 1, batchSize: 32, evaluation: { size: 16, attacks: [] } }, { runDir: dir, quiet: true }), /training images are 28x28x1 .* but the test images are 14x56x1/);
      assert.equal(fs.existsSync(path.join(dir, 'checkpoint.bin')), false, 'nothing trained');
    });

    it('sat data fashion-mnist --url file:///DIR copies from a local mirror', async () => {
      const mirror = writeIdxSet(path.join(tmp('mirror'), 'files'), 60000, 10000);
      const into = tmp('data-into');
      const r = await sat('data', 'fashion-mnist', '--dir', into, '--url', `file://${mirror}`);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /ready in/);
      const bad = await sat('data', 'mnist', '--dir', into, '--url', 'file:///no/such/folder');
      assert.equal(bad.code, 1);
      assert.match(bad.err, /\/no\/such\/folder\/train-images-idx3-ubyte\.gz does not exist/);
    });
  });
});
