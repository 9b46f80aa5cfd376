// Evaluations an experiment declares for every finished run beyond the run's own results (e.g.
// standard AutoAttack on the first 1,000 test images): named records in the run folder, made
// by grid workers after training, or by runExperiment for runs that lack them.
import type { AttackNorm } from '../attacks';
import type { TrainConfig } from '../train/config';
import { RunFolder } from '../train/run-folder';
import { autoAttackEvaluationName, autoAttackRun } from './run-autoattack';

export interface AutoAttackEvaluation {
  kind: 'autoattack';
  norm: AttackNorm;
  eps: number;
  /** The first n test images. */
  n: number;
  /** PGD-K on the same images beside it. */
  pgdSteps: number;
}

export type RunEvaluationSpec = AutoAttackEvaluation;

export function runEvaluationName(s: RunEvaluationSpec): string {
  return autoAttackEvaluationName(s.norm, s.eps);
}

/** Whether the folder holds this evaluation, made with these settings (a different n or PGD does not count). */
export function hasRunEvaluation(folder: RunFolder, s: RunEvaluationSpec): boolean {
  const name = runEvaluationName(s);
  if (!folder.hasEvaluation(name)) return false;
  const e = folder.readEvaluation<{ n?: number; pgd?: { steps?: number } | null }>(name);
  return e.n === s.n && (e.pgd?.steps ?? 0) === s.pgdSteps;
}

/** The evaluations of `specs` this run folder still lacks. */
export function missingEvaluations(dir: string, specs: readonly RunEvaluationSpec[]): RunEvaluationSpec[] {
  const folder = new RunFolder(dir);
  return specs.filter((s) => !hasRunEvaluation(folder, s));
}

/** Runs one evaluation on a finished run and writes it into the run folder. */
export async function runEvaluation(dir: string, config: TrainConfig, s: RunEvaluationSpec, label?: string): Promise<string> {
  const folder = new RunFolder(dir);
  switch (s.kind) {
    case 'autoattack': {
      const r = await autoAttackRun(dir, config, folder.modelFile(), { eps: s.eps, norm: s.norm, n: s.n, pgdSteps: s.pgdSteps, label });
      return folder.writeEvaluation(r.name, r.evaluation);
    }
  }
}
