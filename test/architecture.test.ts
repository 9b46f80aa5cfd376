// lib/'s import rules (.dependency-cruiser.cjs): no import cycle, no upward import between the
// layers that the config names. A violation fails npm test with the rule's name and the fix.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../lib/util/fs';

const root = projectRoot();
const config = path.join(root, '.dependency-cruiser.cjs');

interface Violation { rule: { name: string }; from: string; to: string }

/** Runs dependency-cruiser on `dir`'s lib/ and returns its violations. */
function cruise(cwd: string): Violation[] {
  const bin = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const r = spawnSync(process.execPath, [bin, 'lib', '--config', config, '--output-type', 'json'], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0 && !r.stdout.trim().startsWith('{')) throw new Error(`dependency-cruiser failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('architecture: the layers of lib/', function () {
  this.timeout(300_000);

  it('has no import cycle and no upward import between layers', () => {
    const v = cruise(root);
    assert.deepEqual(v.map((x) => `${x.rule.name}: ${x.from} -> ${x.to}`), []);
  });

  it('catches an upward import and a cycle (the rules can fail)', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-arch-'));
    try {
      const write = (f: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(tmp, f)), { recursive: true });
        fs.writeFileSync(path.join(tmp, f), text);
      };
      write('lib/util/fs.ts', "import { main } from '../cli';\nexport const x = main;\n");
      write('lib/cli.ts', "import { x } from './util/fs';\nexport const main = () => x;\n");
      const names = cruise(tmp).map((v) => v.rule.name);
      assert.ok(names.includes('no-upward-import: foundation -> command line'), names.join(', '));
      assert.ok(names.includes('no-circular'), names.join(', '));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
