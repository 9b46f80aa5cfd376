// What an image-folder study asks for (ImageDataSpec) and what it gets (ImageData): shared by the
// in-memory (imagenet-data.ts) and the streamed (imagenet-stream.ts) preparation.
import type { SyntheticFolderSpec } from '../data/image-folder-dataset';
import type { EvalCrop } from '../data/stream/dataset';

export interface ImageDataSpec {
  /** Network input side in pixels. */
  size: number;
  /** Training images read into memory (spread evenly over the classes). */
  trainLimit?: number;
  /** Validation images read into memory. */
  valLimit?: number;
  /** Use only the first `classes` classes (sorted folder names): ImageNet at CPU scale. */
  classes?: number;
  /** Area range of the random-resized crop of the training augmentation (ImageNet: [0.08, 1]). */
  cropScale: [number, number];
  /** The generated stand-in used when no real folder is present. */
  synthetic: SyntheticFolderSpec;
  /** Fail instead of generating the stand-in (the paper's settings on generated data would be hours of meaningless work). */
  requireReal?: boolean;
  /** Stream from disk instead of reading into memory (the paper profile), with this evaluation crop. */
  stream?: EvalCrop;
}

export interface ImageData {
  /** The registered data set name to put in a TrainConfig. */
  dataset: string;
  root: string;
  synthetic: boolean;
  /** Where the data came from, one line for notebooks; starts with SYNTHETIC for generated data. */
  source: string;
  classNames: string[];
  train: number;
  val: number;
}
