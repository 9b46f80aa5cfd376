// Integration test against a real Slurm: scripts/slurm/start.sh starts a single-node cluster on
// localhost and prints SLURM_CONF (.ci/run does this around npm test). Without a reachable
// cluster the test is skipped with one line that says so.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gridExperiment, isFinished, planGrid } from '../lib/grid';
import { projectRoot } from '../lib/util/fs';

/** Why no cluster can be used here, or null when sinfo answers. */
function noCluster(): string | null {
  const r = spawnSync('sinfo', ['-h', '-o', '%t'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return `no Slurm client here (${(r.error as NodeJS.ErrnoException).code})`;
  if (r.status !== 0) return `sinfo failed${process.env.SLURM_CONF ? '' : ' (SLURM_CONF is not set)'}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`;
  const states = r.stdout.trim().split('\n').filter(Boolean);
  if (!states.some((s) => /^(idle|mix|alloc)/.test(s))) return `no node up (sinfo: ${states.join(', ') || 'nothing'})`;
  return null;
}

function sat(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [path.join(projectRoot(), 'bin', 'sat.mjs'), ...args], { encoding: 'utf8', env });
}

describe('grid on Slurm (single-node cluster from scripts/slurm/start.sh)', function () {
  this.timeout(600_000);
  let tmp: string;
  let env: NodeJS.ProcessEnv;

  before(function () {
    const why = noCluster();
    if (why) {
      console.log(`    (Slurm test skipped: ${why}; start one with: eval "$(scripts/slurm/start.sh)")`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-slurm-'));
    env = { ...process.env, SAT_RUNS_DIR: path.join(tmp, 'runs') };
    delete env.SAT_GRIDS_DIR;
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('sat grid submit --executor slurm trains a smoke grid as a job array; status follows it; submitting again skips finished runs', async () => {
    const args = ['mnist-relu-vs-silu', '--profile', 'smoke'];
    const submit = sat(['grid', 'submit', ...args, '--executor', 'slurm', '--time', '00:10:00', '--mem', '1G'], env);
    assert.equal(submit.status, 0, submit.stderr);
    const jobId = submit.stdout.trim();
    assert.match(jobId, /^\d+$/, `sat grid submit prints the job id, got '${submit.stdout}'`);
    console.log(`    ${submit.stderr.trim().split('\n').join('\n    ')}`);

    const during = sat(['grid', 'status', ...args, '--json'], env);
    assert.equal(during.status, 0, during.stderr);
    const early = during.stdout.trim().split('\n').map((l) => JSON.parse(l) as { state: string });
    assert.equal(early.length, 2);
    for (const r of early) assert.ok(['pending', 'running', 'done'].includes(r.state), `state while queued: ${r.state}`);

    // Wait for the array to leave the queue: poll squeue, never a blind sleep.
    const t0 = Date.now();
    for (;;) {
      const q = spawnSync('squeue', ['-h', '-j', jobId], { encoding: 'utf8' });
      if (q.status === 0 && q.stdout.trim() === '') break;
      if (q.status !== 0 && /Invalid job id/i.test(q.stderr)) break;
      assert.ok(Date.now() - t0 < 540_000, `job ${jobId} still queued after 9 minutes:\n${q.stdout}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`    job array ${jobId} left the queue after ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    const status = sat(['grid', 'status', ...args], env);
    assert.equal(status.status, 0, status.stderr);
    console.log(`    ${status.stdout.trim().split('\n').join('\n    ')}`);
    assert.match(status.stdout, /mnist-relu-vs-silu at profile smoke: 2 runs: 2 done/);

    const saved = process.env.SAT_RUNS_DIR;
    process.env.SAT_RUNS_DIR = env.SAT_RUNS_DIR;
    try {
      const grid = planGrid(await gridExperiment('mnist-relu-vs-silu'), 'smoke');
      for (const r of grid.runs) {
        assert.ok(isFinished(r.runDir, r.config), `${r.runDir} is finished`);
        const results = JSON.parse(fs.readFileSync(path.join(r.runDir, 'results.json'), 'utf8')) as { attack: string; accuracy: number }[];
        assert.ok(results.some((x) => x.attack !== 'clean'), 'the evaluation includes the PGD attack');
        for (const x of results) assert.ok(x.accuracy >= 0 && x.accuracy <= 1);
        const log = fs.readFileSync(r.configFile.replace(/\.json$/, '.log'), 'utf8');
        assert.match(log, /SAT_THREADS=1/, 'the task ran with the cores Slurm gave it');
      }
    } finally {
      if (saved === undefined) delete process.env.SAT_RUNS_DIR;
      else process.env.SAT_RUNS_DIR = saved;
    }

    const again = sat(['grid', 'submit', ...args, '--executor', 'slurm'], env);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout.trim(), '', 'no new job');
    assert.match(again.stderr, /2 finished, 0 already queued, 0 to submit[\s\S]*nothing to submit/);
  });
});
