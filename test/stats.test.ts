import { strict as assert } from 'node:assert';
import { makeRng } from '../lib/util/rng';
import {
  binomialCdf,
  binomialUpperTail,
  boundedInterval,
  clopperPearson,
  countCheckDesign,
  fisherExact,
  formatInterval,
  familyVerdicts,
  formatMeanSE,
  SYNTHETIC_NO_VERDICT,
  holmAdjust,
  holmFamily,
  mcnemarExact,
  mcnemarExactFromCounts,
  pairedMinimumDetectable,
  pairedTPower,
  tTestP,
  verdictText,
  normalQuantile,
  pairedBySeed,
  pairedDifference,
  summarize,
  tCdf,
  tQuantile,
  tQuantile975,
  verdictFromInterval,
} from '../lib/report/stats';

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: got ${a}, expected ${b} ± ${tol}`);

describe('stats: Student t quantiles', () => {
  // Published two-sided 95% critical values (any t table, e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2).
  const table: [number, number][] = [
    [1, 12.7062], [2, 4.3027], [3, 3.1824], [4, 2.7764], [5, 2.5706], [6, 2.4469], [7, 2.3646],
    [8, 2.306], [9, 2.2622], [10, 2.2281], [15, 2.1314], [20, 2.086], [30, 2.0423], [60, 2.0003],
    [100, 1.984], [Infinity, 1.96],
  ];
  for (const [df, t] of table) {
    it(`t(0.975, ${df}) = ${t} to 4 digits`, () => close(tQuantile975(df), t, 1e-4 + 1e-5, `df ${df}`));
  }

  it('other quantiles: t(0.995, 1) = 63.657, t(0.95, 10) = 1.8125, t(0.9, 3) = 1.6377', () => {
    close(tQuantile(0.995, 1), 63.6567, 1e-3, 'df 1');
    close(tQuantile(0.95, 10), 1.8125, 1e-4, 'df 10');
    close(tQuantile(0.9, 3), 1.6377, 1e-4, 'df 3');
    close(tQuantile(0.025, 4), -2.7764, 1e-4, 'lower tail');
    assert.equal(tQuantile(0.5, 7), 0);
  });

  it('inverts the CDF and tends to the normal as df grows', () => {
    for (const df of [1, 2.5, 7, 40]) {
      for (const p of [0.6, 0.9, 0.975, 0.999]) close(tCdf(tQuantile(p, df), df), p, 1e-10, `cdf(q(${p}, ${df}))`);
    }
    close(normalQuantile(0.975), 1.959963984540054, 1e-12, 'z 0.975');
    close(tQuantile975(1e7), 1.959964, 1e-5, 'df 1e7');
    // monotone decreasing in df
    let prev = Infinity;
    for (let df = 1; df <= 200; df++) {
      const q = tQuantile975(df);
      assert.ok(q < prev, `t(0.975, ${df}) = ${q} is not below df ${df - 1}'s ${prev}`);
      prev = q;
    }
  });

  it('rejects df <= 0 and p outside (0, 1) with a message naming the input', () => {
    assert.throws(() => tQuantile975(0), /degrees of freedom must be > 0.*got 0/);
    assert.throws(() => tQuantile975(NaN), /degrees of freedom/);
    assert.throws(() => tQuantile(1, 3), /p must be in \(0, 1\), got 1/);
  });
});

describe('stats: summaries, paired differences, verdicts', () => {
  it('summarize gives mean, sample sd, SE and the t interval', () => {
    const s = summarize([1, 2, 3, 4, 5]);
    assert.equal(s.n, 5);
    assert.equal(s.mean, 3);
    close(s.sd, Math.sqrt(2.5), 1e-12, 'sd');
    close(s.se, Math.sqrt(2.5) / Math.sqrt(5), 1e-12, 'se');
    close(s.ciLow, 3 - 2.776445 * s.se, 1e-5, 'ciLow');
    close(s.ciHigh, 3 + 2.776445 * s.se, 1e-5, 'ciHigh');
    assert.equal(s.note, undefined);
  });

  it('two seeds: the interval is ±12.7 SE, not ±2 SE', () => {
    const s = summarize([0.1, 0.2]);
    close((s.ciHigh - s.mean) / s.se, 12.7062, 1e-3, 'half-width in SE');
  });

  it('one value: NaN bounds, "one seed: no interval", no verdict', () => {
    const s = summarize([0.4]);
    assert.equal(s.mean, 0.4);
    assert.ok(Number.isNaN(s.sd) && Number.isNaN(s.ciLow) && Number.isNaN(s.ciHigh));
    assert.equal(s.note, 'one seed: no interval');
    const d = pairedDifference([0.9], [0.1]);
    assert.equal(d.verdict, 'no interval');
    assert.ok(Number.isNaN(d.p));
    assert.equal(d.note, 'one seed: no interval');
    assert.equal(formatInterval(d, 100), '+80.0 (one seed: no interval)');
    assert.equal(formatMeanSE(s, 100), '40.0 (one seed: no interval)');
  });

  it('the same difference on every seed: no zero-width interval and no verdict', () => {
    // the case: [.5,.5,.5] vs [.48,.48,.48] used to read +2.0 [+2.0, +2.0] "higher"
    const d = pairedDifference([0.5, 0.5, 0.5], [0.48, 0.48, 0.48]);
    close(d.mean, 0.02, 1e-12, 'mean');
    assert.ok(Number.isNaN(d.ciLow) && Number.isNaN(d.ciHigh), `bounds ${d.ciLow}, ${d.ciHigh}`);
    assert.equal(d.verdict, 'no interval');
    assert.equal(verdictText(d), 'identical difference on every seed: no interval');
    assert.equal(formatInterval(d, 100), '+2.0 (identical difference on every seed: no interval)');
    // identical up to float rounding counts as identical
    assert.equal(pairedDifference([0.57, 0.56, 0.55], [0.47, 0.46, 0.45]).verdict, 'no interval');
    // a per-arm summary of identical values is still a (zero-width) summary, not a contrast
    assert.equal(summarize([0.5, 0.5]).ciLow, 0.5);
  });

  it('paired t p-value: closed form for 2 df, and p < 0.05 exactly when the 95% interval excludes 0', () => {
    // differences 1, 2, 3: t = 2 / (1 / √3) = 2√3 on 2 df; F(t) = 1/2 + t / (2 √(2 + t²))
    const d = pairedDifference([1, 2, 3], [0, 0, 0]);
    const t = 2 * Math.sqrt(3);
    close(d.p, 1 - t / Math.sqrt(2 + t * t), 1e-10, 'p');
    close(tTestP(summarize([1, 2, 3])), d.p, 0, 'tTestP');
    for (const arm of [[0.52, 0.55, 0.5], [0.51, 0.49, 0.53, 0.5], [0.6, 0.58, 0.61]]) {
      const x = pairedDifference(arm, arm.map(() => 0.5));
      assert.equal(x.p < 0.05, x.verdict !== 'no detectable difference at this scale', `p ${x.p}, verdict ${x.verdict}`);
    }
  });

  it('pairs by seed: a consistent small gain is detected although the seeds vary widely', () => {
    const base = [0.3, 0.5, 0.7, 0.4, 0.6];
    const arm = base.map((b, i) => b + 0.02 + (i % 2 ? 0.001 : -0.001));
    const d = pairedDifference(arm, base);
    close(d.mean, 0.02 - 0.0002, 1e-12, 'mean');
    assert.equal(d.verdict, 'higher');
    // unpaired, the same numbers would overlap completely
    const a = summarize(arm);
    const b = summarize(base);
    assert.ok(a.ciLow < b.ciHigh);
    assert.equal(pairedDifference(base, arm).verdict, 'lower');
  });

  it('an interval straddling zero is no detectable difference', () => {
    const d = pairedDifference([0.5, 0.52, 0.47], [0.5, 0.5, 0.5]);
    assert.ok(d.ciLow < 0 && d.ciHigh > 0);
    assert.equal(d.verdict, 'no detectable difference at this scale');
    assert.equal(verdictFromInterval(0.001, 0.3), 'higher');
    assert.equal(verdictFromInterval(-0.3, -0.001), 'lower');
    assert.equal(verdictFromInterval(-0.1, 0.1), 'no detectable difference at this scale');
    assert.equal(verdictFromInterval(NaN, NaN), 'no interval');
    assert.equal(verdictFromInterval(0, 0.1), 'no detectable difference at this scale', 'an interval touching 0 does not exclude it');
  });

  it('bad input fails with a message that says what to pass', () => {
    assert.throws(() => summarize([]), /no values/);
    assert.throws(() => summarize([1, NaN]), /value 1 is NaN/);
    assert.throws(() => pairedDifference([1, 2], [1]), /2 arm values but 1 baseline values.*same seeds/);
    assert.throws(() => verdictFromInterval(1, 0), /above upper bound/);
  });

  it('pairedBySeed keeps the common seeds in order', () => {
    const d = pairedBySeed(new Map([[2, 0.6], [0, 0.5], [1, 0.7]]), new Map([[0, 0.4], [1, 0.5], [3, 0.9]]));
    assert.deepEqual(d.seeds, [0, 1]);
    close(d.mean, 0.15, 1e-12, 'mean');
    assert.throws(() => pairedBySeed(new Map([[0, 1]]), new Map([[1, 1]])), /share no seed/);
  });

  it('formatInterval writes mean and bounds in points', () => {
    assert.equal(formatInterval({ n: 3, mean: 0.023, sd: 0, se: 0, ciLow: -0.004, ciHigh: 0.05 }, 100), '+2.3 [−0.4, +5.0]');
  });
});

describe('stats: verdict text', () => {
  it('says "one seed: no interval" instead of a verdict for one value', async () => {
    assert.equal(verdictText(pairedDifference([0.9], [0.1])), 'one seed: no interval');
    assert.equal(verdictText(pairedDifference([0.9, 0.8, 0.85], [0.1, 0.2, 0.15])), 'higher');
  });
});

describe('stats: Holm across a family of contrasts', () => {
  it("matches R's p.adjust(c(0.01, 0.04, 0.03, 0.005), 'holm') = 0.03 0.06 0.06 0.02", () => {
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((e, i) => close(adj[i], e, 1e-12, `p ${i}`));
    // capped at 1, and monotone: 0.9 alone would stay 0.9 but follows the running maximum
    assert.deepEqual(holmAdjust([0.5, 0.9]), [1, 1]);
    assert.deepEqual(holmAdjust([0.2, 0.9]), [0.4, 0.9]);
  });

  it('contrasts without an interval stay NaN and do not count in the family', () => {
    const adj = holmAdjust([0.01, NaN, 0.02]);
    close(adj[0], 0.02, 1e-12, 'first');
    assert.ok(Number.isNaN(adj[1]));
    close(adj[2], 0.02, 1e-12, 'third');
    assert.throws(() => holmAdjust([1.5]), /p-value 0 is 1.5, not in \[0, 1\]/);
  });

  it('adjusted verdicts: a contrast significant alone loses its verdict in a family, with the unadjusted interval kept', () => {
    const base = [0.5, 0.5, 0.5, 0.5, 0.5];
    const strong = pairedDifference([0.6, 0.62, 0.61, 0.6, 0.63], base);
    const weak = pairedDifference([0.52, 0.51, 0.5, 0.53, 0.52], base); // p about 0.02
    const none = pairedDifference([0.49, 0.52, 0.5, 0.51, 0.5], base);
    const same = pairedDifference([0.55, 0.55], [0.5, 0.5]);
    assert.equal(weak.verdict, 'higher');
    assert.ok(weak.p > 0.05 / 3 && weak.p < 0.05, `weak p ${weak.p}`);
    const fam = holmFamily([
      { key: 'strong', difference: strong },
      { key: 'weak', difference: weak },
      { key: 'none', difference: none },
      { key: 'same', difference: same },
    ]);
    assert.deepEqual(fam.map((c) => c.verdictHolm), ['higher', 'no detectable difference at this scale', 'no detectable difference at this scale', 'no interval']);
    assert.equal(fam[1].difference.ciLow, weak.ciLow, 'the unadjusted interval is kept');
    assert.ok(fam[1].pHolm > weak.p);
  });
});

describe('stats: family verdict text', () => {
  it('Holm-adjusted text on real data, none on synthetic data, the reason where there is no interval', () => {
    const base = [0.5, 0.5, 0.5, 0.5, 0.5];
    const diffs = [pairedDifference([0.6, 0.62, 0.61, 0.6, 0.63], base), pairedDifference([0.55, 0.55, 0.55, 0.55, 0.55], base)];
    const real = familyVerdicts(diffs);
    assert.match(real[0].text, /^higher \(Holm-adjusted p < 0\.001, 2 contrasts\)$/);
    assert.equal(real[1].text, 'identical difference on every seed: no interval');
    assert.ok(familyVerdicts(diffs, { synthetic: true }).every((v) => v.text === SYNTHETIC_NO_VERDICT));
  });
});

describe('stats: exact binomial tests and intervals', () => {
  it('binomial tails: exact small cases', () => {
    close(binomialCdf(2, 10, 0.5), 56 / 1024, 1e-14, 'P(X<=2)');
    close(binomialUpperTail(9, 10, 0.5), 11 / 1024, 1e-14, 'P(X>=9)');
    close(binomialCdf(0, 5, 0.2), 0.8 ** 5, 1e-14, 'P(X=0)');
    assert.equal(binomialUpperTail(0, 5, 0.3), 1);
  });

  it('Clopper-Pearson: closed forms at k = 0 and 1, and R binom.test(5, 10) = [0.1870860, 0.8129140]', () => {
    const z = clopperPearson(0, 10);
    assert.equal(z.low, 0);
    close(z.high, 1 - 0.025 ** 0.1, 1e-12, 'k=0 upper');
    close(clopperPearson(1, 10).low, 1 - 0.975 ** 0.1, 1e-12, 'k=1 lower');
    const h = clopperPearson(5, 10);
    close(h.low, 0.187086, 1e-6, 'k=5 lower');
    close(h.high, 0.812914, 1e-6, 'k=5 upper');
    assert.equal(clopperPearson(10, 10).high, 1);
    assert.throws(() => clopperPearson(0.57, 1), /k must be a whole count.*not fractions/);
    assert.throws(() => clopperPearson(11, 10), /k must be a whole count in \[0, n = 10\]/);
  });

  it('McNemar exact: b = 2, c = 8 gives 2 (1 + 10 + 45) / 1024; flags are counted per image', () => {
    close(mcnemarExactFromCounts(2, 8), 112 / 1024, 1e-14, 'p');
    close(mcnemarExactFromCounts(8, 2), 112 / 1024, 1e-14, 'symmetric');
    assert.equal(mcnemarExactFromCounts(3, 3), 1);
    assert.equal(mcnemarExactFromCounts(0, 0), 1);
    const a = [true, true, false, false, true, true];
    const b = [true, false, true, false, false, false];
    const m = mcnemarExact(a, b);
    assert.deepEqual({ n: m.n, onlyA: m.onlyA, onlyB: m.onlyB }, { n: 6, onlyA: 3, onlyB: 1 });
    close(m.p, 2 * (5 / 16), 1e-14, 'p for 3 vs 1');
    assert.throws(() => mcnemarExact([true], [true, false]), /1 flags for A but 2 for B/);
  });

  it("Fisher exact, two-sided: the tea-tasting table 3/4 vs 1/4 gives 34/70 = 0.4857 (R's fisher.test)", () => {
    close(fisherExact(3, 4, 1, 4), 34 / 70, 1e-12, 'tea');
    close(fisherExact(4, 4, 0, 4), 2 / 70, 1e-12, 'extreme');
    close(fisherExact(2, 4, 2, 4), 1, 1e-12, 'no difference');
    // 8 of 8 runs mask against 0 of 8: 2 / C(16, 8)
    close(fisherExact(8, 8, 0, 8), 2 / 12870, 1e-15, '8 of 8 vs 0 of 8');
  });
});

describe('stats: power', () => {
  it("paired t power is exact: alpha at delta 0, R's power.t.test(n = 10, delta = 1, sd = 1, type = 'one.sample') = 0.8031", () => {
    for (const n of [2, 3, 8, 200]) close(pairedTPower(0, 1, n), 0.05, 1e-6, `n ${n}`);
    close(pairedTPower(1, 1, 10), 0.8030962, 2e-6, 'n 10');
  });

  it('the smallest detectable difference has 80% power (checked by simulation) and tends to (z + z) sd / √n', () => {
    const n = 5;
    const sd = 0.02;
    const mde = pairedMinimumDetectable(sd, n);
    close(pairedTPower(mde, sd, n), 0.8, 1e-9, 'power at the mde');
    const rng = makeRng(7);
    const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    let detected = 0;
    const sims = 20000;
    for (let i = 0; i < sims; i++) {
      const diffs = Array.from({ length: n }, () => mde + sd * normal());
      if (pairedDifference(diffs, diffs.map(() => 0)).verdict === 'higher') detected++;
    }
    close(detected / sims, 0.8, 0.015, 'simulated power');
    close(pairedMinimumDetectable(1, 2000), (1.959964 + 0.841621) / Math.sqrt(2000), 2e-4, 'large n');
  });

  it('a count check: its threshold keeps the false alarms at or below the rate, and its detectable rate has 80% power', () => {
    const d = countCheckDesign(1000, 0.005);
    assert.ok(d.achievedFalseAlarm <= 0.05 && binomialUpperTail(d.threshold - 1, 1000, 0.005) > 0.05, `threshold ${d.threshold}`);
    close(binomialUpperTail(d.threshold, 1000, d.detectableRate), 0.8, 1e-9, 'power');
    close(d.detectableImages, d.detectableRate * 1000, 1e-9, 'in images');
    // null rate 0: one flagged image fails the check; 80% power needs 1 - (1 - p)^n = 0.8
    const z = countCheckDesign(100, 0);
    assert.equal(z.threshold, 1);
    close(z.detectableRate, 1 - 0.2 ** (1 / 100), 1e-12, 'p for 80%');
    assert.throws(() => countCheckDesign(0.5 as number, 0), /n must be a whole number of images/);
  });
});

describe('stats: intervals within [0, 100]', () => {
  it('two seeds far apart reach past 100% under t; the bounded interval clips and marks it', () => {
    const s = summarize([0.99, 0.7]);
    assert.ok(s.ciHigh > 1 && s.ciLow < 0);
    const b = boundedInterval(s);
    assert.deepEqual(b, { low: 0, high: 1, clippedLow: true, clippedHigh: true });
    const inside = boundedInterval(summarize([0.5, 0.52, 0.51]));
    assert.ok(!inside.clippedLow && !inside.clippedHigh && inside.low > 0.45 && inside.high < 0.56);
  });
});
