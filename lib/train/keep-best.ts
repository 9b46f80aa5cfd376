// Early stopping by checkpoint selection (TrainConfig.keep = 'best-val-adv'): training runs every
// epoch of its schedule, and the weights of the epoch with the highest validation adversarial
// accuracy are kept in best.bin and become the run's model. The epoch is a function of the
// metrics alone (bestValEpoch), so a resumed run, the final evaluation and a reader agree on it.
import type { TrainConfig } from './config';
import type { RunFolder } from './run-folder';
import { loadCheckpoint, type CheckpointContents } from './run-checkpoint';
import type { EpochMetrics } from './types';

/** The 0-based epoch with the highest val_adv_acc (the earliest of ties), or null when no line has one. */
export function bestValEpoch(metrics: readonly EpochMetrics[]): number | null {
  let best: EpochMetrics | null = null;
  for (const m of metrics) if (m.val_adv_acc !== undefined && (best === null || m.val_adv_acc > best.val_adv_acc!)) best = m;
  return best?.epoch ?? null;
}

/** The 0-based epoch whose weights are the run's model: the best validation epoch with `keep`, else the last; null without metrics. */
export function modelEpoch(keep: TrainConfig['keep'], metrics: readonly EpochMetrics[]): number | null {
  return keep ? bestValEpoch(metrics) : metrics.length ? metrics[metrics.length - 1].epoch : null;
}

/** Loads the kept epoch's weights into `groups`, after checking that best.bin holds the epoch the metrics name. Returns that epoch (0-based). */
export function loadKeptWeights(run: RunFolder, metrics: readonly EpochMetrics[], groups: CheckpointContents['groups']): number {
  const epoch = bestValEpoch(metrics);
  if (epoch === null) throw new Error(`${run.dir}: no epoch has a validation adversarial accuracy (val_adv_acc) in ${run.files.metrics}, so there is no best epoch to keep; set valSize and epochEvalSize, or leave keep out.`);
  const held = loadCheckpoint(run.files.best, groups);
  if (held !== epoch + 1) {
    throw new Error(`${run.files.best} holds the weights after epoch ${held}, but the metrics name epoch ${epoch + 1} as the best on the validation split: the file is stale. Train the run again with --force.`);
  }
  return epoch;
}
