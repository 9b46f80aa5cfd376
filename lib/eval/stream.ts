// Evaluation over streamed batches (image folders too large to hold in memory, e.g. ImageNet
// val): clean accuracy and every attack on each batch as it arrives, so each image is decoded
// once. Records and seeds match evaluate()'s on the same batches (lib/eval/flags.ts).
import { type AttackConfig, resolveAttackConfig } from '../attacks';
import { type Batch, disposeBatch } from '../data/dataset';
import type { Model } from '../models';
import { modelLogits, PointEvaluation } from './flags';
import { type EvalOptions, type RecordBase, type ResultRecord, resultRecords } from './index';

/** The stream failed part-way (e.g. a corrupt image): `records` hold what was measured before. */
export class PartialEvaluationError extends Error {
  constructor(readonly cause: Error, readonly records: ResultRecord[]) {
    super(`${cause.message} (stopped after ${records[0]?.n ?? 0} images; the records hold what was measured before)`);
    this.name = 'PartialEvaluationError';
  }
}

export interface StreamEvalOptions extends EvalOptions {
  /** Batches expected, for the progress bar. */
  totalBatches?: number;
}

/** Clean accuracy plus one record per attack, over batches the caller streams (and this disposes). */
export async function evaluateStream(model: Model, stream: AsyncIterable<Batch>, attacks: AttackConfig[], base: RecordBase, opts: StreamEvalOptions): Promise<ResultRecord[]> {
  const resolved = attacks.map(resolveAttackConfig);
  const run = new PointEvaluation(modelLogits(model, opts.act), resolved, { seed: opts.seed, label: opts.label, totalBatches: opts.totalBatches });
  const records = () => resultRecords(base, resolved, (k) => run.accuracy(k), run.n);
  const iterator = stream[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Batch>;
    try {
      next = await iterator.next();
    } catch (e) {
      throw new PartialEvaluationError(e as Error, run.n > 0 ? records() : []);
    }
    if (next.done) break;
    try {
      run.add(next.value);
    } finally {
      disposeBatch(next.value);
    }
  }
  return records();
}
