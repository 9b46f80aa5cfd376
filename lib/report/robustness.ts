// A run's AutoAttack evaluation read as counts of images: robust under AutoAttack and under
// the PGD beside it (an image is robust only if every attack fails), the AutoAttack - PGD gap,
// and gradient masking flagged from Square's stage (AutoAttack's own warning, and a one-sided
// binomial rule with a stated false-alarm rate). Per arm: the share of runs that mask, with its
// exact interval, and Fisher's exact test against the baseline.
import type { AutoAttackFile } from '../eval/run-autoattack';
import { RunFolder } from '../train/run-folder';
import { clopperPearson, countCheckDesign, fisherExact, mcnemarExact, type CountCheckDesign } from './stats';

export type { AutoAttackFile };

/** Square's gain that AutoAttack itself tolerates: it warns at 0.2% of the points (fra31/auto-attack, checks.py). */
export const AUTOATTACK_SQUARE_WARNING = 0.002;
/** False-alarm rate of our masking rule when Square's true gain is exactly AutoAttack's tolerated 0.2%. */
export const MASKING_FALSE_ALARM = 0.05;

/**
 * The masking rule at n images: Square breaking `threshold` or more images that the gradient
 * attacks left robust is more than AutoAttack's tolerated 0.2% of n by a one-sided binomial test
 * at MASKING_FALSE_ALARM; `detectableImages` is the gain it catches with 80% power.
 */
export function maskingRule(n: number): CountCheckDesign {
  return countCheckDesign(n, AUTOATTACK_SQUARE_WARNING, { falseAlarm: MASKING_FALSE_ALARM });
}

export interface RunRobustness {
  n: number;
  /** Images classified correctly, robust under AutoAttack, robust under PGD, robust under both (the endpoint). */
  clean: number;
  autoAttack: number;
  pgd: number | null;
  robust: number;
  /** Per image, robust under both (the endpoint's flags: McNemar between two models uses them). */
  flags: boolean[];
  pgdSteps: number | null;
  /** Images Square broke after APGD-CE, APGD-T and FAB-T. */
  squareBroken: number;
  /** AutoAttack's own warning: Square gained at least 0.2% of n. */
  autoAttackWarning: boolean;
  /** Our rule: Square's gain significantly above 0.2% of n (maskingRule). */
  masking: boolean;
  /** PGD-robust images AutoAttack broke, and the reverse; McNemar's exact p for a difference. */
  onlyPgdRobust: number;
  onlyAutoAttackRobust: number;
  mcnemarP: number;
  seconds: number;
}

const count = (flags: ArrayLike<number>) => Array.from(flags).reduce((s, f) => s + (f ? 1 : 0), 0);

/** A run's AutoAttack evaluation as counts, or null when the run folder has none of that name. */
export function runRobustness(runDir: string, evaluation: string): RunRobustness | null {
  const folder = new RunFolder(runDir);
  if (!folder.hasEvaluation(evaluation)) return null;
  return robustnessOf(folder.readEvaluation<AutoAttackFile>(evaluation));
}

export function robustnessOf(e: AutoAttackFile): RunRobustness {
  const aa = e.robust.map((f) => f === 1);
  const pgd = e.pgd ? e.pgd.robust.map((f) => f === 1) : null;
  const both = aa.map((f, i) => f && (pgd ? pgd[i] : true));
  const square = e.stages.find((s) => s.attack === 'square');
  const squareBroken = square?.broken ?? 0;
  const mc = pgd ? mcnemarExact(pgd, aa) : null;
  return {
    n: e.n,
    clean: Math.round(e.clean * e.n),
    autoAttack: count(e.robust),
    pgd: pgd ? pgd.filter(Boolean).length : null,
    robust: both.filter(Boolean).length,
    flags: both,
    pgdSteps: e.pgd?.steps ?? null,
    squareBroken,
    autoAttackWarning: squareBroken >= Math.ceil(AUTOATTACK_SQUARE_WARNING * e.n),
    masking: squareBroken >= maskingRule(e.n).threshold,
    onlyPgdRobust: mc?.onlyA ?? 0,
    onlyAutoAttackRobust: mc?.onlyB ?? 0,
    mcnemarP: mc?.p ?? NaN,
    seconds: e.seconds,
  };
}

export interface MaskingShare {
  arm: string;
  masking: number;
  runs: number;
  interval: ReturnType<typeof clopperPearson>;
  /** Fisher's exact two-sided p against the baseline arm; NaN for the baseline itself. */
  fisherP: number;
}

/** Per arm, the share of runs flagged as masking (exact 95% interval) and Fisher's test against the baseline. */
export function maskingShares(rows: readonly { arm: string; masking: boolean }[], baseline: string, arms?: readonly string[]): MaskingShare[] {
  const names = arms ?? [...new Set(rows.map((r) => r.arm))];
  const tally = (arm: string) => {
    const mine = rows.filter((r) => r.arm === arm);
    return { k: mine.filter((r) => r.masking).length, n: mine.length };
  };
  const b = tally(baseline);
  return names.flatMap((arm) => {
    const t = tally(arm);
    if (t.n === 0) return [];
    return [{ arm, masking: t.k, runs: t.n, interval: clopperPearson(t.k, t.n), fisherP: arm === baseline || b.n === 0 ? NaN : fisherExact(t.k, t.n, b.k, b.n) }];
  });
}
