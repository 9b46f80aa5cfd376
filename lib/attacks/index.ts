// Builds an attack from its config, validating every field first. Each default is set here,
// once, with its source.
import { apgd } from './apgd';
import { apgdT } from './apgd-t';
import { fabT } from './fab-t';
import { fgsm } from './fgsm';
import { pgdL2 } from './pgd-l2';
import { pgdLinf } from './pgd-linf';
import { square } from './square';
import { ATTACK_TYPES, type Attack, type AttackConfig, type AttackNorm, type AttackType } from './types';

export * from './types';

/** Attacks that pick their own target classes (the top `targets` non-true classes). */
const SELF_TARGETED: readonly AttackType[] = ['apgd-t', 'fab-t'];
/** Attacks whose norm is a config field; the others fix it by their name. */
const NORM_FIELD: readonly AttackType[] = ['apgd-ce', 'apgd-dlr', 'apgd-t', 'fab-t', 'square'];

function fixedNorm(type: AttackType): AttackNorm | undefined {
  if (type === 'pgd-l2') return 'l2';
  if (type === 'pgd-linf' || type === 'fgsm') return 'linf';
  return undefined;
}

/** Fills defaults and checks ranges; every error names the field and the valid range. Idempotent: a resolved config resolves to itself. */
export function resolveAttackConfig(c: AttackConfig): Required<AttackConfig> {
  if (!ATTACK_TYPES.includes(c.type)) {
    throw new Error(`Unknown attack '${c.type}'. Valid attacks: ${ATTACK_TYPES.join(', ')}.`);
  }
  const t = c.type;
  const isApgd = t === 'apgd-ce' || t === 'apgd-dlr' || t === 'apgd-t';
  const fixed = fixedNorm(t);
  if (c.norm !== undefined && c.norm !== 'linf' && c.norm !== 'l2') throw new Error(`Attack norm must be 'linf' or 'l2', got '${c.norm}'.`);
  if (fixed && c.norm !== undefined && c.norm !== fixed) {
    throw new Error(`Attack '${t}' is ${fixed === 'l2' ? 'L2' : 'L-inf'} by its name; for the other norm use ${fixed === 'l2' ? 'pgd-linf' : 'pgd-l2'} (or drop norm).`);
  }
  const norm: AttackNorm = fixed ?? c.norm ?? 'linf';
  if (!Number.isFinite(c.eps) || c.eps < 0) throw new Error(`Attack eps must be a number >= 0, got ${c.eps}.`);
  if (norm === 'linf' && c.eps > 1) {
    throw new Error(`L-inf eps ${c.eps} is outside [0, 1]: pixels are in [0,1], so write 8/255 as ${(8 / 255).toFixed(5)}.`);
  }

  // Query budget: 5,000 (Andriushchenko et al., ECCV 2020, and AutoAttack's standard version,
  // fra31/auto-attack autoattack.py set_version('standard'): square.n_queries = 5000).
  const queries = t === 'square' ? c.queries ?? 5000 : 0;
  if (t !== 'square' && c.queries !== undefined && c.queries !== 0) throw new Error(`Attack field queries is for square only ('${t}' counts steps); drop it.`);
  if (!Number.isInteger(queries) || queries < 0 || (t === 'square' && queries < 1)) throw new Error(`Attack queries must be a positive integer, got ${c.queries}.`);
  // p_init 0.8: the value AutoAttack passes to Square for L∞ and L2 (autoattack.py, SquareAttack(p_init=.8)).
  const pInit = t === 'square' ? c.pInit ?? 0.8 : 0;
  if (t !== 'square' && c.pInit !== undefined && c.pInit !== 0) throw new Error(`Attack field pInit is for square only; drop it.`);
  if (t === 'square' && !(pInit > 0 && pInit <= 1)) throw new Error(`Attack pInit must be in (0, 1], got ${c.pInit}.`);

  // Iterations: PGD 10 (this library's evaluation default); APGD and FAB 100 (Croce & Hein,
  // ICML 2020, and autoattack.py: APGDAttack/APGDAttack_targeted/FABAttack_PT n_iter=100);
  // Square counts its queries as steps.
  const defaultSteps = t === 'fgsm' ? 1 : t === 'square' ? queries : isApgd || t === 'fab-t' ? 100 : 10;
  if (t === 'square' && c.steps !== undefined && c.steps !== queries) {
    throw new Error(`Attack square counts its queries as steps: give queries (${queries}), not steps ${c.steps}.`);
  }
  const steps = t === 'fgsm' ? 1 : c.steps ?? defaultSteps;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`Attack steps must be a positive integer, got ${c.steps}.`);

  // Step size: FGSM eps; PGD 2.5·eps/steps (Madry et al. 2018, sec. 5); APGD's initial step
  // 2·eps for L∞ and L2 (Croce & Hein 2020, Alg. 1: eta(0) = 2·eps; autopgd_base.py step_size = 2·eps).
  // FAB-T and Square have none.
  if ((t === 'fab-t' || t === 'square') && c.stepSize !== undefined && c.stepSize !== 0) throw new Error(`Attack '${t}' has no step size; drop stepSize.`);
  const stepSize = t === 'fgsm' ? c.eps : t === 'fab-t' || t === 'square' ? 0 : c.stepSize ?? (isApgd ? 2 * c.eps : (2.5 * c.eps) / steps);
  if (!Number.isFinite(stepSize) || stepSize < 0) throw new Error(`Attack step size must be a number >= 0, got ${c.stepSize}.`);

  // Restarts: 0 extra for every attack of AutoAttack's standard version (autoattack.py
  // set_version('standard'): apgd.n_restarts = 1, apgd_targeted.n_restarts = 1, fab.n_restarts = 1, square n_restarts=1).
  const restarts = c.restarts ?? 0;
  if (!Number.isInteger(restarts) || restarts < 0) throw new Error(`Attack restarts must be an integer >= 0, got ${c.restarts}.`);

  // Target classes: 9 (autoattack.py set_version('standard'): n_target_classes = 9 for APGD-T and FAB-T).
  const targets = SELF_TARGETED.includes(t) ? c.targets ?? 9 : 0;
  if (!SELF_TARGETED.includes(t) && c.targets !== undefined && c.targets !== 0) throw new Error(`Attack field targets is for apgd-t and fab-t only; drop it.`);
  if (SELF_TARGETED.includes(t) && (!Number.isInteger(targets) || targets < 1)) throw new Error(`Attack targets must be a positive integer (number of target classes), got ${c.targets}.`);

  if (c.targeted && !(t === 'fgsm' || t === 'pgd-linf' || t === 'pgd-l2' || SELF_TARGETED.includes(t))) {
    throw new Error(
      `Attack '${t}' has no targeted form here; use apgd-t or fab-t for a targeted attack, or drop targeted.`,
    );
  }
  // Random start: PGD and APGD start at a random point (Madry et al.; autopgd_base.py
  // perturb: x + eps·uniform(-1,1) rescaled); FAB-T's standard version starts at x
  // (fab_base.py perturb: use_rand_start=(counter > 0), so the one standard run starts at x);
  // Square starts from its stripes, not a random point.
  const randomStart = t === 'fgsm' || t === 'square' ? false : c.randomStart ?? (t !== 'fab-t');
  return {
    type: t,
    eps: c.eps,
    steps,
    stepSize,
    randomStart,
    restarts,
    targeted: SELF_TARGETED.includes(t) ? true : c.targeted ?? false,
    norm,
    targets,
    queries,
    pInit,
  };
}

export function makeAttack(config: AttackConfig): Attack {
  const c = resolveAttackConfig(config);
  switch (c.type) {
    case 'fgsm':
      return fgsm(c);
    case 'pgd-linf':
      return pgdLinf(c);
    case 'pgd-l2':
      return pgdL2(c);
    case 'apgd-ce':
    case 'apgd-dlr':
      return apgd(c);
    case 'apgd-t':
      return apgdT(c);
    case 'fab-t':
      return fabT(c);
    case 'square':
      return square(c);
  }
}

const NAMES: Record<AttackType, string> = {
  fgsm: 'FGSM',
  'pgd-linf': 'PGD',
  'pgd-l2': 'PGD',
  'apgd-ce': 'APGD-CE',
  'apgd-dlr': 'APGD-DLR',
  'apgd-t': 'APGD-T',
  'fab-t': 'FAB-T',
  square: 'Square',
};

/** A short label such as 'PGD-10 L∞ eps=0.3' or 'APGD-T-100 L2 eps=0.5 (9 targets)'. */
export function attackLabel(c: AttackConfig): string {
  const r = resolveAttackConfig(c);
  if (r.type === 'fgsm') return `FGSM eps=${formatEps(r.eps)}`;
  const norm = r.norm === 'l2' ? 'L2' : 'L∞';
  const size = r.type === 'square' ? ` ${r.queries} queries` : `-${r.steps}`;
  const extra = NORM_FIELD.includes(r.type) && r.targets ? ` (${r.targets} targets)` : '';
  const targeted = r.targeted && !NORM_FIELD.includes(r.type) ? ' targeted' : '';
  return `${NAMES[r.type]}${size} ${norm} eps=${formatEps(r.eps)}${r.restarts ? ` x${r.restarts + 1} restarts` : ''}${extra}${targeted}`;
}

/** eps as a reader expects it: 4/255 or 8/255 for image-scale radii, else a decimal (0.3). */
export function formatEps(eps: number): string {
  const k = eps * 255;
  return Math.abs(k - Math.round(k)) < 1e-6 && k >= 1 && k <= 32 ? `${Math.round(k)}/255` : `${+eps.toFixed(4)}`;
}
