// `npm run notebooks`: executes notebooks headlessly with the project kernel and exits non-zero,
// naming the notebook and the cell, when any cell fails. See --help.
import path from 'path';
import { parseArgs } from 'util';
import { resolveProfile } from '../lib/experiments/profiles';
import { projectRoot, runsDir } from '../lib/util/fs';
import { executeNotebook, resolveNotebooks, type NotebookResult } from './notebook-runner';

const HELP = `Usage: npm run notebooks -- [options] [notebook ...]

Executes notebooks top to bottom with Jupyter's executor and the project's TypeScript kernel.
Notebooks: names, globs or paths ("00-walkthrough", "0*", "notebooks/00-walkthrough.ipynb");
default: every notebooks/*.ipynb.

Options:
  --profile smoke|small|paper  scale of the experiments (sets SAT_PROFILE for the kernel);
                               default: $SAT_PROFILE, else small
  --out <folder>               where executed copies go (default: data/notebooks-out/<profile>)
  --in-place                   write results over the notebooks themselves (only when every
                               cell succeeds; a failed run's copy goes to the --out folder)
  --timeout <seconds>          limit per cell (default: none)
  --html                       also write an HTML rendering next to each executed notebook
  --quiet                      do not copy the cells' printed output to the terminal
  --interactive-figures        keep the figures' plotly JSON in the saved notebooks: interactive
                               in JupyterLab with pip's plotly, but JupyterLab then rewrites each
                               figure's PNG on hover (the notebook shows as modified). Default:
                               saved figures are PNG only; figures you draw in Jupyter stay
                               interactive.
  -h, --help                   this text`;

function main(): number {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      profile: { type: 'string' },
      out: { type: 'string' },
      'in-place': { type: 'boolean', default: false },
      timeout: { type: 'string' },
      html: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      'interactive-figures': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const profile = resolveProfile(values.profile);
  const timeoutS = values.timeout === undefined ? 0 : Number(values.timeout);
  if (!(timeoutS >= 0)) throw new Error(`--timeout '${values.timeout}' is not a number of seconds`);
  const root = projectRoot();
  const notebooks = resolveNotebooks(positionals, root);
  const outDir = values.out ?? path.join('data', 'notebooks-out', profile);
  const rel = (p: string) => {
    const r = path.relative(process.cwd(), p);
    return r && !r.startsWith('..') ? r : p;
  };

  const results: NotebookResult[] = [];
  for (const notebook of notebooks) {
    console.log(`▶ ${rel(notebook)} (profile ${profile})`);
    // Smoke-profile figures are pipeline checks: keep them out of figures/ unless updating in place.
    const env = profile === 'smoke' && !values['in-place'] ? { SAT_FIGURES_DIR: path.resolve(outDir, 'figures') } : undefined;
    const r = executeNotebook(notebook, { profile, outDir, inPlace: values['in-place'], timeoutS, html: values.html, quiet: values.quiet, interactiveFigures: values['interactive-figures'], env });
    results.push(r);
    if (r.ok) {
      console.log(`✓ ${rel(notebook)}: ${r.seconds.toFixed(1)} s -> ${rel(r.output)}`);
    } else {
      console.error(`✗ FAILED ${rel(notebook)} after ${r.seconds.toFixed(1)} s`);
      for (const p of r.problems) console.error(`  ${p}`);
      if (r.output) console.error(`  executed copy with the outputs so far: ${rel(r.output)}`);
    }
  }
  const failed = results.filter((r) => !r.ok);
  const total = results.reduce((s, r) => s + r.seconds, 0);
  if (failed.length) {
    console.error(`\n${failed.length} of ${results.length} notebook(s) FAILED: ${failed.map((r) => rel(r.notebook)).join(', ')}`);
    return 1;
  }
  console.log(`\nAll ${results.length} notebook(s) ran in ${total.toFixed(1)} s (profile ${profile}).`);
  console.log(`executed notebooks: ${rel(path.resolve(outDir))}${values['in-place'] ? ' (and updated in place)' : ''}`);
  console.log(`figures:            ${rel(profile === 'smoke' && !values['in-place'] ? path.resolve(outDir, 'figures') : path.join(root, 'figures'))}/`);
  console.log(`run results:        ${rel(runsDir())}/<run-id>/results.json (config.json, metrics.jsonl beside it)`);
  return 0;
}

try {
  process.exitCode = main();
} catch (e) {
  console.error(`run-notebooks: ${(e as Error).message}`);
  process.exitCode = 2;
}
