import { strict as assert } from 'node:assert';
import {
  formatInterval,
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

  it('one value: NaN bounds, "one seed", no verdict', () => {
    const s = summarize([0.4]);
    assert.equal(s.mean, 0.4);
    assert.ok(Number.isNaN(s.sd) && Number.isNaN(s.ciLow) && Number.isNaN(s.ciHigh));
    assert.equal(s.note, 'one seed');
    const d = pairedDifference([0.9], [0.1]);
    assert.equal(d.verdict, 'no detectable difference at this scale');
    assert.equal(d.note, 'one seed');
    assert.equal(formatInterval(d, 100), '+80.0 (one seed)');
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
    assert.equal(verdictFromInterval(NaN, NaN), 'no detectable difference at this scale');
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
    const { verdictText } = await import('../lib/report/stats');
    assert.equal(verdictText(pairedDifference([0.9], [0.1])), 'one seed: no interval');
    assert.equal(verdictText(pairedDifference([0.9, 0.8, 0.85], [0.1, 0.2, 0.15])), 'higher');
  });
});
