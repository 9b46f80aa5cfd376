// `npm run bench`: forward-pass and SAT-step times per model on the chosen backend.
// A SAT step is what training does per batch: a PGD-1 input-gradient pass (the attack) plus
// one SGD step on the perturbed batch (the library's satStep, tf.variableGrads inside).
// PGD-10 evaluation of a batch is what `sat eval` does per batch: ten input-gradient passes and
// the forward pass that counts the right answers (lib/eval correctOnBatch).
// Usage: tsx bench/bench.ts [--models reference,mnist-cnn,preact-resnet18] [--batch 64]
//        [--runs 5] [--eval-runs N (default --runs; 0 skips PGD-10)] [--backend wasm|cpu|tensorflow] [--clock wall|cpu] [--profile] [--json]
//        [--pytorch auto|off] [--threads 1,2]  (the PyTorch column: bench/pytorch.ts, where torch imports)
//        --diagnostics [--profile small] [--n 200] [--arm baseline]: notebook 07's measures per 1,000 images (bench/diagnostics.ts)
//        --train: training throughput on the study's real configuration beside PyTorch (bench/train.ts)
// --clock cpu times by this process's CPU time: steadier than wall time on a busy machine, and
// the same on an idle one for the single-threaded wasm and cpu backends (not for tensorflow).
// SAT_WASM_KERNELS=0 runs wasm without our gradient kernels (conv training then fails).
import * as tf from '@tensorflow/tfjs';
import { makeActivation } from '../lib/activations';
import { makeAttack } from '../lib/attacks';
import { describeBackend, initBackend } from '../lib/backend';
import { oneOf, parse, parseInteger, parseList, UsageError } from '../lib/cli/args';
import { wasmKernelsEnabled } from '../lib/kernels';
import { buildModel, modelNames, type Model } from '../lib/models';
import { correctOnBatch } from '../lib/eval';
import { Progress } from '../lib/util/progress';
import { satStep, Sgd } from '../lib/train';
import { cpuMs, KernelProfiler } from './kernel-profile';
import { referenceNet } from './reference-net';
import { median } from '../lib/report/stats';

const DEFAULT_MODELS = ['reference', 'mnist-cnn', 'preact-resnet18'];

export type Clock = 'wall' | 'cpu';

export interface BenchResult {
  name: string;
  backend: string;
  batch: number;
  forward_ms: number;
  /** null when the SAT step cannot run (see error). */
  sat_step_ms: number | null;
  step_over_forward: number | null;
  images_per_s: number | null;
  /** One batch through PGD-10 (eps 8/255) and a forward pass, as `sat eval` runs it. */
  pgd10_eval_ms: number | null;
  pgd10_eval_images_per_s: number | null;
  clock: Clock;
  error?: string;
}

/** Runs fn; returns its error's first line, or undefined when it succeeded. */
function attempt(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}


function makeModel(name: string): Model {
  if (name === 'reference') return referenceNet();
  if (!modelNames().includes(name)) {
    throw new UsageError(`Unknown model '${name}' for --models. Valid: reference, ${modelNames().join(', ')}.`);
  }
  const inputShape: [number, number, number] = name === 'mnist-cnn' ? [28, 28, 1] : [32, 32, 3];
  return buildModel(name, { inputShape, numClasses: 10, seed: 0 });
}

/** Milliseconds of one call of `fn`, which must finish its work (read a value) before returning. */
function timeOnce(fn: () => void, clock: Clock): number {
  const now = clock === 'cpu' ? cpuMs : () => performance.now();
  const t0 = now();
  fn();
  return now() - t0;
}

interface Runner {
  forward(): void;
  step(): void;
  pgd10(): void;
  dispose(): void;
}

function runner(model: Model, batch: number): Runner {
  const act = makeActivation('relu');
  const x = tf.randomUniform([batch, ...model.inputShape], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.tidy(() => tf.cast(tf.floor(tf.randomUniform([batch], 0, model.numClasses, 'float32', 2)), 'int32')) as tf.Tensor1D;
  const attack = makeAttack({ type: 'pgd-linf', eps: 8 / 255, steps: 1 });
  const evalAttack = makeAttack({ type: 'pgd-linf', eps: 8 / 255, steps: 10 });
  const logits = (input: tf.Tensor4D) => model.apply(input, { training: false, act });
  const sgd = new Sgd(model.params, { momentum: 0.9, nesterov: false, weightDecay: 5e-4, decays: (n) => n.endsWith('/kernel') });
  let seed = 0;
  return {
    forward: () => tf.tidy(() => void logits(x).dataSync()),
    pgd10: () => void correctOnBatch(logits, evalAttack, x, y, seed++),
    step: () => void satStep(model, sgd, x, y, { attack, attackerAct: act, trainerAct: act, labelSmoothing: 0, lr: 0.01, seed: seed++ }),
    dispose: () => {
      tf.dispose([x, y]);
      sgd.dispose();
      model.dispose();
    },
  };
}

export function benchModel(name: string, backend: string, batch: number, runs: number, clock: Clock = 'wall', evalRuns = runs): BenchResult {
  const r = runner(makeModel(name), batch);
  try {
    // Warm-up (XNNPACK operators, weight packing); without our kernels conv gradients throw here.
    r.forward();
    const stepError = attempt(r.step);
    // A PreAct ResNet-18 takes minutes: a progress line (stderr) per timed call.
    const progress = new Progress({ label: `bench ${name}`, total: runs * (stepError ? 3 : 4) + (evalRuns > 0 ? evalRuns + 1 : 0), unit: 'calls' });
    let done = 0;
    const tick = () => progress.update(++done, done);
    const timed = (fn: () => void) => {
      const ms = timeOnce(fn, clock);
      tick();
      return ms;
    };
    // Forward passes and steps alternate, so that a slow spell of a shared machine (which also
    // inflates CPU time on a VM) hits both alike and their ratio stays put; three forward passes
    // per step, as a short measurement is the noisier one.
    const forwards: number[] = [];
    const steps: number[] = [];
    for (let i = 0; i < runs; i++) {
      for (let j = 0; j < 3; j++) forwards.push(timed(r.forward));
      if (!stepError) steps.push(timed(r.step));
    }
    const forward = median(forwards);
    const step = stepError ? null : median(steps);
    let pgd10: number | null = null;
    if (evalRuns > 0) {
      const evalError = attempt(r.pgd10); // warm-up
      tick();
      if (!evalError) pgd10 = median(Array.from({ length: evalRuns }, () => timed(r.pgd10)));
    }
    const perSecond = (ms: number | null) => (ms === null ? null : round((batch * 1000) / ms));
    return {
      name,
      backend,
      batch,
      forward_ms: round(forward),
      sat_step_ms: step === null ? null : round(step),
      step_over_forward: step === null ? null : round(step / forward, 2),
      images_per_s: perSecond(step),
      pgd10_eval_ms: pgd10 === null ? null : round(pgd10),
      pgd10_eval_images_per_s: perSecond(pgd10),
      clock,
      ...(stepError ? { error: stepError } : {}),
    };
  } finally {
    r.dispose();
  }
}

/** Per-kernel time of SAT steps, to find what dominates. */
function profileModel(name: string, backend: string, batch: number, runs: number): string {
  const r = runner(makeModel(name), batch);
  try {
    r.step();
    const profiler = new KernelProfiler(backend);
    profiler.start();
    for (let i = 0; i < runs; i++) r.step();
    const times = profiler.stop();
    const total = times.reduce((s, t) => s + t.ms, 0);
    return times
      .filter((t) => t.ms / total >= 0.005)
      .map((t) => `  ${t.name.padEnd(36)} ${(t.ms / runs).toFixed(1).padStart(9)} ms ${((100 * t.ms) / total).toFixed(1).padStart(5)}%  ${t.calls / runs} calls`)
      .join('\n');
  } finally {
    r.dispose();
  }
}

function count(n: number, noun: string, plural = 's'): string {
  return `${n} ${noun}${n === 1 ? '' : plural}`;
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

const HEAD = ['model', 'backend', 'batch', 'forward ms', 'SAT step ms', 'step/forward', 'SAT images/s', 'PGD-10 eval ms', 'eval images/s'];

function cells(r: BenchResult): string[] {
  return [r.name, r.backend, r.batch, r.forward_ms, r.sat_step_ms ?? 'fails', r.step_over_forward ?? '-', r.images_per_s ?? '-', r.pgd10_eval_ms ?? '-', r.pgd10_eval_images_per_s ?? '-'].map(String);
}

/** A table row printer with widths fixed up front, so that each row can print as soon as it is measured. */
function rowPrinter(models: string[], backend: string): (cells: string[]) => string {
  const widths = HEAD.map((h, i) => Math.max(h.length, i === 0 ? Math.max(...models.map((m) => m.length)) : i === 1 ? backend.length : 0));
  return (row) => row.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
}

async function main(): Promise<void> {
  if (process.argv.includes('--grid')) return (await import('./grid')).gridBench(process.argv.slice(2).filter((a) => a !== '--grid'));
  if (process.argv.includes('--autoattack')) return (await import('./autoattack')).autoattackBench(process.argv.slice(2).filter((a) => a !== '--autoattack'));
  if (process.argv.includes('--diagnostics')) return (await import('./diagnostics')).diagnosticsBench(process.argv.slice(2).filter((a) => a !== '--diagnostics'));
  if (process.argv.includes('--train')) return (await import('./train')).trainBench(process.argv.slice(2).filter((a) => a !== '--train'));
  if (process.argv.includes('--pipeline')) return (await import('./pipeline')).pipelineBench(process.argv.slice(2).filter((a) => a !== '--pipeline'));
  const { values } = parse(process.argv.slice(2), {
    models: { type: 'string' },
    batch: { type: 'string' },
    runs: { type: 'string' },
    'eval-runs': { type: 'string' },
    backend: { type: 'string' },
    clock: { type: 'string' },
    profile: { type: 'boolean' },
    json: { type: 'boolean' },
    pytorch: { type: 'string' },
    threads: { type: 'string' },
  });
  const models = values.models ? values.models.split(',').map((m) => m.trim()) : DEFAULT_MODELS;
  const batch = parseInteger('batch', values.batch) ?? 64;
  const runs = parseInteger('runs', values.runs) ?? 5;
  const evalRuns = parseInteger('eval-runs', values['eval-runs']) ?? runs;
  if (batch < 1 || runs < 1 || evalRuns < 0) throw new UsageError('--batch and --runs must be at least 1, --eval-runs at least 0.');
  const clock = oneOf('clock', values.clock, ['wall', 'cpu'] as const) ?? 'wall';
  const pytorch = oneOf('pytorch', values.pytorch, ['auto', 'off'] as const) ?? 'auto';
  const threads = parseList('threads', values.threads) ?? [1, 2];
  if (threads.some((t) => !Number.isInteger(t) || t < 1)) throw new UsageError('--threads takes positive integers, e.g. 1,2.');
  const info = await initBackend(values.backend, true);
  const backend = info.name === 'wasm' && !wasmKernelsEnabled() ? 'wasm-tfjs-kernels' : info.name;
  const kernels = info.name === 'wasm' ? (wasmKernelsEnabled() ? '; our wasm kernels on' : '; our wasm kernels OFF (SAT_WASM_KERNELS)') : '';
  if (!values.json) console.log(`${describeBackend(info)}${kernels}; median ${clock} time after warm-up of ${count(runs, 'SAT step')}, ${count(3 * runs, 'forward pass', 'es')}, ${count(evalRuns, 'PGD-10 evaluation')}`);
  for (const name of models) makeModel(name).dispose(); // fail fast on a bad name, before any timing
  const line = rowPrinter(models, backend);
  if (!values.json) console.log(line(HEAD));
  for (const name of models) {
    const result = benchModel(name, backend, batch, runs, clock, evalRuns);
    console.log(values.json ? JSON.stringify(result) : line(cells(result)));
    if (result.error && !values.json) console.log(`${name}: the SAT step fails: ${result.error}`);
    if (values.profile) console.error(`${name}: time per SAT step by kernel\n${profileModel(name, info.name, batch, runs)}`);
  }
  if (pytorch === 'auto') {
    await (await import('./pytorch')).pytorchColumn({ models, batch, runs, clock, threads, json: Boolean(values.json), makeStep: (name) => runner(makeModel(name), batch) });
  }
}

if (require.main === module) {
  main().catch((e: Error) => {
    console.error(e instanceof UsageError ? `bench: ${e.message}` : `bench failed: ${e.message}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  });
}
