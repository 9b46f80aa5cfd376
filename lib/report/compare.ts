// Comparing the arms of a study: one value per (arm, seed), summaries per arm, and each arm's
// difference to a baseline paired by seed (lib/report/stats). Every study and notebook goes
// through here instead of pairing seeds itself.
import { activationLabel, parseActivation } from '../activations';
import type { ResultRecord } from '../eval';
import { attackColumn } from '../eval/table';
import { holmFamily, pairedBySeed, pairedMinimumDetectable, summarize, tQuantile975, type PairedDifference, type Summary, type Verdict } from './stats';

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

/** What arms are compared with: one baseline arm for all, or each arm's own (a study with several designs). */
export type Baseline = string | ((arm: string) => string);
export const baselineOf = (baseline: Baseline, arm: string): string => (typeof baseline === 'string' ? baseline : baseline(arm));

/**
 * Per arm (in `arms` order, default first appearance): its summary over seeds, and its
 * difference to its baseline paired by seed with the Student-t 95% interval and verdict.
 */
export function compareArms(values: readonly ArmValue[], opts: { baseline: Baseline; arms?: readonly string[] }): ArmComparison[] {
  const arms = opts.arms ?? [...new Set(values.map((v) => v.arm))];
  return arms.flatMap((arm) => {
    const mine = valuesBySeed(values, arm);
    if (mine.size === 0) return [];
    const baseline = baselineOf(opts.baseline, arm);
    const base = valuesBySeed(values, baseline);
    const seeds = [...mine.keys()].sort((a, b) => a - b);
    const shared = seeds.filter((s) => base.has(s));
    return [{
      arm, seeds,
      summary: summarize(seeds.map((s) => mine.get(s)!)),
      delta: arm === baseline || shared.length === 0 ? null : pairedBySeed(mine, base),
    }];
  });
}

/** A run as the report sees it: its config's arm-relevant fields and its result records. */
export interface RunLike {
  config: { seed: number; activation: string };
  results: readonly ResultRecord[];
}

/** A run's arm, from its config (a study's variant key, an activation, a family member). */
export type ArmOf<R> = (r: R) => string;

/** The result column of an evaluation's last (strongest) attack, e.g. 'PGD-20 0.1': the robust column a study reports. */
export function robustColumn(evaluation: { attacks: readonly { type: ResultRecord['attack']; eps: number; steps?: number }[] } | undefined, who = 'the study'): string {
  const attacks = evaluation?.attacks ?? [];
  if (attacks.length === 0) throw new Error(`${who} evaluates no attack: add one to evaluation.attacks`);
  const a = attacks[attacks.length - 1];
  return attackColumn({ attack: a.type, eps: a.eps, steps: a.steps ?? 10 });
}

/**
 * One ArmValue per run for one result column ('clean', 'PGD-20 0.1', ...), the arm named by
 * `armOf`; runs without that column are left out.
 */
export function armValues<R extends RunLike>(runs: readonly R[], armOf: ArmOf<R>, column: string): ArmValue[] {
  return runs.flatMap((r) => {
    const rec = r.results.find((x) => attackColumn(x) === column);
    return rec ? [{ arm: armOf(r), seed: r.config.seed, value: rec.accuracy }] : [];
  });
}

/** An arm's runs with, per result column ('clean', 'PGD-20 0.1'), its values by seed and their summary. */
export interface ArmSummary<R> {
  arm: string;
  runs: R[];
  bySeed: Record<string, Map<number, number>>;
  /** Over the arm's seeds, in run order. */
  summaries: Record<string, Summary>;
}

/** Per arm (in `arms` order, default first appearance) that has runs: every column's values by seed and summary. */
export function armSummaries<R extends RunLike>(runs: readonly R[], armOf: ArmOf<R>, arms?: readonly string[]): ArmSummary<R>[] {
  const keyed = runs.map((r) => ({ arm: armOf(r), r }));
  return (arms ?? [...new Set(keyed.map((k) => k.arm))]).flatMap((arm) => {
    const mine = keyed.filter((k) => k.arm === arm).map((k) => k.r);
    if (mine.length === 0) return [];
    const columns = [...new Set(mine.flatMap((r) => r.results.map((x) => attackColumn(x))))];
    const bySeed = Object.fromEntries(columns.map((c) => [c, valuesBySeed(armValues(mine, () => arm, c), arm)]));
    return [{ arm, runs: mine, bySeed, summaries: Object.fromEntries(columns.map((c) => [c, summarize([...bySeed[c].values()])])) }];
  });
}

/** a - b in one column, paired by seed on the seeds both have; null when either lacks the column or they share no seed. */
export function pairArms(a: Pick<ArmSummary<unknown>, 'bySeed'>, b: Pick<ArmSummary<unknown>, 'bySeed'>, column: string): (PairedDifference & { seeds: number[] }) | null {
  const [x, y] = [a.bySeed[column], b.bySeed[column]];
  if (!x || !y || ![...x.keys()].some((s) => y.has(s))) return null;
  return pairedBySeed(x, y);
}

/** The runs' result records with `activation` replaced by the run's arm, so that helpers grouping by activation (meanStd, paperTable) group by arm. */
export function recordsByArm<R extends RunLike>(runs: readonly R[], armOf: ArmOf<R>): ResultRecord[] {
  return runs.flatMap((r) => {
    const arm = armOf(r);
    return r.results.map((record) => ({ ...record, activation: arm }));
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

/**
 * One line per run for a notebook's run list: arm, seed, how it came to be, its numbers;
 * `throughput` adds the mean training images per second.
 */
export function summarizeRuns<R extends RunLike & { reused: boolean; metrics: readonly { seconds: number; images_per_s?: number }[] }>(runs: readonly R[], armOf: ArmOf<R>, opts: { throughput?: boolean } = {}): string[] {
  const width = Math.max(0, ...runs.map((r) => armOf(r).length));
  return runs.map((r) => {
    const acc = r.results.map((x) => `${x.attack === 'clean' ? 'clean' : `PGD-${x.steps}`} ${(100 * x.accuracy).toFixed(1)}%`).join(', ');
    const secs = r.metrics.reduce((s, m) => s + m.seconds, 0);
    const rate = opts.throughput ? ` (${(r.metrics.reduce((s, m) => s + (m.images_per_s ?? NaN), 0) / r.metrics.length).toFixed(0)} img/s)` : '';
    return `${armOf(r).padEnd(width)}  seed ${r.config.seed}: ${`${r.reused ? 'stored; ' : ''}trained in ${secs.toFixed(0)} s${rate}`.padEnd(opts.throughput ? 40 : 28)} ${acc}`;
  });
}

/** The line under a run list: "24 runs (24 reused) in 3 s". */
export function runsTotal(runs: readonly { reused: boolean }[], seconds: number): string {
  return `${runs.length} runs (${runs.filter((r) => r.reused).length} reused) in ${seconds.toFixed(0)} s`;
}

/** One arm-vs-baseline contrast of a notebook's family, on one endpoint. */
export interface Contrast {
  endpoint: string;
  arm: string;
  /** The arm it is compared with. */
  baseline: string;
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
  /**
   * The same at Holm's strictest level, alpha 0.05 / m over the family's m contrasts with a verdict:
   * the difference its Holm verdict is sure to detect with 80% power (NaN while pending).
   */
  minimumDetectableHolm: number;
}

/**
 * Every arm against its baseline on every endpoint, as one family: unadjusted paired
 * intervals, Holm's correction across the contrasts that have at least `minPairs` seed pairs,
 * and the smallest detectable difference of each at its n. Contrasts with fewer pairs are
 * listed as pending, with no verdict.
 */
export function contrastFamily(endpoints: readonly { name: string; values: readonly ArmValue[] }[], opts: { baseline: Baseline; arms: readonly string[]; minPairs?: number }): Contrast[] {
  const minPairs = opts.minPairs ?? 5;
  const raw = endpoints.flatMap((e) =>
    compareArms(e.values, { baseline: opts.baseline, arms: opts.arms })
      .filter((c) => c.arm !== baselineOf(opts.baseline, c.arm))
      .map((c) => ({ endpoint: e.name, arm: c.arm, baseline: baselineOf(opts.baseline, c.arm), delta: c.delta, pairs: c.delta?.n ?? 0 })),
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
      minimumDetectableHolm: h && sd > 0 ? pairedMinimumDetectable(sd, c.pairs, { alpha: 0.05 / ready.length }) : NaN,
    };
  });
}

/** What a pilot's paired sd implies for the number of seeds of one contrast. */
export interface PilotDesign {
  endpoint: string;
  arm: string;
  /** Seed pairs the sd is measured from (its degrees of freedom are pairs - 1). */
  pairs: number;
  sd: number;
  /** The planned pairs, and the smallest difference detected there with 80% power (two-sided paired t, alpha 0.05), if the sd holds. */
  planned: number;
  detectableAtPlanned: number;
  /** The fewest pairs whose expected 95% interval half-width (t quantile x sd / sqrt(n)) is at most `halfWidth`. */
  pairsForHalfWidth: number;
  halfWidth: number;
}

/**
 * The pilot rule of a powered study: from the paired sd measured on the first seeds (at least 2
 * pairs), the seeds a contrast needs for a 95% interval of a given half-width, and the effect
 * the planned seeds can detect. With few pairs the sd itself is uncertain: a guide, not a design.
 */
export function pilotDesign(contrasts: readonly Contrast[], opts: { planned: (arm: string) => number; halfWidth: number; maxPairs?: number }): PilotDesign[] {
  const maxPairs = opts.maxPairs ?? 200;
  return contrasts
    .filter((c) => c.delta && c.pairs >= 2 && c.delta.sd > 0)
    .map((c) => {
      const sd = c.delta!.sd;
      let n = 2;
      while (n < maxPairs && (tQuantile975(n - 1) * sd) / Math.sqrt(n) > opts.halfWidth) n++;
      const planned = opts.planned(c.arm);
      return { endpoint: c.endpoint, arm: c.arm, pairs: c.pairs, sd, planned, detectableAtPlanned: pairedMinimumDetectable(sd, planned), pairsForHalfWidth: n, halfWidth: opts.halfWidth };
    });
}
