// Comparing the arms of a study: one value per (arm, seed), summaries per arm, and each arm's
// difference to a baseline paired by seed (lib/report/stats). Every study and notebook goes
// through here instead of pairing seeds itself.
import { activationLabel, parseActivation } from '../activations';
import type { ResultRecord } from '../eval';
import { attackColumn } from '../eval/table';
import { holmFamily, pairedBySeed, pairedMinimumDetectable, summarize, type PairedDifference, type Summary, type Verdict } from './stats';

/** One measurement: an arm's value for one seed (e.g. robust accuracy in [0, 1]). */
export interface ArmValue {
  arm: string;
  seed: number;
  value: number;
}

export interface ArmComparison {
  arm: string;
  /** Seeds this arm has a value for, ascending. */
  seeds: number[];
  summary: Summary;
  /** arm - baseline on the seeds both have; null for the baseline itself or when no seed is shared. */
  delta: (PairedDifference & { seeds: number[] }) | null;
}

/** An arm's values keyed by seed (a seed given twice is an error: pairing needs one value per seed). */
export function valuesBySeed(values: readonly ArmValue[], arm: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const v of values) {
    if (v.arm !== arm) continue;
    if (m.has(v.seed)) throw new Error(`compareArms: arm '${arm}' has two values for seed ${v.seed}; give one value per arm and seed.`);
    m.set(v.seed, v.value);
  }
  return m;
}

/**
 * Per arm (in `arms` order, default first appearance): its summary over seeds, and its
 * difference to `baseline` paired by seed with the Student-t 95% interval and verdict.
 */
export function compareArms(values: readonly ArmValue[], opts: { baseline: string; arms?: readonly string[] }): ArmComparison[] {
  const arms = opts.arms ?? [...new Set(values.map((v) => v.arm))];
  const base = valuesBySeed(values, opts.baseline);
  return arms.flatMap((arm) => {
    const mine = valuesBySeed(values, arm);
    if (mine.size === 0) return [];
    const seeds = [...mine.keys()].sort((a, b) => a - b);
    const shared = seeds.filter((s) => base.has(s));
    return [{
      arm, seeds,
      summary: summarize(seeds.map((s) => mine.get(s)!)),
      delta: arm === opts.baseline || shared.length === 0 ? null : pairedBySeed(mine, base),
    }];
  });
}

/** A run as the report sees it: its config's arm-relevant fields and its result records. */
export interface RunLike {
  config: { seed: number; activation: string };
  results: readonly ResultRecord[];
}

/**
 * One ArmValue per run for one result column ('clean', 'PGD-20 0.1', ...), the arm named by
 * `armOf`; runs without that column are left out.
 */
export function armValues<R extends RunLike>(runs: readonly R[], armOf: (r: R) => string, column: string): ArmValue[] {
  return runs.flatMap((r) => {
    const rec = r.results.find((x) => attackColumn(x) === column);
    return rec ? [{ arm: armOf(r), seed: r.config.seed, value: rec.accuracy }] : [];
  });
}

const DISPLAY: Record<string, string> = {
  relu: 'ReLU', softplus: 'Softplus', psoftplus: 'parametric Softplus', silu: 'SiLU', swish: 'SiLU', gelu: 'GELU', 'gelu-tanh': 'GELU (tanh)',
  elu: 'ELU', celu: 'CELU', smoothrelu: 'SmoothReLU', 'smoothrelu-learnable': 'SmoothReLU (learnable β)', mish: 'Mish',
};

/** The name tables and plots show for an activation: 'ReLU', 'SiLU', 'parametric Softplus a=10', 'CELU α=2'. */
export function displayName(activation: string): string {
  const spec = parseActivation(activation);
  const name = DISPLAY[spec.name] ?? activationLabel(spec);
  if (spec.param === undefined) return name;
  const sym = spec.name === 'psoftplus' ? 'a' : spec.name === 'celu' ? 'α' : spec.name.startsWith('smoothrelu') ? 'β' : 'p';
  return `${name} ${sym}=${spec.param}`;
}

/** One line per run for a notebook's run list: arm, seed, how it came to be, its numbers. */
export function summarizeRuns<R extends RunLike & { reused: boolean; metrics: readonly { seconds: number }[] }>(runs: readonly R[], armOf: (r: R) => string): string[] {
  const width = Math.max(0, ...runs.map((r) => armOf(r).length));
  return runs.map((r) => {
    const acc = r.results.map((x) => `${x.attack === 'clean' ? 'clean' : `PGD-${x.steps}`} ${(100 * x.accuracy).toFixed(1)}%`).join(', ');
    const secs = r.metrics.reduce((s, m) => s + m.seconds, 0);
    return `${armOf(r).padEnd(width)}  seed ${r.config.seed}: ${`${r.reused ? 'stored; ' : ''}trained in ${secs.toFixed(0)} s`.padEnd(28)} ${acc}`;
  });
}

/** One arm-vs-baseline contrast of a notebook's family, on one endpoint. */
export interface Contrast {
  endpoint: string;
  arm: string;
  /** Seeds both the arm and the baseline have. */
  pairs: number;
  /** Unadjusted paired difference (null without a shared seed). */
  delta: (PairedDifference & { seeds: number[] }) | null;
  /** Fewer than `minPairs` complete pairs: no verdict yet. */
  pending: boolean;
  /** Holm-adjusted over the family's contrasts that are not pending; NaN otherwise. */
  pHolm: number;
  verdictHolm: Verdict | 'pending';
  /** The smallest paired difference the test detects with 80% power at alpha 0.05 from the measured paired sd (NaN without one). */
  minimumDetectable: number;
}

/**
 * Every arm against the baseline on every endpoint, as one family: unadjusted paired
 * intervals, Holm's correction across the contrasts that have at least `minPairs` seed pairs,
 * and the smallest detectable difference of each at its n. Contrasts with fewer pairs are
 * listed as pending, with no verdict.
 */
export function contrastFamily(endpoints: readonly { name: string; values: readonly ArmValue[] }[], opts: { baseline: string; arms: readonly string[]; minPairs?: number }): Contrast[] {
  const minPairs = opts.minPairs ?? 5;
  const raw = endpoints.flatMap((e) =>
    compareArms(e.values, { baseline: opts.baseline, arms: opts.arms })
      .filter((c) => c.arm !== opts.baseline)
      .map((c) => ({ endpoint: e.name, arm: c.arm, delta: c.delta, pairs: c.delta?.n ?? 0 })),
  );
  const ready = raw.filter((c) => c.delta && c.pairs >= minPairs);
  const holm = holmFamily(ready.map((c) => ({ key: c, difference: c.delta! })));
  return raw.map((c) => {
    const h = holm.find((x) => x.key === c);
    const sd = c.delta?.sd ?? NaN;
    return {
      ...c,
      pending: !h,
      pHolm: h?.pHolm ?? NaN,
      verdictHolm: h ? h.verdictHolm : 'pending',
      minimumDetectable: c.pairs >= 2 && sd > 0 ? pairedMinimumDetectable(sd, c.pairs) : NaN,
    };
  });
}
