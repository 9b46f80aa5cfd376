// Streamed image-folder data sets by name: the `paper` profile's ImageNet, which no machine holds
// in memory. The name
//   <folder>[-c<classes>]-<size>px-rrc<min>_<max>-<eval crop>-stream
// (e.g. imagenet-224px-rrc0.08_1-resnet-official-stream) says everything that changes the numbers:
// the folder (found by name: IMAGENET_DIR or data/<folder>), the first `classes` classes, the input
// side, the random-resized crop's area range for training, and the evaluation crop. How many
// decoding workers (SAT_DECODE_WORKERS, default cores − 1) and which decoder (SAT_DECODER) change
// only the speed, so they are not in the name.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ImageDataset } from '../dataset';
import { findImageFolder, scanImageFolder, type ImageFolderIndex } from '../image-folder';
import { dataDir } from '../../util/fs';
import { SYNTHETIC_MARKER } from '../synthetic';
import { ImageFolderStream } from './folder-stream';
import type { PreprocessSpec } from './image-ops';

export const EVAL_CROPS = ['standard', 'resnet-official', 'efficientnet-official'] as const;
export type EvalCrop = (typeof EVAL_CROPS)[number];

export interface StreamDatasetSpec {
  size: number;
  classes?: number;
  cropScale: [number, number];
  evalCrop: EvalCrop;
}

/** The full splits of a streamed data set (the trainer streams `train` each epoch and evaluates on `test`). */
export interface StreamSplits {
  train: ImageFolderStream;
  test: ImageFolderStream;
  root: string;
  synthetic: boolean;
}

export function streamDatasetName(folderName: string, spec: StreamDatasetSpec): string {
  return `${folderName}${spec.classes ? `-c${spec.classes}` : ''}-${spec.size}px-rrc${spec.cropScale.join('_')}-${spec.evalCrop}-stream`;
}

/** Every reading of a name (`foo-c5-…` may be folder 'foo' with 5 classes or folder 'foo-c5'). */
export function parseStreamDatasetName(name: string): { folder: string; spec: StreamDatasetSpec }[] {
  const m = new RegExp(`^(.+)-(\\d+)px-rrc([\\d.]+)_([\\d.]+)-(${EVAL_CROPS.join('|')})-stream$`).exec(name);
  if (!m) return [];
  const spec: StreamDatasetSpec = { size: Number(m[2]), cropScale: [Number(m[3]), Number(m[4])], evalCrop: m[5] as EvalCrop };
  const out = [{ folder: m[1], spec }];
  const c = /^(.+)-c(\d+)$/.exec(m[1]);
  if (c) out.unshift({ folder: c[1], spec: { ...spec, classes: Number(c[2]) } });
  return out;
}

export function isStreamDatasetName(name: string): boolean {
  return parseStreamDatasetName(name).length > 0;
}

/** The folder a name refers to: IMAGENET_DIR (when its name matches), or data/<folder>. */
function locate(folder: string): string | undefined {
  const env = findImageFolder();
  if (env && path.basename(env) === folder) return env;
  const inData = path.join(dataDir(), folder);
  return fs.existsSync(inData) ? inData : undefined;
}

function firstClasses(index: ImageFolderIndex, classes: number | undefined): ImageFolderIndex {
  if (!classes || classes >= index.classNames.length) return index;
  const keep = Array.from(index.labels.keys()).filter((i) => index.labels[i] < classes);
  return { ...index, classNames: index.classNames.slice(0, classes), files: keep.map((i) => index.files[i]), labels: Int32Array.from(keep, (i) => index.labels[i]) };
}

/** At most `limit` images, taken round-robin over the classes (as scanImageFolder's limit does), in class order. */
function balancedLimit(index: ImageFolderIndex, limit: number | undefined): ImageFolderIndex {
  if (!limit || limit >= index.files.length) return index;
  const byClass = index.classNames.map(() => [] as number[]);
  index.labels.forEach((l, i) => byClass[l].push(i));
  const picked: number[] = [];
  for (let j = 0; picked.length < limit; j++) {
    for (let k = 0; k < byClass.length && picked.length < limit; k++) if (j < byClass[k].length) picked.push(byClass[k][j]);
  }
  picked.sort((a, b) => a - b);
  return { ...index, files: picked.map((i) => index.files[i]), labels: Int32Array.from(picked, (i) => index.labels[i]) };
}

function workersFromEnv(): number | undefined {
  const v = process.env.SAT_DECODE_WORKERS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`SAT_DECODE_WORKERS must be a non-negative integer (0 decodes on the training thread), got '${v}'.`);
  return n;
}

const opened = new Map<string, StreamSplits>();

/**
 * Opens the streams of a name (once per process and limits): the training split with the
 * random-resized crop, the validation split with the evaluation crop. Only file lists are read.
 */
export function openStreamDataset(name: string, limits: { trainLimit?: number; testLimit?: number } = {}): StreamSplits {
  const key = `${name}|${limits.trainLimit ?? 'all'}|${limits.testLimit ?? 'all'}`;
  const cached = opened.get(key);
  if (cached) return cached;
  const readings = parseStreamDatasetName(name);
  if (readings.length === 0) throw new Error(`'${name}' is not a streamed data set name (<folder>[-c<classes>]-<size>px-rrc<min>_<max>-<${EVAL_CROPS.join('|')}>-stream)`);
  for (const { folder, spec } of readings) {
    const root = locate(folder);
    if (!root) continue;
    const index = (split: 'train' | 'val', limit?: number) => balancedLimit(firstClasses(scanImageFolder({ root, split }), spec.classes), limit);
    const workers = workersFromEnv();
    const trainSpec: PreprocessSpec = { size: spec.size, mode: 'train', cropScale: spec.cropScale };
    const testSpec: PreprocessSpec = { size: spec.size, mode: 'eval', evalCrop: spec.evalCrop };
    const splits: StreamSplits = {
      train: new ImageFolderStream(index('train', limits.trainLimit), { spec: trainSpec, workers }),
      test: new ImageFolderStream(index('val', limits.testLimit), { spec: testSpec, workers }),
      root,
      synthetic: fs.existsSync(path.join(root, SYNTHETIC_MARKER)) || folder.toLowerCase().includes('synthetic'),
    };
    opened.set(key, splits);
    return splits;
  }
  const folder = readings[readings.length - 1].folder;
  throw new Error(`Data set '${name}' streams the image folder '${folder}', which is not here: put it at ${path.join(dataDir(), folder)} (train/<class>/*.JPEG, val/<class>/*.JPEG) or point IMAGENET_DIR at it.`);
}

/**
 * A small in-memory sample of a stream: its first `n` images in folder order, preprocessed as the
 * stream does (the test stream: its evaluation crop). What the trainer keeps in memory for a
 * streamed data set: the input shape, a probe of the weights' outputs, the per-epoch evaluation.
 */
export async function streamSample(stream: ImageFolderStream, n: number, name: string, synthetic: boolean): Promise<ImageDataset> {
  const { size } = stream.opts.spec;
  const m = Math.min(n, stream.n);
  const images = new Float32Array(m * size * size * 3);
  const labels = new Int32Array(m);
  let at = 0;
  for await (const b of stream.batches({ batchSize: Math.max(1, m), limit: m })) {
    images.set(b.x.dataSync() as Float32Array, at * size * size * 3);
    labels.set(b.y.dataSync() as Int32Array, at);
    at += b.y.shape[0];
    b.x.dispose();
    b.y.dispose();
  }
  return {
    name, images, labels, n: m, height: size, width: size, channels: 3,
    numClasses: stream.index.classNames.length, classNames: stream.index.classNames, ...(synthetic ? { synthetic: true } : {}),
  };
}

/** What a streamed data set gives the trainer: samples in memory (see streamSample) and the full splits streamed. */
export interface PreparedStream {
  train: ImageDataset;
  test: ImageDataset;
  stream: StreamSplits;
  source: string;
}

const prepared = new Map<string, PreparedStream>();
const preparedKey = (name: string, l: { trainLimit?: number; testLimit?: number }) => `${name}|${l.trainLimit ?? 'all'}|${l.testLimit ?? 'all'}`;

/** In-memory images of a streamed data set's samples: 8 training images (a probe), 64 validation images (per-epoch evaluation). */
export const SAMPLE_SIZES = { train: 8, test: 64 };

/** Opens a streamed data set and reads its samples (asynchronous), once per process and limits. */
export async function prepareStreamDataset(name: string, limits: { trainLimit?: number; testLimit?: number }): Promise<PreparedStream> {
  const key = preparedKey(name, limits);
  const done = prepared.get(key);
  if (done) return done;
  const stream = openStreamDataset(name, limits);
  const p: PreparedStream = {
    train: await streamSample(stream.train, SAMPLE_SIZES.train, name, stream.synthetic),
    test: await streamSample(stream.test, SAMPLE_SIZES.test, name, stream.synthetic),
    stream,
    source: `${stream.synthetic ? 'SYNTHETIC generated image folder (not real data)' : 'real images from the folder'} ${stream.root}, streamed from disk ` +
      `(${stream.train.n} training, ${stream.test.n} validation images, ${stream.train.opts.spec.size}px, ${stream.train.decoder} decoding on ${stream.train.workers} worker${stream.train.workers === 1 ? '' : 's'})`,
  };
  prepared.set(key, p);
  return p;
}

export function preparedStreamDataset(name: string, limits: { trainLimit?: number; testLimit?: number }): PreparedStream | undefined {
  return prepared.get(preparedKey(name, limits));
}
