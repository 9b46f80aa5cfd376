// Registers the project's TypeScript kernel (tslab) with Jupyter, inside the project:
// `.jupyter/kernels/sat-typescript/kernel.json`, found by Jupyter through JUPYTER_PATH (set by
// `npm run notebooks` and `npm run lab`). Nothing is written outside the project.
//
// Not `tslab install`: that registers a generic `tslab` kernel started in the notebook's folder,
// where `lib/` lies outside what tslab compiles. Ours runs scripts/tslab-kernel.cjs, which
// starts tslab in the project root. Usage: tsx scripts/setup-kernel.ts
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import path from 'path';
import { projectRoot } from '../lib/util/fs';

export const KERNEL_NAME = 'sat-typescript';
export const KERNEL_DISPLAY_NAME = 'TypeScript (sat-notebooks)';

/** The folder to put on JUPYTER_PATH: it holds `kernels/<name>/kernel.json`. */
export function jupyterDataDir(root = projectRoot()): string {
  return path.join(root, '.jupyter');
}

/** The kernelspec: node (the one running now) starts our tslab launcher. */
export function kernelSpec(root = projectRoot()): Record<string, unknown> {
  return {
    argv: [process.execPath, path.join(root, 'scripts', 'tslab-kernel.cjs'), 'kernel', '--config-path', '{connection_file}'],
    display_name: KERNEL_DISPLAY_NAME,
    language: 'typescript',
    metadata: { debugger: false },
  };
}

/** Writes the kernelspec when missing or different; returns its path. */
export function setupKernel(root = projectRoot()): string {
  if (!existsSync(path.join(root, 'node_modules', 'tslab', 'package.json'))) {
    throw new Error(`tslab is not installed in ${root}/node_modules: run npm install first`);
  }
  const dir = path.join(jupyterDataDir(root), 'kernels', KERNEL_NAME);
  const file = path.join(dir, 'kernel.json');
  const json = JSON.stringify(kernelSpec(root), null, 2) + '\n';
  if (!existsSync(file) || readFileSync(file, 'utf8') !== json) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, json);
  }
  return file;
}

/** The environment for Jupyter commands: our kernel folder first on JUPYTER_PATH. */
export function jupyterEnv(root = projectRoot(), extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = process.env.JUPYTER_PATH;
  return {
    ...process.env,
    JUPYTER_PATH: inherited ? `${jupyterDataDir(root)}${path.delimiter}${inherited}` : jupyterDataDir(root),
    ...extra,
  };
}

if (path.resolve(process.argv[1] ?? '') === __filename) {
  const file = setupKernel();
  console.log(`Kernel '${KERNEL_NAME}' registered: ${path.relative(process.cwd(), file)}`);
  console.log(`Jupyter finds it with JUPYTER_PATH=${jupyterDataDir()} (npm run notebooks and npm run lab set it).`);
}
