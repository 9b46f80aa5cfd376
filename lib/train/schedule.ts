// Learning-rate schedules over fractional epochs, with linear warm-up.
export type ScheduleConfig =
  | { type: 'constant'; warmupEpochs?: number }
  | { type: 'cosine'; warmupEpochs?: number }
  | { type: 'step'; warmupEpochs?: number; milestones: number[]; gamma: number };

/** Learning rate at fractional epoch `t` (0 ≤ t < epochs). */
export function learningRate(schedule: ScheduleConfig, baseLr: number, t: number, epochs: number): number {
  const warm = schedule.warmupEpochs ?? 0;
  if (t < warm) return (baseLr * (t + 1 / 1000)) / warm; // never exactly 0 at the very first step
  switch (schedule.type) {
    case 'constant':
      return baseLr;
    case 'cosine': {
      const p = (t - warm) / Math.max(epochs - warm, 1e-9);
      return 0.5 * baseLr * (1 + Math.cos(Math.PI * Math.min(p, 1)));
    }
    case 'step':
      return baseLr * schedule.gamma ** schedule.milestones.filter((m) => t >= m).length;
  }
}

export function validateSchedule(s: ScheduleConfig, epochs: number): void {
  const kinds = ['constant', 'cosine', 'step'];
  if (!kinds.includes(s.type)) throw new Error(`Unknown schedule '${(s as { type: string }).type}'. Valid schedules: ${kinds.join(', ')}.`);
  const warm = s.warmupEpochs ?? 0;
  if (!(warm >= 0 && warm <= epochs)) throw new Error(`warm-up epochs must be in [0, epochs=${epochs}], got ${warm}`);
  if (s.type === 'step') {
    if (!(s.gamma > 0 && s.gamma <= 1)) throw new Error(`step schedule gamma must be in (0, 1], got ${s.gamma}`);
    if (s.milestones.some((m) => !(m > 0))) throw new Error(`step schedule milestones must be positive epochs, got ${s.milestones.join(',')}`);
    const late = s.milestones.filter((m) => m >= epochs);
    if (late.length) throw new Error(`step schedule milestones ${late.join(',')} are at or past the last epoch (epochs=${epochs}), so they never apply: use milestones below ${epochs}.`);
  } else {
    const extra = (['milestones', 'gamma'] as const).filter((k) => (s as Record<string, unknown>)[k] !== undefined);
    if (extra.length) throw new Error(`${extra.join(' and ')} only apply to the step schedule, not '${s.type}': drop them, or use the step schedule (--schedule step).`);
  }
}
