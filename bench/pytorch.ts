// The PyTorch column of `npm run bench`: the same nets and SAT step in PyTorch
// (bench/pytorch_twin.py, run by Debian's /usr/bin/python3 or SAT_TORCH_PYTHON), timed in the
// same invocation, our step and PyTorch's alternating, per thread count. Our threads are the
// native addon's (setNativeThreads); without the addon ours runs on wasm's one thread whatever
// the count. Where torch does not import, one line says the column was skipped.
// One thread is timed with the bench's clock; more threads with wall time, as CPU time would sum
// the threads' work instead of measuring the step's time.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { nativeAddon, setNativeThreads } from '../lib/kernels/native-addon';
import { cpuMs } from './kernel-profile';
import { median } from '../lib/report/stats';

type Clock = 'wall' | 'cpu';

export interface PytorchRow {
  name: string;
  threads: number;
  clock: Clock;
  ours_ms: number;
  pytorch_ms: number;
  ours_over_pytorch: number;
  ours_kernels: string;
}

export interface PytorchOptions {
  models: string[];
  batch: number;
  runs: number;
  clock: Clock;
  threads: number[];
  json: boolean;
  /** One SAT step of ours for a model (bench.ts's runner). */
  makeStep: (name: string) => { step(): void; dispose(): void };
}

/** Debian's python3-torch lives behind /usr/bin/python3; the python3 first on PATH may lack it. */
export function pythonPath(): string {
  if (process.env.SAT_TORCH_PYTHON) return process.env.SAT_TORCH_PYTHON;
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/**
 * The environment PyTorch runs in. glibc's malloc hands every tensor over 128 KB back to the
 * kernel when it is freed, so each step page-faults its activations in anew: a third of PyTorch's
 * CPU time here and 4x its step time on this VM, varying with the host's load. Keeping freed
 * memory (as jemalloc and tcmalloc, which PyTorch's CPU tuning guides recommend, do) measures
 * PyTorch at its speed. `threads`, when given, sizes the thread pools before torch imports
 * (torch.set_num_threads alone leaves the BLAS's own pool). The user's settings win.
 */
export function torchEnv(threads?: number): NodeJS.ProcessEnv {
  const pools = threads === undefined ? {} : { OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  return { ...pools, MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024), MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024), ...process.env };
}

interface TwinAnswer {
  ready?: boolean;
  torch?: string;
  ms?: number[];
  error?: string;
}

class Twin {
  private readonly lines: AsyncIterableIterator<string>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  /** Starts the twin; returns it, or the reason the column is skipped. */
  static async start(): Promise<Twin | string> {
    const python = pythonPath();
    const child = spawn(python, [path.join(__dirname, 'pytorch_twin.py')], { stdio: ['pipe', 'pipe', 'pipe'], env: torchEnv() });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const started = await new Promise<string | undefined>((resolve) => {
      child.once('error', (e) => resolve(`${python} does not run (${e.message})`));
      child.once('spawn', () => resolve(undefined));
    });
    if (started) return started;
    const twin = new Twin(child);
    const first: TwinAnswer = await twin.read().catch((e: Error) => ({ error: `${e.message}${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}` }));
    if (first.ready !== true) {
      twin.close();
      return `${first.error ?? 'the twin did not start'} (with ${python}; set SAT_TORCH_PYTHON to an interpreter that has torch)`;
    }
    return twin;
  }

  private async read(): Promise<TwinAnswer> {
    const { value, done } = await this.lines.next();
    if (done) throw new Error('the PyTorch twin exited');
    return JSON.parse(value as string);
  }

  async step(net: string, batch: number, threads: number, clock: Clock): Promise<number> {
    this.child.stdin.write(`${JSON.stringify({ net, batch, threads, clock, runs: 1 })}\n`);
    const answer = await this.read();
    if (answer.error || !answer.ms) throw new Error(`PyTorch twin: ${answer.error ?? 'no time returned'}`);
    return answer.ms[0];
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Prints, per model and thread count, our SAT step, PyTorch's, and the ratio. */
export async function pytorchColumn(opts: PytorchOptions): Promise<PytorchRow[]> {
  const twin = await Twin.start();
  if (typeof twin === 'string') {
    console.log(`PyTorch column skipped: ${twin}`);
    return [];
  }
  const addon = nativeAddon();
  const initialThreads = addon?.getThreads();
  const rows: PytorchRow[] = [];
  try {
    if (!opts.json) {
      console.log(`\nSAT step side by side with PyTorch (bench/pytorch_twin.py), alternating, median of ${opts.runs}; load average ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores`);
      console.log(['model', 'threads', 'clock', 'ours ms', 'PyTorch ms', 'ours/PyTorch', 'our convs'].join('  '));
    }
    for (const name of opts.models) {
      const ours = opts.makeStep(name);
      try {
        for (const threads of opts.threads) {
          if (addon) setNativeThreads(threads);
          const clock: Clock = threads === 1 ? opts.clock : 'wall';
          const now = clock === 'cpu' ? cpuMs : () => performance.now();
          ours.step(); // warm-up at this thread count (primitives, caches)
          await twin.step(name, opts.batch, threads, clock);
          const [a, b]: [number[], number[]] = [[], []];
          for (let i = 0; i < opts.runs; i++) {
            const t0 = now();
            ours.step();
            a.push(now() - t0);
            b.push(await twin.step(name, opts.batch, threads, clock));
          }
          const row: PytorchRow = {
            name,
            threads,
            clock,
            ours_ms: round(median(a)),
            pytorch_ms: round(median(b)),
            ours_over_pytorch: round(median(a) / median(b), 2),
            ours_kernels: addon ? `native, ${threads} thread${threads === 1 ? '' : 's'}` : 'wasm, 1 thread',
          };
          rows.push(row);
          console.log(opts.json ? JSON.stringify({ pytorch: row }) : [row.name, row.threads, row.clock, row.ours_ms, row.pytorch_ms, row.ours_over_pytorch, row.ours_kernels].join('  '));
        }
      } finally {
        ours.dispose();
      }
    }
  } finally {
    twin.close();
    if (addon && initialThreads) setNativeThreads(initialThreads);
  }
  return rows;
}
