#!/usr/bin/env node
// The `sat` command: runs lib/cli.ts through tsx, so no build step is needed.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const r = spawnSync(process.execPath, [tsxCli, join(root, 'lib', 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
