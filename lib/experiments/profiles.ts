// Scale profiles: one experiment, three sizes. smoke proves the pipeline runs (its numbers
// mean nothing), small is for a laptop CPU, paper is the paper's setting for a GPU.
export const PROFILES = ['smoke', 'small', 'paper'] as const;
export type Profile = (typeof PROFILES)[number];

/** The profile from the argument, else SAT_PROFILE, else 'small'. */
export function resolveProfile(explicit?: string): Profile {
  const p = explicit ?? process.env.SAT_PROFILE ?? 'small';
  if (!PROFILES.includes(p as Profile)) {
    throw new Error(`Unknown profile '${p}' (from --profile or SAT_PROFILE). Valid profiles: ${PROFILES.join(', ')}.`);
  }
  return p as Profile;
}

/** What a reader must be told next to numbers from this profile. */
export function profileNote(p: Profile): string {
  switch (p) {
    case 'smoke':
      return 'smoke profile: a pipeline check on tiny data and few steps; these numbers prove nothing.';
    case 'small':
      return 'small profile: a CPU-sized run; trends are indicative, absolute numbers are not the paper\'s.';
    case 'paper':
      return 'paper profile: the paper\'s settings.';
  }
}
