// The SAT training loop: for each epoch, for each batch, an attack (inner max) and an SGD
// step (outer min); then metrics, an atomic checkpoint, and at the end an evaluation.
// Everything random is derived from (seed, epoch, step), so a resumed run repeats exactly.
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { activationLabel, makeActivation, parseActivation } from '../activations';
import { makeAttack } from '../attacks';
import { disposeBatch, loadDataset, prepareDataset, take, type DataSplits, type ImageDataset } from '../data';
import { accuracy, evaluate, type ResultRecord } from '../eval';
import { evaluateStream } from '../eval/stream';
import { buildModel, type Model } from '../models';
import { isDecayed } from '../models/layers';
import { runsDir } from '../util/fs';
import { Progress } from '../util/progress';
import { deriveSeed } from '../util/rng';
import { checkAttacksFitInput, makeConfig, runId, type TrainConfig } from './config';
import { Sgd } from './optimizer';
import { batchAttack, type CheckpointSchedule, epochBatches, StepClock, stepsPerEpoch, validateCheckpointSchedule, withCheckpointDefaults } from './mid-epoch';
import { loadCheckpoint, loadCheckpointState, NonFiniteWeightsError, saveCheckpoint, type EpochPosition } from './run-checkpoint';
import { collectProvenance } from './provenance';
import { RUN_FILES, RunFolder } from './run-folder';
import { learningRate } from './schedule';
import { satStep } from './step';

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

function sameConfig(run: RunFolder, c: TrainConfig): boolean {
  return run.configText() === JSON.stringify(c, null, 2);
}

/** The keys in which the folder's config.json differs from `c`, as 'key: folder -> this' (empty when the same). */
function configDifferences(run: RunFolder, c: TrainConfig): string[] {
  if (sameConfig(run, c)) return [];
  if (!run.hasConfig()) return [`its ${RUN_FILES.config} is missing`];
  const theirs = run.readConfig<Record<string, unknown>>();
  const ours = c as unknown as Record<string, unknown>;
  const show = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
  const keys = [...new Set([...Object.keys(theirs), ...Object.keys(ours)])];
  const diff = keys.filter((k) => JSON.stringify(theirs[k]) !== JSON.stringify(ours[k])).map((k) => `${k}: ${show(theirs[k])} there, ${show(ours[k])} here`);
  if (!diff.length) return ['the same values, written differently (edited by hand?)'];
  return diff.length > 4 ? [...diff.slice(0, 4), `and ${diff.length - 4} more`] : diff;
}

/** Lets signal handlers run between steps (the step itself is synchronous). */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Builds the model a config describes (fresh weights from its seed). */
export function modelFor(c: TrainConfig, data: DataSplits): Model {
  const { height, width, channels, numClasses } = data.train;
  return buildModel(c.model, { inputShape: [height, width, channels], numClasses, width: c.width, seed: c.seed, activation: c.activation });
}

/** The data a run's config names, with its train and test limits (what `sat eval` and `sat export` read). */
export async function runData(c: TrainConfig): Promise<DataSplits> {
  const limits = { trainLimit: c.trainLimit, testLimit: c.testLimit };
  await prepareDataset(c.dataset, limits);
  return loadDataset(c.dataset, limits);
}

/** The model a run's config describes, with the trained weights of `checkpoint` (caller disposes it). */
export function restoreModel(c: TrainConfig, data: DataSplits, checkpoint: string): Model {
  const model = modelFor(c, data);
  try {
    loadCheckpoint(checkpoint, { params: model.params, state: model.state });
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

export async function train(overrides: Partial<TrainConfig>, opts: TrainOptions = {}): Promise<TrainResult> {
  const c = makeConfig(overrides);
  validateCheckpointSchedule(withCheckpointDefaults(opts, false));
  const dir = opts.runDir ?? path.join(runsDir(), runId(c));
  const log = (s: string) => opts.quiet || console.error(s);
  const run = new RunFolder(dir);
  // A finished run is never trained again without `force`: the same config is reused (read-only,
  // so loading takes no lock: notebooks and grid loaders may read one run at once), another
  // config is refused, both before any data is read.
  const finished = run.isFinished() && !opts.force;
  if (finished) {
    const differs = configDifferences(run, c);
    if (differs.length) {
      throw new Error(`${dir} holds a finished run of another config (${differs.join('; ')}): train into another --out, or pass --force to discard that run and train this one.`);
    }
    if (opts.reuse === false) throw new Error(`${dir} holds a finished run of this config: pass --force to discard it and train again.`);
  }
  // Anything else takes the lock first: a second process into the same folder fails before any work or any write.
  if (!finished) run.openForWriting(log);
  const files = run.files;
  let model: Model | undefined;
  let optimizer: Sgd | undefined;
  try {
    const resume = opts.resume ?? (opts.runDir === undefined && sameConfig(run, c));
    if (!finished && run.hasCheckpoint() && !resume && !opts.force) {
      throw new Error(`${dir} already holds a checkpoint of an earlier run. Pass --resume to continue it (same options), or --force to discard it and train from scratch.`);
    }
    if (!finished && resume && run.hasCheckpoint() && !opts.force) {
      if (!run.hasConfig()) throw new Error(`Cannot resume ${dir}: its ${RUN_FILES.config} is missing, so sat cannot check that the checkpoint is of this config. Restore it from a copy, or pass --force to discard the run and train from scratch.`);
      const differs = configDifferences(run, c);
      if (differs.length) throw new Error(`Cannot resume ${dir}: its ${RUN_FILES.config} differs from this run's config (${differs.join('; ')}). Use the same options, or another --out.`);
    }
    await prepareDataset(c.dataset, { trainLimit: c.trainLimit, testLimit: c.testLimit });
    const data = loadDataset(c.dataset, { trainLimit: c.trainLimit, testLimit: c.testLimit, seed: c.seed, valSize: c.valSize });
    checkAttacksFitInput([c.attack, ...c.evaluation.attacks], data.train);
    if (data.stream && !c.augment) throw new Error(`Data set '${c.dataset}' is streamed, and streamed training always uses the random-resized crop and flip: set augment (--augment).`);
    model = modelFor(c, data);
    optimizer = new Sgd(model.params, { momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay, decays: isDecayed });
    const groups = { params: model.params, state: model.state, optimizer: optimizer.velocity };
    if (finished) {
      loadCheckpoint(files.checkpoint, groups);
      log(`[sat] reusing finished run ${dir} (same config); pass --force (or delete the folder) to retrain.`);
      return { runDir: dir, config: c, metrics: run.readMetrics(), results: run.readResults(), reused: true, model };
    }
    let start = 0;
    let position: EpochPosition | undefined;
    let metrics: EpochMetrics[] = [];
    // The folder stops looking finished before any of its files is rewritten.
    run.reopen();
    if (resume && run.hasCheckpoint() && !opts.force) {
      ({ epoch: start, position } = loadCheckpointState(files.checkpoint, groups));
      // Drop metrics of an epoch that ran past the checkpoint before an interruption.
      metrics = run.readMetrics<EpochMetrics>().filter((m) => m.epoch < start);
      run.writeMetrics(metrics);
      log(`[sat] resuming ${dir} ${position ? `at epoch ${start + 1}, step ${position.step}` : `after epoch ${start}`}`);
    } else {
      if (opts.force) run.discard();
      run.writeConfig(c);
      run.writeMetrics([]);
    }
    run.writeProvenance(collectProvenance({ data, fromEpoch: start }));

    const spec = parseActivation(c.activation);
    const attackerAct = makeActivation(spec, { gradient: c.attackerGradient, surrogateA: c.surrogateA });
    const trainerAct = makeActivation(spec, { gradient: c.trainerGradient, surrogateA: c.surrogateA });
    const evalAct = makeActivation(spec);
    const attack = c.attack ? makeAttack(c.attack) : null;
    const cleanStartAttack = c.attack && c.attackCleanStart ? makeAttack({ ...c.attack, randomStart: false }) : null;
    const augment = c.augment ? data.augment : undefined;
    const steps = stepsPerEpoch(data, c.batchSize);
    const totalSteps = Math.min(c.maxSteps ?? Infinity, c.epochs * steps);
    const clock = new StepClock(withCheckpointDefaults(opts, Boolean(data.stream)));
    // Per-epoch numbers come from the validation split when there is one: the test set only gives final numbers.
    const epochEval = c.epochEvalSize > 0 ? take(data.val ?? data.test, c.epochEvalSize) : null;
    const epochAttack = c.epochEvalAttack ?? c.attack;
    const last = Math.min(Math.ceil(totalSteps / steps), start + (opts.stopAfterEpochs ?? Infinity));
    const lastGood = () => (run.hasCheckpoint() ? files.checkpoint : 'not written yet');
    // A few training images: the weights must give finite outputs before they are checkpointed.
    const probe = take(data.train, Math.min(8, data.train.n));

    for (let epoch = start; epoch < last; epoch++) {
      const t0 = Date.now();
      const progress = new Progress({ label: `epoch ${epoch + 1}/${c.epochs}`, total: steps, unit: 'img', quiet: opts.quiet });
      // A run resumed inside this epoch continues its step, its metric sums and its clock.
      const at = epoch === start && position ? position : { step: 0, lossSum: 0, correct: 0, seen: 0, seconds: 0 };
      let { step, lossSum, correct, seen } = at;
      let lr = c.lr;
      const grad = { norm: 0, cosine: 0, n: 0 }; // steps since this epoch (or its resume) began
      const seconds = () => at.seconds + (Date.now() - t0) / 1000;
      let stopWhy: string | undefined; // set when a stop falls on the epoch's last step: stop after its checkpoint
      for await (const b of epochBatches(data, c, epoch, step, augment)) {
        await yieldToEventLoop();
        if (opts.signal?.aborted || epoch * steps + step >= totalSteps) {
          disposeBatch(b);
          if (opts.signal?.aborted) throw new TrainingInterrupted(dir, epoch);
          break; // c.maxSteps reached
        }
        lr = learningRate(c.schedule, c.lr, epoch + step / steps, c.epochs);
        const stepAttack = batchAttack(attack, cleanStartAttack, c.attackCleanStart ?? 0, c.seed, epoch, step);
        const r = satStep(model, optimizer, b.x, b.y, { attack: stepAttack, attackerAct, trainerAct, labelSmoothing: c.labelSmoothing, lr, seed: deriveSeed(c.seed, epoch, step, 1), gradientStats: c.gradientStats });
        const n = b.y.shape[0];
        disposeBatch(b);
        if (!Number.isFinite(r.loss)) {
          throw new Error(
            `The loss became ${r.loss} at epoch ${epoch + 1}, step ${step + 1} (lr ${lr.toPrecision(3)}). ` +
              `Training diverged: lower the learning rate (--lr), add warm-up (--warmup), or check the data. ` +
              `The last good checkpoint is ${lastGood()}.`,
          );
        }
        if (r.gradient?.halfCosine !== undefined) [grad.norm, grad.cosine, grad.n] = [grad.norm + r.gradient.norm, grad.cosine + r.gradient.halfCosine, grad.n + 1];
        lossSum += r.loss * n;
        correct += r.correct;
        seen += n;
        step++;
        progress.update(step, seen, { loss: lossSum / seen, acc: correct / seen, lr: lr.toPrecision(3) });
        const due = clock.afterStep();
        if (due.checkpoint && step < steps) {
          const unhealthy = nonFiniteOutputs(model, probe, evalAct);
          if (unhealthy) throw new Error(`At epoch ${epoch + 1}, step ${step} ${unhealthy}: training diverged; lower the learning rate (--lr). The last good checkpoint is ${lastGood()}.`);
          saveCheckpoint(files.checkpoint, { epoch, position: { step, lossSum, correct, seen, seconds: seconds() }, groups });
          clock.checkpointed();
        }
        stopWhy = due.stop && (due.stop === 'max-minutes' ? `Stopped after --max-minutes ${opts.maxMinutes}` : 'Stopped');
        if (stopWhy && step < steps) throw new TrainingInterrupted(dir, epoch, step, stopWhy);
      }
      const m: EpochMetrics = {
        epoch,
        step: epoch * steps + step,
        loss: lossSum / seen,
        acc: correct / seen,
        lr,
        images_per_s: seen / seconds(),
        seconds: seconds(),
      };
      if (grad.n > 0) [m.grad_norm, m.grad_half_cosine] = [grad.norm / grad.n, grad.cosine / grad.n];
      if (epochEval) {
        const clean = accuracy(model, epochEval, null, { act: evalAct, seed: c.seed });
        const adv = epochAttack ? accuracy(model, epochEval, epochAttack, { act: evalAct, seed: c.seed }) : undefined;
        if (data.val) [m.val_clean_acc, m.val_adv_acc] = [clean, adv];
        else [m.test_clean_acc, m.test_adv_acc] = [clean, adv];
      }
      const diverged = (why: string) =>
        new Error(
          `After epoch ${epoch + 1} (lr ${lr.toPrecision(3)}) ${why}: training diverged; lower the learning rate (--lr) or add warm-up (--warmup). ` +
            `The checkpoint was not replaced; the last good one is ${lastGood()}.`,
        );
      const unhealthy = nonFiniteOutputs(model, probe, evalAct);
      if (unhealthy) throw diverged(unhealthy);
      // The metrics line goes first: a crash before the checkpoint leaves a line past it, which
      // resume drops; the other order would lose an epoch's line.
      metrics.push(m);
      run.appendMetrics(m);
      try {
        saveCheckpoint(files.checkpoint, { epoch: epoch + 1, groups });
      } catch (e) {
        throw e instanceof NonFiniteWeightsError ? diverged(`${e.variable} is NaN or infinite`) : e;
      }
      clock.checkpointed();
      await opts.onEpoch?.(m);
      if (stopWhy && epoch + 1 < last) throw new TrainingInterrupted(dir, epoch + 1, undefined, stopWhy);
    }

    let results: ResultRecord[] = [];
    if (last === Math.ceil(totalSteps / steps)) {
      const base = {
        run: path.basename(dir),
        experiment: c.experiment,
        dataset: data.test.name,
        synthetic: data.test.synthetic,
        model: c.model,
        activation: activationLabel(spec),
        attackerGradient: c.attackerGradient,
        trainerGradient: c.trainerGradient,
        seed: c.seed,
        profile: c.profile,
      };
      const evalOpts = { act: evalAct, seed: c.seed, label: opts.quiet ? undefined : 'eval' };
      // A streamed data set is evaluated batch by batch from disk (ImageNet val holds 50,000 images).
      const limit = { batchSize: c.batchSize, limit: c.evaluation.size };
      results = data.stream
        ? await evaluateStream(model, data.stream.test.batches(limit), c.evaluation.attacks, base, { ...evalOpts, totalBatches: data.stream.test.numBatches(c.batchSize, limit) })
        : evaluate(model, take(data.test, c.evaluation.size), c.evaluation.attacks, base, evalOpts);
      run.writeResults(results);
    }
    return { runDir: dir, config: c, metrics, results, reused: false, model };
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    optimizer?.dispose();
    run.close();
  }
}

/** Why the weights are unfit to checkpoint (non-finite values or outputs), or null when fine. */
function nonFiniteOutputs(model: Model, probe: ImageDataset, act: ReturnType<typeof makeActivation>): string | null {
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
