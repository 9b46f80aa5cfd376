import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ResultRecord } from '../lib/eval';
import {
  describeResults,
  formatMeanStd,
  listRuns,
  loadMetrics,
  loadResults,
  meanStd,
  paperTable,
  resultsFrame,
  saveCSV,
  numericColumns,
  showTable,
  tableHTML,
  tableText,
} from '../lib/report';

// Two activations x three seeds, clean and PGD, in experiment 'e1'; one run of another experiment.
const ACC: Record<string, number[]> = {
  'relu/clean': [0.9, 0.92, 0.94],
  'relu/pgd-linf': [0.4, 0.41, 0.45],
  'silu/clean': [0.91, 0.91, 0.91],
  'silu/pgd-linf': [0.5, 0.52, 0.57],
};

function record(run: string, activation: string, seed: number, attack: 'clean' | 'pgd-linf', experiment = 'e1'): ResultRecord {
  return {
    run,
    experiment,
    dataset: 'mnist',
    model: 'mnist-cnn',
    activation,
    seed,
    profile: 'smoke',
    attack,
    eps: attack === 'clean' ? 0 : 8 / 255,
    steps: attack === 'clean' ? 0 : 10,
    accuracy: ACC[`${activation}/${attack}`][seed],
    n: 100,
  };
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
function sampleStd(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

describe('report', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sat-report-'));
    for (const activation of ['relu', 'silu']) {
      for (const seed of [0, 1, 2]) {
        const run = `${activation}-s${seed}`;
        mkdirSync(path.join(dir, run));
        writeFileSync(path.join(dir, run, 'results.json'), JSON.stringify([record(run, activation, seed, 'clean'), record(run, activation, seed, 'pgd-linf')]));
      }
    }
    mkdirSync(path.join(dir, 'other'));
    writeFileSync(path.join(dir, 'other', 'results.json'), JSON.stringify([record('other', 'relu', 0, 'clean', 'e2')]));
    mkdirSync(path.join(dir, 'still-training')); // no results.json yet: skipped
    writeFileSync(path.join(dir, 'relu-s0', 'metrics.jsonl'), '{"epoch":0,"step":1,"loss":2.3,"acc":0.1,"lr":0.1,"images_per_s":50}\n{"epoch":0,"step":2,"loss":1.9,"acc":0.3,"lr":0.1,"images_per_s":55}\n{"epoch":0,"st');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loadResults reads every finished run and filters by experiment', () => {
    assert.equal(listRuns(dir).length, 8);
    assert.equal(loadResults({ dir }).length, 13);
    const e1 = loadResults({ dir, experiment: 'e1' });
    assert.equal(e1.length, 12);
    assert.ok(e1.every((r) => r.experiment === 'e1'));
    assert.equal(loadResults({ dir, runs: ['relu-s1'] }).length, 2);
    assert.throws(() => loadResults({ dir, experiment: 'nope' }), /no results for experiment 'nope'/);
    assert.deepEqual(loadResults({ dir, experiment: 'nope', allowEmpty: true }), []);
  });

  it('loadResults reads the records of named evaluations (AutoAttack) beside a run\'s own, labelled apart', async () => {
    const run = path.join(dir, 'relu-s2');
    mkdirSync(path.join(run, 'evaluations'), { recursive: true });
    const aa = [{ ...record('relu-s2', 'relu', 2, 'clean'), n: 50 }, { ...record('relu-s2', 'relu', 2, 'pgd-linf'), attack: 'square', accuracy: 0.3, n: 50 }];
    writeFileSync(path.join(run, 'evaluations', 'autoattack-linf-0.03137.json'), JSON.stringify({ n: 50, robust: [1, 0], records: aa }));
    writeFileSync(path.join(run, 'evaluations', 'diagnostics-stability.json'), JSON.stringify({ measure: 'stability' })); // no records: none loaded
    try {
      const all = loadResults({ dir, runs: ['relu-s2'] });
      assert.equal(all.length, 4);
      assert.deepEqual(all.map((r) => r.evaluation), [undefined, undefined, 'autoattack-linf-0.03137', 'autoattack-linf-0.03137']);
      assert.equal(loadResults({ dir, runs: ['relu-s2'], evaluations: false }).length, 2);
      const labels = (await resultsFrame(all)).column('attackLabel').values as string[];
      assert.deepEqual(labels, ['clean', 'PGD-10 8/255', 'clean [autoattack-linf-0.03137]', 'SQUARE 8/255 [autoattack-linf-0.03137]']);
      writeFileSync(path.join(run, 'evaluations', 'autoattack-linf-0.03137.json'), JSON.stringify({ records: [{ run: 'relu-s2' }] }));
      assert.throws(() => loadResults({ dir }), /evaluations\/autoattack-linf-0\.03137\.json: record 0 has no string 'dataset'/);
    } finally {
      rmSync(path.join(run, 'evaluations'), { recursive: true, force: true });
    }
  });

  it('loadResults reads the results store and data/runs by default, a run in both once (from the store)', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'sat-report-store-'));
    const saved = { runs: process.env.SAT_RUNS_DIR, results: process.env.SAT_RESULTS_DIR };
    const put = (folder: string, run: string, accuracy: number, experiment = 'e1') => {
      mkdirSync(path.join(folder, run), { recursive: true });
      writeFileSync(path.join(folder, run, 'results.json'), JSON.stringify([{ ...record(run, 'relu', 0, 'clean', experiment), accuracy }]));
    };
    try {
      process.env.SAT_RUNS_DIR = path.join(root, 'runs');
      process.env.SAT_RESULTS_DIR = path.join(root, 'results');
      put(path.join(root, 'results', 'e1-smoke'), 'a', 0.5);
      put(path.join(root, 'results', 'e2-smoke'), 'b', 0.6, 'e2');
      put(path.join(root, 'runs'), 'a', 0.1); // the same run, still in data/runs
      put(path.join(root, 'runs'), 'c', 0.7);
      mkdirSync(path.join(root, 'results', 'e1-smoke', 'd.123.tmp')); // a copy in progress: not a run
      const all = loadResults();
      assert.deepEqual(all.map((r) => [r.run, r.accuracy]), [['a', 0.5], ['b', 0.6], ['c', 0.7]]);
      assert.deepEqual(loadResults({ experiment: 'e1', profile: 'smoke' }).map((r) => [r.run, r.accuracy]), [['a', 0.5], ['c', 0.7]]);
      assert.throws(() => loadResults({ experiment: 'e3' }), /no results for experiment 'e3' in the results store or .*runs/);
    } finally {
      for (const [k, v] of [['SAT_RUNS_DIR', saved.runs], ['SAT_RESULTS_DIR', saved.results]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('loadResults names the file and the record that is broken', () => {
    const bad = mkdtempSync(path.join(os.tmpdir(), 'sat-report-bad-'));
    try {
      mkdirSync(path.join(bad, 'r1'));
      writeFileSync(path.join(bad, 'r1', 'results.json'), '[{"run": "r1"');
      assert.throws(() => loadResults({ dir: bad }), /r1\/results\.json is not valid JSON/);
      writeFileSync(path.join(bad, 'r1', 'results.json'), JSON.stringify([{ ...record('r1', 'relu', 0, 'clean'), accuracy: '0.9' }]));
      assert.throws(() => loadResults({ dir: bad }), /record 0 has no number 'accuracy'/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('loadMetrics parses the training log and tolerates a torn last line', () => {
    const m = loadMetrics('relu-s0', dir);
    assert.deepEqual(m.map((r) => r.loss), [2.3, 1.9]);
    assert.throws(() => loadMetrics('missing', dir), /no training log .*missing/);
  });

  it('resultsFrame: one row per record with an attack label', async () => {
    const df = await resultsFrame(loadResults({ dir, experiment: 'e1' }));
    assert.deepEqual(df.shape, [12, 15]);
    const labels = new Set(df.column('attackLabel').values as string[]);
    assert.deepEqual([...labels].sort(), ['PGD-10 8/255', 'clean']);
  });

  it('meanStd: mean and sample std over seeds per setting', async () => {
    const df = await meanStd(loadResults({ dir, experiment: 'e1' }), { by: ['activation', 'attackLabel'] });
    assert.deepEqual(df.columns, ['activation', 'attackLabel', 'mean', 'std', 'seeds', 'text']);
    const rows = df.values as unknown[][];
    assert.equal(rows.length, 4);
    for (const [activation, label, m, s, seeds, text] of rows) {
      const xs = ACC[`${activation}/${label === 'clean' ? 'clean' : 'pgd-linf'}`];
      assert.ok(Math.abs((m as number) - mean(xs)) < 1e-9, `${activation} ${label} mean`);
      assert.ok(Math.abs((s as number) - sampleStd(xs)) < 1e-9, `${activation} ${label} std`);
      assert.equal(seeds, 3);
      assert.equal(text, formatMeanStd(mean(xs), sampleStd(xs), 100));
    }
  });

  it('meanStd: one seed has no std (NaN, "(one seed: no interval)"), not a misleading 0', async () => {
    const df = await meanStd(loadResults({ dir, experiment: 'e2' }));
    const [row] = df.values as unknown[][];
    assert.ok(Number.isNaN(row[df.columns.indexOf('std')] as number));
    assert.equal(row[df.columns.indexOf('text')], '90.0 (one seed: no interval)');
  });

  it('paperTable: activations as rows, attacks as columns, clean first', async () => {
    const df = await paperTable(loadResults({ dir, experiment: 'e1' }));
    assert.deepEqual(df.columns, ['dataset', 'model', 'activation', 'clean', 'PGD-10 8/255']);
    const silu = (df.values as string[][]).find((r) => r[2] === 'silu')!;
    assert.equal(silu[4], formatMeanStd(mean(ACC['silu/pgd-linf']), sampleStd(ACC['silu/pgd-linf']), 100));
  });

  it('describeResults and saveCSV: numeric summary, CSV that reads back', async () => {
    const records = loadResults({ dir, experiment: 'e1' });
    const desc = await describeResults(records);
    assert.ok((desc.index as string[]).includes('mean'));
    const accMean = (desc.column('accuracy').values as number[])[(desc.index as string[]).indexOf('mean')];
    assert.ok(Math.abs(accMean - mean(records.map((r) => r.accuracy))) < 1e-9);
    const file = await saveCSV(await meanStd(records), path.join(dir, 'out', 'summary.csv'));
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'dataset,model,activation,attackLabel,mean,std,seeds,text');
    assert.equal(lines.length, 5);
  });

  it('showTable prints aligned text outside a notebook; HTML escapes cells', async () => {
    const logged: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void logged.push(args.join(' '));
    try {
      await showTable([{ activation: 'relu', accuracy: 0.5 }, { activation: 'silu', accuracy: 0.75 }], { title: 'acc' });
    } finally {
      console.log = original;
    }
    assert.equal(logged.join('\n'), ['acc', 'activation  accuracy', '----------  --------', 'relu          0.5000', 'silu          0.7500'].join('\n'));
    const html = tableHTML(['a<b'], [['x & y']]);
    assert.match(html, /<th align="left"><div align="left">a&lt;b<\/div><\/th>/);
    assert.match(html, /<td align="left"><div align="left">x &amp; y<\/div><\/td>/);
  });

  it('tables: text left-aligned, numbers (also "94.1 ± 0.4", "97.2%", "71.3 (1 seed)") right-aligned and unbroken', () => {
    const columns = ['model', 'clean', 'PGD-10', 'n', 'verdict'];
    const rows = [
      ['mnist-cnn relu', '94.1 ± 0.4', '97.2%', '300', 'higher'],
      ['mnist-cnn silu', '-1.5 ± 12.25', '71.3 (1 seed)', '', 'no detectable difference'],
    ];
    assert.deepEqual(numericColumns(columns, rows), [false, true, true, true, false]);
    const html = tableHTML(columns, rows);
    // each cell: <td align=A><div align=A>text</div></td> (the div is what wins over Jupyter's CSS)
    const cellsOf = (tag: string) =>
      [...html.matchAll(new RegExp(`<${tag} align="(\\w+)"><div align="(\\w+)">([^<]*)</div></${tag}>`, 'g'))].map((m) => ({ align: m[1], div: m[2], text: m[3] }));
    assert.deepEqual(cellsOf('th').map((c) => c.div), ['left', 'right', 'right', 'right', 'left']);
    assert.equal(cellsOf('td').length, 10);
    for (const c of cellsOf('td')) {
      assert.equal(c.align, c.div);
      if (c.div === 'right') assert.ok(!c.text.includes(' '), `a breakable space inside a number: ${c.text}`);
    }
    assert.ok(html.includes('94.1\u00a0±\u00a00.4'));
    assert.ok(html.includes('71.3\u00a0(1\u00a0seed)'));
    assert.ok(html.includes('no detectable difference'), 'text keeps its spaces and wraps as text does');
    // the text version pads numbers on the left so that the digits line up
    const text = tableText(columns, rows).split('\n');
    assert.equal(text[2], 'mnist-cnn relu    94.1 ± 0.4          97.2%  300  higher');
    assert.equal(text[3], 'mnist-cnn silu  -1.5 ± 12.25  71.3 (1 seed)       no detectable difference');
    // one word among numbers makes the column text
    assert.deepEqual(numericColumns(['x'], [['1.5'], ['n/a'], ['big']]), [false]);
  });
});
