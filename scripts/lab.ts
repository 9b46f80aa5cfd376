// `npm run lab`: JupyterLab on notebooks/ with the project kernel. Extra arguments go to
// JupyterLab (npm run lab -- --port 8899 --no-browser).
import { spawn, spawnSync } from 'child_process';
import path from 'path';
import { projectRoot } from '../lib/util/fs';
import { KERNEL_DISPLAY_NAME, jupyterEnv, setupKernel } from './setup-kernel';

/** The command that starts JupyterLab: `jupyter-lab` on PATH, else `<python> -m jupyterlab`. */
function findJupyterLab(): string[] | undefined {
  const candidates = [['jupyter-lab'], ...[process.env.SAT_JUPYTER_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p).map((p) => [p, '-m', 'jupyterlab'])];
  return candidates.find(([cmd, ...args]) => spawnSync(cmd, [...args, '--version'], { stdio: 'ignore' }).status === 0);
}

function main(): number {
  const root = projectRoot();
  setupKernel(root);
  const lab = findJupyterLab();
  if (!lab) {
    console.error(
      [
        'JupyterLab is not installed. Install it with:',
        '',
        '  pip install jupyterlab',
        '',
        'then run npm run lab again. (Running notebooks without a browser needs only the executor:',
        'npm run notebooks, with the Debian packages jupyter-nbconvert jupyter-client python3-nbclient python3-ipykernel.)',
      ].join('\n'),
    );
    return 1;
  }
  console.log(`Opening JupyterLab on notebooks/ with the kernel "${KERNEL_DISPLAY_NAME}".`);
  console.log(
    'Figures are interactive where JupyterLab has a plotly renderer (the jupyterlab-plotly extension, shipped with pip\'s "plotly<6"); without one they show as images.',
  );
  const [cmd, ...args] = lab;
  const child = spawn(cmd, [...args, `--ServerApp.root_dir=${path.join(root, 'notebooks')}`, ...process.argv.slice(2)], {
    cwd: root,
    env: jupyterEnv(root),
    stdio: 'inherit',
  });
  // Ctrl-C reaches JupyterLab through the terminal; wait for it to shut down.
  process.on('SIGINT', () => undefined);
  child.on('exit', (code) => process.exit(code ?? 0));
  return 0;
}

const code = main();
if (code !== 0) process.exitCode = code;
