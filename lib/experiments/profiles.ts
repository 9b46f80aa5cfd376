// Scale profiles: one experiment, four sizes. smoke proves the pipeline runs (its numbers mean
// nothing); small is what a 2-core CPU finishes in tens of minutes; medium is the powered design
// of the studies that have one (more data, training to convergence, full test sets, strong
// attacks: hours on a CPU); paper is the largest setting each experiment defines (for 02/03 the
// paper's ImageNet models, which need a GPU and the data).
export const PROFILES = ['smoke', 'small', 'medium', 'paper'] as const;
export type Profile = (typeof PROFILES)[number];

/** The profile from the argument, else SAT_PROFILE, else 'small'. */
export function resolveProfile(explicit?: string): Profile {
  const p = explicit ?? process.env.SAT_PROFILE ?? 'small';
  if (!PROFILES.includes(p as Profile)) {
    throw new Error(`Unknown profile '${p}' (from --profile or SAT_PROFILE). Valid profiles: ${PROFILES.join(', ')}.`);
  }
  return p as Profile;
}

/**
 * The profile an experiment without a design of its own at `p` runs: medium falls back to small
 * (say so where it happens: see profileNote's `fallback`).
 */
export function designedProfile(p: Profile, designed: readonly Profile[] = ['smoke', 'small', 'paper']): Profile {
  return designed.includes(p) ? p : 'small';
}

/** What a reader must be told next to numbers from this profile. */
export function profileNote(p: Profile): string {
  switch (p) {
    case 'smoke':
      return 'smoke profile: a pipeline check on tiny data and few steps; these numbers prove nothing.';
    case 'small':
      return 'small profile: what a 2-core CPU finishes in tens of minutes; small data, short training, few seeds: read the intervals, not the means.';
    case 'medium':
      return 'medium profile: the powered design (more data, longer training, full test sets, stronger attacks, at least 5 seeds) where a study defines one; hours on a CPU.';
    case 'paper':
      return "paper profile: each experiment's largest setting: the paper's ImageNet models and recipe for notebooks 02 and 03 (GPU and ImageNet needed); for the 28-px studies (01, 05, the quick start) a longer, wider run of the same small models, not the paper's setting.";
  }
}
