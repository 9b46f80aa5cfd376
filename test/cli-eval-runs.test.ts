// `sat eval --run DIR` in a fresh process rebuilds every kind of run the notebooks make from its
// config.json alone: model and data names resolve in lib/models and lib/data, with no
// experiment module imported (the child process imports none).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findFashionMnist } from '../lib/data/fashion-mnist';
import { loadImageFolderDataset, syntheticFolderFor } from '../lib/data/image-folder-dataset';
import { modelNames } from '../lib/models';
import { train, type TrainConfig } from '../lib/train';
import { testBackend } from './helpers/backend';
import { runSat } from './helpers/subprocess';

const SMALL: Partial<TrainConfig> = {
  trainLimit: 16, testLimit: 8, width: 2, epochs: 1, batchSize: 8, seed: 1, activation: 'silu',
  attack: { type: 'pgd-linf', eps: 0.1, steps: 1, stepSize: 0.1 }, evaluation: { size: 8, attacks: [{ type: 'pgd-linf', eps: 0.1, steps: 1 }] },
};

describe('sat eval --run on each kind of run the notebooks make (a fresh process)', function () {
  this.timeout(180_000);
  let scratch: string;
  const savedDataDir = process.env.SAT_DATA_DIR;
  before(async () => {
    await testBackend();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-eval-runs-'));
    process.env.SAT_DATA_DIR = path.join(scratch, 'data'); // generated folders go here, not into the project
    fs.mkdirSync(process.env.SAT_DATA_DIR);
  });
  after(() => {
    if (savedDataDir === undefined) delete process.env.SAT_DATA_DIR;
    else process.env.SAT_DATA_DIR = savedDataDir;
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  /** Trains `c` here, evaluates it with `sat eval --run` in a child, and compares clean accuracy with results.json. */
  async function trainThenEval(name: string, c: Partial<TrainConfig>, beforeEval?: () => void): Promise<void> {
    const dir = path.join(scratch, name);
    const r = await train({ ...SMALL, ...c }, { runDir: dir, quiet: true });
    r.model.dispose();
    beforeEval?.();
    const e = await runSat(['eval', '--run', dir, '--size', '8', '--steps', '1', '--json'], { SAT_DATA_DIR: process.env.SAT_DATA_DIR }).done;
    assert.equal(e.code, 0, e.err);
    const records = e.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(records[0].attack, 'clean');
    assert.equal(records[0].n, 8);
    assert.equal(records[0].accuracy, r.results[0].accuracy, 'the same weights and test images as at the end of training');
  }

  it('00/05: MNIST CNN on MNIST', () => trainThenEval('mnist', { dataset: 'mnist', model: 'mnist-cnn' }));

  it('01: MNIST CNN on Fashion-MNIST, smooth attacker gradient', async function () {
    if (!findFashionMnist()) this.skip();
    await trainThenEval('fashion', { dataset: 'fashion-mnist', model: 'mnist-cnn', attackerGradient: 'smooth' });
  });

  it('02: resnet14 on an image-folder data set, rebuilt from its name after the folder is gone', async () => {
    const root = syntheticFolderFor({ classes: 3, perClass: 6, valPerClass: 4, size: 20, seed: 0 });
    const d = await loadImageFolderDataset(root, { size: 16, classes: 2, cropScale: [0.35, 1], trainLimit: 16, testLimit: 8 });
    assert.equal(d.name, 'synthetic-imagenet-c3-n6-v4-s20-seed0-c2-16px-rrc0.35_1');
    await trainThenEval('imagenet', { dataset: d.name, model: 'resnet14', augment: true, attack: { type: 'pgd-linf', eps: 1 / 255, steps: 1, stepSize: 1 / 255 } }, () => {
      // The child finds nothing on disk: it regenerates the stand-in from the name.
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(d.root, { recursive: true, force: true });
    });
  });

  it('03: resnet26 on MNIST resized to 20 px, and the 28-px CNN family when present', async () => {
    await trainThenEval('scaling-px', { dataset: 'mnist-20px', model: 'resnet26' });
    if (modelNames().includes('mnist-cnn-d6')) await trainThenEval('scaling-d6', { dataset: 'mnist', model: 'mnist-cnn-d6' });
  });

  it('04: PreAct ResNet-18 on the synthetic CIFAR-10 stand-in, with augmentation', () =>
    trainThenEval('cifar', { dataset: 'synthetic-cifar10', model: 'preact-resnet18', augment: true, attack: { type: 'pgd-linf', eps: 8 / 255, steps: 1, stepSize: 8 / 255 } }));
});
