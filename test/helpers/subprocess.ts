// Runs TypeScript helper scripts and the `sat` command as real child processes, for tests of
// locks, crashes and signals that an in-process call cannot show.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = path.resolve(__dirname, '..', '..');
const TSX_LOADER = pathToFileURL(path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs')).href;

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

export interface Running {
  child: ChildProcess;
  /** Resolves when the child's stdout or stderr has printed text matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<Finished>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) if (w.re.test(out + err)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  child.stdout!.on('data', (d) => ((out += d), check()));
  child.stderr!.on('data', (d) => ((err += d), check()));
  const done = new Promise<Finished>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
  return {
    child,
    done,
    waitFor: (re, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output so far:\n${out}${err}`)), timeoutMs);
        const w = { re, resolve: () => (clearTimeout(timer), resolve()) };
        waiters.push(w);
        check();
        void done.then(() => {
          if (waiters.includes(w)) (clearTimeout(timer), reject(new Error(`process ended before printing ${re}:\n${out}${err}`)));
        });
      }),
  };
}

/** A TypeScript file run by node with tsx's loader. */
export function runScript(file: string, args: string[] = [], env?: NodeJS.ProcessEnv): Running {
  return start(['--import', TSX_LOADER, file, ...args], env);
}

/** `bin/sat.mjs ...`, exactly as a user starts it. */
export function runSat(args: string[], env?: NodeJS.ProcessEnv): Running {
  return start([path.join(ROOT, 'bin', 'sat.mjs'), ...args], env);
}
