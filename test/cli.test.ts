import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ACTIVATIONS } from '../lib/activations';
import { testBackend } from './helpers/backend';
import { sat } from './helpers/sat-in-process';


describe('sat CLI', () => {
  before(testBackend);

  it('an unknown activation lists the valid ones', async () => {
    const r = await sat('train', '--activation', 'relu7');
    assert.notEqual(r.code, 0);
    assert.ok(r.err.includes(`Unknown activation 'relu7'. Valid activations: ${ACTIVATIONS.join(', ')}`), r.err);
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

  it('train --val-size --keep-best --epoch-eval-steps: a validation split, a multi-step per-epoch attack, and the best epoch kept', async () => {
    const refused = await sat('train', '--keep-best', '--epochs', '1');
    assert.equal(refused.code, 2);
    assert.match(refused.err, /--keep-best picks the epoch on a validation split: add --val-size N/);
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sat-cli-')), 'run');
    const t = await sat('train', '--train-limit', '96', '--test-limit', '32', '--width', '4', '--epochs', '2', '--batch-size', '32', '--eps', '0.1',
      '--val-size', '32', '--epoch-eval-steps', '3', '--keep-best', '--eval-size', '32', '--eval-steps', '2', '--out', dir, '--quiet');
    assert.equal(t.code, 0, t.err);
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.deepEqual([c.valSize, c.epochEvalSize, c.epochEvalAttack.steps, c.epochEvalAttack.stepSize, c.keep], [32, 32, 3, 0.025, 'best-val-adv']);
    assert.ok(fs.existsSync(path.join(dir, 'best.bin')), 'the kept epoch is written beside the last one');
    const metrics = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(metrics.every((m) => m.val_adv_acc !== undefined && m.test_adv_acc === undefined), 'per-epoch numbers come from the validation split');
  });
});

describe('sat CLI: nonsense is refused before any work, naming the fix', () => {
  let run: string;
  before(async function () {
    this.timeout(120_000);
    await testBackend();
    run = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sat-cli-bad-')), 'run');
    const t = await sat('train', '--train-limit', '32', '--test-limit', '16', '--width', '2', '--epochs', '1', '--batch-size', '32',
      '--eval-size', '16', '--eval-steps', '1', '--out', run, '--quiet');
    assert.equal(t.code, 0, t.err);
  });

  // [arguments, what the error must say]; each must fail with a usage-style message and no work.
  const cases: [string[], RegExp][] = [
    [['train', '--train-limit', '0'], /--train-limit must be a positive integer \(training images to use; leave it out for all\), got 0/],
    [['train', '--train-limit=-5'], /--train-limit must be a positive integer .* got -5/],
    [['train', '--test-limit', '0'], /--test-limit must be a positive integer/],
    [['train', '--eval-size', '0'], /--eval-size must be a positive integer \(test images evaluated at the end\)/],
    [['train', '--width', '0'], /--width must be a positive integer .*default/],
    [['train', 'mnist', 'silu'], /unexpected argument 'mnist': this command takes options only; did you mean --dataset mnist\?/],
    [['train', 'silu'], /did you mean --activation silu\?/],
    [['train', '--attack', 'fgsm', '--steps', '7'], /--attack fgsm is one step of size eps, so --steps would be ignored: drop them, or use --attack pgd-linf/],
    [['train', '--attack', 'none', '--eps', '0.3'], /--attack none trains on clean images, so --eps would be ignored/],
    [['train', '--milestones', '1,2'], /--milestones and --gamma only apply to --schedule step, not cosine/],
    [['train', '--schedule', 'step', '--milestones', '5', '--epochs', '3'], /milestones 5 are at or past the last epoch \(epochs=3\)/],
    [['train', '--attack', 'pgd-l2', '--eps', '1e30', '--train-limit', '32'], /L2 eps 1e\+30 .* exceeds 28\.00 = sqrt\(28x28x1\)/],
    [['train', '--eps', '-1'], /eps must be a number >= 0, got -1/],
    [['train', '--backend', 'gpu'], /Unknown --backend 'gpu'\. Valid values: tensorflow, wasm, cpu/],
    [['eval', '--size', '0', '--run', '<run>'], /--size must be a positive integer \(test images to evaluate\), got 0/],
    [['eval', '--run', '<run>', '--attack', 'fgsm', '--steps', '5'], /--attack fgsm is one step of size eps, so --steps would be ignored/],
    [['eval', '--run', '<run>', '--eps', '2'], /L-inf eps 2 is outside \[0, 1\]/],
    [['eval', '--run', '<run>', 'extra'], /unexpected argument 'extra'/],
  ];
  for (const [args, expected] of cases) {
    it(`sat ${args.join(' ')}`, async () => {
      const r = await sat(...args.map((a) => (a === '<run>' ? run : a)));
      assert.notEqual(r.code, 0);
      assert.match(r.err, expected);
      assert.doesNotMatch(r.err, /eval clean|epoch 1\//, 'no work started');
    });
  }

  it('a corrupt config.json names the file and the fix', async () => {
    const bad = path.join(path.dirname(run), 'bad-config');
    fs.cpSync(run, bad, { recursive: true });
    fs.writeFileSync(path.join(bad, 'config.json'), '{"dataset": "mnist",');
    const r = await sat('eval', '--run', bad);
    assert.notEqual(r.code, 0);
    assert.match(r.err, new RegExp(`${path.join(bad, 'config.json')} is not valid JSON .*delete ${bad} and train again`));
  });

  it('a checkpoint cut by one byte is reported as damaged, not as a Float32Array error', async () => {
    const cut = path.join(path.dirname(run), 'cut-checkpoint');
    fs.cpSync(run, cut, { recursive: true });
    const file = path.join(cut, 'checkpoint.bin');
    fs.writeFileSync(file, fs.readFileSync(file).subarray(0, fs.statSync(file).size - 1));
    const r = await sat('eval', '--run', cut);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /checkpoint\.bin is corrupt or not a sat checkpoint \(checksum mismatch/);
    assert.doesNotMatch(r.err, /Float32Array/);
  });

  it('training other options into the folder of a finished run is refused, naming what differs and --force', async () => {
    const r = await sat('train', '--train-limit', '32', '--out', run, '--quiet');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /holds a finished run of another config \(.*epochs: 1 there, 3 here.*\): train into another --out, or pass --force/);
    assert.match(await fs.promises.readFile(path.join(run, 'metrics.jsonl'), 'utf8'), /"epoch":0/, 'history kept');
  });
});

describe('sat eval --autoattack names its evaluation by the weights it evaluates', () => {
  it('a kept run: best.bin (or the folder) is the model, checkpoint.bin the last epoch; any other file is refused', async () => {
    const { evaluatedWeights } = await import('../lib/cli/eval-autoattack');
    const { RunFolder } = await import('../lib/train/run-folder');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-weights-'));
    try {
      const folder = new RunFolder(dir);
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ keep: 'best-val-adv' }));
      assert.equal(evaluatedWeights(folder, folder.modelFile()), 'model');
      assert.equal(evaluatedWeights(folder, path.join(dir, 'best.bin')), 'model');
      assert.equal(evaluatedWeights(folder, path.join(dir, 'checkpoint.bin')), 'last-epoch', 'so that it never overwrites the model\'s evaluation');
      assert.throws(() => evaluatedWeights(folder, path.join(dir, 'epoch-3.bin')), /neither the run's model .* nor its last epoch's weights/);
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({}));
      assert.equal(evaluatedWeights(folder, path.join(dir, 'checkpoint.bin')), 'model', 'a run that keeps its last epoch: checkpoint.bin is its model');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
