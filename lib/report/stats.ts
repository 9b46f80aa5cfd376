// The statistics module: every comparison of arms in the notebooks, tables and plots goes through
// here. Seeds are the unit of replication (a seed fixes the initial weights and the data order,
// the same across the arms of a study), so two arms are compared by their per-seed paired
// differences; the 95% confidence interval uses Student's t with n - 1 degrees of freedom (with
// 2 seeds a 95% interval is ±12.7 SE, not ±2 SE), and the verdict is read off the interval.

/**
 * What an interval says about a difference (arm minus baseline); 'no interval' when there is
 * none to read (one seed, or the same difference on every seed).
 */
export type Verdict = 'higher' | 'lower' | 'no detectable difference at this scale' | 'no interval';

/** Why a summary has no interval: the one spelling of each case, used by every formatter. */
export const NO_INTERVAL = {
  oneSeed: 'one seed: no interval',
  identical: 'identical difference on every seed: no interval',
} as const;

export interface Summary {
  /** Number of values (seeds). */
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); NaN with fewer than 2 values. */
  sd: number;
  /** Standard error of the mean, sd / sqrt(n); NaN with fewer than 2 values. */
  se: number;
  /** Student-t 95% confidence interval of the mean; NaN bounds with fewer than 2 values. */
  ciLow: number;
  ciHigh: number;
  /**
   * Present when there is no interval: one value (no spread), or, for a paired difference, the
   * same difference on every seed (a zero-width interval would claim certainty the seeds cannot give).
   */
  note?: (typeof NO_INTERVAL)[keyof typeof NO_INTERVAL];
}

export type PairedDifference = Summary & {
  verdict: Verdict;
  /** Two-sided p-value of Student's paired t test of a zero mean difference; NaN without an interval. */
  p: number;
};

// ---------------------------------------------------------------------------------------------
// Student's t distribution

/** log Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: about 15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b), x in [0, 1]. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Standard normal quantile (Acklam's rational approximation, refined by one Halley step). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  let x: number;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - lo) {
    return -normalQuantile(1 - p);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  // One Halley step on Φ(x) - p brings the 1e-9 approximation to machine precision.
  const e = 0.5 * erfc(-x / Math.SQRT2) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** Complementary error function: the Chebyshev fit of Numerical Recipes (3rd ed., erfccheb), about 1e-16 relative. */
function erfc(x: number): number {
  const cof = [
    -1.3026537197817094, 6.4196979235649026e-1, 1.9476473204185836e-2, -9.561514786808631e-3, -9.46595344482036e-4,
    3.66839497852761e-4, 4.2523324806907e-5, -2.0278578112534e-5, -1.624290004647e-6, 1.30365583558e-6,
    1.5626441722e-8, -8.5238095915e-8, 6.529054439e-9, 5.059343495e-9, -9.91364156e-10, -2.27365122e-10,
    9.6467911e-11, 2.394038e-12, -6.886027e-12, 8.94487e-13, 3.13092e-13, -1.12708e-13, 3.81e-16, 7.106e-15,
    -1.523e-15, -9.4e-17, 1.21e-16, -2.8e-17,
  ];
  if (x < 0) return 2 - erfc(-x);
  const t = 2 / (2 + x);
  const ty = 4 * t - 2;
  let d = 0;
  let dd = 0;
  for (let j = cof.length - 1; j > 0; j--) {
    const tmp = d;
    d = ty * d - dd + cof[j];
    dd = tmp;
  }
  return t * Math.exp(-x * x + 0.5 * (cof[0] + ty * d) - dd);
}

/** P(T <= t) for Student's t with `df` degrees of freedom (df > 0; Infinity gives the normal). */
export function tCdf(t: number, df: number): number {
  checkDf(df, 'tCdf');
  if (df === Infinity) return 0.5 * erfc(-t / Math.SQRT2);
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The p-quantile of Student's t with `df` degrees of freedom (any real df > 0, or Infinity for
 * the normal), computed by inverting the CDF: bisection on x = df / (df + t²), where the tail
 * probability I_x(df/2, 1/2) / 2 is monotone, to full double precision.
 */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`tQuantile: p must be in (0, 1), got ${p}`);
  checkDf(df, 'tQuantile');
  if (p === 0.5) return 0;
  if (p < 0.5) return -tQuantile(1 - p, df);
  if (df === Infinity) return normalQuantile(p);
  const tail = 2 * (1 - p); // two-sided tail mass beyond |t|
  let lo = 0; // x = 0 is t = ∞ (tail 0)
  let hi = 1; // x = 1 is t = 0 (tail 1)
  for (let i = 0; i < 200 && hi - lo > 1e-17 * Math.max(lo, 1e-300); i++) {
    const mid = (lo + hi) / 2;
    if (incompleteBeta(mid, df / 2, 0.5) < tail) lo = mid;
    else hi = mid;
  }
  const x = (lo + hi) / 2;
  return Math.sqrt((df * (1 - x)) / x);
}

/** The 0.975 quantile of Student's t: the half-width multiplier of a two-sided 95% interval. */
export function tQuantile975(df: number): number {
  return tQuantile(0.975, df);
}

function checkDf(df: number, fn: string): void {
  if (!(df > 0)) throw new Error(`${fn}: degrees of freedom must be > 0 (n - 1 for n seeds), got ${df}`);
}

// ---------------------------------------------------------------------------------------------
// Summaries, paired differences, verdicts

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Mean, sample sd, standard error and the Student-t 95% interval of the mean. */
export function summarize(xs: number[]): Summary {
  if (!Array.isArray(xs) || xs.length === 0) throw new Error('summarize: no values (pass one number per seed)');
  const bad = xs.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) throw new Error(`summarize: value ${bad} is ${xs[bad]}, not a finite number`);
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sd: NaN, se: NaN, ciLow: NaN, ciHigh: NaN, note: NO_INTERVAL.oneSeed };
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const se = sd / Math.sqrt(n);
  const half = tQuantile975(n - 1) * se;
  return { n, mean, sd, se, ciLow: mean - half, ciHigh: mean + half };
}

/** 'higher' when the whole interval is above 0, 'lower' when below, else no detectable difference. */
export function verdictFromInterval(lo: number, hi: number): Verdict {
  if (Number.isNaN(lo) || Number.isNaN(hi)) return 'no interval';
  if (lo > hi) throw new Error(`verdictFromInterval: lower bound ${lo} is above upper bound ${hi}`);
  if (lo > 0) return 'higher';
  if (hi < 0) return 'lower';
  return 'no detectable difference at this scale';
}

/**
 * The per-seed differences arm[i] - baseline[i] summarized, with the verdict of their 95%
 * interval. The arrays must be paired: the same seeds in the same order.
 */
export function pairedDifference(arm: number[], baseline: number[]): PairedDifference {
  if (arm.length !== baseline.length) {
    throw new Error(`pairedDifference: ${arm.length} arm values but ${baseline.length} baseline values; pass one value per seed for the same seeds in the same order`);
  }
  const diffs = arm.map((a, i) => a - baseline[i]);
  const s = summarize(diffs);
  // "Identical" up to float rounding: 0.57 - 0.47 and 0.56 - 0.46 differ in the last bits.
  if (s.n >= 2 && s.sd <= 1e-12 * Math.max(...diffs.map(Math.abs))) {
    return { ...s, se: NaN, ciLow: NaN, ciHigh: NaN, note: NO_INTERVAL.identical, verdict: 'no interval', p: NaN };
  }
  return { ...s, verdict: verdictFromInterval(s.ciLow, s.ciHigh), p: tTestP(s) };
}

/** Two-sided p-value of the one-sample t test of mean 0 (NaN with no interval). */
export function tTestP(s: Summary): number {
  if (s.n < 2 || !(s.se > 0)) return NaN;
  return Math.min(1, 2 * tCdf(-Math.abs(s.mean / s.se), s.n - 1));
}

/**
 * Pairs two arms' values by seed (keys), keeping the seeds both have, in ascending order; then
 * pairedDifference. Use it when runs come as records rather than aligned arrays.
 */
export function pairedBySeed(arm: Map<number, number>, baseline: Map<number, number>): PairedDifference & { seeds: number[] } {
  const seeds = [...arm.keys()].filter((s) => baseline.has(s)).sort((a, b) => a - b);
  if (seeds.length === 0) throw new Error('pairedBySeed: the arm and the baseline share no seed; run both with the same seeds');
  return { ...pairedDifference(seeds.map((s) => arm.get(s)!), seeds.map((s) => baseline.get(s)!)), seeds };
}

/**
 * "+2.3 [−0.4, +5.0]" (mean and 95% interval, times `scale`, e.g. 100 for percentage points), or
 * "+2.3 (one seed: no interval)" without an interval.
 */
export function formatInterval(s: Summary, scale = 1, digits = 1, signed = true): string {
  const f = (v: number) => {
    const t = (v * scale).toFixed(digits);
    return signed && v * scale >= 0 && !t.startsWith('-') ? `+${t}` : t.replace('-', '−');
  };
  if (s.note) return `${f(s.mean)} (${s.note})`;
  return `${f(s.mean)} [${f(s.ciLow)}, ${f(s.ciHigh)}]`;
}

/** "71.3 ± 0.8"-style mean ± standard error; "71.3 (one seed: no interval)" for one value. */
export function formatMeanSE(s: Summary, scale = 1, digits = 1): string {
  const m = (s.mean * scale).toFixed(digits);
  return s.note ? `${m} (${s.note})` : `${m} ± ${(s.se * scale).toFixed(digits)}`;
}

/**
 * The verdict for a sentence, the one place that words it: with one seed, or the same
 * difference on every seed, there is no interval and so no verdict; the reason is said instead.
 */
export function verdictText(d: Pick<PairedDifference, 'verdict' | 'note'>): string {
  return d.note ?? d.verdict;
}


// ---------------------------------------------------------------------------------------------
// Multiple comparisons: Holm's step-down adjustment over a notebook's family of contrasts

/**
 * Holm's adjusted p-values, in the input order: sort ascending, multiply the i-th smallest
 * (0-based) by m - i, carry the running maximum, cap at 1. A contrast is significant at
 * family-wise level alpha when its adjusted p is below alpha. NaN entries (contrasts without an
 * interval) stay NaN and do not count in m.
 */
export function holmAdjust(pValues: number[]): number[] {
  const bad = pValues.findIndex((p) => !Number.isNaN(p) && !(p >= 0 && p <= 1));
  if (bad >= 0) throw new Error(`holmAdjust: p-value ${bad} is ${pValues[bad]}, not in [0, 1]`);
  const order = pValues.map((p, i) => [p, i] as const).filter(([p]) => !Number.isNaN(p)).sort((a, b) => a[0] - b[0]);
  const m = order.length;
  const out = pValues.map(() => NaN);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}

export interface HolmContrast<K> {
  key: K;
  difference: PairedDifference;
  /** Holm-adjusted p over the family (NaN without an interval). */
  pHolm: number;
  /** The verdict after Holm: the unadjusted interval's direction when pHolm < alpha, else none. */
  verdictHolm: Verdict;
}

/**
 * A family of paired contrasts (e.g. every arm vs ReLU in one notebook) with Holm-adjusted
 * p-values and verdicts at family-wise level `alpha`; each keeps its unadjusted interval beside.
 */
export function holmFamily<K>(contrasts: { key: K; difference: PairedDifference }[], alpha = 0.05): HolmContrast<K>[] {
  const adjusted = holmAdjust(contrasts.map((c) => c.difference.p));
  return contrasts.map((c, i) => {
    const d = c.difference;
    const verdictHolm: Verdict = d.note
      ? 'no interval'
      : adjusted[i] < alpha
        ? d.mean > 0 ? 'higher' : 'lower'
        : 'no detectable difference at this scale';
    return { key: c.key, difference: d, pHolm: adjusted[i], verdictHolm };
  });
}

// ---------------------------------------------------------------------------------------------
// Binomial counts: exact tails, Clopper-Pearson, McNemar, Fisher

function checkCount(k: number, n: number, fn: string): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${fn}: n must be a whole number of images >= 0, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`${fn}: k must be a whole count in [0, n = ${n}], got ${k} (pass counts of images, not fractions)`);
}

function checkRate(p: number, fn: string): void {
  if (!(p >= 0 && p <= 1)) throw new Error(`${fn}: rate must be in [0, 1], got ${p}`);
}

/** P(X <= k) for X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  checkRate(p, 'binomialCdf');
  if (k < 0) return 0;
  if (k >= n) return 1;
  return incompleteBeta(1 - p, n - k, k + 1);
}

/** P(X >= k) for X ~ Binomial(n, p). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  return k <= 0 ? 1 : 1 - binomialCdf(k - 1, n, p);
}

/** The p-quantile of Beta(a, b) by bisection on the regularized incomplete beta. */
function betaQuantile(p: number, a: number, b: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200 && hi - lo > 1e-15; i++) {
    const mid = (lo + hi) / 2;
    if (incompleteBeta(mid, a, b) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Clopper-Pearson exact interval for a proportion, k of n (as fractions in [0, 1]). */
export function clopperPearson(k: number, n: number, level = 0.95): { k: number; n: number; estimate: number; low: number; high: number } {
  checkCount(k, n, 'clopperPearson');
  if (n === 0) throw new Error('clopperPearson: n is 0; a proportion needs at least one image');
  const a = (1 - level) / 2;
  return {
    k,
    n,
    estimate: k / n,
    low: k === 0 ? 0 : betaQuantile(a, k, n - k + 1),
    high: k === n ? 1 : betaQuantile(1 - a, k + 1, n - k),
  };
}

/**
 * McNemar's exact test for two models' per-image flags on the same images (e.g. "robust under
 * the attack"): b = images where only A is flagged, c = only B; under the null the b + c
 * discordant images split Binomial(b + c, 1/2). Two-sided p = 2 min tail, capped at 1.
 */
export function mcnemarExact(a: ArrayLike<boolean>, b: ArrayLike<boolean>): { n: number; onlyA: number; onlyB: number; p: number } {
  if (a.length !== b.length) throw new Error(`mcnemarExact: ${a.length} flags for A but ${b.length} for B; pass one flag per image, same images in the same order`);
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && !b[i]) onlyA++;
    else if (b[i] && !a[i]) onlyB++;
  }
  return { n: a.length, onlyA, onlyB, p: mcnemarExactFromCounts(onlyA, onlyB) };
}

/** McNemar's exact two-sided p from the discordant counts. */
export function mcnemarExactFromCounts(onlyA: number, onlyB: number): number {
  const d = onlyA + onlyB;
  checkCount(onlyA, d, 'mcnemarExactFromCounts');
  if (d === 0) return 1;
  return Math.min(1, 2 * binomialCdf(Math.min(onlyA, onlyB), d, 0.5));
}

function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/**
 * Fisher's exact test, two-sided, for two proportions: k1 of n1 against k2 of n2 (e.g. runs that
 * mask, per arm). The p-value sums the hypergeometric tables (fixed margins) no more likely than
 * the observed one (relative tolerance 1e-7, as R's fisher.test).
 */
export function fisherExact(k1: number, n1: number, k2: number, n2: number): number {
  checkCount(k1, n1, 'fisherExact');
  checkCount(k2, n2, 'fisherExact');
  const k = k1 + k2;
  const n = n1 + n2;
  const logP = (x: number) => logChoose(n1, x) + logChoose(n2, k - x) - logChoose(n, k);
  const observed = logP(k1);
  let p = 0;
  for (let x = Math.max(0, k - n2); x <= Math.min(k, n1); x++) {
    const lp = logP(x);
    if (lp <= observed + Math.log1p(1e-7)) p += Math.exp(lp);
  }
  return Math.min(1, p);
}

// ---------------------------------------------------------------------------------------------
// Power: the smallest effect a comparison or a check detects

/**
 * Power of the two-sided paired t test at level alpha for true mean difference `delta`, paired
 * sd `sd` and n pairs: exact, from the noncentral t (ncp = delta √n / sd) integrated over
 * s = √(V/ν), V ~ χ²(ν), ν = n - 1 (Simpson's rule, normalized numerically).
 */
export function pairedTPower(delta: number, sd: number, n: number, alpha = 0.05): number {
  if (!(n >= 2) || !Number.isInteger(n)) throw new Error(`pairedTPower: n must be a whole number of pairs >= 2, got ${n}`);
  if (!(sd > 0)) throw new Error(`pairedTPower: the paired sd must be > 0, got ${sd}`);
  const nu = n - 1;
  const tc = tQuantile(1 - alpha / 2, nu);
  const ncp = (delta * Math.sqrt(n)) / sd;
  const phi = (x: number) => 0.5 * erfc(-x / Math.SQRT2);
  // density of s up to a constant: s^(ν-1) exp(-ν (s² - 1) / 2), scaled to 1 at s = 1 so that it
  // does not underflow at large ν
  const lo = Math.max(0, 1 - 12 / Math.sqrt(nu));
  const hi = 1 + 12 / Math.sqrt(nu) + (nu < 10 ? 8 : 0);
  const steps = 4000;
  const h = (hi - lo) / steps;
  let mass = 0;
  let reject = 0;
  for (let i = 0; i <= steps; i++) {
    const s = lo + i * h;
    const density = s === 0 ? (nu === 1 ? Math.exp(0.5) : 0) : Math.exp((nu - 1) * Math.log(s) - (nu * (s * s - 1)) / 2);
    const w = (i === 0 || i === steps ? 1 : i % 2 ? 4 : 2) * density;
    mass += w;
    reject += w * (phi(ncp - tc * s) + phi(-tc * s - ncp));
  }
  return reject / mass;
}

/**
 * The smallest true paired mean difference the two-sided paired t test detects with the given
 * power at level alpha, from a measured paired sd and n pairs (exact noncentral t, see pairedTPower).
 */
export function pairedMinimumDetectable(sd: number, n: number, opts: { alpha?: number; power?: number } = {}): number {
  const alpha = opts.alpha ?? 0.05;
  const power = opts.power ?? 0.8;
  let lo = 0;
  let hi = sd;
  while (pairedTPower(hi, sd, n, alpha) < power) hi *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (pairedTPower(mid, sd, n, alpha) < power) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * A one-sided binomial count check: among n images, each flagged with probability `nullRate`
 * when all is well, the check fails at `threshold` flagged images or more, the smallest count
 * whose upper tail under the null is at most `falseAlarm`. `detectableRate` is the smallest true
 * flag rate the check catches with probability `power`; `detectableImages` the same in images.
 */
export interface CountCheckDesign {
  n: number;
  nullRate: number;
  falseAlarm: number;
  threshold: number;
  /** The false-alarm rate actually achieved, P(X >= threshold | nullRate) <= falseAlarm. */
  achievedFalseAlarm: number;
  power: number;
  detectableRate: number;
  detectableImages: number;
}

export function countCheckDesign(n: number, nullRate: number, opts: { falseAlarm?: number; power?: number } = {}): CountCheckDesign {
  const falseAlarm = opts.falseAlarm ?? 0.05;
  const power = opts.power ?? 0.8;
  checkCount(0, n, 'countCheckDesign');
  if (n === 0) throw new Error('countCheckDesign: n is 0; a check needs images');
  if (!(nullRate >= 0 && nullRate < 1)) throw new Error(`countCheckDesign: nullRate must be in [0, 1), got ${nullRate}`);
  let threshold = 0;
  while (threshold <= n && binomialUpperTail(threshold, n, nullRate) > falseAlarm) threshold++;
  let lo = nullRate;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (binomialUpperTail(threshold, n, mid) < power) lo = mid;
    else hi = mid;
  }
  return {
    n,
    nullRate,
    falseAlarm,
    threshold,
    achievedFalseAlarm: binomialUpperTail(threshold, n, nullRate),
    power,
    detectableRate: hi,
    detectableImages: hi * n,
  };
}

// ---------------------------------------------------------------------------------------------
// Bounded intervals for accuracies

/**
 * A summary's interval kept within [lo, hi] (accuracies: [0, 1]), with the clipped ends marked:
 * a t interval from few seeds can reach past 100%, which no accuracy can. Without an interval
 * (one seed) the bounds are NaN.
 */
export function boundedInterval(s: Summary, lo = 0, hi = 1): { low: number; high: number; clippedLow: boolean; clippedHigh: boolean } {
  return {
    low: Math.max(lo, s.ciLow),
    high: Math.min(hi, s.ciHigh),
    clippedLow: s.ciLow < lo,
    clippedHigh: s.ciHigh > hi,
  };
}

/** Half-width of a summary's 95% interval above its mean (0 with one seed, where the caller says "one seed"): an error bar. */
export function ciHalfWidth(s: Summary): number {
  return s.n < 2 ? 0 : s.ciHigh - s.mean;
}

/** How many contrasts got each verdict (e.g. `tallyVerdicts(vs).higher`), so that callers count without comparing verdict text. */
export function tallyVerdicts(verdicts: readonly { verdict: Verdict }[]): Record<Verdict, number> {
  const tally: Record<Verdict, number> = { higher: 0, lower: 0, 'no detectable difference at this scale': 0, 'no interval': 0 };
  for (const v of verdicts) tally[v.verdict]++;
  return tally;
}

/** The verdict cell of a contrast on synthetic data: the one spelling. */
export const SYNTHETIC_NO_VERDICT = 'no verdict: synthetic data only shows that the code path runs';

/**
 * The verdict sentence of each contrast in a notebook's family: Holm-adjusted across the family
 * (the unadjusted interval is printed beside it by the caller); on synthetic data, none. `verdict`
 * is the Holm verdict itself, for counting (tallyVerdicts).
 */
export function familyVerdicts(diffs: PairedDifference[], opts: { synthetic?: boolean; alpha?: number } = {}): { text: string; pHolm: number; verdict: Verdict }[] {
  const fam = holmFamily(diffs.map((difference, key) => ({ key, difference })), opts.alpha);
  return fam.map((c) => ({
    pHolm: c.pHolm,
    verdict: c.verdictHolm,
    text: opts.synthetic
      ? SYNTHETIC_NO_VERDICT
      : c.difference.note ?? `${c.verdictHolm} (Holm-adjusted p ${c.pHolm < 0.001 ? '< 0.001' : c.pHolm.toFixed(3)}, ${diffs.length} contrasts)`,
  }));
}
