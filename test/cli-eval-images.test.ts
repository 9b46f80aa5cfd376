// `sat eval --checkpoint ... --data DIR` over an image folder holding a corrupt file: --on-bad-image
// fail stops but still prints what it measured; skip leaves the file out and names it.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCheckpoint } from '../lib/checkpoint';
import { tfCheckpointTensors } from '../lib/checkpoint/import';
import { scanImageFolder } from '../lib/data/image-folder';
import { syntheticImageFolder } from '../lib/data/synthetic';
import { buildModel } from '../lib/models';
import { testBackend } from './helpers/backend';
import { sat } from './helpers/sat-in-process';


describe('sat eval over an image folder with a corrupt image', function () {
  this.timeout(120_000);
  let ckpt: string;
  let data: string;
  let bad: string;
  before(async () => {
    await testBackend();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-bad-image-'));
    const model = buildModel('efficientnet-b0', { inputShape: [32, 32, 3], numClasses: 1000, seed: 3 });
    ckpt = path.join(dir, 'efficientnet-b0');
    fs.mkdirSync(ckpt);
    writeCheckpoint(path.join(ckpt, 'efficientnet-b0'), tfCheckpointTensors(model, { arch: 'efficientnet-b0' }).map((t) => ({ name: t.name, dtype: 'float32' as const, shape: t.shape, data: t.values })));
    model.dispose();
    data = syntheticImageFolder(path.join(dir, 'synthetic-imagenet'), { classes: 3, perClass: 1, valPerClass: 2, size: 40, seed: 1 }).root;
    // The fifth image of the evaluation order (third batch of two): two batches come before it.
    bad = scanImageFolder({ root: data, split: 'val', limit: 6 }).files[4];
    fs.writeFileSync(bad, Buffer.from('not an image at all'));
  });

  const args = () => ['eval', '--checkpoint', ckpt, '--data', data, '--limit', '6', '--steps', '1', '--input-size', '32', '--batch-size', '2', '--json'];

  it('fail (the default): exits non-zero naming the file and the option, and prints the images measured before', async () => {
    const r = await sat(...args());
    assert.equal(r.code, 1);
    assert.ok(r.err.includes(bad), r.err);
    assert.match(r.err, /cannot decode image .*stopped after 4 images.*--on-bad-image skip/);
    const records = r.out.split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records.map((x) => [x.attack, x.n]), [['clean', 4], ['pgd-linf', 4]]);
  });

  it('skip: leaves the file out, counts and names it in every record', async () => {
    const r = await sat(...args(), '--on-bad-image', 'skip');
    assert.equal(r.code, 0, r.err);
    const records = r.out.split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records.map((x) => [x.attack, x.n, x.skipped]), [['clean', 5, 1], ['pgd-linf', 5, 1]]);
    for (const x of records) assert.deepEqual(x.skippedFiles, [bad]);
    assert.match(r.err, /skipped 1 unreadable image\(s\): .*\.JPEG|skipped 1 unreadable image/);
  });

  it('an unknown --on-bad-image value is refused', async () => {
    const r = await sat(...args(), '--on-bad-image', 'ignore');
    assert.equal(r.code, 2);
    assert.match(r.err, /Unknown --on-bad-image 'ignore'\. Valid values: fail, skip/);
  });
});
