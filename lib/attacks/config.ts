// What every attack's definition shares: the checks of its config fields (each error names the
// field and its valid values) and its label. Each attack's file calls these in its resolve(), in
// the order of the fields below, with its own defaults and their sources.
import type { AttackNorm, UncheckedAttackConfig } from './types';

type Resolved = Required<UncheckedAttackConfig>;

/** The norm, fixed by the attack's name (fgsm, pgd-linf, pgd-l2) or the norm field (default L∞), and eps checked against it. */
export function threatModel(c: UncheckedAttackConfig, fixed?: AttackNorm): { eps: number; norm: AttackNorm } {
  if (c.norm !== undefined && c.norm !== 'linf' && c.norm !== 'l2') throw new Error(`Attack norm must be 'linf' or 'l2', got '${c.norm}'.`);
  if (fixed && c.norm !== undefined && c.norm !== fixed) {
    throw new Error(`Attack '${c.type}' is ${fixed === 'l2' ? 'L2' : 'L-inf'} by its name; for the other norm use ${fixed === 'l2' ? 'pgd-linf' : 'pgd-l2'} (or drop norm).`);
  }
  const norm = fixed ?? c.norm ?? 'linf';
  if (!Number.isFinite(c.eps) || c.eps < 0) throw new Error(`Attack eps must be a number >= 0, got ${c.eps}.`);
  if (norm === 'linf' && c.eps > 1) {
    throw new Error(`L-inf eps ${c.eps} is outside [0, 1]: pixels are in [0,1], so write 8/255 as ${(8 / 255).toFixed(5)}.`);
  }
  return { eps: c.eps, norm };
}

/** Square's fields, refused by every other attack (0, what a resolved config holds there, passes). */
export function noSquareFields(c: UncheckedAttackConfig): { queries: 0; pInit: 0 } {
  if (c.queries !== undefined && c.queries !== 0) throw new Error(`Attack field queries is for square only ('${c.type}' counts steps); drop it.`);
  if (c.pInit !== undefined && c.pInit !== 0) throw new Error(`Attack field pInit is for square only; drop it.`);
  return { queries: 0, pInit: 0 };
}

export function stepsOf(c: UncheckedAttackConfig, byDefault: number): number {
  const steps = c.steps ?? byDefault;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`Attack steps must be a positive integer, got ${c.steps}.`);
  return steps;
}

export function stepSizeOf(c: UncheckedAttackConfig, byDefault: number): number {
  const stepSize = c.stepSize ?? byDefault;
  if (!Number.isFinite(stepSize) || stepSize < 0) throw new Error(`Attack step size must be a number >= 0, got ${c.stepSize}.`);
  return stepSize;
}

/** For attacks without a step size (FAB-T, Square). */
export function noStepSize(c: UncheckedAttackConfig): 0 {
  if (c.stepSize !== undefined && c.stepSize !== 0) throw new Error(`Attack '${c.type}' has no step size; drop stepSize.`);
  return 0;
}

/**
 * Extra restarts: 0 by default, as for every attack of AutoAttack's standard version
 * (autoattack.py set_version('standard'): apgd.n_restarts = 1, apgd_targeted.n_restarts = 1,
 * fab.n_restarts = 1, square n_restarts=1).
 */
export function restartsOf(c: UncheckedAttackConfig): number {
  const restarts = c.restarts ?? 0;
  if (!Number.isInteger(restarts) || restarts < 0) throw new Error(`Attack restarts must be an integer >= 0, got ${c.restarts}.`);
  return restarts;
}

/**
 * Target classes of the attacks that pick their own (APGD-T, FAB-T): 9 by default
 * (autoattack.py set_version('standard'): n_target_classes = 9 for both).
 */
export function targetsOf(c: UncheckedAttackConfig): number {
  const targets = c.targets ?? 9;
  if (!Number.isInteger(targets) || targets < 1) throw new Error(`Attack targets must be a positive integer (number of target classes), got ${c.targets}.`);
  return targets;
}

/** For attacks that take no target classes. */
export function noTargets(c: UncheckedAttackConfig): 0 {
  if (c.targets !== undefined && c.targets !== 0) throw new Error(`Attack field targets is for apgd-t and fab-t only; drop it.`);
  return 0;
}

/** For attacks without a targeted form. */
export function untargeted(c: UncheckedAttackConfig): false {
  if (c.targeted) throw new Error(`Attack '${c.type}' has no targeted form here; use apgd-t or fab-t for a targeted attack, or drop targeted.`);
  return false;
}

/** A resolved config with its fields in one order, whichever attack built it (so its JSON is the same). */
export function resolved<C extends Resolved>(r: C): C {
  const { type, eps, steps, stepSize, randomStart, restarts, targeted, norm, targets, queries, pInit } = r;
  return { type, eps, steps, stepSize, randomStart, restarts, targeted, norm, targets, queries, pInit } as C;
}

/** A label such as 'PGD-10 L∞ eps=0.3', 'Square 5000 queries L2 eps=0.5' or 'APGD-T-100 L∞ eps=0.1 (9 targets)'. */
export function iterativeLabel(name: string, r: Resolved): string {
  const norm = r.norm === 'l2' ? 'L2' : 'L∞';
  const size = r.queries ? ` ${r.queries} queries` : `-${r.steps}`;
  const targets = r.targets ? ` (${r.targets} targets)` : r.targeted ? ' targeted' : '';
  return `${name}${size} ${norm} eps=${formatEps(r.eps)}${r.restarts ? ` x${r.restarts + 1} restarts` : ''}${targets}`;
}

/** eps as a reader expects it: 4/255 or 8/255 for image-scale radii, else a decimal (0.3). */
export function formatEps(eps: number): string {
  const k = eps * 255;
  return Math.abs(k - Math.round(k)) < 1e-6 && k >= 1 && k <= 32 ? `${Math.round(k)}/255` : `${+eps.toFixed(4)}`;
}
