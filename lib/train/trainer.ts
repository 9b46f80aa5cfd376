// The SAT training loop: for each epoch, for each batch, an attack (inner max) and an SGD
// step (outer min); then metrics and an atomic checkpoint. train() opens the run (open-run.ts),
// runs the loop, and evaluates the model that reached the last step (final-evaluation.ts), or
// with config.keep the kept epoch's (keep-best.ts).
// Everything random is derived from (seed, epoch, step), so a resumed run repeats exactly.
import * as tf from '@tensorflow/tfjs';
import { makeActivation, parseActivation, type ActivationFn } from '../activations';
import { makeAttack, type Attack } from '../attacks';
import { disposeBatch, take, type ImageDataset } from '../data';
import { accuracy, type ResultRecord } from '../eval';
import type { Model } from '../models';
import { startCostMeter } from '../util/cost-meter';
import { Progress } from '../util/progress';
import { deriveSeed } from '../util/rng';
import { makeConfig, type TrainConfig } from './config';
import { finalEvaluation } from './final-evaluation';
import { batchAttack, epochBatches, StepClock, stepsPerEpoch, withCheckpointDefaults } from './mid-epoch';
import { bestValEpoch, loadKeptWeights } from './keep-best';
import { openRun, type OpenedRun, type StartPoint } from './open-run';
import { NonFiniteWeightsError, saveCheckpoint, type EpochPosition } from './run-checkpoint';
import { learningRate } from './schedule';
import { satStep, type StepResult } from './step';
import { TrainingInterrupted, type EpochMetrics, type TrainOptions, type TrainResult } from './types';

export * from './types';
export { modelFor, restoreModel, runData } from './open-run';

export async function train(overrides: Partial<TrainConfig>, opts: TrainOptions = {}): Promise<TrainResult> {
  const c = makeConfig(overrides);
  const log = (s: string) => opts.quiet || console.error(s);
  const r = await openRun(c, opts, log);
  try {
    if (!r.from) {
      log(`[sat] reusing finished run ${r.dir} (same config); pass --force (or delete the folder) to retrain.`);
      return { runDir: r.dir, config: c, metrics: r.run.readMetrics(), results: r.run.readResults(), reused: true, model: r.model };
    }
    const loop = new Loop(r, r.from, c, opts);
    const trainingMeter = startCostMeter();
    try {
      await loop.run();
    } finally {
      // An interrupted start records its part too: the stages of every start sum to the run's cost.
      r.run.recordCost(trainingMeter.stop('training', { fromEpoch: r.from.epoch }));
    }
    let results: ResultRecord[] = [];
    if (loop.reachedTheEnd()) {
      if (c.keep) {
        const kept = loadKeptWeights(r.run, loop.metrics, { params: r.model.params, state: r.model.state });
        log(`[sat] keeping epoch ${kept + 1} of ${c.epochs} (best validation adversarial accuracy, ${r.run.files.best}) as the model`);
      }
      const evalMeter = startCostMeter();
      results = await finalEvaluation(r.model, r.data, c, r.dir, loop.evalAct, opts.quiet);
      r.run.recordCost(evalMeter.stop('final evaluation'));
      r.run.writeResults(results);
    }
    return { runDir: r.dir, config: c, metrics: loop.metrics, results, reused: false, model: r.model };
  } catch (e) {
    r.model.dispose();
    throw e;
  } finally {
    r.optimizer.dispose();
    r.run.close();
  }
}

/** Lets signal handlers run between steps (the step itself is synchronous). */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The epochs of one train() call, and what every step of them uses (built once from the config). */
class Loop {
  /** Every epoch's metrics line: those before this call, then this call's. */
  readonly metrics: EpochMetrics[];
  readonly evalAct: ActivationFn;
  private readonly attackerAct: ActivationFn;
  private readonly trainerAct: ActivationFn;
  private readonly attack: Attack | null;
  private readonly cleanStartAttack: Attack | null;
  private readonly steps: number;
  private readonly totalSteps: number;
  /** The epoch after the last one this call trains. */
  private readonly last: number;
  private readonly clock: StepClock;
  /** A few training images: the weights must give finite outputs before they are checkpointed. */
  private readonly probe: ImageDataset;
  /** Per-epoch numbers come from the validation split when there is one: the test set only gives final numbers. */
  private readonly epochEval: ImageDataset | null;

  constructor(private readonly r: OpenedRun, private readonly from: StartPoint, private readonly c: TrainConfig, private readonly opts: TrainOptions) {
    this.metrics = [...from.metrics];
    const spec = parseActivation(c.activation);
    this.attackerAct = makeActivation(spec, { gradient: c.attackerGradient, surrogateA: c.surrogateA });
    this.trainerAct = makeActivation(spec, { gradient: c.trainerGradient, surrogateA: c.surrogateA });
    this.evalAct = makeActivation(spec);
    this.attack = c.attack ? makeAttack(c.attack) : null;
    this.cleanStartAttack = c.attack && c.attackCleanStart ? makeAttack({ ...c.attack, randomStart: false }) : null;
    this.steps = stepsPerEpoch(r.data, c.batchSize);
    this.totalSteps = Math.min(c.maxSteps ?? Infinity, c.epochs * this.steps);
    this.clock = new StepClock(withCheckpointDefaults(opts, Boolean(r.data.stream)));
    this.last = Math.min(Math.ceil(this.totalSteps / this.steps), from.epoch + (opts.stopAfterEpochs ?? Infinity));
    this.probe = take(r.data.train, Math.min(8, r.data.train.n));
    this.epochEval = c.epochEvalSize > 0 ? take(r.data.val ?? r.data.test, c.epochEvalSize) : null;
  }

  /** Whether the run reached its last step (then it is evaluated), not only this call's last epoch. */
  reachedTheEnd(): boolean {
    return this.last === Math.ceil(this.totalSteps / this.steps);
  }

  async run(): Promise<void> {
    const { r, from, c, opts, steps } = this;
    const augment = c.augment ? r.data.augment : undefined;
    for (let epoch = from.epoch; epoch < this.last; epoch++) {
      const progress = new Progress({ label: `epoch ${epoch + 1}/${c.epochs}`, total: steps, unit: 'img', quiet: opts.quiet });
      // A run resumed inside this epoch continues its step, its metric sums and its clock.
      const tally = new EpochTally(epoch === from.epoch ? from.position : undefined);
      let lr = c.lr;
      let stopWhy: string | undefined; // set when a stop falls on the epoch's last step: stop after its checkpoint
      for await (const b of epochBatches(r.data, c, epoch, tally.step, augment)) {
        await yieldToEventLoop();
        if (opts.signal?.aborted || epoch * steps + tally.step >= this.totalSteps) {
          disposeBatch(b);
          if (opts.signal?.aborted) throw new TrainingInterrupted(r.dir, epoch);
          break; // c.maxSteps reached
        }
        lr = learningRate(c.schedule, c.lr, epoch + tally.step / steps, c.epochs);
        const attack = batchAttack(this.attack, this.cleanStartAttack, c.attackCleanStart ?? 0, c.seed, epoch, tally.step);
        const s = satStep(r.model, r.optimizer, b.x, b.y, { attack, attackerAct: this.attackerAct, trainerAct: this.trainerAct, labelSmoothing: c.labelSmoothing, lr, seed: deriveSeed(c.seed, epoch, tally.step, 1), gradientStats: c.gradientStats });
        const n = b.y.shape[0];
        disposeBatch(b);
        if (!Number.isFinite(s.loss)) throw this.lossDiverged(s.loss, epoch, tally.step, lr);
        tally.add(s, n);
        progress.update(tally.step, tally.seen, { loss: tally.lossSum / tally.seen, acc: tally.correct / tally.seen, lr: lr.toPrecision(3) });
        const due = this.clock.afterStep();
        if (due.checkpoint && tally.step < steps) this.checkpointInside(epoch, tally);
        stopWhy = due.stop && (due.stop === 'max-minutes' ? `Stopped after --max-minutes ${opts.maxMinutes}` : 'Stopped');
        if (stopWhy && tally.step < steps) throw new TrainingInterrupted(r.dir, epoch, tally.step, stopWhy);
      }
      const m = this.endEpoch(epoch, lr, tally);
      await opts.onEpoch?.(m);
      if (stopWhy && epoch + 1 < this.last) throw new TrainingInterrupted(r.dir, epoch + 1, undefined, stopWhy);
    }
  }

  /** A mid-epoch checkpoint: the weights and the epoch's running sums, once the weights are healthy. */
  private checkpointInside(epoch: number, tally: EpochTally): void {
    const unhealthy = nonFiniteOutputs(this.r.model, this.probe, this.evalAct);
    if (unhealthy) throw new Error(`At epoch ${epoch + 1}, step ${tally.step} ${unhealthy}: training diverged; lower the learning rate (--lr). The last good checkpoint is ${this.lastGood()}.`);
    saveCheckpoint(this.r.run.files.checkpoint, { epoch, position: tally.position(), groups: this.r.groups });
    this.clock.checkpointed();
  }

  /** The epoch's metrics line (with its per-epoch evaluation), then its checkpoint, once the weights are healthy. */
  private endEpoch(epoch: number, lr: number, tally: EpochTally): EpochMetrics {
    const { r, c } = this;
    const m = tally.metrics(epoch, epoch * this.steps + tally.step, lr);
    if (this.epochEval) {
      const attack = c.epochEvalAttack ?? c.attack;
      const clean = accuracy(r.model, this.epochEval, null, { act: this.evalAct, seed: c.seed });
      const adv = attack ? accuracy(r.model, this.epochEval, attack, { act: this.evalAct, seed: c.seed }) : undefined;
      if (r.data.val) [m.val_clean_acc, m.val_adv_acc] = [clean, adv];
      else [m.test_clean_acc, m.test_adv_acc] = [clean, adv];
    }
    const diverged = (why: string) =>
      new Error(
        `After epoch ${epoch + 1} (lr ${lr.toPrecision(3)}) ${why}: training diverged; lower the learning rate (--lr) or add warm-up (--warmup). ` +
          `The checkpoint was not replaced; the last good one is ${this.lastGood()}.`,
      );
    const unhealthy = nonFiniteOutputs(r.model, this.probe, this.evalAct);
    if (unhealthy) throw diverged(unhealthy);
    // The metrics line goes first: a crash before the checkpoint leaves a line past it, which
    // resume drops; the other order would lose an epoch's line.
    this.metrics.push(m);
    r.run.appendMetrics(m);
    try {
      // The kept epoch goes before the checkpoint: a crash between them repeats this epoch (exactly), which rewrites it.
      // The kept epoch is a model, not a point to resume from: no optimizer state (half the bytes).
      if (c.keep && bestValEpoch(this.metrics) === epoch) saveCheckpoint(r.run.files.best, { epoch: epoch + 1, groups: { params: r.model.params, state: r.model.state } });
      saveCheckpoint(r.run.files.checkpoint, { epoch: epoch + 1, groups: r.groups });
    } catch (e) {
      throw e instanceof NonFiniteWeightsError ? diverged(`${e.variable} is NaN or infinite`) : e;
    }
    this.clock.checkpointed();
    return m;
  }

  private lossDiverged(loss: number, epoch: number, step: number, lr: number): Error {
    return new Error(
      `The loss became ${loss} at epoch ${epoch + 1}, step ${step + 1} (lr ${lr.toPrecision(3)}). ` +
        `Training diverged: lower the learning rate (--lr), add warm-up (--warmup), or check the data. ` +
        `The last good checkpoint is ${this.lastGood()}.`,
    );
  }

  private lastGood(): string {
    return this.r.run.hasCheckpoint() ? this.r.run.files.checkpoint : 'not written yet';
  }
}

/** An epoch's running sums: a mid-epoch checkpoint saves them, so a resumed epoch reports the same line. */
class EpochTally {
  step: number;
  lossSum: number;
  correct: number;
  seen: number;
  private readonly grad = { norm: 0, cosine: 0, n: 0 }; // steps since this epoch (or its resume) began
  private readonly t0 = Date.now();
  private readonly secondsBefore: number;

  constructor(from?: EpochPosition) {
    ({ step: this.step, lossSum: this.lossSum, correct: this.correct, seen: this.seen, seconds: this.secondsBefore } = from ?? { step: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0 });
  }

  add(s: StepResult, n: number): void {
    if (s.gradient?.halfCosine !== undefined) [this.grad.norm, this.grad.cosine, this.grad.n] = [this.grad.norm + s.gradient.norm, this.grad.cosine + s.gradient.halfCosine, this.grad.n + 1];
    this.lossSum += s.loss * n;
    this.correct += s.correct;
    this.seen += n;
    this.step++;
  }

  seconds(): number {
    return this.secondsBefore + (Date.now() - this.t0) / 1000;
  }

  position(): EpochPosition {
    return { step: this.step, lossSum: this.lossSum, correct: this.correct, seen: this.seen, seconds: this.seconds() };
  }

  metrics(epoch: number, step: number, lr: number): EpochMetrics {
    const m: EpochMetrics = { epoch, step, loss: this.lossSum / this.seen, acc: this.correct / this.seen, lr, images_per_s: this.seen / this.seconds(), seconds: this.seconds() };
    if (this.grad.n > 0) [m.grad_norm, m.grad_half_cosine] = [this.grad.norm / this.grad.n, this.grad.cosine / this.grad.n];
    return m;
  }
}

/** Why the weights are unfit to checkpoint (non-finite values or outputs), or null when fine. */
function nonFiniteOutputs(model: Model, probe: ImageDataset, act: ActivationFn): string | null {
  for (const [name, v] of model.params) {
    if (!tf.tidy(() => tf.all(tf.isFinite(v)).dataSync()[0])) return `the weights ${name} are NaN or infinite`;
  }
  const { n, height, width, channels } = probe;
  const finite = tf.tidy(() => {
    const x = tf.tensor4d(probe.images.subarray(0, n * height * width * channels), [n, height, width, channels]);
    return tf.all(tf.isFinite(model.apply(x, { training: false, act }))).dataSync()[0];
  });
  return finite ? null : 'the model outputs NaN or infinite logits';
}
