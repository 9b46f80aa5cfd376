import type { TrainConfig } from '../train/config';
import type { Profile } from './profiles';

/** A declarative experiment: the runs it needs at each profile. */
export interface Experiment {
  name: string;
  /** What it reproduces, one line. */
  title: string;
  runs(profile: Profile): Partial<TrainConfig>[];
}
