import type { RunEvaluationSpec } from '../eval/run-evaluations';
import type { TrainConfig } from '../train/config';
import type { Profile } from './profiles';

/** A declarative experiment: the runs it needs at each profile. */
export interface Experiment {
  name: string;
  /** What it reproduces, one line. */
  title: string;
  runs(profile: Profile): Partial<TrainConfig>[];
  /** Evaluations every finished run gets beyond its own results (e.g. AutoAttack), written into its run folder. */
  evaluations?(profile: Profile): RunEvaluationSpec[];
  /** Profiles whose finished runs go into the committed results store (results/<name>-<profile>/). */
  storedProfiles?: readonly Profile[];
}
