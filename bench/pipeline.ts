// `npm run bench -- --pipeline`: can the streaming data pipeline feed SAT training?
// 1. decode, and decode + augment (random-resized crop to 224 and flip; with sharp the crop is
//    resized by libvips), per image on one thread, for sharp and for jpeg-js, on a generated folder of ImageNet-sized JPEGs (500x375, quality 90);
// 2. the whole pipeline (read, decode, augment in worker threads, batches assembled into tensors
//    on this thread, nothing training) with 1 and 2 decoding workers;
// 3. beside them, the images/s that a ResNet-50 SAT step (PGD-1 + SGD step, 224 px) consumes on the
//    backend in use, at a reduced batch when the backend is slow (printed).
// Wall-clock rates depend on how busy the machine is, so CPU-seconds per image (this process, all
// threads) and the load average are printed too.
// Usage: tsx bench/bench.ts --pipeline [--images 200] [--batch 32] [--workers 1,2] [--model-batch N]
//        [--model-runs 2] [--skip-model] [--backend wasm|cpu|tensorflow] [--json]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import { makeAttack } from '../lib/attacks';
import { describeBackend, initBackend } from '../lib/backend';
import { parse, parseCount, UsageError } from '../lib/cli/args';
import { scanImageFolder } from '../lib/data/image-folder';
import { decode, loadSharp, type Decoder } from '../lib/data/stream/decode';
import { ImageFolderStream } from '../lib/data/stream/folder-stream';
import { generateJpegFolder } from '../lib/data/stream/generate';
import type { PreprocessSpec } from '../lib/data/stream/image-ops';
import { runImageTask } from '../lib/data/stream/task';
import { buildModel } from '../lib/models';
import { satStep, Sgd } from '../lib/train';

const SPEC: PreprocessSpec = { size: 224, mode: 'train' };

interface Row {
  what: string;
  images_per_s: number;
  /** CPU-seconds of this process (all threads) per image, in ms. */
  cpu_ms_per_image?: number;
  note?: string;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function timed<T>(fn: () => Promise<T>): Promise<{ wallMs: number; cpuMs: number; value: T }> {
  const [w0, c0] = [performance.now(), cpuNow()];
  const value = await fn();
  return { wallMs: performance.now() - w0, cpuMs: cpuNow() - c0, value };
}

/** On this thread, image by image: decoding alone, then decoding + augmentation as a worker runs it. */
async function decodeAugment(files: string[], decoder: Decoder): Promise<Row[]> {
  const bufs = files.map((f) => fs.readFileSync(f));
  const decodeOnly = await timed(async () => {
    for (let i = 0; i < files.length; i++) await decode(bufs[i], files[i], decoder);
  });
  const full = await timed(async () => {
    for (let i = 0; i < files.length; i++) await runImageTask({ file: files[i], spec: SPEC, seed: i, decoder });
  });
  const row = (what: string, t: { wallMs: number; cpuMs: number }): Row => ({ what: `${what}, ${decoder}, this thread`, images_per_s: (files.length * 1000) / t.wallMs, cpu_ms_per_image: t.cpuMs / files.length });
  return [row('decode', decodeOnly), row('read + decode + augment', full)];
}

/** The whole pipeline: workers decode and augment, batches become tensors here, nothing trains. */
async function pipeline(root: string, workers: number, decoder: Decoder, batch: number): Promise<Row> {
  const stream = new ImageFolderStream(scanImageFolder({ root, split: 'train' }), { spec: SPEC, workers, decoder });
  try {
    // The first batch also starts the workers; time the rest of the epoch.
    const it = stream.batches({ batchSize: batch, seed: 0 });
    const first = await it.next();
    if (!first.done) tf.dispose([first.value.x, first.value.y]);
    let n = 0;
    const t = await timed(async () => {
      for await (const b of { [Symbol.asyncIterator]: () => it }) {
        n += b.y.shape[0];
        tf.dispose([b.x, b.y]);
      }
    });
    return { what: `pipeline, ${decoder}, ${workers} worker${workers === 1 ? '' : 's'}, batch ${batch}`, images_per_s: (n * 1000) / t.wallMs, cpu_ms_per_image: t.cpuMs / n };
  } finally {
    await stream.close();
  }
}

/** Images/s of ResNet-50 SAT steps (PGD-1 at 4/255, step = eps, then SGD) at 224 px. */
function resnet50Consumption(batch: number, runs: number, backend: string): Row {
  const model = buildModel('resnet50', { inputShape: [224, 224, 3], numClasses: 1000, seed: 0 });
  const sgd = new Sgd(model.params, { momentum: 0.9, nesterov: true, weightDecay: 1e-4, decays: (n) => n.endsWith('/kernel') });
  const act = makeActivation('relu');
  const attack = makeAttack({ type: 'pgd-linf', eps: 4 / 255, steps: 1, stepSize: 4 / 255 });
  const x = tf.randomUniform([batch, 224, 224, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.tidy(() => tf.cast(tf.floor(tf.randomUniform([batch], 0, 1000, 'float32', 2)), 'int32')) as tf.Tensor1D;
  try {
    const step = (seed: number) => satStep(model, sgd, x, y, { attack, attackerAct: act, trainerAct: act, labelSmoothing: 0.1, lr: 0.1, seed });
    step(0); // warm-up
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      step(i + 1);
      times.push(performance.now() - t0);
    }
    const ms = times.sort((a, b) => a - b)[times.length >> 1];
    return { what: `ResNet-50 SAT step (PGD-1), ${backend}, batch ${batch}`, images_per_s: (batch * 1000) / ms, note: `median of ${runs} steps: ${(ms / 1000).toFixed(2)} s per step` };
  } finally {
    tf.dispose([x, y]);
    sgd.dispose();
    model.dispose();
  }
}

export async function pipelineBench(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    images: { type: 'string' },
    batch: { type: 'string' },
    workers: { type: 'string' },
    'model-batch': { type: 'string' },
    'model-runs': { type: 'string' },
    'skip-model': { type: 'boolean' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
  }, { positionals: false });
  const images = parseCount('images', values.images, 'images') ?? 200;
  const batch = parseCount('batch', values.batch, 'images') ?? 32;
  const workerCounts = (values.workers ?? '1,2').split(',').map((w) => {
    const n = Number(w);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--workers takes a list of positive integers like 1,2; got '${values.workers}'.`);
    return n;
  });
  const modelRuns = parseCount('model-runs', values['model-runs'], 'steps') ?? 2;
  const info = await initBackend(values.backend, true);
  // A slow backend (wasm, cpu: seconds per image) is measured at a small batch; say so.
  const modelBatch = parseCount('model-batch', values['model-batch'], 'images') ?? (info.name === 'tensorflow' ? 32 : 2);
  const decoders: Decoder[] = loadSharp() ? ['sharp', 'jpeg-js'] : ['jpeg-js'];
  const out = (r: Row) => console.log(values.json ? JSON.stringify(r) : `${r.what.padEnd(48)} ${(r.images_per_s < 10 ? r.images_per_s.toPrecision(2) : r.images_per_s.toFixed(1)).padStart(8)} img/s${r.cpu_ms_per_image === undefined ? '' : `  ${r.cpu_ms_per_image.toFixed(1).padStart(6)} CPU-ms/img`}${r.note ? `  (${r.note})` : ''}`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-pipeline-'));
  try {
    const classes = 10;
    const gen = await timed(() => generateJpegFolder(path.join(tmp, 'synthetic-pipeline'), { classes, perClass: Math.ceil(images / classes), valPerClass: 1, width: 500, height: 375, quality: 90 }));
    const root = gen.value;
    const files = scanImageFolder({ root, split: 'train' }).files;
    if (!values.json) {
      console.log(`${describeBackend(info)}; ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}`);
      console.log(`${files.length} generated 500x375 JPEGs (quality 90, ${(fs.statSync(files[0]).size / 1024).toFixed(0)} KB each) in ${(gen.wallMs / 1000).toFixed(1)} s; augmentation: random-resized crop to 224 + flip${loadSharp() ? '' : '; sharp does not load here, jpeg-js only'}`);
    }
    for (const d of decoders) for (const r of await decodeAugment(files, d)) out(r);
    for (const d of decoders) for (const w of workerCounts) out(await pipeline(root, w, d, batch));
    if (!values['skip-model']) {
      if (!values.json) console.log(`ResNet-50 SAT step at batch ${modelBatch}${info.name === 'tensorflow' ? '' : ' (reduced: a batch takes seconds per image on this backend)'}...`);
      out(resnet50Consumption(modelBatch, modelRuns, info.name));
    }
    if (!values.json) console.log(`load average now ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores (wall-clock rates fall when other work shares the cores)`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
