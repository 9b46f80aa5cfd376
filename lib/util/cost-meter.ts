// What a stage of a run costs: CPU time of this process (user + system) and wall time, with the
// machine's load, so runs trained on a shared machine can be compared by CPU time.
import * as os from 'node:os';
import { threadsFromEnv } from '../kernels/native-addon';

/** What one stage of a run cost in the process that ran it (RunFolder keeps them in cost.json). */
export interface CostEntry {
  /** 'training' (epochs fromEpoch to the end, or to an interruption), 'final evaluation', or an evaluation's name. */
  stage: string;
  /** CPU time of the process (user + system), s: compare runs by this on a shared machine. */
  cpuSeconds: number;
  /** Wall time, s. */
  seconds: number;
  /** Native-kernel threads (SAT_THREADS) and the machine's 1-minute load average at the end: how shared the machine was. */
  threads: number;
  loadAverage: number;
  host: string;
  endedAt: string;
  fromEpoch?: number;
}

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
