// What a notebook's conclusion is written from: a control arm's check that can fail (the
// baseline trained longer must not differ from it), and one sentence per contrast of a family
// from its Holm verdict. The study supplies the words; the numbers come from here.
import { compareArms, type ArmValue, type Contrast } from './compare';
import type { PairedDifference, Verdict } from './stats';

export interface ControlCheck {
  endpoint: string;
  delta: (PairedDifference & { seeds: number[] }) | null;
  state: 'converged' | 'not converged' | 'pending';
}

/**
 * A control arm that must not beat the baseline (e.g. the baseline trained twice as long):
 * converged when its paired difference on the endpoint has a 95% interval that contains 0 with
 * an upper bound below `marginPoints`; pending below `minPairs` seed pairs.
 */
export function controlCheck(endpoint: { name: string; values: readonly ArmValue[] }, opts: { baseline: string; control: string; marginPoints: number; minPairs?: number }): ControlCheck {
  const delta = compareArms(endpoint.values, { baseline: opts.baseline, arms: [opts.control] })[0]?.delta ?? null;
  if (!delta || delta.n < (opts.minPairs ?? 5)) return { endpoint: endpoint.name, delta, state: 'pending' };
  const ok = !delta.note && delta.ciLow <= 0 && delta.ciHigh >= 0 && 100 * delta.ciHigh < opts.marginPoints;
  return { endpoint: endpoint.name, delta, state: ok ? 'converged' : 'not converged' };
}

/** A difference in [0, 1] as signed points: "+2.3", "−0.4". */
const points = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}`;
const interval = (d: PairedDifference) => `${points(d.mean)} points [${points(d.ciLow)}, ${points(d.ciHigh)}]`;

/**
 * One contrast in a sentence: its paired difference, Holm p, the verdict in the study's words
 * (`phrases`), and the smallest difference the design detects (unadjusted, and at Holm's strictest
 * level, which its Holm verdict reaches for sure); pending without enough pairs.
 */
export function contrastSentence(c: Contrast | undefined, o: { arm: string; baseline: string; endpoint: string; phrases: Record<Verdict, string>; minPairs?: number }): string {
  const head = `${o.arm} vs ${o.baseline} on ${o.endpoint}`;
  if (!c || c.verdictHolm === 'pending') return `${head}: pending (${c?.pairs ?? 0} of ${o.minPairs ?? 5} seed pairs needed for a verdict).`;
  return `${head}: ${interval(c.delta!)} over ${c.pairs} paired seeds (Holm p = ${c.pHolm.toPrecision(2)}): ${o.phrases[c.verdictHolm]}; this design detects ${(100 * c.minimumDetectable).toFixed(1)} points with 80% power at alpha 0.05, ${(100 * c.minimumDetectableHolm).toFixed(1)} at Holm's strictest level.`;
}

/** The control check in a sentence; `control` names the control arm in words. */
export function controlSentence(check: ControlCheck, control: string, minPairs = 5): string {
  return check.state === 'pending'
    ? `Convergence (control): pending (${check.delta?.n ?? 0} of ${minPairs} seed pairs).`
    : `Convergence (control): ${check.state}; ${control} moves ${check.endpoint} by ${interval(check.delta!)}.`;
}
