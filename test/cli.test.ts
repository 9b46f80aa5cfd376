import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../lib/cli';
import { testBackend } from './helpers/backend';

/** Runs `sat ...` in-process and captures what it prints. */
async function sat(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe('sat CLI', () => {
  before(testBackend);

  it('an unknown activation lists the valid ones', async () => {
    const r = await sat('train', '--activation', 'relu7');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /Unknown activation 'relu7'\. Valid activations: relu, softplus, psoftplus, silu, gelu, elu, celu, smoothrelu, mish/);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  });

  it('eps outside [0,1] is refused', async () => {
    const r = await sat('train', '--eps', '8');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /eps 8 is outside \[0, 1\]/);
  });

  it('a malformed number and an unknown option are refused', async () => {
    assert.match((await sat('train', '--lr', 'fast')).err, /--lr must be a number/);
    const r = await sat('train', '--epochz', '3');
    assert.equal(r.code, 2);
    assert.match(r.err, /Unknown option '--epochz'/);
  });

  it('a missing checkpoint says where it looked', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-cli-'));
    const r = await sat('eval', '--run', dir);
    assert.notEqual(r.code, 0);
    assert.ok(r.err.includes(path.join(dir, 'checkpoint.bin')), r.err);
  });

  it('an unknown command prints the usage and fails', async () => {
    const r = await sat('trian');
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command 'trian'[\s\S]*train\s+train one model/);
  });

  it('train then eval: a tiny run end to end', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sat-cli-')), 'run');
    const t = await sat('train', '--train-limit', '64', '--test-limit', '32', '--width', '4', '--epochs', '1', '--batch-size', '32',
      '--activation', 'gelu', '--eps', '0.1', '--eval-size', '32', '--eval-steps', '2', '--out', dir, '--quiet');
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /mnist mnist-cnn gelu seed 0\s+\d+\.\d%\s+\d+\.\d%/);
    for (const f of ['config.json', 'metrics.jsonl', 'checkpoint.bin', 'results.json']) assert.ok(fs.existsSync(path.join(dir, f)), f);
    const e = await sat('eval', '--run', dir, '--eps', '0.05,0.1', '--steps', '1', '--size', '32', '--json');
    assert.equal(e.code, 0, e.err);
    const records = e.out.split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => r.attack), ['clean', 'pgd-linf', 'pgd-linf']);
    assert.deepEqual(records.map((r) => r.eps), [0, 0.05, 0.1]);
    const clean = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'))[0].accuracy;
    assert.equal(records[0].accuracy, clean, 'eval reloads the same weights the run finished with');
  });
});
