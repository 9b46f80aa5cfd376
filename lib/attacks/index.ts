// Builds an attack from its config, validating every field first.
import { fgsm } from './fgsm';
import { pgdL2 } from './pgd-l2';
import { pgdLinf } from './pgd-linf';
import { ATTACK_TYPES, type Attack, type AttackConfig } from './types';

export * from './types';

/** Fills defaults and checks ranges; every error names the field and the valid range. */
export function resolveAttackConfig(c: AttackConfig): Required<AttackConfig> {
  if (!ATTACK_TYPES.includes(c.type)) {
    throw new Error(`Unknown attack '${c.type}'. Valid attacks: ${ATTACK_TYPES.join(', ')}.`);
  }
  if (!Number.isFinite(c.eps) || c.eps < 0) throw new Error(`Attack eps must be a number >= 0, got ${c.eps}.`);
  if (c.type !== 'pgd-l2' && c.eps > 1) {
    throw new Error(`L-inf eps ${c.eps} is outside [0, 1]: pixels are in [0,1], so write 8/255 as ${(8 / 255).toFixed(5)}.`);
  }
  const steps = c.type === 'fgsm' ? 1 : c.steps ?? 10;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`Attack steps must be a positive integer, got ${c.steps}.`);
  const stepSize = c.type === 'fgsm' ? c.eps : c.stepSize ?? Math.max((2.5 * c.eps) / steps, c.eps / steps);
  if (!Number.isFinite(stepSize) || stepSize < 0) throw new Error(`Attack step size must be a number >= 0, got ${c.stepSize}.`);
  const restarts = c.restarts ?? 0;
  if (!Number.isInteger(restarts) || restarts < 0) throw new Error(`Attack restarts must be an integer >= 0, got ${c.restarts}.`);
  return {
    type: c.type,
    eps: c.eps,
    steps,
    stepSize,
    randomStart: c.type === 'fgsm' ? false : c.randomStart ?? true,
    restarts,
    targeted: c.targeted ?? false,
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
  }
}

/** A short label such as 'PGD-10 L∞ eps=0.3'. */
export function attackLabel(c: AttackConfig): string {
  const r = resolveAttackConfig(c);
  if (r.type === 'fgsm') return `FGSM eps=${formatEps(r.eps)}`;
  return `PGD-${r.steps} ${r.type === 'pgd-l2' ? 'L2' : 'L∞'} eps=${formatEps(r.eps)}${r.restarts ? ` x${r.restarts + 1} restarts` : ''}${r.targeted ? ' targeted' : ''}`;
}

/** eps as a reader expects it: 4/255 or 8/255 for image-scale radii, else a decimal (0.3). */
export function formatEps(eps: number): string {
  const k = eps * 255;
  return Math.abs(k - Math.round(k)) < 1e-6 && k >= 1 && k <= 32 ? `${Math.round(k)}/255` : `${+eps.toFixed(4)}`;
}
