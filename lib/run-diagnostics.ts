// Notebook 07's pipeline above the study and the grid: trains what is missing of the gradient-
// quality arms (the full runs shared with notebook 01, then the trace runs), then computes or
// reads back every run's measures, written into the run folders.
import { diagnoseRun } from './diagnostics/run';
import {
  armOf, CHECKPOINT_MEASURES, type DiagnosedRun, diagnosticSettings, FULL_MEASURES, gradientQualityArms, gradientQualityTraces, measuredSeeds, shareOf,
} from './experiments/gradient-quality';
import type { Profile } from './experiments/profiles';
import { runExperiment } from './run-experiment';

export async function diagnoseStudy(profile: Profile, opts: { log?: (s: string) => void } = {}): Promise<DiagnosedRun[]> {
  const settings = diagnosticSettings(profile);
  const full = await runExperiment(gradientQualityArms(), profile, { log: opts.log });
  const traces = await runExperiment(gradientQualityTraces(), profile, { log: opts.log });
  const out: DiagnosedRun[] = [];
  const seeds = measuredSeeds(profile);
  for (const r of [...full.runs, ...traces.runs].filter((x) => seeds.includes(x.config.seed))) {
    const share = shareOf(r.config);
    const records = await diagnoseRun(r.runDir, settings, { measures: share === 1 ? FULL_MEASURES : CHECKPOINT_MEASURES });
    out.push({ arm: armOf(r.config), seed: r.config.seed, share, runDir: r.runDir, metrics: r.metrics, records });
  }
  return out;
}
