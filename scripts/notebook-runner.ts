// Headless notebook execution with Jupyter's own executor (nbclient, through
// scripts/execute-notebook.py) and the project kernel, and the checks that make a failure loud.
// The command line is scripts/run-notebooks.ts.
import { spawnSync } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import type { Profile } from '../lib/experiments/profiles';
import { projectRoot } from '../lib/util/fs';
import { KERNEL_NAME, jupyterEnv, setupKernel } from './setup-kernel';

export interface NotebookOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  ename?: string;
  evalue?: string;
  traceback?: string[];
  data?: Record<string, unknown>;
}

export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: NotebookOutput[];
}

export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
}

export interface RunOptions {
  profile: Profile;
  /** Folder for executed copies; ignored with inPlace. */
  outDir: string;
  /** Write the executed notebook over its source (only when every cell succeeded). */
  inPlace?: boolean;
  /** Per-cell limit in seconds; 0 or undefined = none. */
  timeoutS?: number;
  /** Also write an HTML rendering next to the executed notebook. */
  html?: boolean;
  /** Extra environment for the kernel. */
  env?: Record<string, string>;
  /** Do not copy the cells' printed output to the terminal. */
  quiet?: boolean;
  /** Keep figures' plotly JSON in the saved notebook (default: PNG only; see scripts/execute-notebook.py). */
  interactiveFigures?: boolean;
}

export interface NotebookResult {
  notebook: string;
  /** Where the executed notebook was written (for a failed in-place run: a copy under outDir). */
  output: string;
  ok: boolean;
  seconds: number;
  /** What went wrong, one entry per problem, each naming the cell. */
  problems: string[];
}

const INSTALL_HINT = [
  'Install Jupyter with one of:',
  '  pip install jupyterlab',
  '  apt-get install -y --no-install-recommends jupyter-nbconvert jupyter-client python3-nbclient python3-ipykernel   (Debian/Ubuntu)',
  'or set SAT_JUPYTER_PYTHON to a Python that has it.',
].join('\n');

let jupyterPython: string | undefined;

/** A Python with nbclient: $SAT_JUPYTER_PYTHON, else python3 on PATH, else Debian's /usr/bin/python3. */
export function findJupyterPython(): string {
  if (jupyterPython) return jupyterPython;
  const candidates = [process.env.SAT_JUPYTER_PYTHON, 'python3', '/usr/bin/python3', 'python'].filter((c): c is string => !!c);
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import nbclient, nbformat'], { stdio: 'ignore' });
    if (probe.status === 0) return (jupyterPython = python);
  }
  throw new Error(`Jupyter's notebook executor (Python package nbclient) was not found (tried ${candidates.join(', ')}).\n${INSTALL_HINT}`);
}

/**
 * Notebook files from names, globs or paths. A pattern without a folder is matched in
 * notebooks/ against the file name with or without `.ipynb` ("00-*", "00-walkthrough");
 * one with a folder is matched in that folder. No patterns: every notebooks/*.ipynb.
 */
export function resolveNotebooks(patterns: string[], root = projectRoot()): string[] {
  if (patterns.length === 0) {
    const dir = path.join(root, 'notebooks');
    const all = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort() : [];
    if (all.length === 0) throw new Error(`no notebooks to run: ${dir} has no .ipynb files`);
    return all.map((f) => path.join(dir, f));
  }
  const found = new Set<string>();
  for (const pattern of patterns) {
    const asPath = path.resolve(root, pattern);
    if (pattern.endsWith('.ipynb') && existsSync(asPath)) {
      found.add(asPath);
      continue;
    }
    const dir = pattern.includes('/') ? path.resolve(root, path.dirname(pattern)) : path.join(root, 'notebooks');
    const re = globToRegExp(path.basename(pattern));
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort() : [];
    const matches = files.filter((f) => re.test(f) || re.test(f.slice(0, -'.ipynb'.length)));
    if (matches.length === 0) {
      const rel = path.relative(root, dir) || '.';
      throw new Error(`no notebook matches '${pattern}' in ${rel}/ (there: ${files.join(', ') || 'no .ipynb files'})`);
    }
    for (const f of matches) found.add(path.join(dir, f));
  }
  return [...found];
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Executes one notebook; never throws for a failing cell (see `problems`). */
export function executeNotebook(file: string, opts: RunOptions): NotebookResult {
  const root = projectRoot();
  const python = findJupyterPython();
  setupKernel(root);
  const name = path.basename(file);
  const work = mkdtempSync(path.join(os.tmpdir(), 'sat-nb-'));
  const executed = path.join(work, name);
  const reportFile = path.join(work, 'report.json');
  const start = Date.now();
  try {
    const child = spawnSync(
      python,
      [
        path.join(root, 'scripts', 'execute-notebook.py'),
        file,
        executed,
        reportFile,
        '--kernel',
        KERNEL_NAME,
        '--cwd',
        root,
        '--timeout',
        String(opts.timeoutS ?? 0),
        ...(opts.quiet ? [] : ['--echo']),
        ...(opts.interactiveFigures ? ['--interactive-figures'] : []),
      ],
      { cwd: root, env: jupyterEnv(root, { SAT_PROFILE: opts.profile, ...opts.env }), stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const seconds = (Date.now() - start) / 1000;
    if (!existsSync(executed) || !existsSync(reportFile)) {
      const why = child.error ? child.error.message : `exit status ${child.status}`;
      return { notebook: file, output: '', ok: false, seconds, problems: [`the executor did not run (${why}); see the messages above`] };
    }
    const nb = JSON.parse(readFileSync(executed, 'utf8')) as Notebook;
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { ok: boolean; failed_cell: number | null; reason: string | null };
    const problems = report.ok ? checkExecutedNotebook(nb) : [failureMessage(nb, report.failed_cell, describeFailure(nb, report))];
    const ok = problems.length === 0;
    const output = ok && opts.inPlace ? file : path.join(path.resolve(root, opts.outDir), name);
    mkdirSync(path.dirname(output), { recursive: true });
    copyFileSync(executed, output);
    if (opts.html && ok) exportHtml(python, output, root);
    return { notebook: file, output, ok, seconds, problems };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function exportHtml(python: string, notebook: string, root: string): void {
  const r = spawnSync(python, ['-m', 'nbconvert', '--to', 'html', notebook], { cwd: root, env: jupyterEnv(root), stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`nbconvert --to html failed for ${notebook} (exit status ${r.status})`);
}

/**
 * What is wrong with an executed notebook: error outputs, TypeScript compile errors (tslab
 * prints them to stderr only) and code cells that never ran (tslab drops the cells queued
 * after a failure). Empty when every code cell ran cleanly.
 */
export function checkExecutedNotebook(nb: Notebook): string[] {
  const problems: string[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== 'code' || !text(cell.source).trim()) return;
    const errors = (cell.outputs ?? []).filter((o) => o.output_type === 'error');
    if (errors.length) problems.push(failureMessage(nb, i, errors.map((e) => `${e.ename}: ${e.evalue}`).join('; ')));
    else if (COMPILE_ERROR.test(stderrOf(cell))) problems.push(failureMessage(nb, i, 'TypeScript compile error'));
    else if (cell.execution_count == null) problems.push(`${cellLabel(nb, i)} did not run (no execution count)`);
  });
  return problems;
}

// tslab's diagnostics: "<line>:<column> - <message>", at the start of a line.
const COMPILE_ERROR = /^\d+:\d+ - /m;
// Stack frames of tslab and node's vm, which say nothing about the notebook.
const KERNEL_FRAME = /^\s+at .*(node:vm|node:internal|tslab[\\/]dist|sigintHandlersWrap)/;
// The executor's reason for a cell whose reply was an error (scripts/execute-notebook.py).
const CELL_ERROR = 'the cell reported an error';

/** The driver says only "error"; the cell's stderr tells a compile error from an exception. */
function describeFailure(nb: Notebook, report: { failed_cell: number | null; reason: string | null }): string {
  const cell = report.failed_cell == null ? undefined : nb.cells[report.failed_cell];
  if (report.reason !== CELL_ERROR || !cell) return report.reason ?? 'failed';
  return COMPILE_ERROR.test(stderrOf(cell)) ? 'TypeScript compile error' : 'the cell threw an error';
}

/** "cell 3 of 7 (`first line of code`)": how a person finds the cell. */
export function cellLabel(nb: Notebook, index: number | null): string {
  if (index == null || !nb.cells[index]) return 'before the first cell ran';
  const first = text(nb.cells[index].source).split('\n').find((l) => l.trim()) ?? '';
  const short = first.length > 70 ? `${first.slice(0, 67)}...` : first;
  return `cell ${index + 1} of ${nb.cells.length} (\`${short.trim()}\`)`;
}

function failureMessage(nb: Notebook, index: number | null, reason: string): string {
  const lines = [`${cellLabel(nb, index)}: ${reason}`];
  const cell = index == null ? undefined : nb.cells[index];
  if (cell) {
    const details = [
      stderrOf(cell),
      ...(cell.outputs ?? []).filter((o) => o.output_type === 'error').map((o) => (o.traceback ?? [`${o.ename}: ${o.evalue}`]).join('\n')),
    ]
      .join('\n')
      .trim();
    if (details) {
      const tail = details.split('\n').filter((l) => !KERNEL_FRAME.test(l)).slice(-15);
      lines.push(...tail.map((l) => `    | ${l}`));
    }
  }
  return lines.join('\n');
}

function stderrOf(cell: NotebookCell): string {
  return (cell.outputs ?? [])
    .filter((o) => o.output_type === 'stream' && o.name === 'stderr')
    .map((o) => text(o.text ?? ''))
    .join('');
}

function text(s: string | string[]): string {
  return Array.isArray(s) ? s.join('') : s;
}
