// The headless notebook runner. These tests start real Jupyter kernels and Chromium: they need
// the Debian packages named in scripts/notebook-runner.ts (CI installs them) and fail, with the
// install command, when those are missing.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { PLOTLY_MIME } from '../lib/plot';
import { Progress } from '../lib/util/progress';
import { INSTALL_HINT, findFrontEnd, frontEndArgs } from '../scripts/lab';
import { checkExecutedNotebook, findJupyterPython, resolveNotebooks, type Notebook, type NotebookCell } from '../scripts/notebook-runner';

const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'notebooks');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

function code(source: string, extra: Partial<NotebookCell> = {}): NotebookCell {
  return { cell_type: 'code', source, execution_count: 1, outputs: [], ...extra };
}
function nb(...cells: NotebookCell[]): Notebook {
  return { cells, metadata: {} };
}
function readNotebook(file: string): Notebook {
  return JSON.parse(readFileSync(file, 'utf8')) as Notebook;
}
function runNotebooks(args: string[], env: Record<string, string> = {}): { status: number | null; output: string } {
  const r = spawnSync(TSX, [path.join(ROOT, 'scripts', 'run-notebooks.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 400_000,
  });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe('notebooks: checks on executed notebooks', () => {
  it('passes a notebook whose code cells all ran; ignores markdown and empty cells', () => {
    const ok = nb({ cell_type: 'markdown', source: '# title' }, code('console.log(1)'), code('  \n', { execution_count: null }));
    assert.deepEqual(checkExecutedNotebook(ok), []);
  });

  it('flags error outputs, compile errors on stderr and cells that never ran, naming the cell', () => {
    const problems = checkExecutedNotebook(
      nb(
        code('throw new Error("x")', { outputs: [{ output_type: 'error', ename: 'Error', evalue: 'x', traceback: [] }] }),
        code('const n: number = "s"', { outputs: [{ output_type: 'stream', name: 'stderr', text: "1:7 - Type 'string' is not assignable to type 'number'.\n" }] }),
        code('console.log("skipped")', { execution_count: null }),
        code('console.warn("a warning is not a failure")', { outputs: [{ output_type: 'stream', name: 'stderr', text: 'careful\n' }] }),
      ),
    );
    assert.equal(problems.length, 3);
    assert.match(problems[0], /^cell 1 of 4 \(`throw new Error\("x"\)`\): Error: x/);
    assert.match(problems[1], /^cell 2 of 4 .*TypeScript compile error\n.*not assignable/);
    assert.match(problems[2], /^cell 3 of 4 .* did not run/);
  });

  it('resolves notebook names and globs, and says what exists when nothing matches', () => {
    const all = resolveNotebooks(['test/fixtures/notebooks/*']);
    assert.deepEqual(all.map((f) => path.basename(f)).sort(), ['compile-error.ipynb', 'failing-cell.ipynb', 'plotted.ipynb']);
    assert.deepEqual(resolveNotebooks(['test/fixtures/notebooks/*-cell']).map((f) => path.basename(f)), ['failing-cell.ipynb']);
    assert.throws(() => resolveNotebooks(['test/fixtures/notebooks/nope*']), /no notebook matches 'test\/fixtures\/notebooks\/nope\*'.*plotted\.ipynb/);
  });
});

describe('npm run lab: which Jupyter front end it opens, and how', () => {
  const probeWith = (installed: Record<string, string>) => (command: string[]) => installed[command.join(' ')];

  it('prefers JupyterLab, then Notebook 7, then the classic Notebook', () => {
    const all = probeWith({ 'jupyter-lab': '4.2.5', 'jupyter-notebook': '7.2.1' });
    assert.deepEqual(findFrontEnd(undefined, all), { kind: 'jupyterlab', label: 'JupyterLab 4.2.5', command: ['jupyter-lab'] });
    assert.equal(findFrontEnd(undefined, probeWith({ 'jupyter-notebook': '7.2.1' }))?.label, 'Notebook 7.2.1');
    const classic = findFrontEnd(undefined, probeWith({ '/usr/bin/python3 -m notebook': '6.4.12' }));
    assert.deepEqual(classic, { kind: 'classic', label: 'classic Notebook 6.4.12', command: ['/usr/bin/python3', '-m', 'notebook'] });
    assert.equal(findFrontEnd(['classic'], all), undefined, 'Notebook 7 is not the classic Notebook');
    assert.equal(findFrontEnd(undefined, probeWith({})), undefined);
  });

  it('opens notebooks/ with the option each server understands, and --allow-root once as root', () => {
    const lab = { kind: 'jupyterlab' as const, label: 'JupyterLab 4', command: ['python3', '-m', 'jupyterlab'] };
    const classic = { kind: 'classic' as const, label: 'classic Notebook 6', command: ['jupyter-notebook'] };
    assert.deepEqual(frontEndArgs(lab, '/p/notebooks', ['--port', '9'], false), ['-m', 'jupyterlab', '--ServerApp.root_dir=/p/notebooks', '--port', '9']);
    assert.deepEqual(frontEndArgs(classic, '/p/notebooks', [], true), ['--notebook-dir=/p/notebooks', '--allow-root']);
    assert.deepEqual(frontEndArgs(classic, '/p/notebooks', ['--allow-root'], true), ['--notebook-dir=/p/notebooks', '--allow-root']);
  });

  it('without any front end it stops with the install commands', () => {
    assert.match(INSTALL_HINT, /pip install jupyterlab plotly/);
    assert.match(INSTALL_HINT, /apt-get install jupyter-notebook/);
  });
});

describe('notebooks: what a saved notebook keeps (tidy_outputs in scripts/execute-notebook.py)', () => {
  /** Runs tidy_outputs on `notebook` in Jupyter's Python and returns the result. */
  function tidy(notebook: object, interactiveFigures: boolean): Notebook {
    const script = [
      'import importlib.util, json, sys, nbformat',
      `spec = importlib.util.spec_from_file_location('execute_notebook', ${JSON.stringify(path.join(ROOT, 'scripts', 'execute-notebook.py'))})`,
      'mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)',
      'nb = nbformat.from_dict(json.load(sys.stdin))',
      `mod.tidy_outputs(nb, ${interactiveFigures ? 'True' : 'False'})`,
      'print(json.dumps(nb))',
    ].join('\n');
    const r = spawnSync(findJupyterPython(), ['-c', script], { input: JSON.stringify(notebook), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Notebook;
  }

  it('drops progress lines and, unless asked, the plotly JSON of figures that have a PNG', () => {
    let line = '';
    const sink = { isTTY: false, write: (s: string) => ((line += s), true) } as unknown as NodeJS.WriteStream;
    const progress = new Progress({ label: 'epoch 1/3', total: 2, unit: 'img', stream: sink, intervalMs: 0 });
    progress.update(1, 64, { loss: 0.5 });
    progress.update(2, 128, { loss: 0.25 });
    assert.equal(line.split('\n').length, 3, line);
    const figure = { output_type: 'display_data', metadata: {}, data: { [PLOTLY_MIME]: { data: [], layout: {} }, 'image/png': 'iVBORw==', 'text/plain': 'Figure' } };
    const noPng = { output_type: 'display_data', metadata: {}, data: { [PLOTLY_MIME]: { data: [], layout: {} }, 'text/plain': 'Figure' } };
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        {
          cell_type: 'code',
          id: 'c1',
          metadata: {},
          execution_count: 1,
          source: '',
          outputs: [
            { output_type: 'stream', name: 'stderr', text: `${line}kept: a warning\n` },
            { output_type: 'stream', name: 'stderr', text: line },
            { output_type: 'stream', name: 'stdout', text: 'epoch 1: loss 0.5 | 12.5 img/s\n' },
            figure,
            noPng,
          ],
        },
      ],
    };
    const saved = tidy(notebook, false).cells[0].outputs!;
    assert.deepEqual(saved.map((o) => o.text ?? Object.keys(o.data!).sort()), [
      'kept: a warning\n',
      'epoch 1: loss 0.5 | 12.5 img/s\n', // a printed rate is the notebook's own business
      ['image/png', 'text/plain'],
      [PLOTLY_MIME, 'text/plain'], // no PNG (no Chromium): the JSON is all there is
    ]);
    const interactive = tidy(notebook, true).cells[0].outputs!;
    assert.deepEqual(Object.keys(interactive[2].data!).sort(), [PLOTLY_MIME, 'image/png', 'text/plain']);
  });
});

describe('notebooks: headless runner with Jupyter and the tslab kernel', function () {
  this.timeout(600_000); // real kernels and Chromium; minutes when other jobs share the 2 cores
  let tmp: string;
  before(() => {
    findJupyterPython(); // fails here, with the install command, when Jupyter is missing
    tmp = mkdtempSync(path.join(os.tmpdir(), 'sat-notebooks-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('fails loudly on a throwing cell and a compile error, and runs a plotting notebook', () => {
    const out = path.join(tmp, 'out');
    const figures = path.join(tmp, 'figures');
    const r = runNotebooks(['--profile', 'smoke', '--out', out, 'test/fixtures/notebooks/*'], { SAT_TEST_FIGURES_DIR: figures });
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, /FAILED test\/fixtures\/notebooks\/failing-cell\.ipynb[\s\S]*cell 3 of 4 \(`throw new Error\('deliberate failure in a fixture notebook'\);`\): the cell threw an error/);
    assert.match(r.output, /FAILED test\/fixtures\/notebooks\/compile-error\.ipynb[\s\S]*cell 3 of 4 .*: TypeScript compile error\n.*Type 'string' is not assignable to type 'number'/);
    assert.match(r.output, /✓ test\/fixtures\/notebooks\/plotted\.ipynb/);
    assert.match(r.output, /2 of 3 notebook\(s\) FAILED/);

    // the failed copy keeps the outputs up to the failure and nothing after it
    const failed = readNotebook(path.join(out, 'failing-cell.ipynb'));
    assert.deepEqual(failed.cells.map((c) => c.execution_count ?? null), [null, 1, 2, null]);
    assert.deepEqual(failed.cells[3].outputs, []);

    // the plotted notebook: every code cell ran; saved figures are a PNG and a text line (no
    // plotly JSON: see scripts/execute-notebook.py, tidy_outputs)
    const plotted = readNotebook(path.join(out, 'plotted.ipynb'));
    assert.deepEqual(checkExecutedNotebook(plotted), []);
    assert.equal((plotted.metadata.sat as { profile: string }).profile, 'smoke');
    const figureOutputs = plotted.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.['image/png']);
    assert.equal(figureOutputs.length, 2, 'one static figure, and one live figure updated in place (not one output per update)');
    assert.deepEqual(figureOutputs.map((o) => Object.keys(o.data!).sort()), [['image/png', 'text/plain'], ['image/png', 'text/plain']]);
    for (const o of figureOutputs) {
      const png = PNG.sync.read(Buffer.from(String(o.data!['image/png']), 'base64'));
      assert.ok(png.width >= 600 && png.height >= 300, `fallback PNG ${png.width}x${png.height}`);
      assert.match(String(o.data!['text/plain']), /^Figure/);
    }
    assert.match(String(figureOutputs[1].data!['text/plain']), /live final/, 'the live figure shows its last state');
    const size = statSync(path.join(out, 'plotted.ipynb')).size;
    assert.ok(size < 300_000, `executed notebook is ${size} bytes: plotly.js must not be embedded`);
    const table = plotted.cells.flatMap((c) => c.outputs ?? []).find((o) => o.data?.['text/html']);
    assert.match(String(table?.data?.['text/html']), /<table class="sat-table"><caption>fixture table<\/caption>.*relu.*55\.0\u00a0±\u00a07\.1/);

    // exportFigure from inside the notebook wrote real files
    const svg = readFileSync(path.join(figures, 'fixture-squares.svg'), 'utf8');
    assert.match(svg, /^<svg[\s\S]*Fixture: squares/);
    assert.ok(statSync(path.join(figures, 'fixture-squares.png')).size > 10_000);
    // saveFigure wrote into the runner's scratch figures folder and said where
    assert.match(readFileSync(path.join(out, 'figures', 'fixture-saved.svg'), 'utf8'), /^<svg[\s\S]*Fixture: squares/);
    const said = plotted.cells.flatMap((c) => c.outputs ?? []).map((o) => [o.text ?? ''].flat().join('')).join('');
    assert.match(said, /figure saved: .*fixture-saved\.svg \(\+ \.png\)/);
    // progress lines reach the terminal, not the saved notebook
    assert.match(r.output, /fixture loop \[#+\] 3\/3 .*img\/s \| took/);
    assert.match(said, /after the loop/);
    assert.doesNotMatch(said, /fixture loop/);

    // the same notebook run again is the same file, byte for byte (figures, execution counts, ...)
    const first = readFileSync(path.join(out, 'plotted.ipynb'), 'utf8');
    const r2 = runNotebooks(['--profile', 'smoke', '--quiet', '--out', out, 'test/fixtures/notebooks/plotted.ipynb'], { SAT_TEST_FIGURES_DIR: figures });
    assert.equal(r2.status, 0, r2.output);
    const second = readFileSync(path.join(out, 'plotted.ipynb'), 'utf8');
    assert.deepEqual(firstDifference(JSON.parse(second), JSON.parse(first)), undefined);
    assert.ok(second === first, 'the same content, but not the same bytes');
  });

  it('--in-place rewrites a notebook that succeeds and leaves one that fails untouched', () => {
    const ok = path.join(tmp, 'tiny.ipynb');
    writeFileSync(
      ok,
      JSON.stringify({
        cells: [{ cell_type: 'code', id: 'c1', metadata: {}, execution_count: null, outputs: [], source: 'console.log(`profile ${process.env.SAT_PROFILE}`)' }],
        metadata: readNotebook(path.join(FIXTURES, 'plotted.ipynb')).metadata,
        nbformat: 4,
        nbformat_minor: 5,
      }),
    );
    const broken = path.join(tmp, 'compile-error.ipynb');
    copyFileSync(path.join(FIXTURES, 'compile-error.ipynb'), broken);
    const before = readFileSync(broken, 'utf8');
    const out = path.join(tmp, 'failed');
    const r = runNotebooks(['--in-place', '--profile', 'small', '--out', out, ok, broken]);
    assert.equal(r.status, 1, r.output);
    const tiny = readNotebook(ok);
    assert.equal(tiny.cells[0].execution_count, 1);
    assert.deepEqual(tiny.cells[0].outputs?.map((o) => o.text), [['profile small\n']]);
    assert.equal(readFileSync(broken, 'utf8'), before, 'a failed run must not overwrite the notebook');
    assert.ok(existsSync(path.join(out, 'compile-error.ipynb')), 'the failed execution is kept for inspection');
  });
});

/** Where two notebooks first differ: "cells[2].outputs[0].data.image/png", or undefined. */
function firstDifference(a: unknown, b: unknown, at = ''): string | undefined {
  if (a === b) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return `${at}: ${JSON.stringify(a)?.slice(0, 80)} vs ${JSON.stringify(b)?.slice(0, 80)}`;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${at}[${k}]` : `${at}.${k}`);
    if (d) return d;
  }
  return undefined;
}
