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
    timeout: 170_000,
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

describe('notebooks: headless runner with Jupyter and the tslab kernel', function () {
  this.timeout(180_000);
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

    // the plotted notebook: every code cell ran; figures carry plotly's mime type and a PNG
    const plotted = readNotebook(path.join(out, 'plotted.ipynb'));
    assert.deepEqual(checkExecutedNotebook(plotted), []);
    assert.equal((plotted.metadata.sat as { profile: string }).profile, 'smoke');
    const figureOutputs = plotted.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.[PLOTLY_MIME]);
    assert.equal(figureOutputs.length, 2, 'one static figure, and one live figure updated in place (not one output per update)');
    for (const o of figureOutputs) {
      const png = PNG.sync.read(Buffer.from(String(o.data!['image/png']), 'base64'));
      assert.ok(png.width >= 600 && png.height >= 300, `fallback PNG ${png.width}x${png.height}`);
      assert.match(String(o.data!['text/plain']), /^Figure/);
    }
    assert.match(String(figureOutputs[1].data!['text/plain']), /live final/, 'the live figure shows its last state');
    const size = statSync(path.join(out, 'plotted.ipynb')).size;
    assert.ok(size < 300_000, `executed notebook is ${size} bytes: plotly.js must not be embedded`);
    const table = plotted.cells.flatMap((c) => c.outputs ?? []).find((o) => o.data?.['text/html']);
    assert.match(String(table?.data?.['text/html']), /<table class="sat-table"><caption>fixture table<\/caption>.*relu.*55\.0 ± 7\.1/);

    // exportFigure from inside the notebook wrote real files
    const svg = readFileSync(path.join(figures, 'fixture-squares.svg'), 'utf8');
    assert.match(svg, /^<svg[\s\S]*Fixture: squares/);
    assert.ok(statSync(path.join(figures, 'fixture-squares.png')).size > 10_000);
    // saveFigure wrote into the runner's scratch figures folder and said where
    assert.match(readFileSync(path.join(out, 'figures', 'fixture-saved.svg'), 'utf8'), /^<svg[\s\S]*Fixture: squares/);
    const said = plotted.cells.flatMap((c) => c.outputs ?? []).map((o) => [o.text ?? ''].flat().join('')).join('');
    assert.match(said, /figure saved: .*fixture-saved\.svg \(\+ \.png\)/);
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
