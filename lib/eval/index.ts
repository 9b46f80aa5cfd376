// Evaluation: clean and robust accuracy, over lists of attacks, PGD steps or eps, as result
// records. The attacker differentiates the model's own activation ('own' gradient mode).
import * as tf from '@tensorflow/tfjs';
import { type ActivationFn } from '../activations';
import { type Attack, type AttackConfig, type LogitsFn, makeAttack, resolveAttackConfig } from '../attacks';
import { batches, disposeBatch, type ImageDataset, numBatches } from '../data/dataset';
import { countCorrect } from '../loss';
import type { Model } from '../models';
import { Progress } from '../util/progress';
import { deriveSeed } from '../util/rng';

export interface ResultRecord {
  run: string;
  experiment?: string;
  dataset: string;
  synthetic?: boolean;
  model: string;
  activation: string;
  attackerGradient?: string;
  trainerGradient?: string;
  seed: number;
  profile?: string;
  /** 'clean' or the attack type. */
  attack: 'clean' | AttackConfig['type'];
  eps: number;
  steps: number;
  restarts?: number;
  accuracy: number;
  n: number;
  /** Images of the data set left out because they could not be read (image folders with --on-bad-image skip). */
  skipped?: number;
  skippedFiles?: string[];
}

export interface EvalOptions {
  act: ActivationFn;
  batchSize?: number;
  seed?: number;
  /** A label for the progress bar; none prints no progress. */
  label?: string;
}

/** How many of one batch the model classifies right, clean (attack null) or under the attack. */
export function correctOnBatch(logits: LogitsFn, attack: Attack | null, x: tf.Tensor4D, y: tf.Tensor1D, seed: number): number {
  const c = tf.tidy(() => countCorrect(logits(attack ? attack.perturb(logits, x, y, { seed }) : x), y));
  const n = c.dataSync()[0];
  c.dispose();
  return n;
}

/** Accuracy on `ds`, clean (attack null) or under the attack. */
export function accuracy(model: Model, ds: ImageDataset, attack: AttackConfig | null, opts: EvalOptions): number {
  const att = attack ? makeAttack(attack) : null;
  const batchSize = opts.batchSize ?? 100;
  const progress = new Progress({ label: opts.label ?? '', total: numBatches(ds, { batchSize }), unit: 'img', quiet: !opts.label });
  const logits = (x: tf.Tensor4D) => model.apply(x, { training: false, act: opts.act });
  let correct = 0;
  let seen = 0;
  let i = 0;
  for (const b of batches(ds, { batchSize })) {
    correct += correctOnBatch(logits, att, b.x, b.y, deriveSeed(opts.seed ?? 0, i));
    seen += b.y.shape[0];
    disposeBatch(b);
    progress.update(++i, seen, { acc: correct / seen });
  }
  return correct / Math.max(seen, 1);
}

export type RecordBase = Omit<ResultRecord, 'attack' | 'eps' | 'steps' | 'accuracy' | 'n' | 'restarts'>;

/** Clean accuracy plus one record per attack. */
export function evaluate(model: Model, ds: ImageDataset, attacks: AttackConfig[], base: RecordBase, opts: EvalOptions): ResultRecord[] {
  const records: ResultRecord[] = [];
  const clean = accuracy(model, ds, null, { ...opts, label: opts.label && `${opts.label} clean` });
  records.push({ ...base, attack: 'clean', eps: 0, steps: 0, accuracy: clean, n: ds.n });
  for (const a of attacks) {
    const r = resolveAttackConfig(a);
    const acc = accuracy(model, ds, r, { ...opts, label: opts.label && `${opts.label} ${r.type} eps=${+r.eps.toFixed(4)} k=${r.steps}` });
    records.push({ ...base, attack: r.type, eps: r.eps, steps: r.steps, restarts: r.restarts, accuracy: acc, n: ds.n });
  }
  return records;
}

/** Robust accuracy for each number of PGD steps (same eps and step size otherwise). */
export function stepSweep(model: Model, ds: ImageDataset, base: AttackConfig, steps: number[], rec: RecordBase, opts: EvalOptions): ResultRecord[] {
  return evaluate(model, ds, steps.map((k) => ({ ...base, steps: k })), rec, opts).slice(1);
}

/** Robust accuracy for each eps (step size scaled with eps when not given). */
export function epsSweep(model: Model, ds: ImageDataset, base: AttackConfig, eps: number[], rec: RecordBase, opts: EvalOptions): ResultRecord[] {
  return evaluate(model, ds, eps.map((e) => ({ ...base, eps: e, stepSize: undefined })), rec, opts).slice(1);
}
