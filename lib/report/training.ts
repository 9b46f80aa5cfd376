// Reading training curves from the per-epoch validation log: whether a run has stopped
// improving (convergence), catastrophic overfitting of one-step training, and the curves of a
// group of runs summarized over seeds.
import type { EpochMetrics } from '../train';
import { summarize, type Summary } from './stats';

/** Validation adversarial accuracy per epoch of a run (per-epoch evaluation on the validation split). */
export function valCurve(metrics: readonly EpochMetrics[]): number[] {
  return metrics.map((m) => m.val_adv_acc ?? m.test_adv_acc ?? NaN);
}

export interface Plateau {
  /** Epochs the last quarter spans: the change is acc[last] - acc[last - window]. */
  window: number;
  /** Per-seed change in validation PGD accuracy (in [0, 1]) over the last quarter. */
  change: Summary;
  converged: boolean;
}

/**
 * How much the runs' validation PGD accuracy moved over the last quarter of training (at least
 * one epoch), over seeds; converged when the mean moves by less than `points`. Null when no run
 * has a whole curve of two epochs or more.
 */
export function plateauCheck(runs: readonly { metrics: readonly EpochMetrics[] }[], points: number): Plateau | null {
  const usable = runs.map((r) => valCurve(r.metrics)).filter((c) => c.length >= 2 && c.every(Number.isFinite));
  if (usable.length === 0) return null;
  const window = Math.max(1, Math.round(usable[0].length / 4));
  const change = summarize(usable.map((c) => c[c.length - 1] - c[c.length - 1 - window]));
  return { window, change, converged: Math.abs(change.mean) * 100 < points };
}

export interface Overfitting {
  best: number;
  last: number;
  /** Training (one-step attack) accuracy of the last epoch: high while validation PGD collapses is the signature. */
  trainAcc: number;
  flagged: boolean;
}

/**
 * Catastrophic overfitting of one-step training (Wong, Rice & Kolter 2020, arXiv:2001.03994):
 * multi-step validation accuracy collapses while one-step training accuracy climbs. Flagged when
 * the last epoch's validation PGD accuracy is more than `dropPoints` below the run's best epoch;
 * null for a run without a validation curve.
 */
export function overfittingCheck(metrics: readonly EpochMetrics[], dropPoints: number): Overfitting | null {
  const curve = valCurve(metrics).filter(Number.isFinite);
  if (curve.length === 0) return null;
  const best = Math.max(...curve);
  const last = curve[curve.length - 1];
  return { best, last, trainAcc: metrics[metrics.length - 1].acc, flagged: (best - last) * 100 > dropPoints };
}

export interface EpochCurves {
  /** 1, 2, ... up to the shortest run's epochs. */
  epochs: number[];
  /** Validation PGD and clean accuracy per epoch over seeds. */
  adv: Summary[];
  clean: Summary[];
}

/** The runs' validation accuracies of every epoch summarized over seeds; null when an epoch has no validation PGD value. */
export function epochCurves(runs: readonly { metrics: readonly EpochMetrics[] }[]): EpochCurves | null {
  const mine = runs.filter((r) => r.metrics.length > 0);
  if (mine.length === 0) return null;
  const idx = Array.from({ length: Math.min(...mine.map((r) => r.metrics.length)) }, (_, e) => e);
  const at = (e: number, f: (m: EpochMetrics) => number | undefined) => mine.map((r) => f(r.metrics[e])).filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (idx.some((e) => at(e, (m) => m.val_adv_acc).length === 0)) return null;
  return {
    epochs: idx.map((e) => e + 1),
    adv: idx.map((e) => summarize(at(e, (m) => m.val_adv_acc))),
    clean: idx.map((e) => summarize(at(e, (m) => m.val_clean_acc))),
  };
}
