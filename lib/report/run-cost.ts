// What a study's runs cost, read from each run's cost.json (lib/util/cost-meter): CPU time by
// stage per run, medians per arm, and what the runs not done yet would cost at those medians.
import { trainingAttackSteps, type TrainConfig } from '../train/config';
import { RunFolder, type CostEntry } from '../train/run-folder';
import { median } from './stats';

/** A run's CPU seconds by stage; `complete` when its training entries start at epoch 0 (a run resumed from before cost was recorded is not). */
export interface RunCost {
  training: number;
  finalEvaluation: number;
  /** Per named evaluation (e.g. 'autoattack-linf-0.1'). */
  evaluations: Record<string, number>;
  total: number;
  /** Wall seconds, and the highest 1-minute load average seen at the end of a stage. */
  wall: number;
  maxLoad: number;
  complete: boolean;
}

/** The cost of one run from its entries; null when nothing was recorded. */
export function costOf(entries: readonly CostEntry[]): RunCost | null {
  if (entries.length === 0) return null;
  const sum = (es: readonly CostEntry[]) => es.reduce((s, e) => s + e.cpuSeconds, 0);
  const training = entries.filter((e) => e.stage === 'training');
  const final = entries.filter((e) => e.stage === 'final evaluation');
  const evaluations: Record<string, number> = {};
  for (const e of entries) if (e.stage !== 'training' && e.stage !== 'final evaluation') evaluations[e.stage] = (evaluations[e.stage] ?? 0) + e.cpuSeconds;
  return {
    training: sum(training), finalEvaluation: sum(final), evaluations, total: sum(entries),
    wall: entries.reduce((s, e) => s + e.seconds, 0), maxLoad: Math.max(...entries.map((e) => e.loadAverage)),
    complete: training.some((e) => e.fromEpoch === 0) && final.length > 0,
  };
}

export function runCost(runDir: string): RunCost | null {
  return costOf(new RunFolder(runDir).readCost());
}

/** Per arm, the medians over its complete runs (CPU seconds). */
export interface ArmCost {
  arm: string;
  runs: number;
  training: number;
  finalEvaluation: number;
  evaluations: Record<string, number>;
  total: number;
  maxLoad: number;
}

export function armCosts(rows: readonly { arm: string; cost: RunCost | null }[], arms: readonly string[]): ArmCost[] {
  return arms.flatMap((arm) => {
    const cs = rows.filter((r) => r.arm === arm && r.cost?.complete).map((r) => r.cost!);
    if (cs.length === 0) return [];
    const names = [...new Set(cs.flatMap((c) => Object.keys(c.evaluations)))];
    return [{
      arm, runs: cs.length,
      training: median(cs.map((c) => c.training)), finalEvaluation: median(cs.map((c) => c.finalEvaluation)),
      evaluations: Object.fromEntries(names.map((n) => [n, median(cs.map((c) => c.evaluations[n] ?? 0))])),
      total: median(cs.map((c) => c.total)), maxLoad: Math.max(...cs.map((c) => c.maxLoad)),
    }];
  });
}

/** Forward-backward passes per training image over a run: the training step plus each step of its training attack. */
export const trainingPasses = (c: Pick<TrainConfig, 'epochs' | 'attack'>) => c.epochs * (1 + trainingAttackSteps(c.attack));

/** What runs not done yet will cost, from finished runs' complete cost records. */
export interface CostEstimate {
  /** CPU seconds of all the pending runs. */
  cpuSeconds: number;
  /** Training CPU seconds per epoch and training pass (see trainingPasses), pooled over the records. */
  perPass: number;
  /** Median CPU seconds of a run's evaluations (everything but training). */
  evaluation: number;
  /** Finished runs with a complete record. */
  recorded: number;
}

/**
 * Training in proportion to its passes (epochs x (attack steps + 1)), plus the median evaluation
 * cost of a run: so a 40-epoch or PGD-5 run is priced from 20-epoch PGD-1 records. Null without a
 * complete record.
 */
export function estimateCost(finished: readonly { cost: RunCost | null; config: Pick<TrainConfig, 'epochs' | 'attack'> }[], pending: readonly Pick<TrainConfig, 'epochs' | 'attack'>[]): CostEstimate | null {
  const recorded = finished.filter((r) => r.cost?.complete);
  if (recorded.length === 0) return null;
  const perPass = recorded.reduce((s, x) => s + x.cost!.training, 0) / recorded.reduce((s, x) => s + trainingPasses(x.config), 0);
  const evaluation = median(recorded.map((x) => x.cost!.total - x.cost!.training));
  return { cpuSeconds: pending.reduce((s, c) => s + perPass * trainingPasses(c) + evaluation, 0), perPass, evaluation, recorded: recorded.length };
}
