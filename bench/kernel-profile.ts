// Per-kernel CPU time on a backend (the wasm and cpu backends run on one thread, and CPU
// time is steadier than wall time on a shared machine): wraps every registered kernel of that backend with a
// timer. Times are exclusive (a kernel built from other kernels, like ours, is charged only
// for its own glue), so they add up to the total; a kernel run inside another is listed as
// 'Outer>Inner'.
import * as tf from '@tensorflow/tfjs';

/** CPU time of this process so far, in ms. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

export interface KernelTime {
  name: string;
  calls: number;
  ms: number;
}

export class KernelProfiler {
  private readonly times = new Map<string, KernelTime>();
  private readonly originals: tf.KernelConfig[] = [];

  constructor(private readonly backendName: string) {}

  start(): void {
    const stack: Array<{ name: string; nested: number }> = []; // open kernels, time in their nested kernels
    for (const config of tf.getKernelsForBackend(this.backendName)) {
      this.originals.push(config);
      const inner = config.kernelFunc;
      const kernelFunc: tf.KernelFunc = (args) => {
        const name = stack.length ? `${stack[stack.length - 1].name}>${config.kernelName}` : config.kernelName;
        const frame = { name, nested: 0 };
        stack.push(frame);
        const t0 = cpuMs();
        try {
          return inner(args);
        } finally {
          const total = cpuMs() - t0;
          stack.pop();
          if (stack.length > 0) stack[stack.length - 1].nested += total;
          const entry = this.times.get(name) ?? { name, calls: 0, ms: 0 };
          entry.calls++;
          entry.ms += total - frame.nested;
          this.times.set(name, entry);
        }
      };
      tf.unregisterKernel(config.kernelName, this.backendName);
      tf.registerKernel({ ...config, kernelFunc });
    }
  }

  stop(): KernelTime[] {
    for (const config of this.originals) {
      tf.unregisterKernel(config.kernelName, this.backendName);
      tf.registerKernel(config);
    }
    this.originals.length = 0;
    return [...this.times.values()].sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.times.clear();
  }
}
