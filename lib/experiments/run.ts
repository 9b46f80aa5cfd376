// Runs every config of an experiment (reusing finished runs) and gathers the result records.
import type { ResultRecord } from '../eval';
import { train, type TrainOptions, type TrainResult } from '../train';
import { type Profile, profileNote } from './profiles';
import type { Experiment } from './types';

export interface ExperimentResult {
  profile: Profile;
  runs: TrainResult[];
  records: ResultRecord[];
}

export async function runExperiment(exp: Experiment, profile: Profile, opts: Omit<TrainOptions, 'runDir'> & { log?: (s: string) => void } = {}): Promise<ExperimentResult> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const configs = exp.runs(profile);
  log(`[sat] ${exp.title}: ${configs.length} runs; ${profileNote(profile)}`);
  const runs: TrainResult[] = [];
  for (const [i, c] of configs.entries()) {
    log(`[sat] run ${i + 1}/${configs.length}: ${c.model} ${c.activation} seed ${c.seed ?? 0}`);
    const r = await train({ ...c, experiment: exp.name, profile }, opts);
    r.model.dispose();
    runs.push(r);
  }
  return { profile, runs, records: runs.flatMap((r) => r.results) };
}
