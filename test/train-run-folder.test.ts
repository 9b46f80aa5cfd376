// The run folder: its lock (between real processes), refusals, clean-up of interrupted writes,
// checksummed checkpoints, and resume after a crash between the metrics line and the checkpoint.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { evaluate } from '../lib/eval';
import { makeActivation } from '../lib/activations';
import { loadDataset, take } from '../lib/data';
import { train, type TrainConfig } from '../lib/train';
import { threadsChangeWarning } from '../lib/train/provenance';
import { loadCheckpoint, saveCheckpoint } from '../lib/train/run-checkpoint';
import { acquireLock, readJsonLines, RunFolder, RunLockedError } from '../lib/train/run-folder';
import { testBackend } from './helpers/backend';
import { ROOT, runScript } from './helpers/subprocess';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sat-run-folder-'));

/** 64 digits, width 4, 2 epochs of 2 steps: seconds per run. */
const TINY: Partial<TrainConfig> = {
  dataset: 'mnist', trainLimit: 64, testLimit: 32, model: 'mnist-cnn', width: 4, epochs: 2, batchSize: 32, lr: 0.05,
  activation: 'relu', attack: { type: 'pgd-linf', eps: 0.2, steps: 1, stepSize: 0.2 }, seed: 5,
  evaluation: { size: 32, attacks: [{ type: 'pgd-linf', eps: 0.2, steps: 2 }] }, epochEvalSize: 0,
};

/** Collects warnings instead of printing them. */
function captureWarnings<T>(f: () => T): { value: T; warnings: string[] } {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warnings.push(a.join(' '));
  try {
    return { value: f(), warnings };
  } finally {
    console.warn = warn;
  }
}

describe('run folder', () => {
  before(testBackend);

  describe('lock', () => {
    it('a second process is refused while the first lives, naming its pid; its lock is taken over once it is gone', async function () {
      this.timeout(60_000);
      const dir = tmp();
      const holder = runScript(path.join(ROOT, 'test/helpers/hold-lock.ts'), [dir]);
      try {
        await holder.waitFor(/locked/);
        const pid = holder.child.pid!;
        assert.throws(
          () => acquireLock(dir),
          (e: unknown) => e instanceof RunLockedError && e.holder.pid === pid && e.holder.host === os.hostname() && e.dir === dir && new RegExp(`process ${pid} on .*kill ${pid}`).test(e.message),
        );
        // train() fails at once, before reading any data or writing anything.
        const t0 = Date.now();
        await assert.rejects(train(TINY, { runDir: dir, quiet: true }), RunLockedError);
        assert.ok(Date.now() - t0 < 2000, 'refused before any work');
        assert.deepEqual(fs.readdirSync(dir), ['lock']);
      } finally {
        holder.child.kill('SIGKILL');
        await holder.done;
      }
      const { value: lock, warnings } = captureWarnings(() => acquireLock(dir));
      assert.match(warnings.join('\n'), /took over the lock .* from process \d+ .*no longer running/);
      assert.equal(JSON.parse(fs.readFileSync(lock.file, 'utf8')).pid, process.pid);
      lock.release();
      assert.deepEqual(fs.readdirSync(dir), [], 'released: the lock file is gone');
    });

    it('a lock from another machine is never taken over: the error says how to check and remove it', () => {
      const dir = tmp();
      const holder = { host: 'other-node-17', pid: 4242, startedAt: '2026-01-01T00:00:00.000Z' };
      fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify(holder));
      assert.throws(
        () => acquireLock(dir),
        (e: unknown) => e instanceof RunLockedError && e.holder.host === 'other-node-17' && /another machine.*ps -p 4242.*delete .*lock/.test(e.message),
      );
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'lock'), 'utf8')), holder, 'left in place');
    });
  });

  it('opening a folder for writing removes temporary files of interrupted writes', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'checkpoint.bin.12345.tmp'), 'half');
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'mine');
    const logs: string[] = [];
    const run = new RunFolder(dir).openForWriting((s) => logs.push(s));
    run.close();
    assert.deepEqual(fs.readdirSync(dir), ['keep.txt']);
    assert.match(logs.join('\n'), /removed 1 temporary file.*checkpoint\.bin\.12345\.tmp/);
  });

  it('a torn last metrics line is dropped with a warning; damage elsewhere names the file and line', () => {
    const file = path.join(tmp(), 'metrics.jsonl');
    fs.writeFileSync(file, '{"epoch":0,"loss":1}\n{"epoch":1,"lo');
    const warnings: string[] = [];
    assert.deepEqual(readJsonLines(file, (s) => warnings.push(s)), [{ epoch: 0, loss: 1 }]);
    assert.match(warnings[0], /dropped the unfinished last line of .*metrics\.jsonl/);
    fs.writeFileSync(file, '{"epoch":0,"lo\n{"epoch":1}\n');
    assert.throws(() => readJsonLines(file), /metrics\.jsonl line 1 is not valid JSON.*Delete that line/);
  });

  it('corrupt config.json and results.json name the file and the fix', () => {
    const run = new RunFolder(tmp());
    fs.writeFileSync(run.files.config, '{"model": "mnist-cnn",');
    fs.writeFileSync(run.files.results, '[{');
    assert.throws(() => run.readConfig(), (e: Error) => e.message.startsWith(`${run.files.config} is not valid JSON`) && /delete .* and train again/.test(e.message));
    assert.throws(() => run.readResults(), (e: Error) => e.message.startsWith(`${run.files.results} is not valid JSON`) && /sat eval --run/.test(e.message));
  });

  describe('checkpoint', () => {
    it('survives a crash in the middle of writing its replacement (the old checkpoint loads)', async function () {
      this.timeout(60_000);
      const dir = tmp();
      const file = path.join(dir, 'checkpoint.bin');
      const r = await runScript(path.join(ROOT, 'test/helpers/crash-during-write.ts'), [file]).done;
      assert.equal(r.signal, 'SIGKILL', `the writer was killed mid-write: ${r.err}`);
      const v = tf.variable(tf.zeros([3]));
      try {
        assert.equal(loadCheckpoint(file, { params: new Map([['w', v]]) }), 1, 'the epoch-1 checkpoint is intact');
        assert.deepEqual(Array.from(v.dataSync()), [1, 2, 3]);
      } finally {
        v.dispose();
      }
      assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 1, 'the half-written temporary file is left...');
      new RunFolder(dir).openForWriting(() => {}).close();
      assert.deepEqual(fs.readdirSync(dir), ['checkpoint.bin'], '...until the folder is opened again');
    });

    it('a checkpoint cut by one byte or with one flipped bit fails its checksum, naming the file', () => {
      const file = path.join(tmp(), 'checkpoint.bin');
      const v = tf.variable(tf.tensor1d([1, 2, 3]));
      try {
        saveCheckpoint(file, { epoch: 1, groups: { params: new Map([['w', v]]) } });
        const good = fs.readFileSync(file);
        fs.writeFileSync(file, good.subarray(0, good.length - 1));
        assert.throws(() => loadCheckpoint(file, { params: new Map([['w', v]]) }), new RegExp(`Checkpoint ${file} is corrupt.*checksum mismatch.*train again \\(with --force\\)`));
        const flipped = Buffer.from(good);
        flipped[flipped.length - 2] ^= 1;
        fs.writeFileSync(file, flipped);
        assert.throws(() => loadCheckpoint(file, { params: new Map([['w', v]]) }), /checksum mismatch/);
      } finally {
        v.dispose();
      }
    });

    it('NaN or infinite weights are never written', () => {
      const dir = tmp();
      const file = path.join(dir, 'checkpoint.bin');
      const v = tf.variable(tf.tensor1d([1, 2, 3]));
      try {
        saveCheckpoint(file, { epoch: 1, groups: { params: new Map([['w', v]]) } });
        tf.tidy(() => v.assign(tf.tensor1d([1, NaN, 3])));
        assert.throws(() => saveCheckpoint(file, { epoch: 2, groups: { params: new Map([['w', v]]) } }), /params\/w holds NaN or infinite values; the checkpoint was not written/);
        tf.tidy(() => v.assign(tf.zeros([3])));
        assert.equal(loadCheckpoint(file, { params: new Map([['w', v]]) }), 1);
        assert.deepEqual(Array.from(v.dataSync()), [1, 2, 3]);
      } finally {
        v.dispose();
      }
    });
  });

  describe('train()', () => {
    it('refuses a folder with a checkpoint unless resume or force, and force starts again', async () => {
      const dir = path.join(tmp(), 'run');
      (await train(TINY, { runDir: dir, quiet: true, stopAfterEpochs: 1 })).model.dispose();
      await assert.rejects(train({ ...TINY, lr: 0.01 }, { runDir: dir, quiet: true }), /already holds a checkpoint.*--resume.*--force/);
      assert.equal(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 1, 'the history is untouched');
      const forced = await train({ ...TINY, lr: 0.01 }, { runDir: dir, quiet: true, force: true });
      forced.model.dispose();
      assert.equal(forced.metrics.length, 2);
      assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).lr, 0.01);
    });

    it('a finished run loads while another process holds its lock (loading needs no lock); retraining it does not', async function () {
      this.timeout(60_000);
      const dir = path.join(tmp(), 'run');
      (await train(TINY, { runDir: dir, quiet: true })).model.dispose();
      const holder = runScript(path.join(ROOT, 'test/helpers/hold-lock.ts'), [dir]);
      try {
        await holder.waitFor(/locked/);
        const again = await train(TINY, { runDir: dir, quiet: true });
        again.model.dispose();
        assert.equal(again.reused, true);
        await assert.rejects(train(TINY, { runDir: dir, quiet: true, force: true }), RunLockedError);
      } finally {
        holder.child.kill('SIGKILL');
        await holder.done;
      }
    });

    it('resume drops a metrics line written past the checkpoint (a crash between the two)', async function () {
      this.timeout(120_000);
      const whole = await train(TINY, { runDir: path.join(tmp(), 'whole'), quiet: true });
      whole.model.dispose();
      const dir = path.join(tmp(), 'cut');
      (await train(TINY, { runDir: dir, quiet: true, stopAfterEpochs: 1 })).model.dispose();
      // The crash: epoch 2's line was appended, its checkpoint never written.
      const stale = { ...whole.metrics[1], loss: 123.456 };
      fs.appendFileSync(path.join(dir, 'metrics.jsonl'), JSON.stringify(stale) + '\n');
      const resumed = await train(TINY, { runDir: dir, quiet: true, resume: true });
      resumed.model.dispose();
      const lines = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((m) => m.epoch), [0, 1], 'one line per epoch');
      assert.equal(lines[1].loss, whole.metrics[1].loss, 'the stale line is replaced by the re-run epoch');
      assert.deepEqual(resumed.results.map((r) => r.accuracy), whole.results.map((r) => r.accuracy));
    });

    it('warns when a run resumes on another native thread count than it started on (provenance.json)', async function () {
      this.timeout(120_000);
      const dir = path.join(tmp(), 'threads');
      const before = process.env.SAT_THREADS;
      const said: string[] = [];
      const [error, write] = [console.error, process.stderr.write];
      try {
        process.env.SAT_THREADS = '1';
        (await train(TINY, { runDir: dir, quiet: true, stopAfterEpochs: 1 })).model.dispose();
        process.env.SAT_THREADS = '2';
        console.error = (...args: unknown[]) => { said.push(args.join(' ')); };
        process.stderr.write = (() => true) as typeof process.stderr.write; // the progress bars
        (await train(TINY, { runDir: dir, resume: true })).model.dispose();
      } finally {
        [console.error, process.stderr.write] = [error, write];
        if (before === undefined) delete process.env.SAT_THREADS;
        else process.env.SAT_THREADS = before;
      }
      const history = new RunFolder(dir).readProvenanceHistory();
      assert.deepEqual(history.map((p) => [p.fromEpoch, p.threads]), [[1, 2], [0, 1]], 'the latest start first');
      assert.ok(said.some((l) => /started on 1 native thread\(s\) and resumes on 2; .*SAT_THREADS=1/.test(l)), said.filter((l) => l.includes('[sat]')).join('\n'));
      assert.equal(threadsChangeWarning(history.slice(1), { ...history[0], threads: 1 }), undefined, 'no warning on the same threads');
      assert.equal(threadsChangeWarning([], history[0]), undefined, 'nor for a run without provenance');
    });

    it('a run diverging within one step per epoch never writes its weights as a checkpoint', async () => {
      const dir = path.join(tmp(), 'nan');
      await assert.rejects(
        train({ ...TINY, trainLimit: 32, batchSize: 32, lr: 1e30, epochs: 2 }, { runDir: dir, quiet: true }),
        /After epoch 1 .*(NaN or infinite).*training diverged.*last good one is not written yet/,
      );
      assert.ok(!fs.existsSync(path.join(dir, 'checkpoint.bin')), 'no checkpoint of the diverged weights');
      assert.ok(!fs.existsSync(path.join(dir, 'lock')), 'the lock is released on failure');
    });

    it('a whole train() (epochs, per-epoch eval, final eval) and an evaluate call leave tf.memory().numTensors unchanged', async () => {
      const before = tf.memory().numTensors;
      const r = await train({ ...TINY, epochEvalSize: 16 }, { runDir: path.join(tmp(), 'leak'), quiet: true });
      const withModel = tf.memory().numTensors;
      const modelTensors = [...r.model.params.values(), ...r.model.state.values()].length;
      assert.equal(withModel - before, modelTensors, 'only the returned model remains');
      const test = take(loadDataset('mnist', { testLimit: 32 }).test, 32);
      const mid = tf.memory().numTensors;
      evaluate(r.model, test, [{ type: 'pgd-linf', eps: 0.1, steps: 2 }, { type: 'fgsm', eps: 0.1 }], { run: 'x', dataset: 'mnist', model: 'mnist-cnn', activation: 'relu', seed: 0 }, { act: makeActivation('relu'), seed: 0 });
      assert.equal(tf.memory().numTensors, mid, 'evaluate');
      r.model.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  });
});
