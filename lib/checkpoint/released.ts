// The SAT models the authors released (cihangxie/SmoothAdversarialTraining), as data: the name
// their download scripts use, the model that name is in our registry, and the numbers the
// README's model-zoo tables report for it. Also finds downloaded checkpoints on disk.
//
// Sources: ResNet/download_resnet.py and EfficientNet/download_efficientnet.py (names, Google
// Drive files, folder layout <name>/<name>.{index,data-00000-of-00001,meta}); README.md (the
// three model-zoo tables and the flags each row is evaluated with).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataDir } from '../util/fs';
import { resolveCheckpointPrefix } from './reader';

export interface ReadmeNumbers {
  /** Top-1 accuracy in percent on ImageNet val. */
  clean: number;
  /** Accuracy under non-targeted PGD-k at eps 4/255, step 1/255; absent where the README says TODO. */
  pgd10?: number;
  pgd20?: number;
  pgd50?: number;
}

export interface ReleasedModel {
  /** The name download_resnet.py / download_efficientnet.py take (--model_name). */
  name: string;
  family: 'resnet' | 'efficientnet';
  /** Our registry's model name (lib/models). */
  arch: string;
  activation: string;
  /** The evaluation resolution (ResNet: --input-size; EfficientNet: efficientnet_params). */
  inputSize: number;
  /** EfficientNet: evaluate the ExponentialMovingAverage shadow weights (--moving_average_decay > 0). */
  movingAverage: boolean;
  /** The README row, where the README lists this checkpoint. */
  readme?: ReadmeNumbers;
  /** The README's evaluation flags for the row, for reference. */
  flags: string;
}

const resnet = (name: string, arch: string, activation: string, inputSize: number, flags: string, readme?: number[]): ReleasedModel => ({
  name, family: 'resnet', arch, activation, inputSize, movingAverage: false, flags,
  readme: readme && { clean: readme[0], pgd10: readme[1], pgd20: readme[2], pgd50: readme[3] },
});
const efficientnet = (name: string, arch: string, inputSize: number, clean: number, movingAverage = false): ReleasedModel => ({
  name, family: 'efficientnet', arch, activation: 'silu', inputSize, movingAverage, readme: { clean },
  flags: `--model_name=${name.replace('-enhanced', '')} --moving_average_decay=${movingAverage ? 0.9999 : 0} --batch_norm_epsilon=1e-5 --sat_preprocessing=True`,
});
const R50 = '-d=50 --res2-bottleneck=64 --group=1';

/**
 * Every checkpoint the download scripts offer. The README's tables are headed "error rate" but
 * list accuracies (69.7 clean, 43.0 under PGD-10 for SiLU); we quote them as accuracies.
 * Res50-softplus and Res50-mish are downloadable but not in the README's tables.
 */
export const RELEASED_MODELS: readonly ReleasedModel[] = [
  resnet('Res50-relu', 'resnet50', 'relu', 224, `${R50} --activation-name=relu`, [68.7, 35.3, 33.7, 33.1]),
  resnet('Res50-silu', 'resnet50', 'silu', 224, `${R50} --activation-name=silu`, [69.7, 43.0, 42.2, 41.9]),
  resnet('Res50-elu', 'resnet50', 'elu', 224, `${R50} --activation-name=elu`, [69.0, 41.6, 40.9, 40.7]),
  resnet('Res50-gelu', 'resnet50', 'gelu', 224, `${R50} --activation-name=gelu`, [69.9, 42.6, 41.8, 41.5]),
  resnet('Res50-smoothrelu', 'resnet50', 'smoothrelu', 224, `${R50} --activation-name=smoothrelu`, [69.3, 41.3, 40.4, 40.1]),
  resnet('Res50-softplus', 'resnet50', 'softplus', 224, `${R50} --activation-name=softplus`),
  resnet('Res50-mish', 'resnet50', 'mish', 224, `${R50} --activation-name=mish`),
  resnet('Res101-silu', 'resnet101', 'silu', 224, '-d=101 --res2-bottleneck=64 --group=1 --input-size=224', [72.9, 46.4, 45.5, 45.2]),
  resnet('Res152-silu', 'resnet152', 'silu', 224, '-d=152 --res2-bottleneck=64 --group=1 --input-size=224', [74.0, 47.3, 46.2, 45.8]),
  resnet('ResX50-silu-32x4d', 'resnext50-32x4d', 'silu', 224, '-d=50 --res2-bottleneck=4 --group=32 --input-size=224', [71.1, 43.3, 42.5, 42.2]),
  resnet('ResX50-silu-32x8d', 'resnext50-32x8d', 'silu', 224, '-d=50 --res2-bottleneck=8 --group=32 --input-size=224', [73.3, 46.3, 45.2, 44.8]),
  resnet('Res50-silu-299', 'resnet50', 'silu', 299, `${R50} --input-size=299`, [70.7, 44.6, 43.8, 43.6]),
  resnet('Res50-silu-380', 'resnet50', 'silu', 380, `${R50} --input-size=380`, [71.6, 44.9, 44.1, 43.8]),
  resnet('ResX152-silu-380-32x8d', 'resnext152-32x8d', 'silu', 380, '-d=152 --res2-bottleneck=8 --group=32 --input-size=380', [78.0, 53.0, 51.7, 51.0]),
  efficientnet('efficientnet-b0', 'efficientnet-b0', 224, 65.2),
  efficientnet('efficientnet-b1', 'efficientnet-b1', 240, 68.6),
  efficientnet('efficientnet-b2', 'efficientnet-b2', 260, 70.3),
  efficientnet('efficientnet-b3', 'efficientnet-b3', 300, 73.1),
  efficientnet('efficientnet-b4', 'efficientnet-b4', 380, 75.9),
  efficientnet('efficientnet-b5', 'efficientnet-b5', 456, 77.8),
  efficientnet('efficientnet-b6', 'efficientnet-b6', 528, 79.2),
  efficientnet('efficientnet-b7', 'efficientnet-b7', 600, 79.8),
  efficientnet('efficientnet-bL1', 'efficientnet-l1', 600, 80.7),
  efficientnet('efficientnet-bL1-enhanced', 'efficientnet-l1', 600, 82.2, true),
];

export const RELEASED_SOURCE = 'github.com/cihangxie/SmoothAdversarialTraining: README.md model-zoo tables; ResNet/download_resnet.py; EfficientNet/download_efficientnet.py';

/** How to get the checkpoints, in words and commands (the official scripts use gdown). */
export const DOWNLOAD_HELP =
  'The released checkpoints are on Google Drive. With Python and `pip install gdown`, run the official scripts from ' +
  'https://github.com/cihangxie/SmoothAdversarialTraining inside data/checkpoints/: ' +
  '`python ResNet/download_resnet.py --model_name Res50-silu` or `python EfficientNet/download_efficientnet.py --model_name efficientnet-b0`; ' +
  'each writes a folder <name>/ holding <name>.index, <name>.data-00000-of-00001 and <name>.meta (the .meta file is not needed here).';

export function releasedModel(name: string): ReleasedModel | undefined {
  const key = name.toLowerCase();
  return RELEASED_MODELS.find((m) => m.name.toLowerCase() === key);
}

/** The default folder for downloaded checkpoints: data/checkpoints under the project root. */
export function checkpointsDir(): string {
  return path.join(dataDir(), 'checkpoints');
}

/**
 * The released model a checkpoint path belongs to, from its folder or file name as the
 * download scripts lay them out (data/checkpoints/Res50-silu/Res50-silu.index).
 */
export function releasedModelFor(prefix: string): ReleasedModel | undefined {
  const parts = path.resolve(prefix).split(path.sep).reverse();
  for (const part of parts.slice(0, 2)) {
    const m = releasedModel(part.replace(/\.(index|meta|data-\d{5}-of-\d{5})$/, ''));
    if (m) return m;
  }
  return undefined;
}

export interface FoundCheckpoint {
  model: ReleasedModel;
  prefix: string;
}

/** The released checkpoints present under `dir` (each as <name>/<prefix>.index or <name>.index). */
export function findReleasedCheckpoints(dir = checkpointsDir()): FoundCheckpoint[] {
  const found: FoundCheckpoint[] = [];
  for (const model of RELEASED_MODELS) {
    for (const candidate of [path.join(dir, model.name), path.join(dir, model.name, model.name)]) {
      const exists = fs.existsSync(candidate) || fs.existsSync(`${candidate}.index`);
      if (!exists) continue;
      try {
        found.push({ model, prefix: resolveCheckpointPrefix(candidate) });
        break;
      } catch {
        // a folder without an index (an unfinished download): not a checkpoint
      }
    }
  }
  return found;
}
