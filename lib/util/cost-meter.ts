// What a stage of a run costs: CPU time of this process (user + system) and wall time, with the
// machine's load, so runs trained on a shared machine can be compared by CPU time.
import * as os from 'node:os';
import { threadsFromEnv } from '../kernels/native-addon';
import type { CostEntry } from '../train/run-folder';

/** Starts a meter; `stop(stage)` gives the CostEntry of everything since. */
export function startCostMeter(): { stop: (stage: string, extra?: Pick<CostEntry, 'fromEpoch'>) => CostEntry } {
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  return {
    stop: (stage, extra = {}) => {
      const cpu = process.cpuUsage(cpu0);
      return {
        stage, cpuSeconds: (cpu.user + cpu.system) / 1e6, seconds: (Date.now() - t0) / 1000,
        threads: threadsFromEnv(), loadAverage: os.loadavg()[0], host: os.hostname(), endedAt: new Date().toISOString(), ...extra,
      };
    },
  };
}
