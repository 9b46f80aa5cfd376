import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import { decodeSafetensors, encodeSafetensors, exportModel, importModel } from '../lib/export/safetensors';
import { buildModel } from '../lib/models';
import { testBackend } from './helpers/backend';

const opts = { inputShape: [28, 28, 1] as [number, number, number], numClasses: 10, width: 4 };
const act = makeActivation('relu');

/** A model whose batch-norm statistics are not the identity, so that exporting them matters. */
function model(seed: number) {
  const m = buildModel('mnist-cnn', { ...opts, seed });
  for (const [name, v] of m.state) tf.tidy(() => v.assign(tf.add(tf.mul(tf.randomUniform(v.shape, 0, 1, 'float32', seed), name.endsWith('variance') ? 2 : 0.5), name.endsWith('variance') ? 0.5 : -0.25)));
  return m;
}

describe('export: safetensors', () => {
  before(testBackend);

  it('export then read back gives identical logits', () => {
    const a = model(1);
    const b = model(2);
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const la = a.apply(x, { training: false, act });
    const before = b.apply(x, { training: false, act });
    assert.notDeepEqual(Array.from(before.dataSync()), Array.from(la.dataSync()), 'two seeds give different models');
    const tensors = tf.memory().numTensors;
    importModel(b, decodeSafetensors(exportModel(a, { model: 'mnist-cnn', width: 4, activation: 'ReLU' })));
    assert.equal(tf.memory().numTensors, tensors, 'loading leaks nothing');
    const lb = b.apply(x, { training: false, act });
    assert.deepEqual(Array.from(lb.dataSync()), Array.from(la.dataSync()));
    tf.dispose([x, la, lb, before]);
    a.dispose();
    b.dispose();
  });

  it('the metadata gives the width the model was built with: the config\'s, else the registry\'s default (not "")', () => {
    const widthOf = (bytes: Uint8Array) => decodeSafetensors(bytes).metadata.width;
    const m = model(1);
    assert.equal(widthOf(exportModel(m, { model: 'mnist-cnn', width: 4, activation: 'ReLU' })), '4');
    m.dispose();
    const byDefault = buildModel('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10 });
    assert.equal(byDefault.params.get('conv1/kernel')?.shape[3], 16, 'built at the default width');
    assert.equal(widthOf(exportModel(byDefault, { model: 'mnist-cnn', activation: 'ReLU' })), '16');
    byDefault.dispose();
  });

  it('the header parses as the format specifies: u64 length, JSON, contiguous offsets, string metadata', () => {
    const m = model(1);
    const bytes = exportModel(m, { model: 'mnist-cnn', width: 4, activation: 'ReLU', dataset: 'mnist' });
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = Number(view.getBigUint64(0, true));
    assert.equal((8 + n) % 8, 0, 'data starts 8-byte aligned');
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
    const meta = header.__metadata__;
    for (const k of ['model', 'width', 'activation', 'input_shape', 'layout', 'pixel_range']) assert.equal(typeof meta[k], 'string', `metadata ${k}`);
    assert.deepEqual(JSON.parse(meta.input_shape), [28, 28, 1]);
    assert.match(meta.layout, /NHWC.*HWIO/);
    const entries = Object.entries(header).filter(([k]) => k !== '__metadata__') as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][];
    assert.equal(entries.length, m.params.size + m.state.size, 'every weight and batch-norm statistic');
    let end = 0;
    for (const [name, t] of entries.sort((p, q) => p[1].data_offsets[0] - q[1].data_offsets[0])) {
      assert.equal(t.dtype, 'F32');
      assert.equal(t.data_offsets[0], end, `${name} starts where the previous ends`);
      end = t.data_offsets[1];
      assert.equal(end - t.data_offsets[0], 4 * t.shape.reduce((p, q) => p * q, 1));
    }
    assert.equal(8 + n + end, bytes.length, 'the data is covered exactly');
    const k = header['conv1/kernel'];
    assert.deepEqual(k.shape, [3, 3, 1, 4], 'HWIO');
    const first = new DataView(bytes.buffer, bytes.byteOffset + 8 + n + k.data_offsets[0], 4).getFloat32(0, true);
    assert.equal(first, m.params.get('conv1/kernel')!.dataSync()[0], 'raw little-endian float32');
    m.dispose();
  });

  it('rejects malformed files with errors that say what is wrong', () => {
    const good = encodeSafetensors(new Map([['a', { dtype: 'F32' as const, shape: [2], data: new Float32Array([1, 2]) }]]));
    assert.throws(() => decodeSafetensors(good.subarray(0, 4)), /shorter than the 8-byte header length/);
    assert.throws(() => decodeSafetensors(good.subarray(0, good.length - 4)), /offsets .* outside/);
    assert.throws(() => encodeSafetensors(new Map([['a', { dtype: 'F32' as const, shape: [3], data: new Float32Array(2) }]])), /shape \[3\] holds 3 values, the data has 2/);
  });

  const python = process.env.SAT_TORCH_PYTHON ?? '/usr/bin/python3'; // Debian's, with python3-torch
  const hasTorch = (() => {
    try {
      execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  // CI (.ci/run) installs Debian's python3-torch and sets SAT_REQUIRE_TORCH=1: there a missing torch fails.
  const torchRequired = process.env.SAT_REQUIRE_TORCH === '1';
  (hasTorch || torchRequired ? it : it.skip)('PyTorch, following the README, reads the file and computes the same logits', function () {
    this.timeout(60000);
    assert.ok(hasTorch, `SAT_REQUIRE_TORCH=1 but ${python} cannot import torch: install Debian's python3-torch (apt-get install python3-torch).`);
    const m = model(1);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-export-'));
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    fs.writeFileSync(path.join(dir, 'm.safetensors'), exportModel(m, { model: 'mnist-cnn', width: 4, activation: 'ReLU' }));
    fs.writeFileSync(path.join(dir, 'x.safetensors'), encodeSafetensors(new Map([['x', { dtype: 'F32' as const, shape: x.shape, data: x.dataSync() as Float32Array }]])));
    const out = JSON.parse(execFileSync(python, [path.join(__dirname, 'fixtures', 'load_safetensors_torch.py'), path.join(dir, 'm.safetensors'), path.join(dir, 'x.safetensors')], { encoding: 'utf8' }));
    const ours = m.apply(x, { training: false, act });
    const want = ours.arraySync() as number[][];
    out.logits.forEach((row: number[], i: number) => row.forEach((v, j) => assert.ok(Math.abs(v - want[i][j]) < 1e-4, `logit [${i}][${j}]: torch ${v}, tfjs ${want[i][j]}`)));
    assert.equal(out.metadata.model, 'mnist-cnn');
    tf.dispose([x, ours]);
    m.dispose();
    fs.rmSync(dir, { recursive: true });
  });
});
