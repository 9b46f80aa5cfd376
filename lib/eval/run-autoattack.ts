// Standard AutoAttack on a finished run, for its run folder as a named evaluation
// (evaluations/autoattack-<norm>-<eps>.json, written by the caller) with the breakdown per stage and per-image flags of
// AutoAttack and of the PGD beside it on the same images. Used by `sat eval --run DIR
// --autoattack` and by grid workers for the evaluations an experiment declares.
import * as path from 'node:path';
import { activationLabel, makeActivation, parseActivation } from '../activations';
import { attackLabel, type AttackConfig, type AttackNorm, type LogitsFn } from '../attacks';
import { take } from '../data';
import type { ResultRecord } from './index';
import { autoAttack, type AutoAttackResult } from './autoattack';
import { robustFlags } from './sanity';
import { checkAttacksFitInput, type TrainConfig } from '../train/config';
import { restoreModel, runData } from '../train/trainer';

export interface RunAutoAttackOptions {
  eps: number;
  norm: AttackNorm;
  /** The first n test images. */
  n: number;
  /** PGD-K beside AutoAttack on the same images; 0 for none. */
  pgdSteps: number;
  /** Progress bars' prefix; none prints no progress. */
  label?: string;
  /** Which weights `checkpoint` holds: the run's model (default) or its last epoch's (a run that keeps an earlier one); it names the evaluation. */
  weights?: EvaluatedWeights;
}

/** A run's model (best.bin where it keeps its best epoch), or its last epoch's weights (checkpoint.bin) where those differ. */
export type EvaluatedWeights = 'model' | 'last-epoch';

/** The PGD run beside AutoAttack on the same images: its config, accuracy and per-image flags (1 = robust). */
export type PgdBeside = AttackConfig & { accuracy: number; robust: number[] };

/** What evaluations/autoattack-*.json holds: AutoAttack's result with per-image flags (1 = robust), the PGD beside it, and the result records. */
export type AutoAttackFile = Omit<AutoAttackResult, 'robust'> & { robust: number[]; pgd: PgdBeside | null; records: ResultRecord[] };

export interface RunAutoAttackResult {
  result: AutoAttackResult;
  pgd: PgdBeside | null;
  records: ResultRecord[];
  /** The run folder's name for it, and what goes into evaluations/<name>.json. */
  name: string;
  evaluation: AutoAttackFile;
}

/** The run folder's name for an AutoAttack evaluation: 'autoattack-linf-0.1', or 'autoattack-linf-0.1-last-epoch' on a kept run's last-epoch weights. */
export function autoAttackEvaluationName(norm: AttackNorm, eps: number, weights: EvaluatedWeights = 'model'): string {
  return `autoattack-${norm}-${+eps.toFixed(5)}${weights === 'model' ? '' : `-${weights}`}`;
}

/** Checks what can be checked before any work (the caller has the data for the rest). */
export function pgdBeside(opts: Pick<RunAutoAttackOptions, 'eps' | 'norm' | 'pgdSteps'>): AttackConfig | null {
  return opts.pgdSteps > 0 ? { type: opts.norm === 'linf' ? 'pgd-linf' : 'pgd-l2', eps: opts.eps, steps: opts.pgdSteps } : null;
}

export async function autoAttackRun(dir: string, config: TrainConfig, checkpoint: string, opts: RunAutoAttackOptions): Promise<RunAutoAttackResult> {
  const pgd = pgdBeside(opts);
  const data = await runData(config);
  if (pgd) checkAttacksFitInput([pgd], data.test);
  if (data.test.numClasses < 4) throw new Error(`AutoAttack needs at least 4 classes; '${config.dataset}' has ${data.test.numClasses}. Use sat eval --attack pgd-linf.`);
  const test = take(data.test, opts.n);
  const model = restoreModel(config, data, checkpoint);
  try {
    const spec = parseActivation(config.activation);
    const act = makeActivation(spec);
    const logits: LogitsFn = (x) => model.apply(x, { training: false, act });
    const result = autoAttack(logits, test, { eps: opts.eps, norm: opts.norm, version: 'standard', seed: config.seed, label: opts.label });
    let pgdOut: RunAutoAttackResult['pgd'] = null;
    if (pgd) {
      const flags = Array.from(robustFlags({ name: 'run', logits, data: test, seed: config.seed }, pgd, { label: opts.label && attackLabel(pgd) }));
      pgdOut = { ...pgd, accuracy: flags.reduce((s, f) => s + f, 0) / test.n, robust: flags };
    }
    const base = {
      run: path.basename(dir), experiment: config.experiment, dataset: test.name, synthetic: test.synthetic, model: config.model, activation: activationLabel(spec),
      attackerGradient: config.attackerGradient, trainerGradient: config.trainerGradient, seed: config.seed, profile: config.profile,
    };
    const records = autoAttackRecords(result, base, pgd, pgdOut?.accuracy);
    const { robust, ...summary } = result;
    // Per-image flags (1 = robust) of AutoAttack and of the PGD beside it, on the same images.
    const evaluation: AutoAttackFile = { ...summary, robust: Array.from(robust), pgd: pgdOut, records };
    return { result, pgd: pgdOut, records, name: autoAttackEvaluationName(opts.norm, opts.eps, opts.weights), evaluation };
  } finally {
    model.dispose();
  }
}

/** One record per stage (cumulative robust accuracy) and one for PGD beside it. */
export function autoAttackRecords(r: AutoAttackResult, base: Omit<ResultRecord, 'attack' | 'eps' | 'steps' | 'accuracy' | 'n'>, pgd: AttackConfig | null, pgdAcc?: number): (ResultRecord & { evaluation: string; seconds?: number; broken?: number })[] {
  const evaluation = `autoattack-${r.version}`;
  return [
    { ...base, evaluation, attack: 'clean', eps: 0, steps: 0, accuracy: r.clean, n: r.n },
    ...r.stages.map((s) => ({ ...base, evaluation, attack: s.attack, eps: r.eps, steps: 0, accuracy: s.robustAccuracy, n: r.n, seconds: s.seconds, broken: s.broken })),
    ...(pgd && pgdAcc !== undefined ? [{ ...base, evaluation: 'pgd', attack: pgd.type, eps: r.eps, steps: pgd.steps ?? 0, accuracy: pgdAcc, n: r.n }] : []),
  ];
}
