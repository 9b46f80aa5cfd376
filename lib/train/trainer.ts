// The SAT training loop: for each epoch, for each batch, an attack (inner max) and an SGD
// step (outer min); then metrics, an atomic checkpoint, and at the end an evaluation.
// Everything random is derived from (seed, epoch, step), so a resumed run repeats exactly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activationLabel, makeActivation, parseActivation } from '../activations';
import { makeAttack } from '../attacks';
import { batches, disposeBatch, loadDataset, numBatches, take, type DataSplits } from '../data';
import { accuracy, evaluate, type ResultRecord } from '../eval';
import { buildModel, type Model } from '../models';
import { isDecayed } from '../models/layers';
import { writeFileAtomic, runsDir } from '../util/fs';
import { Progress } from '../util/progress';
import { deriveSeed } from '../util/rng';
import { makeConfig, runId, type TrainConfig } from './config';
import { Sgd } from './optimizer';
import { loadCheckpoint, saveCheckpoint } from './run-checkpoint';
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
}

export interface TrainOptions {
  /** Folder of the run (default data/runs/<runId>). */
  runDir?: string;
  /** Continue from the run's checkpoint if one exists. */
  resume?: boolean;
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

function readJsonl<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

function sameConfig(dir: string, c: TrainConfig): boolean {
  const file = path.join(dir, 'config.json');
  return fs.existsSync(file) && fs.readFileSync(file, 'utf8') === JSON.stringify(c, null, 2);
}

/** Builds the model a config describes (fresh weights from its seed). */
export function modelFor(c: TrainConfig, data: DataSplits): Model {
  const { height, width, channels, numClasses } = data.train;
  return buildModel(c.model, { inputShape: [height, width, channels], numClasses, width: c.width, seed: c.seed });
}

export async function train(overrides: Partial<TrainConfig>, opts: TrainOptions = {}): Promise<TrainResult> {
  const c = makeConfig(overrides);
  const dir = opts.runDir ?? path.join(runsDir(), runId(c));
  const files = {
    config: path.join(dir, 'config.json'),
    metrics: path.join(dir, 'metrics.jsonl'),
    checkpoint: path.join(dir, 'checkpoint.bin'),
    results: path.join(dir, 'results.json'),
  };
  const log = (s: string) => opts.quiet || console.error(s);
  const data = loadDataset(c.dataset, { trainLimit: c.trainLimit, testLimit: c.testLimit, seed: c.seed });
  const model = modelFor(c, data);
  const optimizer = new Sgd(model.params, { momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay, decays: isDecayed });
  const groups = { params: model.params, state: model.state, optimizer: optimizer.velocity };
  try {
    const finished = fs.existsSync(files.results) && fs.existsSync(files.checkpoint) && sameConfig(dir, c);
    if (finished && (opts.reuse ?? true)) {
      loadCheckpoint(files.checkpoint, groups);
      log(`[sat] reusing finished run ${dir} (same config); delete the folder to retrain.`);
      return { runDir: dir, config: c, metrics: readJsonl(files.metrics), results: JSON.parse(fs.readFileSync(files.results, 'utf8')), reused: true, model };
    }
    let start = 0;
    let metrics: EpochMetrics[] = [];
    if (opts.resume && fs.existsSync(files.checkpoint)) {
      if (!sameConfig(dir, c)) throw new Error(`Cannot resume ${dir}: its config.json differs from this run's config. Use the same options, or another --out.`);
      start = loadCheckpoint(files.checkpoint, groups);
      // Drop metrics of an epoch that ran past the checkpoint before an interruption.
      metrics = readJsonl<EpochMetrics>(files.metrics).filter((m) => m.epoch < start);
      writeFileAtomic(files.metrics, metrics.map((m) => JSON.stringify(m) + '\n').join(''));
      log(`[sat] resuming ${dir} after epoch ${start}`);
    } else {
      fs.mkdirSync(dir, { recursive: true });
      writeFileAtomic(files.config, JSON.stringify(c, null, 2));
      writeFileAtomic(files.metrics, '');
    }

    const spec = parseActivation(c.activation);
    const attackerAct = makeActivation(spec, { gradient: c.attackerGradient, surrogateA: c.surrogateA });
    const trainerAct = makeActivation(spec, { gradient: c.trainerGradient, surrogateA: c.surrogateA });
    const evalAct = makeActivation(spec);
    const attack = c.attack ? makeAttack(c.attack) : null;
    const augment = c.augment ? data.augment : undefined;
    const steps = numBatches(data.train, { batchSize: c.batchSize });
    const epochEval = c.epochEvalSize > 0 ? take(data.test, c.epochEvalSize) : null;
    const last = Math.min(c.epochs, start + (opts.stopAfterEpochs ?? Infinity));

    for (let epoch = start; epoch < last; epoch++) {
      const t0 = Date.now();
      const progress = new Progress({ label: `epoch ${epoch + 1}/${c.epochs}`, total: steps, unit: 'img', quiet: opts.quiet });
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let lr = c.lr;
      let step = 0;
      for (const b of batches(data.train, { batchSize: c.batchSize, shuffleSeed: deriveSeed(c.seed, epoch), augment })) {
        lr = learningRate(c.schedule, c.lr, epoch + step / steps, c.epochs);
        const r = satStep(model, optimizer, b.x, b.y, { attack, attackerAct, trainerAct, labelSmoothing: c.labelSmoothing, lr, seed: deriveSeed(c.seed, epoch, step, 1) });
        const n = b.y.shape[0];
        disposeBatch(b);
        if (!Number.isFinite(r.loss)) {
          throw new Error(
            `The loss became ${r.loss} at epoch ${epoch + 1}, step ${step + 1} (lr ${lr.toPrecision(3)}). ` +
              `Training diverged: lower the learning rate (--lr), add warm-up (--warmup), or check the data. ` +
              `The last good checkpoint is ${fs.existsSync(files.checkpoint) ? files.checkpoint : 'not written yet'}.`,
          );
        }
        lossSum += r.loss * n;
        correct += r.correct;
        seen += n;
        step++;
        progress.update(step, seen, { loss: lossSum / seen, acc: correct / seen, lr: lr.toPrecision(3) });
      }
      const m: EpochMetrics = {
        epoch,
        step: (epoch + 1) * steps,
        loss: lossSum / seen,
        acc: correct / seen,
        lr,
        images_per_s: seen / ((Date.now() - t0) / 1000),
        seconds: (Date.now() - t0) / 1000,
      };
      if (epochEval) {
        m.test_clean_acc = accuracy(model, epochEval, null, { act: evalAct, seed: c.seed });
        if (c.attack) m.test_adv_acc = accuracy(model, epochEval, c.attack, { act: evalAct, seed: c.seed });
      }
      metrics.push(m);
      fs.appendFileSync(files.metrics, JSON.stringify(m) + '\n');
      saveCheckpoint(files.checkpoint, { epoch: epoch + 1, groups });
      await opts.onEpoch?.(m);
    }

    let results: ResultRecord[] = [];
    if (last === c.epochs) {
      const test = take(data.test, c.evaluation.size);
      results = evaluate(
        model,
        test,
        c.evaluation.attacks,
        {
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
        },
        { act: evalAct, seed: c.seed, label: opts.quiet ? undefined : 'eval' },
      );
      writeFileAtomic(files.results, JSON.stringify(results, null, 2));
    }
    return { runDir: dir, config: c, metrics, results, reused: false, model };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    optimizer.dispose();
  }
}
