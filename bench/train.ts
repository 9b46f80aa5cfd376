// `npm run bench -- --train`: training throughput on notebook 01's study configuration (real
// Fashion-MNIST images, MNIST CNN width 16, batch 128, SAT with PGD-1 at eps 0.1, SGD lr 0.05,
// momentum 0.9, weight decay 5e-4) beside a plain PyTorch loop of the same design over the same
// images (bench/pytorch_train.py, run by /usr/bin/python3 or SAT_TORCH_PYTHON). One epoch over
// the first --images training images per measurement; ours and PyTorch's alternate, per
// activation and thread count, for --rounds rounds, so that both see the same load; medians, and
// the median of each round's ratio, are printed. Images per second of wall time, and per second
// of the process's CPU time (all its threads): on a shared machine the wall clock also measures
// the other tenants, and at one thread CPU time is the steadier measure; on a VM even CPU time
// drifts with the host's load, which only a ratio of back-to-back runs cancels. Untimed warm-up
// step first.
// The task pgd20 times PGD-20 evaluation (eps 0.1, as the study evaluates) of the first
// --eval-images test images the same way: lib/eval's accuracy() against PyTorch's loop.
// Usage: tsx bench/bench.ts --train [--tasks train,pgd20] [--images 16384] [--eval-images 1000] [--rounds 2] [--activations relu,silu] [--threads 1,2] [--json]
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeActivation, parseActivation } from '../lib/activations';
import { makeAttack } from '../lib/attacks';
import { describeBackend, initBackend } from '../lib/backend';
import { parse, parseInteger, parseList, UsageError } from '../lib/cli/args';
import { batches, disposeBatch, loadDataset, take, type ImageDataset } from '../lib/data';
import { accuracy } from '../lib/eval';
import { findFashionMnist } from '../lib/data/fashion-mnist';
import { FASHION_EPS, trainAttack } from '../lib/experiments/relu-vs-smooth-backward';
import { nativeAddon, setNativeThreads } from '../lib/kernels/native-addon';
import { buildModel } from '../lib/models';
import { isDecayed } from '../lib/models/layers';
import { satStep, Sgd } from '../lib/train';
import { pythonPath, torchEnv } from './pytorch';
import { median } from '../lib/report/stats';

const BATCH = 128;
const LR = 0.05;
/** lib/eval's batch size. */
const EVAL_BATCH = 100;

/** Images per second of wall time and of CPU time. */
interface Rate {
  wall: number;
  cpu: number;
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** One epoch of our SAT training (after one untimed step). */
function oursEpoch(ds: ImageDataset, activation: string, threads: number): Rate {
  if (nativeAddon()) setNativeThreads(threads);
  const model = buildModel('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 0, width: 16 });
  const sgd = new Sgd(model.params, { momentum: 0.9, nesterov: false, weightDecay: 5e-4, decays: isDecayed });
  const act = makeActivation(parseActivation(activation));
  const attack = makeAttack(trainAttack(FASHION_EPS));
  const step = (b: { x: never; y: never }, seed: number) => satStep(model, sgd, b.x, b.y, { attack, attackerAct: act, trainerAct: act, labelSmoothing: 0, lr: LR, seed });
  try {
    for (const b of batches(ds, { batchSize: BATCH })) {
      step(b as never, -1); // warm-up: primitives, caches, the heap's size
      disposeBatch(b);
      break;
    }
    const [t0, c0] = [performance.now(), cpuSeconds()];
    let seed = 0;
    for (const b of batches(ds, { batchSize: BATCH, shuffleSeed: 0 })) {
      step(b as never, seed++);
      disposeBatch(b);
    }
    return { wall: ds.n / ((performance.now() - t0) / 1000), cpu: ds.n / (cpuSeconds() - c0) };
  } finally {
    sgd.dispose();
    model.dispose();
  }
}

/** PGD-20 evaluation of `test` as lib/eval runs it (after one untimed batch). */
function oursPgd20(test: ImageDataset, activation: string, threads: number): Rate {
  if (nativeAddon()) setNativeThreads(threads);
  const model = buildModel('mnist-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 0, width: 16 });
  const opts = { act: makeActivation(parseActivation(activation)), batchSize: EVAL_BATCH };
  const attack = { type: 'pgd-linf' as const, eps: FASHION_EPS, steps: 20 };
  try {
    accuracy(model, take(test, EVAL_BATCH), attack, opts);
    const [t0, c0] = [performance.now(), cpuSeconds()];
    accuracy(model, test, attack, opts);
    return { wall: test.n / ((performance.now() - t0) / 1000), cpu: test.n / (cpuSeconds() - c0) };
  } finally {
    model.dispose();
  }
}

/** PyTorch's epoch (or PGD-20 evaluation), or the reason it did not run. */
function pytorchRun(task: Task, dir: string, images: number, activation: string, threads: number): Rate | string {
  const args = [path.join(__dirname, 'pytorch_train.py'), '--task', task, '--dir', dir, '--images', String(images), '--batch', String(BATCH), '--activation', activation, '--threads', String(threads), '--eps', String(FASHION_EPS)];

  const r = spawnSync(pythonPath(), args, { encoding: 'utf8', env: torchEnv(threads) });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    const answer = JSON.parse(last) as { images_per_s?: number; images_per_cpu_s?: number; error?: string };
    if (answer.images_per_s && answer.images_per_cpu_s) return { wall: answer.images_per_s, cpu: answer.images_per_cpu_s };
    return answer.error ?? 'no result';
  } catch {
    return `${pythonPath()} failed: ${(r.stderr || String(r.error ?? '')).trim().split('\n').pop()}`;
  }
}

const TASKS = ['train', 'pgd20'] as const;
type Task = (typeof TASKS)[number];


export async function trainBench(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    images: { type: 'string' }, 'eval-images': { type: 'string' }, tasks: { type: 'string' }, rounds: { type: 'string' }, activations: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' },
  });
  const images = parseInteger('images', values.images) ?? 16384;
  const evalImages = parseInteger('eval-images', values['eval-images']) ?? 1000;
  const tasks = (values.tasks ?? TASKS.join(',')).split(',').map((t) => t.trim());
  for (const t of tasks) if (!(TASKS as readonly string[]).includes(t)) throw new UsageError(`--tasks: '${t}' is not one of ${TASKS.join(', ')}.`);
  if (evalImages < EVAL_BATCH) throw new UsageError(`--eval-images must be at least ${EVAL_BATCH} (one batch).`);
  const rounds = parseInteger('rounds', values.rounds) ?? 2;
  const threads = parseList('threads', values.threads) ?? [1, 2];
  const activations = (values.activations ?? 'relu,silu').split(',').map((a) => a.trim());
  if (images < BATCH || rounds < 1) throw new UsageError(`--images must be at least ${BATCH} (one batch) and --rounds at least 1.`);
  if (threads.some((t) => !Number.isInteger(t) || t < 1)) throw new UsageError('--threads takes positive integers, e.g. 1,2.');
  for (const a of activations) if (!['relu', 'silu'].includes(a)) throw new UsageError(`--activations: the PyTorch loop has relu and silu, not '${a}'.`);
  const dir = findFashionMnist();
  if (!dir) throw new UsageError('--train needs Fashion-MNIST (sudo apt-get install dataset-fashion-mnist, or FASHION_MNIST_DIR).');
  const info = await initBackend(undefined, true);
  const data = loadDataset('fashion-mnist', { trainLimit: images, testLimit: evalImages });
  const ds = data.train;
  const load0 = os.loadavg()[0];
  if (!values.json) {
    console.log(
      `${describeBackend(info)}\nMNIST CNN width 16 on real Fashion-MNIST: SAT training, one epoch of ${ds.n} images, batch ${BATCH}, PGD-1 eps ${FASHION_EPS}; ` +
        `PGD-20 evaluation of ${data.test.n} test images, batch ${EVAL_BATCH}; ours and PyTorch alternating, ${rounds} round(s); load average ${load0.toFixed(1)} on ${os.availableParallelism()} cores`,
    );
  }
  const results = new Map<string, { ours: Rate[]; pytorch: Rate[]; skipped?: string }>();
  for (let round = 0; round < rounds; round++) {
    for (const task of tasks as Task[]) {
      for (const activation of activations) {
        for (const t of threads) {
          const key = `${task}|${activation}|${t}`;
          const r = results.get(key) ?? { ours: [], pytorch: [] };
          results.set(key, r);
          r.ours.push(task === 'train' ? oursEpoch(ds, activation, t) : oursPgd20(data.test, activation, t));
          const theirs = pytorchRun(task, dir, task === 'train' ? ds.n : data.test.n, activation, t);
          if (typeof theirs === 'string') r.skipped = theirs;
          else r.pytorch.push(theirs);
          const show = (x: Rate) => `${x.wall.toFixed(0)} images/s (${x.cpu.toFixed(0)} per CPU-second)`;
          if (!values.json) console.error(`round ${round + 1}: ${task}, ${activation}, ${t} thread(s): ours ${show(r.ours.at(-1)!)}, PyTorch ${typeof theirs === 'string' ? theirs : show(theirs)}`);
        }
      }
    }
  }
  const load1 = os.loadavg()[0];
  const summary = (xs: Rate[], clock: keyof Rate) => {
    const v = xs.map((x) => x[clock]);
    return { median: Math.round(median(v)), range: [Math.round(Math.min(...v)), Math.round(Math.max(...v))] };
  };
  const rows = [...results].map(([key, r]) => {
    const [task, activation, t] = key.split('|');
    const clocks = (['wall', 'cpu'] as const).map((clock) => {
      const ours = summary(r.ours, clock);
      const pytorch = r.pytorch.length ? summary(r.pytorch, clock) : null;
      // Each round's ours / PyTorch, measured back to back: this machine's speed drifts by 2x over
      // minutes (a VM whose host is shared; the guest sees no steal time), which a ratio of
      // medians over rounds far apart would take for a difference between the two.
      const paired = r.pytorch.length === r.ours.length ? median(r.ours.map((o, i) => o[clock] / r.pytorch[i][clock])) : null;
      return { clock, ours, pytorch, ratio: pytorch ? +(ours.median / pytorch.median).toFixed(2) : null, paired: paired === null ? null : +paired.toFixed(2) };
    });
    return { task, activation, threads: Number(t), wall: clocks[0], cpu: clocks[1], ...(r.skipped ? { pytorch_skipped: r.skipped } : {}) };
  });
  if (values.json) return void console.log(JSON.stringify({ images: ds.n, evalImages: data.test.n, rounds, load: [load0, load1], rows }));
  const cell = (s: { median: number; range: number[] } | null) => (s ? `${s.median} (${s.range.join('-')})` : 'skipped');
  console.log('\n| task | activation | threads | ours images/s | PyTorch images/s | ours / PyTorch | ours per CPU-s | PyTorch per CPU-s | ours / PyTorch (CPU) |\n|---|---|---|---|---|---|---|---|---|');
  // Ratios: the median of the rounds' paired ratios (each round's ours over its PyTorch).
  for (const r of rows) console.log(`| ${r.task === 'train' ? 'SAT training' : 'PGD-20 eval'} | ${r.activation} | ${r.threads} | ${cell(r.wall.ours)} | ${cell(r.wall.pytorch)} | ${r.wall.paired ?? '-'} | ${cell(r.cpu.ours)} | ${cell(r.cpu.pytorch)} | ${r.cpu.paired ?? '-'} |`);
  if (rows.some((r) => r.pytorch_skipped)) console.log(`PyTorch skipped: ${rows.find((r) => r.pytorch_skipped)!.pytorch_skipped}`);
  console.log(`medians (ranges) of ${rounds} round(s); ratios: median over rounds of each round's ours / PyTorch; load average ${load0.toFixed(1)} before, ${load1.toFixed(1)} after`);
}
