// Evaluation over streamed batches (image folders too large to hold in memory, e.g. ImageNet
// val): clean accuracy and every attack on each batch as it arrives, so each image is decoded
// once. Records match evaluate()'s.
import * as tf from '@tensorflow/tfjs';
import { type AttackConfig, makeAttack, resolveAttackConfig } from '../attacks';
import { type Batch, disposeBatch } from '../data/dataset';
import { countCorrect } from '../loss';
import type { Model } from '../models';
import { Progress } from '../util/progress';
import { deriveSeed } from '../util/rng';
import type { EvalOptions, RecordBase, ResultRecord } from './index';

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
  const made = resolved.map(makeAttack);
  const logits = (x: tf.Tensor4D) => model.apply(x, { training: false, act: opts.act });
  const correct = new Array<number>(made.length + 1).fill(0);
  const progress = new Progress({ label: opts.label ?? '', total: opts.totalBatches ?? 0, unit: 'img', quiet: !opts.label });
  const names = ['clean', ...resolved.map((r) => `k${r.steps}`)];
  let seen = 0;
  let i = 0;
  const acc = (a: number) => correct[a] / Math.max(seen, 1);
  const records = (): ResultRecord[] => [
    { ...base, attack: 'clean', eps: 0, steps: 0, accuracy: acc(0), n: seen },
    ...resolved.map((r, a): ResultRecord => ({ ...base, attack: r.type, eps: r.eps, steps: r.steps, restarts: r.restarts, accuracy: acc(a + 1), n: seen })),
  ];
  const iterator = stream[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Batch>;
    try {
      next = await iterator.next();
    } catch (e) {
      throw new PartialEvaluationError(e as Error, seen > 0 ? records() : []);
    }
    if (next.done) break;
    const b = next.value;
    try {
      for (let a = 0; a <= made.length; a++) {
        const c = tf.tidy(() => {
          const x = a === 0 ? b.x : made[a - 1].perturb(logits, b.x, b.y, { seed: deriveSeed(opts.seed ?? 0, i, a) });
          return countCorrect(logits(x), b.y);
        });
        correct[a] += c.dataSync()[0];
        c.dispose();
      }
      seen += b.y.shape[0];
    } finally {
      disposeBatch(b);
    }
    progress.update(++i, seen, Object.fromEntries(names.map((n, a) => [n, correct[a] / seen])));
  }
  return records();
}
