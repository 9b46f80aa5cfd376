#!/usr/bin/env node
// The project's Jupyter kernel: tslab, started in the project root whatever folder Jupyter
// starts it in. tslab compiles only files under its working folder and places each cell there,
// so notebooks import the library as `./lib/...` from any folder.
//
// Two fixes to tslab 1.0.22, applied to its sources as they load (if a source ever differs,
// the kernel still starts, with a warning):
// - directory imports (`./lib/plot` -> `./lib/plot/index`): TypeScript resolves them, but
//   tslab's loader looks only for `<path>.js` among its compiled files, so they failed at run
//   time with "Cannot find module";
// - "Unexpected pending rebuildTimer": TypeScript's watcher keeps two timers (program update,
//   and re-resolving imports that failed, armed when a file appears in a folder such as lib/),
//   tslab allowed one, so creating any file in lib/ broke the next cell.
'use strict';
const fs = require('fs');
const path = require('path');
const Module = require('module');

const root = path.resolve(__dirname, '..');
process.chdir(root);
const dist = path.dirname(require.resolve('tslab/dist/main.js', { paths: [root] }));

const PATCHES = {
  'executor.js': [
    {
      what: 'directory imports',
      original: `        if (path_1.default.extname(filename) === "") {
            filename += ".js";
        }
`,
      patched: `        if (path_1.default.extname(filename) === "") {
            const asIndex = (0, tspath_1.normalizeJoin)(filename, "index.js");
            filename = !sideOutputs.has(filename + ".js") && sideOutputs.has(asIndex) ? asIndex : filename + ".js";
        }
`,
    },
  ],
  'converter.js': [
    {
      what: 'several pending TypeScript timers',
      original: `        if (rebuildTimer) {
            throw new Error("Unexpected pending rebuildTimer");
        }
        rebuildTimer = {
            callback: () => {
                callback();
                rebuildTimer = null;
            },
        };
        return rebuildTimer;
    };
    sys.clearTimeout = (timeoutId) => {
        if (rebuildTimer === timeoutId) {
            rebuildTimer = null;
            return;
        }
        throw new Error("clearing unexpected tiemr");
    };
`,
      patched: `        const timer = () => callback();
        pendingTimers.add(timer);
        rebuildTimer = runPendingTimers;
        return timer;
    };
    // Runs every pending timer (and those they arm) when tslab rebuilds.
    const pendingTimers = new Set();
    const runPendingTimers = {
        callback: () => {
            for (let round = 0; pendingTimers.size > 0 && round < 10; round++) {
                for (const timer of [...pendingTimers]) {
                    pendingTimers.delete(timer);
                    timer();
                }
            }
            rebuildTimer = pendingTimers.size > 0 ? runPendingTimers : null;
        },
    };
    sys.clearTimeout = (timeoutId) => {
        pendingTimers.delete(timeoutId);
        if (pendingTimers.size === 0) {
            rebuildTimer = null;
        }
    };
`,
    },
  ],
};

for (const [file, patches] of Object.entries(PATCHES)) {
  const filename = path.join(dist, file);
  let source = fs.readFileSync(filename, 'utf8');
  for (const p of patches) {
    if (source.includes(p.original)) source = source.replace(p.original, p.patched);
    else process.stderr.write(`sat kernel: tslab's ${file} is not the 1.0.22 source; not fixed: ${p.what}\n`);
  }
  const mod = new Module(filename, module);
  mod.filename = filename;
  mod.paths = Module._nodeModulePaths(dist);
  mod._compile(source, filename);
  mod.loaded = true;
  require.cache[filename] = mod;
}

require(path.join(dist, 'main.js')).main();
