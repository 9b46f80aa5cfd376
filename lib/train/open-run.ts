// Opening a run to train it: the checks of its folder against the config (a finished run is
// reused or refused, a checkpoint is resumed only for the same config), the lock, the data, the
// model and optimizer, and where training starts. Also the model of a run for the commands that
// read one (sat eval, sat export, diagnostics).
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { loadDataset, prepareDataset, type DataSplits } from '../data';
import { buildModel, type Model } from '../models';
import { isDecayed } from '../models/layers';
import { runsDir } from '../util/fs';
import { checkAttacksFitInput, runId, type TrainConfig } from './config';
import { validateCheckpointSchedule, withCheckpointDefaults } from './mid-epoch';
import { Sgd } from './optimizer';
import { collectProvenance, threadsChangeWarning } from './provenance';
import { loadCheckpoint, loadCheckpointState, type EpochPosition } from './run-checkpoint';
import { RUN_FILES, RunFolder } from './run-folder';
import type { EpochMetrics, TrainOptions } from './types';

/** A run ready to train, or a finished run loaded (`from` null): the caller closes it. */
export interface OpenedRun {
  dir: string;
  run: RunFolder;
  data: DataSplits;
  model: Model;
  optimizer: Sgd;
  /** The variables a checkpoint holds. */
  groups: Record<string, Map<string, tf.Variable>>;
  /** Where training starts; null for a finished run, which has nothing to train. */
  from: StartPoint | null;
}

/** The first epoch to train, the position inside it (a mid-epoch checkpoint), and the metrics lines before it. */
export interface StartPoint {
  epoch: number;
  position?: EpochPosition;
  metrics: EpochMetrics[];
}

/**
 * Opens the run folder of config `c`. A finished run is never trained again without `force`: the
 * same config is loaded read-only (no lock: notebooks and grid loaders may read one run at once),
 * another config is refused, both before any data is read. Anything else takes the lock first,
 * so a second process into the same folder fails before any work or any write.
 */
export async function openRun(c: TrainConfig, opts: TrainOptions, log: (s: string) => void): Promise<OpenedRun> {
  validateCheckpointSchedule(withCheckpointDefaults(opts, false));
  const dir = opts.runDir ?? path.join(runsDir(), runId(c));
  const run = new RunFolder(dir);
  const finished = run.isFinished() && !opts.force;
  if (finished) checkReusable(run, dir, c, opts);
  else run.openForWriting(log);
  let model: Model | undefined;
  let optimizer: Sgd | undefined;
  try {
    const resume = opts.resume ?? (opts.runDir === undefined && sameConfig(run, c));
    if (!finished) checkResumable(run, dir, c, resume, opts.force);
    const data = await trainingData(c);
    model = modelFor(c, data);
    optimizer = new Sgd(model.params, { momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay, decays: isDecayed });
    const groups = { params: model.params, state: model.state, optimizer: optimizer.velocity };
    const opened = { dir, run, data, model, optimizer, groups };
    if (finished) {
      // A finished run is a model: its weights and BN statistics (best.bin holds no optimizer state).
      loadCheckpoint(run.modelFile(), { params: model.params, state: model.state });
      return { ...opened, from: null };
    }
    // The folder stops looking finished before any of its files is rewritten.
    run.reopen();
    const from = resume && run.hasCheckpoint() && !opts.force ? resumeFrom(run, dir, groups, log) : startAfresh(run, c, opts.force);
    const provenance = collectProvenance({ data, fromEpoch: from.epoch });
    const changed = from.epoch > 0 || from.position ? threadsChangeWarning(run.readProvenanceHistory(), provenance) : undefined;
    if (changed) log(changed);
    run.writeProvenance(provenance);
    return { ...opened, from };
  } catch (e) {
    model?.dispose();
    optimizer?.dispose();
    run.close();
    throw e;
  }
}

/** A finished run in the folder may be reused only for the same config, and only when reuse is allowed. */
function checkReusable(run: RunFolder, dir: string, c: TrainConfig, opts: TrainOptions): void {
  const differs = configDifferences(run, c);
  if (differs.length) {
    throw new Error(`${dir} holds a finished run of another config (${differs.join('; ')}): train into another --out, or pass --force to discard that run and train this one.`);
  }
  if (opts.reuse === false) throw new Error(`${dir} holds a finished run of this config: pass --force to discard it and train again.`);
}

/** A checkpoint in the folder is continued only when asked to, and only for the same config. */
function checkResumable(run: RunFolder, dir: string, c: TrainConfig, resume: boolean, force: boolean | undefined): void {
  if (!run.hasCheckpoint() || force) return;
  if (!resume) throw new Error(`${dir} already holds a checkpoint of an earlier run. Pass --resume to continue it (same options), or --force to discard it and train from scratch.`);
  if (!run.hasConfig()) throw new Error(`Cannot resume ${dir}: its ${RUN_FILES.config} is missing, so sat cannot check that the checkpoint is of this config. Restore it from a copy, or pass --force to discard the run and train from scratch.`);
  const differs = configDifferences(run, c);
  if (differs.length) throw new Error(`Cannot resume ${dir}: its ${RUN_FILES.config} differs from this run's config (${differs.join('; ')}). Use the same options, or another --out.`);
}

function resumeFrom(run: RunFolder, dir: string, groups: OpenedRun['groups'], log: (s: string) => void): StartPoint {
  const { epoch: start, position } = loadCheckpointState(run.files.checkpoint, groups);
  // Drop metrics of an epoch that ran past the checkpoint before an interruption.
  const metrics = run.readMetrics<EpochMetrics>().filter((m) => m.epoch < start);
  run.writeMetrics(metrics);
  log(`[sat] resuming ${dir} ${position ? `at epoch ${start + 1}, step ${position.step}` : `after epoch ${start}`}`);
  return { epoch: start, position, metrics };
}

function startAfresh(run: RunFolder, c: TrainConfig, force: boolean | undefined): StartPoint {
  if (force) run.discard();
  run.writeConfig(c);
  run.writeMetrics([]);
  return { epoch: 0, metrics: [] };
}

/** The training data of a config, checked against its attacks and its augmentation. */
async function trainingData(c: TrainConfig): Promise<DataSplits> {
  await prepareDataset(c.dataset, { trainLimit: c.trainLimit, testLimit: c.testLimit });
  const data = loadDataset(c.dataset, { trainLimit: c.trainLimit, testLimit: c.testLimit, seed: c.seed, valSize: c.valSize });
  checkAttacksFitInput([c.attack, ...c.evaluation.attacks], data.train);
  if (data.stream && !c.augment) throw new Error(`Data set '${c.dataset}' is streamed, and streamed training always uses the random-resized crop and flip: set augment (--augment).`);
  return data;
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
