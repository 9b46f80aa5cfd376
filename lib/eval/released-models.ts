// Evaluates a released SAT checkpoint (TensorFlow) on an ImageNet-style validation folder as
// the official code does: its preprocessing (ResNet: shorter side to size + 32 with tensorpack's
// rounding, bicubic, centre crop with a floored offset; EfficientNet: its central crop, bicubic
// to its own resolution), clean top-1 and non-targeted PGD-k at eps 4/255 with step 1/255.
// Shared by `sat eval --checkpoint` and notebook 06.
import * as path from 'node:path';
import { openCheckpoint } from '../checkpoint';
import type { TfImportReport } from '../checkpoint/import';
import { loadTfModel } from '../checkpoint/tf-model';
import { type ReleasedModel, releasedModelFor } from '../checkpoint/released';
import { numImageFolderBatches, scanImageFolder } from '../data/image-folder';
import { ImageFolderStream } from '../data/stream/folder-stream';
import { imagenetLabels } from '../data/imagenet-labels';
import type { ResultRecord } from './index';
import { officialAttack, PREPROCESSING, type Preprocessing } from './official';
import { evaluateStream, PartialEvaluationError } from './stream';

export interface CheckpointEvalOptions {
  /** Checkpoint prefix (or its folder, or its .index file). */
  checkpoint: string;
  /** Our model name; default: the released model the checkpoint's name identifies. */
  arch?: string;
  activation?: string;
  /** Load the ExponentialMovingAverage weights; default: as the README evaluates that release. */
  movingAverage?: boolean;
  /** Input side; default: the release's evaluation size, else the model's published one. */
  inputSize?: number;
  /** Root of an ImageNet-style folder (val/<wnid>/*.JPEG, or class folders directly). */
  data: string;
  /** At most this many images, spread over the classes. */
  limit?: number;
  /** PGD steps to evaluate (default 10, 20, 50 as the README). */
  steps?: number[];
  batchSize?: number;
  /** A synset list for folders that hold a subset of ImageNet's classes. */
  synsets?: string;
  seed?: number;
  /** Progress label; none prints no progress. */
  label?: string;
  /** An image that cannot be read: 'fail' ends the evaluation (default), 'skip' leaves it out and names it in the records. */
  onBadImage?: 'fail' | 'skip';
}

export interface CheckpointEvalResult {
  records: ResultRecord[];
  /** The release the checkpoint's name matched, if any (its README numbers are the reference). */
  released?: ReleasedModel;
  report: TfImportReport;
  /** What the official evaluation does to an image of this family, as done here. */
  preprocessing: Preprocessing;
  inputSize: number;
  labelSource: string;
  seconds: number;
}

/** What to pass for arch/activation, from the options or the release the checkpoint's name identifies. */
export function resolveCheckpointModel(opts: Pick<CheckpointEvalOptions, 'checkpoint' | 'arch' | 'activation' | 'movingAverage' | 'inputSize'>) {
  const released = releasedModelFor(opts.checkpoint);
  const arch = opts.arch ?? released?.arch;
  const activation = opts.activation ?? released?.activation;
  if (!arch || !activation) {
    throw new Error(
      `cannot tell which model ${opts.checkpoint} is: pass ${!arch ? '--arch (resnet50, resnext50-32x4d, efficientnet-b0, …)' : ''}${!arch && !activation ? ' and ' : ''}${!activation ? '--activation (relu, silu, gelu, elu, smoothrelu, softplus, mish)' : ''}, ` +
        'or keep the folder names of the official download scripts (data/checkpoints/Res50-silu/Res50-silu.index).',
    );
  }
  const sameRelease = released && released.arch === arch;
  return {
    released: sameRelease ? released : undefined,
    arch,
    activation,
    movingAverage: opts.movingAverage ?? (sameRelease ? released.movingAverage : false),
    inputSize: opts.inputSize ?? (sameRelease ? released.inputSize : undefined),
  };
}

export async function evaluateTfCheckpoint(opts: CheckpointEvalOptions): Promise<CheckpointEvalResult> {
  const started = Date.now();
  const which = resolveCheckpointModel(opts);
  const checkpoint = openCheckpoint(opts.checkpoint);
  const loaded = loadTfModel(checkpoint, { arch: which.arch, activation: which.activation, movingAverage: which.movingAverage, inputSize: which.inputSize });
  let stream: ImageFolderStream | undefined;
  try {
    const index = scanImageFolder({ root: opts.data, split: 'val', limit: opts.limit });
    const { labels, source } = imagenetLabels(index, opts.synsets);
    const classes = loaded.model.numClasses;
    const outOfRange = labels.find((l) => l >= classes);
    if (outOfRange !== undefined) throw new Error(`label ${outOfRange} of ${index.dir} is outside the model's ${classes} classes.`);
    const batchSize = opts.batchSize ?? 16;
    const size = loaded.inputSize;
    const evalCrop = loaded.report.family === 'resnet' ? 'resnet-official' : 'efficientnet-official';
    stream = new ImageFolderStream({ ...index, labels }, { spec: { size, mode: 'eval', evalCrop } });
    const skipped: string[] = [];
    const onBadImage = opts.onBadImage === 'skip' ? (file: string) => void skipped.push(file) : undefined;
    // Every record says which images it does not cover.
    const noteSkipped = (rs: ResultRecord[]) => (skipped.length ? rs.map((r) => Object.assign(r, { skipped: skipped.length, skippedFiles: [...skipped] })) : rs);
    const records = await evaluateStream(
      loaded.model,
      stream.batches({ batchSize, onBadImage }),
      (opts.steps ?? [10, 20, 50]).map(officialAttack),
      {
        run: path.basename(checkpoint.prefix),
        experiment: 'released-models',
        dataset: `${index.name}${index.dir !== index.root ? `/${path.basename(index.dir)}` : ''}`,
        synthetic: index.synthetic,
        model: which.arch,
        activation: loaded.activation,
        seed: opts.seed ?? 0,
      },
      { act: loaded.act, seed: opts.seed ?? 0, label: opts.label, totalBatches: numImageFolderBatches(index, { batchSize }) },
    ).then(noteSkipped, (e) => {
      if (e instanceof PartialEvaluationError) noteSkipped(e.records);
      throw e;
    });
    return { records, released: which.released, report: loaded.report, preprocessing: PREPROCESSING[loaded.report.family], inputSize: size, labelSource: source, seconds: (Date.now() - started) / 1000 };
  } finally {
    loaded.model.dispose();
    await stream?.close();
  }
}
