// Evaluation: clean and robust accuracy, over lists of attacks, PGD steps or eps, as result
// records. The attacker differentiates the model's own activation ('own' gradient mode).
import * as tf from '@tensorflow/tfjs';
import { type ActivationFn } from '../activations';
import { type Attack, type AttackConfig, type LogitsFn, type ResolvedAttackConfig, resolveAttackConfig } from '../attacks';
import type { ImageDataset } from '../data/dataset';
import type { Model } from '../models';
import { batchFlags, correctFlags, evaluatePoints, modelLogits, shareOf } from './flags';

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
  return batchFlags(logits, attack, x, y, seed).reduce((s, v) => s + v, 0);
}

/** Accuracy on `ds`, clean (attack null) or under the attack (seeds: lib/eval/flags.ts). */
export function accuracy(model: Model, ds: ImageDataset, attack: AttackConfig | null, opts: EvalOptions): number {
  return shareOf(correctFlags(modelLogits(model, opts.act), ds, attack, { batchSize: opts.batchSize, seed: opts.seed, label: opts.label }));
}

export type RecordBase = Omit<ResultRecord, 'attack' | 'eps' | 'steps' | 'accuracy' | 'n' | 'restarts'>;

/** The records of a clean column and one column per attack: accuracy(k) is column k's share right. */
export function resultRecords(base: RecordBase, attacks: ResolvedAttackConfig[], accuracy: (k: number) => number, n: number): ResultRecord[] {
  return [
    { ...base, attack: 'clean', eps: 0, steps: 0, accuracy: accuracy(0), n },
    ...attacks.map((r, a): ResultRecord => ({ ...base, attack: r.type, eps: r.eps, steps: r.steps, restarts: r.restarts, accuracy: accuracy(a + 1), n })),
  ];
}

/** Clean accuracy plus one record per attack, in one pass over the data. */
export function evaluate(model: Model, ds: ImageDataset, attacks: AttackConfig[], base: RecordBase, opts: EvalOptions): ResultRecord[] {
  const resolved = attacks.map(resolveAttackConfig);
  const f = evaluatePoints(modelLogits(model, opts.act), ds, resolved, { batchSize: opts.batchSize, seed: opts.seed, label: opts.label });
  const columns = [f.clean, ...f.attacked];
  return resultRecords(base, resolved, (k) => shareOf(columns[k]), ds.n);
}

/** Robust accuracy for each number of PGD steps (same eps and step size otherwise). */
export function stepSweep(model: Model, ds: ImageDataset, base: AttackConfig, steps: number[], rec: RecordBase, opts: EvalOptions): ResultRecord[] {
  return evaluate(model, ds, steps.map((k) => ({ ...base, steps: k })), rec, opts).slice(1);
}

/** Robust accuracy for each eps (step size scaled with eps when not given). */
export function epsSweep(model: Model, ds: ImageDataset, base: AttackConfig, eps: number[], rec: RecordBase, opts: EvalOptions): ResultRecord[] {
  return evaluate(model, ds, eps.map((e) => ({ ...base, eps: e, stepSize: undefined })), rec, opts).slice(1);
}
