// The one per-point evaluation loop: per image, whether the model classifies it right, clean and
// under each attack. Accuracy, streamed evaluation, the sanity checks and AutoAttack's clean pass
// all go through it, so they agree on which images count and on the attacks' random starts.
//
// The seed rule: batches are numbered 0, 1, 2, ... in the order they come, and every attack
// perturbs batch i with the seed deriveSeed(seed, i) (seed default 0). An image's result thus
// depends on the seed, the batch size and its place in the data, not on which other attacks run
// beside it: PGD-10 and PGD-20 start from the same random points, and streaming the same batches
// gives what the data in memory gives. It is the rule training's evaluations have always used.
import * as tf from '@tensorflow/tfjs';
import type { ActivationFn } from '../activations';
import { type Attack, type AttackConfig, attackLabel, type LogitsFn, makeAttack } from '../attacks';
import { readFlags } from '../attacks/common';
import { type Batch, batches, disposeBatch, type ImageDataset, numBatches } from '../data/dataset';
import type { Model } from '../models';
import { Progress } from '../util/progress';
import { deriveSeed } from '../util/rng';

export interface PointEvalOptions {
  /** Base of the attacks' seeds (default 0). */
  seed?: number;
  /** Classify the clean images too (default true). */
  clean?: boolean;
  /** The model the attacks differentiate, when it is not the classified one (a transfer attack). */
  attackLogits?: LogitsFn;
  /** A progress bar with this label; none prints nothing. */
  label?: string;
  /** Batches expected, for the progress bar (known for data in memory; streams pass it). */
  totalBatches?: number;
  /** Called after each batch with the images done and the images right so far per column. */
  onBatch?: (done: { batches: number; images: number; correct: number[] }) => void;
}

export interface PointFlags {
  n: number;
  /** 1 where the model classifies the clean image right; empty when `clean` was false. */
  clean: Uint8Array;
  /** Per attack, in the order given: 1 where the model still classifies the attacked image right. */
  attacked: Uint8Array[];
}

/** The model as the attacker and the evaluation see it: inference mode, with activation `act`. */
export function modelLogits(model: Model, act: ActivationFn): LogitsFn {
  return (x) => model.apply(x, { training: false, act });
}

/** Per image of one batch: 1 where the model classifies it right, clean (attack null) or attacked with `seed`. */
export function batchFlags(logits: LogitsFn, attack: Attack | null, x: tf.Tensor4D, y: tf.Tensor1D, seed: number, attackLogits: LogitsFn = logits): Uint8Array {
  return readFlags(tf.tidy(() => tf.equal(tf.argMax(logits(attack ? attack.perturb(attackLogits, x, y, { seed }) : x), 1), tf.cast(y, 'int32'))));
}

/**
 * The loop's body, batch by batch, for data in memory (evaluatePoints) and for streams
 * (evaluateStream). Columns: the clean images (unless `clean` is false), then each attack.
 */
export class PointEvaluation {
  private readonly columns: (Attack | null)[];
  private readonly chunks: Uint8Array[][];
  private readonly right: number[];
  private readonly progress: Progress;
  private readonly names: string[];
  private done = 0;
  private seen = 0;

  constructor(private readonly logits: LogitsFn, attacks: AttackConfig[], private readonly opts: PointEvalOptions = {}) {
    // Every attack is built (and its config checked) before any work.
    this.columns = [...(opts.clean === false ? [] : [null]), ...attacks.map(makeAttack)];
    this.names = this.columns.map((a) => (a ? attackLabel(a.config) : 'clean'));
    this.chunks = this.columns.map(() => []);
    this.right = this.columns.map(() => 0);
    this.progress = new Progress({ label: opts.label ?? '', total: opts.totalBatches ?? 0, unit: 'img', quiet: !opts.label });
  }

  /** Classifies the next batch in order; the caller still owns (and disposes) it. */
  add(b: Batch): void {
    const seed = deriveSeed(this.opts.seed ?? 0, this.done);
    this.columns.forEach((attack, k) => {
      const flags = batchFlags(this.logits, attack, b.x, b.y, seed, this.opts.attackLogits);
      this.chunks[k].push(flags);
      this.right[k] += flags.reduce((s, v) => s + v, 0);
    });
    this.done++;
    this.seen += b.y.shape[0];
    this.progress.update(this.done, this.seen, Object.fromEntries(this.names.map((name, k) => [name, this.right[k] / this.seen])));
    this.opts.onBatch?.({ batches: this.done, images: this.seen, correct: [...this.right] });
  }

  /** Images classified so far. */
  get n(): number {
    return this.seen;
  }

  /** Share classified right so far in column k (0 for no image yet). */
  accuracy(k: number): number {
    return this.right[k] / Math.max(this.seen, 1);
  }

  flags(): PointFlags {
    const joined = this.chunks.map((parts) => {
      const out = new Uint8Array(this.seen);
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    });
    return this.opts.clean === false ? { n: this.seen, clean: new Uint8Array(0), attacked: joined } : { n: this.seen, clean: joined[0], attacked: joined.slice(1) };
  }
}

/** Per-image flags of `data`, clean and under each attack, in batches of `batchSize` (default 100). */
export function evaluatePoints(logits: LogitsFn, data: ImageDataset, attacks: AttackConfig[], opts: PointEvalOptions & { batchSize?: number } = {}): PointFlags {
  const batchSize = opts.batchSize ?? 100;
  const run = new PointEvaluation(logits, attacks, { totalBatches: numBatches(data, { batchSize }), ...opts });
  for (const b of batches(data, { batchSize })) {
    try {
      run.add(b);
    } finally {
      disposeBatch(b);
    }
  }
  return run.flags();
}

/** Per image: 1 where the model classifies it right, clean (attack null) or under the attack. */
export function correctFlags(logits: LogitsFn, data: ImageDataset, attack: AttackConfig | null, opts: Omit<PointEvalOptions, 'clean'> & { batchSize?: number } = {}): Uint8Array {
  const f = evaluatePoints(logits, data, attack ? [attack] : [], { ...opts, clean: !attack });
  return attack ? f.attacked[0] : f.clean;
}

/** The share of 1s in per-image flags (0 for none). */
export function shareOf(flags: Uint8Array): number {
  return flags.reduce((s, v) => s + v, 0) / Math.max(flags.length, 1);
}
