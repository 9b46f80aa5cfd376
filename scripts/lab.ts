// `npm run lab`: opens the notebooks in whichever Jupyter front end is installed: JupyterLab,
// else Notebook 7, else the classic Notebook (Debian's `jupyter-notebook`), with the project
// kernel registered, and says which it opened. Extra arguments go to Jupyter
// (npm run lab -- --port 8899 --no-browser).
import { spawn, spawnSync } from 'child_process';
import path from 'path';
import { projectRoot } from '../lib/util/fs';
import { KERNEL_DISPLAY_NAME, jupyterDataDir, jupyterEnv, setupKernel } from './setup-kernel';

export type FrontEndKind = 'jupyterlab' | 'notebook7' | 'classic';

export interface FrontEnd {
  kind: FrontEndKind;
  /** "JupyterLab 4.2.5", "Notebook 7.2.1", "classic Notebook 6.4.12". */
  label: string;
  /** The command that starts it, e.g. ['/usr/bin/python3', '-m', 'notebook']. */
  command: string[];
}

/** Runs `command --version`; the version it prints, or undefined when it is not installed. */
export type VersionProbe = (command: string[]) => string | undefined;

const probeVersion: VersionProbe = ([cmd, ...args]) => {
  const r = spawnSync(cmd, [...args, '--version'], { encoding: 'utf8' });
  const version = r.status === 0 ? /\d+(\.\d+)+\S*/.exec(`${r.stdout}`)?.[0] : undefined;
  return version;
};

/** Pythons that may have Jupyter: $SAT_JUPYTER_PYTHON, python3 on PATH, Debian's /usr/bin/python3. */
function pythons(): string[] {
  return [...new Set([process.env.SAT_JUPYTER_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p))];
}

/**
 * The front end to open, in order of preference: JupyterLab, Notebook 7, classic Notebook.
 * `kinds` restricts the search (the browser test wants the classic Notebook).
 */
export function findFrontEnd(kinds: FrontEndKind[] = ['jupyterlab', 'notebook7', 'classic'], probe: VersionProbe = probeVersion): FrontEnd | undefined {
  const lab = [['jupyter-lab'], ...pythons().map((p) => [p, '-m', 'jupyterlab'])];
  const notebook = [['jupyter-notebook'], ...pythons().map((p) => [p, '-m', 'notebook'])];
  const found: FrontEnd[] = [];
  if (kinds.includes('jupyterlab')) {
    for (const command of lab) {
      const version = probe(command);
      if (version) {
        found.push({ kind: 'jupyterlab', label: `JupyterLab ${version}`, command });
        break;
      }
    }
  }
  for (const command of notebook) {
    const version = probe(command);
    if (!version) continue;
    const kind: FrontEndKind = Number(version.split('.')[0]) >= 7 ? 'notebook7' : 'classic';
    if (kinds.includes(kind) && !found.some((f) => f.kind === kind)) {
      found.push({ kind, label: `${kind === 'classic' ? 'classic Notebook' : 'Notebook'} ${version}`, command });
    }
  }
  return kinds.map((k) => found.find((f) => f.kind === k)).find((f) => f !== undefined);
}

/**
 * The arguments that open `notebooksDir`: JupyterLab and Notebook 7 run on jupyter_server
 * (`--ServerApp.root_dir`), the classic Notebook on its own server (`--notebook-dir`). As root,
 * Jupyter refuses to start without `--allow-root`, so it is added (once).
 */
export function frontEndArgs(frontEnd: FrontEnd, notebooksDir: string, userArgs: string[], isRoot: boolean): string[] {
  const dir = frontEnd.kind === 'classic' ? `--notebook-dir=${notebooksDir}` : `--ServerApp.root_dir=${notebooksDir}`;
  const root = isRoot && !userArgs.includes('--allow-root') ? ['--allow-root'] : [];
  return [...frontEnd.command.slice(1), dir, ...root, ...userArgs];
}

export const INSTALL_HINT = [
  'No Jupyter front end found (looked for JupyterLab, Notebook 7 and the classic Notebook with',
  `${pythons().join(', ')} and on PATH). Install one of:`,
  '',
  '  pip install jupyterlab plotly      # JupyterLab; plotly makes figures you draw interactive',
  '  sudo apt-get install jupyter-notebook   # Debian/Ubuntu: the classic Notebook (static figures)',
  '',
  'or set SAT_JUPYTER_PYTHON to a Python that has one. (Running notebooks without a browser needs',
  'only the executor: npm run notebooks, with the Debian packages jupyter-nbconvert jupyter-client',
  'python3-nbclient python3-ipykernel.)',
].join('\n');

function main(): number {
  const root = projectRoot();
  setupKernel(root);
  const frontEnd = findFrontEnd();
  if (!frontEnd) {
    console.error(INSTALL_HINT);
    return 1;
  }
  const userArgs = process.argv.slice(2);
  const isRoot = process.getuid?.() === 0;
  console.log(`Opening ${frontEnd.label} (${frontEnd.command.join(' ')}) on notebooks/ with the kernel "${KERNEL_DISPLAY_NAME}".`);
  console.log(`The kernel is found through JUPYTER_PATH=${jupyterDataDir(root)} (set here; set it yourself for a plain \`jupyter\`).`);
  if (isRoot) console.log('Running as root: passing --allow-root (Jupyter refuses to start as root without it).');
  if (frontEnd.kind === 'jupyterlab') {
    console.log("Figures you draw are interactive where pip's plotly is installed (it ships JupyterLab's plotly renderer); saved notebooks show PNGs.");
  } else {
    console.log(`${frontEnd.label} shows figures as PNG images; for interactive figures: pip install jupyterlab plotly.`);
  }
  const [cmd] = frontEnd.command;
  const child = spawn(cmd, frontEndArgs(frontEnd, path.join(root, 'notebooks'), userArgs, isRoot), {
    cwd: root,
    env: jupyterEnv(root),
    stdio: 'inherit',
  });
  // Ctrl-C reaches Jupyter through the terminal; wait for it to shut down.
  process.on('SIGINT', () => undefined);
  child.on('exit', (code) => process.exit(code ?? 0));
  return 0;
}

if (path.resolve(process.argv[1] ?? '') === __filename) {
  const code = main();
  if (code !== 0) process.exitCode = code;
}
