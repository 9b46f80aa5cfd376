import { trainingPasses } from '../lib/report/run-cost';
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { gridCommand } from '../lib/cli/grid';
import { WorkerProcess } from '../lib/grid/worker-process';
import type { Experiment } from '../lib/experiments/types';
import { runExperiment } from '../lib/run-experiment';
import {
  gridStatus, isFinished, planGrid, PoolDisplay, poolEta, poolStatusLine, remainingCost, printGrid, readOutcome, resolveWorkers, runPool, runSideFiles, slurmScript,
  submitSlurm, threadsPerWorker, validateResources, WORKER_EXIT,
} from '../lib/grid';
import { loadDataset, registerDataset } from '../lib/data';
import { runCost } from '../lib/report/run-cost';
import { makeConfig, runId, type TrainConfig } from '../lib/train';
import { acquireLock, RUN_FILES } from '../lib/train/run-folder';
import { testBackend } from './helpers/backend';

/** A grid of tiny clean-trained MNIST runs (no attack, so only the pipeline is exercised). */
function tinyExperiment(name: string, configs: Partial<TrainConfig>[]): Experiment {
  const base: Partial<TrainConfig> = {
    dataset: 'mnist', trainLimit: 128, testLimit: 50, model: 'mnist-cnn', width: 4, epochs: 1, batchSize: 64,
    attack: null, evaluation: { size: 50, attacks: [] },
  };
  return { name, title: `grid test ${name}`, runs: () => configs.map((c) => ({ ...base, ...c })) };
}

const noLog = () => {};

describe('grid: plan', () => {
  it('gives each run the config runExperiment trains, its run folder and a label naming what varies', () => {
    const exp = tinyExperiment('plan', [
      { activation: 'relu', seed: 0 },
      { activation: 'silu', seed: 0 },
      { activation: 'relu', seed: 1, trainerGradient: 'smooth' },
    ]);
    const grid = planGrid(exp, 'smoke');
    assert.equal(grid.runs.length, 3);
    const c0 = makeConfig({ ...exp.runs('smoke')[0], experiment: 'plan', profile: 'smoke' });
    assert.deepEqual(grid.runs[0].config, c0);
    assert.equal(grid.runs[0].id, runId(c0));
    assert.equal(path.basename(grid.runs[0].runDir), runId(c0));
    assert.deepEqual(grid.runs.map((r) => r.label), ['relu, trainer own, seed 0', 'silu, trainer own, seed 0', 'relu, trainer smooth, seed 1']);
    assert.match(grid.runs[2].configFile, /plan-smoke\/runs\/.+\.json$/);
  });

  it('names the training attack and the kept epoch in words, not as JSON', () => {
    const exp = tinyExperiment('plan-attack', [
      { seed: 0, attack: { type: 'pgd-linf', eps: 0.1, steps: 1, stepSize: 0.1, randomStart: true } },
      { seed: 0, attack: { type: 'pgd-linf', eps: 0.1, steps: 5, stepSize: 0.05, randomStart: true }, valSize: 32, epochEvalSize: 16, keep: 'best-val-adv' },
    ]);
    const labels = planGrid(exp, 'smoke').runs.map((r) => r.label);
    assert.deepEqual(labels.map((l) => l.includes('{')), [false, false], labels.join(' | '));
    assert.match(labels[0], /training attack PGD-1 .*eps=0\.1.*keeps its last epoch, seed 0$/);
    assert.match(labels[1], /training attack PGD-5 .*keeps its best validation epoch, seed 0$/);
  });

  it('refuses an experiment that lists the same run twice', () => {
    const exp = tinyExperiment('twice', [{ seed: 0 }, { seed: 0 }]);
    assert.throws(() => planGrid(exp, 'smoke'), /same run twice .*runs 1 and 2/);
  });

  it('shares the cores among workers (SAT_THREADS), at least one each; SAT_WORKERS is checked', () => {
    assert.equal(threadsPerWorker(2, 2), 1);
    assert.equal(threadsPerWorker(2, 16), 8);
    assert.equal(threadsPerWorker(3, 16), 5);
    assert.equal(threadsPerWorker(8, 2), 1);
    const saved = process.env.SAT_WORKERS;
    try {
      process.env.SAT_WORKERS = '3';
      assert.equal(resolveWorkers(), 3);
      assert.equal(resolveWorkers(5), 5);
      process.env.SAT_WORKERS = 'lots';
      assert.throws(() => resolveWorkers(), /positive integer, got 'lots'.*SAT_WORKERS/);
    } finally {
      if (saved === undefined) delete process.env.SAT_WORKERS;
      else process.env.SAT_WORKERS = saved;
    }
  });

  it('the status line: done, running, failed, waiting, runs held elsewhere, elapsed, and the ETA or "stopping"', () => {
    const s = { done: 3, total: 10, running: 2, failed: 1, waiting: 4, elsewhere: 0, elapsedSeconds: 125, etaSeconds: 3700, stopping: false };
    assert.equal(poolStatusLine('[grid x small]', s), '[grid x small] 3/10 done, 2 running, 1 failed, 4 waiting | 2m05s elapsed, ETA 1h02m');
    assert.equal(poolStatusLine('[g]', { ...s, elsewhere: 2, etaSeconds: NaN }), '[g] 3/10 done, 2 running, 1 failed, 4 waiting, 2 running elsewhere | 2m05s elapsed, ETA ?');
    assert.equal(poolStatusLine('[g]', { ...s, stopping: true }), '[g] 3/10 done, 2 running, 1 failed, 4 waiting | 2m05s elapsed, stopping');
  });

  it('the ETA: runs take the mean of the trained ones (before any, the running ones projected from their epochs), shared among live workers', () => {
    // 150 s per run: the running one (50 s in) has 100 s left, 3 pending take 450 s, on 2 workers.
    assert.equal(poolEta([100, 200], [{ seconds: 50, epochFraction: 0.5 }], 3, 2), (100 + 450) / 2);
    // None trained yet: a run a quarter through its epochs after 30 s takes 120 s; one before its first epoch's end counts only as busy.
    assert.equal(poolEta([], [{ seconds: 30, epochFraction: 0.25 }, { seconds: 10, epochFraction: 0 }], 1, 2), (90 + 110 + 120) / 2);
    assert.ok(Number.isNaN(poolEta([], [{ seconds: 10, epochFraction: 0 }], 2, 1)), 'unknown before any epoch ends');
    assert.equal(poolEta([60], [], 2, 0), 120, 'no live worker counts as one');
  });

  it('the display: event lines always; the status line every statusEveryMs in a log, at the end, never with none', () => {
    const lines: string[] = [];
    let n = 0;
    const shown = new PoolDisplay('lines', (s) => lines.push(s), () => `status ${++n}`, 0);
    shown.say('run 1/2 started');
    shown.tick();
    shown.end();
    assert.deepEqual(lines, ['run 1/2 started', 'status 1', 'status 2']);
    const rare = new PoolDisplay('lines', (s) => lines.push(s), () => 'rare', 60_000);
    rare.tick();
    const none = new PoolDisplay('none', (s) => lines.push(s), () => 'never', 0);
    none.tick();
    none.end();
    none.say('an event');
    assert.deepEqual(lines.slice(3), ['an event']);
  });

  it('writes a job-array script with the per-run resources, and checks them', () => {
    const grid = planGrid(tinyExperiment('script', [{ seed: 0 }, { seed: 1 }]), 'paper');
    const s = slurmScript(grid, '/g/tasks-1.txt', 2, { time: '2-00:00:00', mem: '64G', cpusPerTask: 8, gres: 'gpu:1', partition: 'gpu' });
    for (const line of ['#SBATCH --array=0-1', '#SBATCH --gres=gpu:1', '#SBATCH --partition=gpu', '#SBATCH --cpus-per-task=8', '#SBATCH --mem=64G', '#SBATCH --time=2-00:00:00']) {
      assert.ok(s.includes(line), `script lacks ${line}:\n${s}`);
    }
    assert.match(s, /SAT_THREADS="\$\{SLURM_CPUS_PER_TASK:-1\}"/);
    assert.match(s, /sed -n "\$\(\(SLURM_ARRAY_TASK_ID \+ 1\)\)p" \/g\/tasks-1.txt/);
    assert.match(s, /lib\/grid\/worker\.ts "\$config"$/m);
    assert.throws(() => validateResources({ time: 'two hours', mem: '4G', cpusPerTask: 1 }), /--time 'two hours'.*HH:MM:SS/);
    assert.throws(() => validateResources({ time: '01:00:00', mem: 'lots', cpusPerTask: 1 }), /--mem 'lots'/);
    assert.throws(() => validateResources({ time: '01:00:00', mem: '4G', cpusPerTask: 0 }), /--cpus-per-task/);
  });
});

describe('grid: executors', function () {
  this.timeout(240_000);

  it('a worker told to exit gets no second message, and a send after it is gone neither throws nor ends the pool', async () => {
    let ready!: () => void;
    let sent!: WorkerProcess<unknown>;
    const isReady = new Promise<void>((r) => (ready = r));
    const exited = new Promise<number | null>((resolve) => {
      const w = new WorkerProcess(1, 1, { message: (m) => m.type === 'ready' && ready(), exit: (code) => resolve(code) });
      sent = w;
    });
    await isReady;
    sent.ready = true;
    const calls: unknown[] = [];
    const original = sent.child.send.bind(sent.child);
    sent.child.send = ((m: unknown, cb?: (e: Error | null) => void) => (calls.push(m), original(m as never, cb as never))) as typeof sent.child.send;
    assert.ok(sent.idle());
    sent.send({ type: 'exit' });
    assert.equal(sent.idle(), false, 'leaving: not idle, so the pool sends it nothing more');
    sent.send({ type: 'exit' });
    sent.send({ type: 'run', configFile: path.join(os.tmpdir(), 'sat-grid-test-none.json') });
    assert.deepEqual(calls, [{ type: 'exit' }], 'one exit, nothing after it');
    await exited; // the worker disconnects and ends (code 130, 'stopped', as for any disconnect)
    sent.send({ type: 'run', configFile: path.join(os.tmpdir(), 'sat-grid-test-none.json') });
    assert.deepEqual(calls, [{ type: 'exit' }]);
  });
  let tmp: string;
  const saved = { runs: process.env.SAT_RUNS_DIR, grids: process.env.SAT_GRIDS_DIR };

  before(async () => {
    await testBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sat-grid-'));
    process.env.SAT_RUNS_DIR = path.join(tmp, 'runs');
    delete process.env.SAT_GRIDS_DIR;
  });
  after(() => {
    for (const [k, v] of [['SAT_RUNS_DIR', saved.runs], ['SAT_GRIDS_DIR', saved.grids]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a worker trains a run on a pattern-named data set (MNIST resized to 14 px), not only the named ones', async () => {
    const exp = tinyExperiment('pattern', [{ dataset: 'mnist-14px' }]);
    const grid = planGrid(exp, 'smoke');
    const lines: string[] = [];
    const pool = await runPool(grid, { workers: 1, log: (s) => lines.push(s), display: 'lines' });
    assert.deepEqual(pool.runs.map((r) => r.status), ['trained'], `${lines.join('\n')}\n${readOutcome(grid.runs[0].configFile)?.error ?? ''}`);
    assert.ok(isFinished(grid.runs[0].runDir, grid.runs[0].config));
    assert.equal(remainingCost(grid, gridStatus(grid, null)), 'nothing left to run.');
    const two = planGrid(tinyExperiment('pattern', [{ dataset: 'mnist-14px' }, { dataset: 'mnist-14px', seed: 1, epochs: 2 }]), 'smoke');
    // From the finished run's cost record: training per pass, evaluations per run.
    const m = /^1 runs left: about (\d+) CPU-minutes \(from the cost records of 1 finished run: ([\d.]+) CPU-s per epoch and training pass, (\d+) CPU-s of evaluations per run\)/.exec(remainingCost(two, gridStatus(two, null)));
    assert.ok(m, remainingCost(two, gridStatus(two, null)));
    const cost = runCost(grid.runs[0].runDir)!;
    const passes = (c: { epochs: number; attack: { steps?: number } | null }) => c.epochs * (1 + (c.attack ? c.attack.steps ?? 1 : 0));
    assert.ok(Math.abs(Number(m[2]) - cost.training / passes(grid.runs[0].config)) < 0.06, 'per pass, from the record');
    assert.equal(Number(m[1]), Math.ceil(((cost.training / passes(grid.runs[0].config)) * passes(two.runs[1].config) + (cost.total - cost.training)) / 60));
    assert.deepEqual([
      trainingPasses({ epochs: 20, attack: { type: 'pgd-linf', eps: 0.1, steps: 5 } }),
      trainingPasses({ epochs: 10, attack: { type: 'pgd-linf', eps: 0.1, steps: 1 } }),
      trainingPasses({ epochs: 10, attack: null }),
      trainingPasses({ epochs: 10, attack: { type: 'pgd-linf', eps: 0.1 } }),
    ], [120, 20, 10, 110], 'a PGD-k step is k attack passes and the training pass; unset steps are the attack\'s default (PGD: 10)');
    // Without cost records: from the worker's outcome, per epoch.
    fs.rmSync(path.join(grid.runs[0].runDir, 'cost.json'));
    assert.match(remainingCost(two, gridStatus(two, null)), /^1 runs left: about \d+ CPU-minutes \(measured: \d+ CPU-s per epoch including evaluations, over 1 finished run of this grid\)/);
  });

  it('trains every run on two worker processes; then the runs are finished and runExperiment just loads them', async () => {
    const exp = tinyExperiment('pool', [{ activation: 'relu' }, { activation: 'silu' }]);
    const grid = planGrid(exp, 'smoke');
    const lines: string[] = [];
    const pool = await runPool(grid, { workers: 2, log: (s) => lines.push(s), display: 'lines' });
    assert.equal(pool.stopped, false);
    assert.deepEqual(pool.runs.map((r) => r.status), ['trained', 'trained'], lines.join('\n'));
    assert.equal(pool.workers.length, 2);
    // Both workers start; which one takes the second run depends on which is ready first (on a
    // loaded machine the first may finish a tiny run before the second has loaded its code).
    assert.equal(pool.workers.reduce((s, w) => s + w.runs, 0), 2, 'every run on a worker');
    for (const w of pool.workers) assert.ok(w.maxRssMB > 50, `worker peak memory ${w.maxRssMB} MB`);
    for (const r of grid.runs) {
      assert.ok(isFinished(r.runDir, r.config), `${r.runDir} finished`);
      assert.equal(readOutcome(r.configFile)?.status, 'trained');
      assert.ok(!fs.existsSync(path.join(r.runDir, RUN_FILES.lock)), 'the lock is released');
      const log = fs.readFileSync(runSideFiles(r.configFile).log, 'utf8');
      assert.match(log, /epoch 1\/1/);
      assert.match(log, new RegExp(`SAT_THREADS=${threadsPerWorker(2)}\\b`), 'each worker gets its share of the cores');
    }
    assert.ok(lines.some((l) => /^run 1\/2: relu, seed 0 \(worker \d\)$/.test(l)), `progress lines name the variant:\n${lines.join('\n')}`);
    assert.ok(lines.some((l) => /2\/2 done, 0 running, 0 failed, 0 waiting/.test(l)), lines.join('\n'));

    const before = tf.memory().numTensors;
    const result = await runExperiment(exp, 'smoke', { log: noLog });
    assert.equal(tf.memory().numTensors, before, 'loading runs leaks no tensors');
    assert.deepEqual(result.runs.map((r) => r.reused), [true, true]);
    const onDisk = grid.runs.flatMap((r) => JSON.parse(fs.readFileSync(path.join(r.runDir, RUN_FILES.results), 'utf8')));
    assert.deepEqual(result.records, onDisk);
    const again = await runPool(grid, { workers: 2, log: noLog, display: 'none' });
    assert.deepEqual(again.runs.map((r) => r.status), ['finished', 'finished']);
    assert.equal(again.workers.length, 0, 'no worker is started for finished runs');
  });

  it('reports a failed run with the tail of its log and trains the others; runExperiment then says which failed', async () => {
    const exp = tinyExperiment('fail', [{ model: 'no-such-model' }, { activation: 'silu' }]);
    const grid = planGrid(exp, 'smoke');
    const lines: string[] = [];
    const pool = await runPool(grid, { workers: 2, log: (s) => lines.push(s), display: 'none' });
    assert.deepEqual(pool.runs.map((r) => r.status), ['failed', 'trained']);
    assert.match(pool.runs[0].logTail ?? '', /FAILED: .*no-such-model/);
    const report = lines.find((l) => l.includes('FAILED')) ?? '';
    assert.match(report, /run 1\/2: no-such-model, relu, seed 0: FAILED .*\n  log: .*\.log\n    .*no-such-model/);
    await assert.rejects(runExperiment(exp, 'smoke', { log: noLog }), /1 of 2 runs did not finish:\n  run 1\/2 \(no-such-model, relu, seed 0\): failed: .*no-such-model/);
  });

  it('a data set registered in this process fails in a worker (with the way out), and runExperiment trains that run here', async () => {
    registerDataset('registered-here', (o) => ({ ...loadDataset('mnist', o), source: 'MNIST under a name only this process knows' }));
    // Named like an experiment `sat grid` knows, so that runExperiment tries the pool first.
    const exp = tinyExperiment('scaling', [{ dataset: 'registered-here' }]);
    const grid = planGrid(exp, 'smoke');
    const pool = await runPool(grid, { workers: 1, log: noLog, display: 'none' });
    assert.deepEqual(pool.runs.map((r) => r.status), ['failed']);
    assert.equal(pool.runs[0].outcome?.unportable, true);
    assert.match(pool.runs[0].outcome?.error ?? '', /Data set 'registered-here' is unknown in a fresh process .*executor 'inline'/);
    const lines: string[] = [];
    const result = await runExperiment(exp, 'smoke', { log: (s) => lines.push(s), quiet: true });
    assert.equal(result.runs.length, 1);
    assert.ok(isFinished(grid.runs[0].runDir, grid.runs[0].config));
    assert.ok(lines.some((l) => /run 1\/1: .*in this process: its data set 'registered-here' exists only here/.test(l)), lines.join('\n'));
  });

  it('--fail-fast stops at the first failure', async () => {
    const grid = planGrid(tinyExperiment('failfast', [{ model: 'no-such-model' }, { seed: 1 }, { seed: 2 }]), 'smoke');
    const pool = await runPool(grid, { workers: 1, failFast: true, log: noLog, display: 'none' });
    assert.equal(pool.stopped, true);
    assert.deepEqual(pool.runs.map((r) => r.status), ['failed', 'interrupted', 'interrupted']);
  });

  it('stops every worker on request mid-run with whole files and no lock left; the next call resumes and finishes the runs', async () => {
    const grid = planGrid(tinyExperiment('stop', [{ seed: 0, trainLimit: 1000, epochs: 3 }, { seed: 1, trainLimit: 1000, epochs: 3 }]), 'smoke');
    const stop = new AbortController();
    // Stop as soon as a run has checkpointed its first epoch (so at least one is mid-run).
    const watch = setInterval(() => {
      const started = grid.runs.some((r) => fs.existsSync(path.join(r.runDir, RUN_FILES.metrics)) && fs.readFileSync(path.join(r.runDir, RUN_FILES.metrics), 'utf8').trim() !== '');
      if (started) stop.abort();
    }, 50);
    const pool = await runPool(grid, { workers: 2, display: 'none', signal: stop.signal, log: noLog }).finally(() => clearInterval(watch));
    assert.equal(pool.stopped, true);
    assert.deepEqual(pool.runs.map((r) => r.status), ['interrupted', 'interrupted']);
    for (const r of grid.runs) assert.ok(!fs.existsSync(path.join(r.runDir, RUN_FILES.lock)), `no lock left in ${r.runDir}`);
    const again = await runPool(grid, { workers: 2, log: noLog, display: 'none' });
    assert.deepEqual(again.runs.map((r) => r.status), ['trained', 'trained']);
    const logs = grid.runs.map((r) => fs.readFileSync(runSideFiles(r.configFile).log, 'utf8'));
    assert.ok(logs.some((l) => /resuming .* after epoch [12]/.test(l)), 'a stopped run resumes from its checkpoint');
  });

  it('a run whose folder a live process holds is "running elsewhere", not failed, and is trained once the lock goes', async () => {
    const grid = planGrid(tinyExperiment('locked', [{ seed: 0 }]), 'smoke');
    const lock = acquireLock(grid.runs[0].runDir, noLog);
    try {
      const pool = await runPool(grid, { workers: 1, waitForOthers: false, log: noLog, display: 'none' });
      assert.deepEqual(pool.runs.map((r) => r.status), ['elsewhere']);
      assert.equal(pool.runs[0].outcome?.holder?.pid, process.pid);
    } catch (e) {
      lock.release();
      throw e;
    }
    setTimeout(() => lock.release(), 1500);
    const pool = await runPool(grid, { workers: 1, log: noLog, display: 'none' });
    assert.deepEqual(pool.runs.map((r) => r.status), ['trained']);
  });

  it('print: one JSON line per run whose command trains that run (exit 0), or exits 75 while another process holds it', () => {
    const grid = planGrid(tinyExperiment('print', [{ seed: 0 }, { seed: 1 }]), 'smoke');
    const lines = printGrid(grid).split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[1].config, grid.runs[1].config);
    assert.equal(lines[1].finished, false);
    assert.match(lines[1].command, /lib\/grid\/worker\.ts .*print-smoke\/runs\/.*\.json$/);
    const lock = acquireLock(grid.runs[0].runDir, noLog);
    const held = spawnSync('bash', ['-c', lines[0].command], { encoding: 'utf8' });
    lock.release();
    assert.equal(held.status, WORKER_EXIT.elsewhere, held.stderr);
    assert.equal(readOutcome(grid.runs[0].configFile)?.status, 'elsewhere');
    execFileSync('bash', ['-c', lines[1].command], { stdio: 'pipe' });
    assert.ok(isFinished(grid.runs[1].runDir, grid.runs[1].config));
    assert.equal(JSON.parse(printGrid(grid).split('\n')[1]).finished, true);
  });

  it('Slurm submission skips finished runs (dry run), and status reads squeue, run folders and outcomes', () => {
    const grid = planGrid(tinyExperiment('print', [{ seed: 0 }, { seed: 1 }, { seed: 2 }]), 'smoke');
    const res = { time: '00:10:00', mem: '1G', cpusPerTask: 1 };
    const r = submitSlurm(grid, res, { dryRun: true });
    assert.deepEqual(r.finished.map((x) => x.index), [1], 'run 2 was trained by the print test');
    assert.deepEqual(fs.readFileSync(r.script!.replace(/job-(\d+)\.sh$/, 'tasks-$1.txt'), 'utf8').trim().split('\n'), [grid.runs[0].configFile, grid.runs[2].configFile]);
    assert.match(fs.readFileSync(r.script!, 'utf8'), /--array=0-1\n/);
    // As if job 41 had been submitted for runs 1 and 3 and squeue showed its tasks.
    fs.appendFileSync(path.join(grid.dir, 'slurm', 'submissions.jsonl'), JSON.stringify({ jobId: '41', at: '', script: r.script, runs: [grid.runs[0].id, grid.runs[2].id] }) + '\n');
    const rows = gridStatus(grid, new Map([['41_0', 'RUNNING'], ['41_1', 'PENDING']]));
    assert.deepEqual(rows.map((x) => x.state), ['running', 'done', 'pending']);
    assert.equal(rows[0].queue?.task, '41_0');
    const after = gridStatus(grid, new Map());
    assert.deepEqual(after.map((x) => x.state), ['running elsewhere', 'done', 'not started'], 'run 1 last ended locked (print test)');
  });

  it('sat grid: unknown experiments and misplaced options are usage errors before any work', async () => {
    await assert.rejects(gridCommand(['submit', 'no-such-experiment', '--profile', 'smoke']), /Unknown experiment 'no-such-experiment'.*\n.*relu-vs-smooth-backward/s);
    await assert.rejects(gridCommand(['submit', '01', '--partition', 'gpu']), /--partition applies to --executor slurm only/);
    await assert.rejects(gridCommand(['submit', '01', '--executor', 'slurm', '--workers', '2']), /--workers applies to --executor local only/);
    await assert.rejects(gridCommand(['submit', '01', '--executor', 'pbs']), /Unknown --executor 'pbs'. Valid values: local, slurm, print/);
  });
});
