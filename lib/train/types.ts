// What train() takes and gives: its options, one epoch's metrics line, its result, and the error
// of a run stopped on request. Shared by the three parts of training (open-run.ts, trainer.ts,
// final-evaluation.ts) and by everything that calls train().
import type { ResultRecord } from '../eval';
import type { Model } from '../models';
import type { TrainConfig } from './config';
import type { CheckpointSchedule } from './mid-epoch';

export interface EpochMetrics {
  epoch: number;
  step: number;
  loss: number;
  /** Accuracy on the training batches as the model saw them (adversarial when attacking). */
  acc: number;
  lr: number;
  images_per_s: number;
  seconds: number;
  test_clean_acc?: number;
  test_adv_acc?: number;
  /** Per-epoch accuracies on the validation split, when the config holds one out (valSize). */
  val_clean_acc?: number;
  val_adv_acc?: number;
  /** With config.gradientStats: the epoch's mean weight-gradient norm and mean half-batch gradient cosine (measure 5). */
  grad_norm?: number;
  grad_half_cosine?: number;
}

export interface TrainOptions extends CheckpointSchedule {
  /** Folder of the run (default data/runs/<runId>). */
  runDir?: string;
  /**
   * Continue from the run's checkpoint if one exists. Without it, a folder that holds a
   * checkpoint is refused (unless `force`); when runDir is not given the folder is named by the
   * config's hash, so a checkpoint there is of this very config and is resumed by default.
   */
  resume?: boolean;
  /** Discard an earlier run's checkpoint, metrics and results in the folder and start again. */
  force?: boolean;
  /** Stops training at the next step boundary (Ctrl-C): throws TrainingInterrupted, files intact. */
  signal?: AbortSignal;
  /** Reuse a finished run with the same config instead of training again (default true). */
  reuse?: boolean;
  /** Stop after this many epochs in this call (for tests of resume). */
  stopAfterEpochs?: number;
  quiet?: boolean;
  onEpoch?: (m: EpochMetrics) => void | Promise<void>;
}

export interface TrainResult {
  runDir: string;
  config: TrainConfig;
  metrics: EpochMetrics[];
  results: ResultRecord[];
  /** True when a finished run was loaded instead of trained. */
  reused: boolean;
  /** The trained model (caller disposes), unless the run was reused and not loaded. */
  model: Model;
}

/** Training stopped on request (TrainOptions.signal); the last checkpoint and the logs are whole. */
export class TrainingInterrupted extends Error {
  constructor(readonly runDir: string, readonly epochsDone: number, readonly stepInEpoch?: number, why = 'Training stopped') {
    super(
      stepInEpoch !== undefined
        ? `${why}; the checkpoint at epoch ${epochsDone + 1}, step ${stepInEpoch} is in ${runDir}. Continue with --resume --out ${runDir}.`
        : epochsDone > 0
        ? `${why}; the checkpoint after epoch ${epochsDone} is in ${runDir}. Continue with --resume --out ${runDir}.`
        : `Training stopped before the first epoch ended; nothing was checkpointed in ${runDir}.`,
    );
    this.name = 'TrainingInterrupted';
  }
}
