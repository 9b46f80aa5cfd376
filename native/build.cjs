#!/usr/bin/env node
// Builds the oneDNN convolution addon (native/build/Release/sat_onednn.node) with node-gyp.
// `node native/build.cjs` (npm's postinstall) never fails: it prints one line saying whether the
// addon built and, if not, why; the wasm kernels then run instead. `--strict` (npm run
// build:native, CI) exits 1 when the build fails. The compiler's output goes to native/build.log.
// SAT_NATIVE=0 skips the build.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const strict = process.argv.includes('--strict');
const here = __dirname;
const log = path.join(here, 'build.log');

function done(ok, message) {
  console.log(`[sat] native oneDNN addon: ${message}`);
  process.exit(!ok && strict ? 1 : 0);
}

if (['0', 'false', 'off', 'no'].includes((process.env.SAT_NATIVE ?? '').trim().toLowerCase())) {
  done(true, 'skipped (SAT_NATIVE=0); the wasm kernels run');
}
const header = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/local/include/oneapi/dnnl/dnnl.hpp'].find((f) => fs.existsSync(f));
if (!header && !process.env.CPATH) {
  done(false, 'not built: oneDNN headers not found (install libdnnl-dev, e.g. `sudo apt-get install libdnnl-dev`, then `npm run build:native`); the wasm kernels run');
}
const cxx = process.env.CXX || 'c++';
if (spawnSync(cxx, ['--version'], { stdio: 'ignore' }).status !== 0) {
  done(false, `not built: no C++ compiler ('${cxx}'; install g++, then \`npm run build:native\`); the wasm kernels run`);
}
// npm sets npm_config_node_gyp in its scripts; otherwise use the node-gyp bundled with npm.
const gyp = [process.env.npm_config_node_gyp, path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')].find(
  (f) => f && fs.existsSync(f),
);
if (!gyp) done(false, 'not built: node-gyp not found (it ships with npm); the wasm kernels run');
// Node's own headers, where the install has them: node-gyp would otherwise download them.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir = fs.existsSync(path.join(prefix, 'include/node/node_api.h')) ? [`--nodedir=${prefix}`] : [];
const started = Date.now();
const r = spawnSync(process.execPath, [gyp, 'rebuild', ...nodedir], { cwd: here, encoding: 'utf8', env: process.env });
fs.writeFileSync(log, `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`);
if (r.status !== 0) {
  const firstError = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').find((l) => /error/i.test(l)) ?? 'see the log';
  done(false, `build failed (${firstError.trim().slice(0, 160)}; full output in native/build.log); the wasm kernels run`);
}
try {
  const addon = require(path.join(here, 'build/Release/sat_onednn.node'));
  done(true, `built in ${((Date.now() - started) / 1000).toFixed(0)} s (oneDNN ${addon.version()}); conv kernels run native (SAT_NATIVE=0 switches them off)`);
} catch (e) {
  done(false, `built but fails to load (${String(e.message).split('\n')[0]}); the wasm kernels run`);
}
