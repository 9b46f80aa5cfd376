// The attacks, one per file, and their registry. Each attack's file holds its config type, its
// defaults with their sources, its checks and its constructor (an AttackDefinition); adding an
// attack means adding its file and one line to the union and one to ATTACKS below.
import { type ApgdConfig, apgdCeDefinition, apgdDlrDefinition } from './apgd';
import { type ApgdTConfig, apgdTDefinition } from './apgd-t';
import { type FabTConfig, fabTDefinition } from './fab-t';
import { type FgsmConfig, fgsmDefinition } from './fgsm';
import { type PgdL2Config, pgdL2Definition } from './pgd-l2';
import { type PgdLinfConfig, pgdLinfDefinition } from './pgd-linf';
import { type SquareConfig, squareDefinition } from './square';
import type { Attack, AttackDefinition, UncheckedAttackConfig } from './types';

export * from './types';
export { formatEps } from './config';
export type { ApgdConfig, ApgdTConfig, FabTConfig, FgsmConfig, PgdL2Config, PgdLinfConfig, SquareConfig };

/** An attack's config, one type per attack, keyed by `type`. */
export type AttackConfig = FgsmConfig | PgdLinfConfig | PgdL2Config | ApgdConfig<'apgd-ce'> | ApgdConfig<'apgd-dlr'> | ApgdTConfig | FabTConfig | SquareConfig;
export type AttackType = AttackConfig['type'];
/** A config with every default filled in: fields an attack does not use hold 0 (or false). */
export type ResolvedAttackConfig = Required<AttackConfig>;

/** Every attack by its name, in the order help texts list them. */
const ATTACKS: { [T in AttackType]: AttackDefinition<Extract<AttackConfig, { type: T }>> } = {
  fgsm: fgsmDefinition,
  'pgd-linf': pgdLinfDefinition,
  'pgd-l2': pgdL2Definition,
  'apgd-ce': apgdCeDefinition,
  'apgd-dlr': apgdDlrDefinition,
  'apgd-t': apgdTDefinition,
  'fab-t': fabTDefinition,
  square: squareDefinition,
};

export const ATTACK_TYPES = Object.keys(ATTACKS) as readonly AttackType[];

function definition(type: string): AttackDefinition<AttackConfig> {
  if (!(ATTACK_TYPES as readonly string[]).includes(type)) throw new Error(`Unknown attack '${type}'. Valid attacks: ${ATTACK_TYPES.join(', ')}.`);
  return ATTACKS[type as AttackType] as AttackDefinition<AttackConfig>;
}

/** Fills defaults and checks ranges; every error names the field and the valid range. Idempotent: a resolved config resolves to itself. */
export function resolveAttackConfig(c: UncheckedAttackConfig): ResolvedAttackConfig {
  return definition(c.type).resolve(c);
}

/** The attack for a config, its fields checked first. */
export function makeAttack(config: AttackConfig): Attack<ResolvedAttackConfig> {
  const d = definition(config.type);
  return d.create(d.resolve(config));
}

/** A short label such as 'PGD-10 L∞ eps=0.3' or 'APGD-T-100 L2 eps=0.5 (9 targets)'. */
export function attackLabel(c: UncheckedAttackConfig): string {
  const d = definition(c.type);
  return d.label(d.resolve(c));
}
