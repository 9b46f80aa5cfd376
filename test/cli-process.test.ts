// `bin/sat.mjs` as a user runs it: a real child process, its backend line, and real signals.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSat } from './helpers/subprocess';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sat-process-'));
const TINY = ['--train-limit', '32', '--test-limit', '16', '--width', '2', '--epochs', '1', '--batch-size', '32', '--eval-size', '16', '--eval-steps', '1', '--quiet'];
/** Long enough to be interrupted: 6 epochs of 8 steps. */
const LONG = ['--train-limit', '256', '--test-limit', '16', '--width', '4', '--epochs', '6', '--batch-size', '32', '--eval-size', '16', '--eval-steps', '1'];

describe('sat as a process', function () {
  this.timeout(180_000);
  // No SAT_BACKEND from the test environment: the command must choose by itself.
  const env = { SAT_BACKEND: undefined as unknown as string };

  it('sat train initialises the backend it prints: wasm by default, SAT_BACKEND and --backend honoured', async () => {
    const dir = tmp();
    const byDefault = await runSat(['train', ...TINY, '--out', path.join(dir, 'a')], env).done;
    assert.equal(byDefault.code, 0, byDefault.err);
    assert.match(byDefault.err, /^\[sat\] backend: wasm \(no native TensorFlow package installed; wasm \(XNNPACK\)/m);
    assert.doesNotMatch(byDefault.err + byDefault.out, /Hi, looks like you are running TensorFlow\.js in Node\.js/);
    const byEnv = await runSat(['train', ...TINY, '--out', path.join(dir, 'b')], { SAT_BACKEND: 'cpu' }).done;
    assert.equal(byEnv.code, 0, byEnv.err);
    assert.match(byEnv.err, /^\[sat\] backend: cpu \(requested by SAT_BACKEND=cpu\)$/m);
    const byFlag = await runSat(['train', ...TINY, '--backend', 'cpu', '--out', path.join(dir, 'c')], env).done;
    assert.equal(byFlag.code, 0, byFlag.err);
    assert.match(byFlag.err, /^\[sat\] backend: cpu /m);
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} to sat stops training at a step boundary, exits ${code}, leaves whole files and no lock; --resume finishes`, async () => {
      const dir = path.join(tmp(), 'run');
      const p = runSat(['train', ...LONG, '--out', dir], env);
      await p.waitFor(/epoch 1\/6 .*took/);
      await p.waitFor(/epoch 2\/6/);
      p.child.kill(signal);
      const r = await p.done;
      assert.equal(r.code, code, r.err);
      assert.match(r.err, new RegExp(`${signal}: stopping after the current step`));
      assert.match(r.err, new RegExp(`Training stopped; the checkpoint after epoch \\d is in ${dir}\\. Continue with --resume --out ${dir}`));
      assert.deepEqual(fs.readdirSync(dir).sort(), ['checkpoint.bin', 'config.json', 'cost.json', 'metrics.jsonl', 'provenance.json'], 'no lock, no temporary file, no results');
      const lines = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
      assert.ok(lines.endsWith('\n'), 'no torn line');
      const done = lines.trim().split('\n').length;
      assert.ok(done >= 1 && done < 6, `${done} epochs before the signal`);
      if (signal === 'SIGTERM') return; // resuming is the same after either signal
      const resumed = await runSat(['train', ...LONG, '--out', dir, '--resume'], env).done;
      assert.equal(resumed.code, 0, resumed.err);
      assert.match(resumed.err, new RegExp(`resuming ${dir} after epoch ${done}`));
      assert.deepEqual(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).epoch), [0, 1, 2, 3, 4, 5]);
    });
  }

  it('exits with the command\'s own code', async () => {
    const r = await runSat(['train', '--train-limit', '0'], env).done;
    assert.equal(r.code, 2);
    assert.match(r.err, /--train-limit must be a positive integer/);
  });
});
