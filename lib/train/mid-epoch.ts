// What the trainer needs to stop and resume inside an epoch (an ImageNet epoch takes hours):
// the batches of an epoch from any step on, the clock that says when a mid-epoch checkpoint or
// the end of a time budget is due, and the per-batch choice of the official training attack's
// start. Everything is derived from (seed, epoch, step), so none of it is state to save.
import type { Attack } from '../attacks';
import { batches, type Augment, type Batch, type DataSplits } from '../data';
import { deriveSeed, makeRng } from '../util/rng';

/** The batches of epoch `epoch` from step `from` on: streamed from disk, or from memory. */
export function epochBatches(data: DataSplits, o: { batchSize: number; seed: number }, epoch: number, from: number, augment?: Augment): AsyncIterable<Batch> | Iterable<Batch> {
  if (data.stream) return data.stream.train.batches({ batchSize: o.batchSize, seed: o.seed, epoch, fromBatch: from });
  return batches(data.train, { batchSize: o.batchSize, shuffleSeed: deriveSeed(o.seed, epoch), augment, fromBatch: from });
}

/** Steps per epoch of a data set: streamed or in memory. */
export function stepsPerEpoch(data: DataSplits, batchSize: number): number {
  return data.stream ? data.stream.train.numBatches(batchSize) : Math.ceil(data.train.n / batchSize);
}

export interface CheckpointSchedule {
  /** Write a mid-epoch checkpoint every N steps. */
  checkpointEverySteps?: number;
  /** Write a mid-epoch checkpoint when M minutes have passed since the last one. */
  checkpointEveryMinutes?: number;
  /** Stop (with a checkpoint) after M minutes of training in this call. */
  maxMinutes?: number;
  /** Stop (with a checkpoint) after N steps in this call. */
  stopAfterSteps?: number;
}

export function validateCheckpointSchedule(s: CheckpointSchedule): void {
  for (const [name, v, integer] of [
    ['checkpoint every steps', s.checkpointEverySteps, true],
    ['checkpoint every minutes', s.checkpointEveryMinutes, false],
    ['max minutes', s.maxMinutes, false],
    ['stop after steps', s.stopAfterSteps, true],
  ] as const) {
    if (v !== undefined && !(v > 0 && Number.isFinite(v) && (!integer || Number.isInteger(v)))) {
      throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}.`);
    }
  }
}

/** A streamed data set (ImageNet: hours per epoch) is checkpointed this often unless told otherwise. */
export const STREAMED_CHECKPOINT_MINUTES = 30;

function envNumber(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`${name} must be a positive number, got '${v}'.`);
  return n;
}

/**
 * The options, else SAT_CHECKPOINT_EVERY_STEPS / SAT_CHECKPOINT_EVERY_MINUTES from the environment
 * (for runs that notebooks and the grid start), else every 30 minutes for a streamed data set.
 */
export function withCheckpointDefaults(s: CheckpointSchedule, streamed: boolean): CheckpointSchedule {
  const steps = s.checkpointEverySteps ?? envNumber('SAT_CHECKPOINT_EVERY_STEPS');
  const minutes = s.checkpointEveryMinutes ?? envNumber('SAT_CHECKPOINT_EVERY_MINUTES') ?? (streamed && steps === undefined ? STREAMED_CHECKPOINT_MINUTES : undefined);
  return { ...s, checkpointEverySteps: steps, checkpointEveryMinutes: minutes };
}

/** Decides after each step whether a mid-epoch checkpoint is due and whether to stop. */
export class StepClock {
  private steps = 0;
  private sinceCheckpoint = 0;
  private readonly started: number;
  private lastCheckpoint: number;

  constructor(private readonly s: CheckpointSchedule, private readonly now: () => number = Date.now) {
    validateCheckpointSchedule(s);
    this.started = this.lastCheckpoint = now();
  }

  /** Call once per finished step. `stop` names why training must stop now, if it must. */
  afterStep(): { checkpoint: boolean; stop?: 'max-minutes' | 'stop-after-steps' } {
    this.steps++;
    this.sinceCheckpoint++;
    const t = this.now();
    const stop = this.s.stopAfterSteps !== undefined && this.steps >= this.s.stopAfterSteps ? 'stop-after-steps'
      : this.s.maxMinutes !== undefined && t - this.started >= this.s.maxMinutes * 60_000 ? 'max-minutes' : undefined;
    const due = (this.s.checkpointEverySteps !== undefined && this.sinceCheckpoint >= this.s.checkpointEverySteps)
      || (this.s.checkpointEveryMinutes !== undefined && t - this.lastCheckpoint >= this.s.checkpointEveryMinutes * 60_000);
    return { checkpoint: due || stop !== undefined, ...(stop ? { stop } : {}) };
  }

  /** A checkpoint was written (at a step or at the end of an epoch). */
  checkpointed(): void {
    this.sinceCheckpoint = 0;
    this.lastCheckpoint = this.now();
  }
}

/**
 * The attack of one training batch: SAT's official code starts 20% of batches (attackCleanStart)
 * from the clean image and the rest from a random point (ResNet/adv_model.py PGDAttacker: one
 * draw per batch); the draw comes from (seed, epoch, step).
 */
export function batchAttack(random: Attack | null, clean: Attack | null, cleanShare: number, seed: number, epoch: number, step: number): Attack | null {
  if (!random || !clean || cleanShare <= 0) return random;
  return makeRng(deriveSeed(seed, epoch, step, 3))() < cleanShare ? clean : random;
}
