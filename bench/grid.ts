// `npm run bench -- --grid`: the same grid of MNIST-CNN SAT runs on 1 worker and on N workers
// (default 2), each into a fresh runs folder, in one invocation. Prints the wall time of each,
// the speed-up, each worker's peak memory, the machine's load average around the measurement
// (other processes share the cores), and whether the grids gave identical results.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, parseInteger, parseList, UsageError } from '../lib/cli/args';
import { mnistReluVsSilu } from '../lib/experiments/mnist-relu-vs-silu';
import { planGrid, runPool, type PoolResult } from '../lib/grid';
import { fmtTime } from '../lib/util/progress';

const HELP = `npm run bench -- --grid [--workers 1,2] [--seeds 0,1,2] [--keep]
  Trains the grid of 'sat compare --profile small --seeds 0,1,2' (ReLU and SiLU MNIST CNNs, 3
  epochs of 8,000 digits with PGD-1, PGD-10/20 evaluation: about a minute per run on one core)
  once per worker count, each time from scratch, and compares wall times. "cores on average" is
  the runs' CPU time over the wall time: about 1 and 2 on an idle 2-core machine, less when
  other processes share the cores (the load average says how busy the machine was).`;

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

export async function gridBench(argv: string[]): Promise<void> {
  const { values: v } = parse(argv, { workers: { type: 'string' }, seeds: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean' } });
  if (v.help) return void console.log(HELP);
  const counts = parseList('workers', v.workers) ?? [1, 2];
  if (counts.length < 1 || counts.some((n) => !Number.isInteger(n) || n < 1)) throw new UsageError('--workers takes positive integers, e.g. 1,2.');
  const seeds = parseList('seeds', v.seeds) ?? [0, 1, 2];
  const exp = mnistReluVsSilu(['relu', 'silu'], seeds);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-bench-grid-'));
  const saved = process.env.SAT_RUNS_DIR;
  console.log(`grid benchmark: ${exp.title}, ${seeds.length * 2} runs at the small profile (sat compare --seeds ${seeds.join(',')}), each worker count from scratch`);
  console.log(`machine: ${os.availableParallelism?.() ?? os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}); load average (1, 5, 15 min) before: ${load()}`);
  const results: { workers: number; pool: PoolResult; records: string }[] = [];
  try {
    for (const n of counts) {
      process.env.SAT_RUNS_DIR = path.join(root, `workers-${n}`, 'runs');
      const grid = planGrid(exp, 'small');
      const pool = await runPool(grid, { workers: n, log: () => {}, display: 'none' });
      const bad = pool.runs.filter((r) => r.status !== 'trained');
      if (bad.length) throw new Error(`${bad.length} runs did not train with ${n} workers: ${bad.map((r) => `${r.run.label}: ${r.status} ${r.outcome?.error ?? ''} (log ${r.run.configFile.replace(/\.json$/, '.log')})`).join('; ')}`);
      const records = grid.runs.map((r) => fs.readFileSync(path.join(r.runDir, 'results.json'), 'utf8')).join('\n');
      results.push({ workers: n, pool, records });
      const perRun = pool.runs.map((r) => r.outcome?.seconds ?? 0);
      const cpu = pool.runs.reduce((s, r) => s + (r.outcome?.cpuSeconds ?? 0), 0);
      console.log(
        `${String(n).padStart(2)} worker${n === 1 ? ' ' : 's'}: ${pool.runs.length} runs in ${fmtTime(pool.seconds)} (${pool.seconds.toFixed(1)} s; a run took ${Math.min(...perRun).toFixed(0)}-${Math.max(...perRun).toFixed(0)} s); ` +
          `training used ${cpu.toFixed(0)} CPU s, ${(cpu / pool.seconds).toFixed(2)} cores on average; ` +
          `peak memory per worker: ${pool.workers.map((w, i) => `#${i + 1} ${w.maxRssMB} MB (${w.runs} runs)`).join(', ')}; load average after: ${load()}`,
      );
    }
  } finally {
    if (saved === undefined) delete process.env.SAT_RUNS_DIR;
    else process.env.SAT_RUNS_DIR = saved;
    if (!v.keep) fs.rmSync(root, { recursive: true, force: true });
    else console.log(`run folders kept in ${root}`);
  }
  const base = results[0];
  for (const r of results.slice(1)) {
    console.log(`speed-up ${r.workers} vs ${base.workers} worker${base.workers === 1 ? '' : 's'}: ${(base.pool.seconds / r.pool.seconds).toFixed(2)}x`);
    console.log(`results of the ${r.workers}-worker grid ${r.records === base.records ? 'are identical to' : 'DIFFER from'} the ${base.workers}-worker grid's`);
  }
}
