// The statistics module: every comparison of arms in the notebooks, tables and plots goes through
// here. Seeds are the unit of replication (a seed fixes the initial weights and the data order,
// the same across the arms of a study), so two arms are compared by their per-seed paired
// differences; the 95% confidence interval uses Student's t with n - 1 degrees of freedom (with
// 2 seeds a 95% interval is ±12.7 SE, not ±2 SE), and the verdict is read off the interval.

/** What an interval says about a difference (arm minus baseline). */
export type Verdict = 'higher' | 'lower' | 'no detectable difference at this scale';

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
  /** Present when there is one value: there is no spread, so no interval. */
  note?: 'one seed';
}

export type PairedDifference = Summary & { verdict: Verdict };

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

/** Mean, sample sd, standard error and the Student-t 95% interval of the mean. */
export function summarize(xs: number[]): Summary {
  if (!Array.isArray(xs) || xs.length === 0) throw new Error('summarize: no values (pass one number per seed)');
  const bad = xs.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) throw new Error(`summarize: value ${bad} is ${xs[bad]}, not a finite number`);
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sd: NaN, se: NaN, ciLow: NaN, ciHigh: NaN, note: 'one seed' };
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const se = sd / Math.sqrt(n);
  const half = tQuantile975(n - 1) * se;
  return { n, mean, sd, se, ciLow: mean - half, ciHigh: mean + half };
}

/** 'higher' when the whole interval is above 0, 'lower' when below, else no detectable difference. */
export function verdictFromInterval(lo: number, hi: number): Verdict {
  if (Number.isNaN(lo) || Number.isNaN(hi)) return 'no detectable difference at this scale';
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
  const s = summarize(arm.map((a, i) => a - baseline[i]));
  return { ...s, verdict: verdictFromInterval(s.ciLow, s.ciHigh) };
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
 * "+2.3 (one seed)" without an interval.
 */
export function formatInterval(s: Summary, scale = 1, digits = 1, signed = true): string {
  const f = (v: number) => {
    const t = (v * scale).toFixed(digits);
    return signed && v * scale >= 0 && !t.startsWith('-') ? `+${t}` : t.replace('-', '−');
  };
  if (s.n < 2) return `${f(s.mean)} (one seed)`;
  return `${f(s.mean)} [${f(s.ciLow)}, ${f(s.ciHigh)}]`;
}

/** "71.3 ± 0.8 (SE, 5 seeds)"-style mean ± standard error; "71.3 (one seed)" for one value. */
export function formatMeanSE(s: Summary, scale = 1, digits = 1): string {
  const m = (s.mean * scale).toFixed(digits);
  return s.n < 2 ? `${m} (one seed)` : `${m} ± ${(s.se * scale).toFixed(digits)}`;
}

/** The verdict for a sentence: with one seed there is no interval, so no verdict either. */
export function verdictText(d: PairedDifference): string {
  return d.n < 2 ? 'one seed: no interval' : d.verdict;
}
