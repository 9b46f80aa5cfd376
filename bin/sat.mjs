#!/usr/bin/env node
// The `sat` command: runs lib/cli.ts with tsx's loader, so no build step is needed. SIGINT,
// SIGTERM and SIGHUP are passed on to that process (which stops cleanly) and its exit code is
// ours. (Not through tsx's own CLI: it escalates to SIGKILL when the child is busy for 30 ms.)
// `npx sat ...` runs this under `npm exec` and a shell: a kill of npx ends them without passing
// the signal on, so this process also watches its parent and stops the child (SIGTERM: it stops
// after the current step, with whole files) when the parent is gone.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tsxLoader = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'loader.mjs')).href;
const child = spawn(process.execPath, ['--import', tsxLoader, join(root, 'lib', 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  });
}
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid !== parent && child.exitCode === null && child.signalCode === null) {
    clearInterval(watch);
    console.error(`sat: the process that started it (pid ${parent}) is gone: stopping`);
    child.kill('SIGTERM');
  }
}, 500);
watch.unref();
child.on('error', (e) => {
  console.error(`sat: could not start ${process.execPath}: ${e.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  // Killed by a signal: exit as shells report it (128 + the signal's number).
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
