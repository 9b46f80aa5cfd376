// A pool of decoding worker threads (worker_threads). Tasks wait in a queue here and each worker
// holds at most IN_FLIGHT_PER_WORKER of them, so a worker never has more than that many files and
// decoded images in memory; results come back as transferred buffers. With 0 workers tasks run in
// the calling thread (same bytes, no parallelism). Idle workers do not keep the process alive.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { runImageTask, type ImageTask } from './task';

/** Two, so a worker reads the next file while it decodes one. */
export const IN_FLIGHT_PER_WORKER = 2;

interface Pending {
  resolve: (pixels: Uint8Array) => void;
  reject: (e: Error) => void;
}

interface Queued extends Pending {
  id: number;
  task: ImageTask;
}

/**
 * The worker runs lib/data/stream/worker.ts through tsx's CommonJS hook, so it works wherever
 * the library runs as TypeScript (tsx, mocha, the notebooks' tslab kernel) with no build step.
 */
function workerSource(): string {
  return `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(path.join(__dirname, 'worker.ts'))});`;
}

export class DecodePool {
  private readonly threads: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly queue: Queued[] = [];
  private nextId = 0;
  private failure: Error | null = null;
  private closed = false;

  constructor(readonly workers: number) {
    if (!Number.isInteger(workers) || workers < 0) throw new Error(`decoding workers must be a non-negative integer, got ${workers}`);
    for (let i = 0; i < workers; i++) {
      const w = new Worker(workerSource(), { eval: true });
      w.unref();
      w.on('message', (m: { id: number; pixels?: Uint8Array; error?: string }) => this.settle(i, m));
      w.on('error', (e) => this.fail(new Error(`decoding worker ${i} crashed: ${e.message}`)));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`decoding worker ${i} exited with code ${code}`));
      });
      this.threads.push(w);
      this.load.push(0);
    }
  }

  /** Reads, decodes and preprocesses one image. */
  run(task: ImageTask): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('the decoding pool is closed'));
    if (this.failure) return Promise.reject(this.failure);
    if (this.workers === 0) return runImageTask(task);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, resolve, reject });
      this.dispatch();
    });
  }

  /** Hands queued tasks to the least-loaded workers that have room. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      let i = 0;
      for (let k = 1; k < this.workers; k++) if (this.load[k] < this.load[i]) i = k;
      if (this.load[i] >= IN_FLIGHT_PER_WORKER) return;
      const q = this.queue.shift()!;
      if (this.load[i]++ === 0) this.threads[i].ref();
      this.pending.set(q.id, { resolve: q.resolve, reject: q.reject });
      this.threads[i].postMessage({ id: q.id, task: q.task });
    }
  }

  private settle(worker: number, m: { id: number; pixels?: Uint8Array; error?: string }): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (--this.load[worker] === 0) this.threads[worker].unref();
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.pixels!);
    this.dispatch();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(e);
    }
    for (const q of this.queue.splice(0)) q.reject(e);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error('the decoding pool was closed'));
    await Promise.all(this.threads.map((w) => w.terminate()));
  }
}
