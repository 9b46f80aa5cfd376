// `sat diagnose --run DIR`: the gradient-quality measures of lib/diagnostics on a finished run,
// written into its folder (evaluations/diagnostics-<measure>.json) and summarised in one line each.
import { initBackend } from '../backend';
import { diagnoseRun, type DiagnosticsRecords, MEASURES, type MeasureName } from '../diagnostics/run';
import { diagnosticSettings } from '../experiments/gradient-quality';
import { resolveProfile } from '../experiments/profiles';
import type { TrainConfig } from '../train/config';
import { RunFolder } from '../train/run-folder';
import { parse, parseCount, parseNumber, UsageError } from './args';

export const DIAGNOSE_HELP = `sat diagnose --run DIR [options]   (gradient quality: notebook 07)
  --measures LIST     comma-separated, of: ${MEASURES.join(', ')} (default all)
  --profile P         sizes of the measures (default: the run's profile, else small)
  --n N               test images (the first N; default from the profile)
  --eps E             L-inf radius (default: the run's training eps)
  --steps K           PGD steps of the attacker-strength curve (default from the profile)
  --force             compute again even when the folder holds the same measure
  --json              print the records as JSON
  Writes DIR/evaluations/diagnostics-<measure>.json; a measure already there with the same
  settings is read back, not computed again.`;

const pct = (k: number, n: number) => `${k}/${n} (${((100 * k) / n).toFixed(1)}%)`;

/** One line per measure, from the numbers. */
export function describeDiagnostics(r: DiagnosticsRecords): string[] {
  const lines: string[] = [];
  const a = r['attacker-steps'];
  if (a) {
    const curve = (name: string, c: NonNullable<typeof a.smooth>) => {
      const k = c.steps.length - 1;
      return `${name}: cross-entropy ${c.crossEntropy[0].toFixed(3)} -> ${c.crossEntropy[k].toFixed(3)}, margin ${c.margin[0].toFixed(3)} -> ${c.margin[k].toFixed(3)}, broken ${pct(c.broken[k], c.n)} after ${k} steps`;
    };
    lines.push(`attacker steps   ${curve('own gradient', a.own)}${a.smooth ? `; ${curve('smooth surrogate', a.smooth)}` : ''}`);
  }
  if (r.stability) lines.push(`stability        gradient cosine with random points ${r.stability.mean.randomPoint.toFixed(3)}, consecutive PGD steps ${r.stability.mean.consecutive.toFixed(3)}, perturbations of two restarts ${r.stability.mean.restarts.toFixed(3)}`);
  if (r.linearity) lines.push(`linearity        largest deviation from the first-order Taylor expansion (Qin et al.): mean ${r.linearity.mean.toFixed(4)} over ${r.linearity.perImage.length} images`);
  if (r.nonsmoothness) {
    const { flips, norms } = r.nonsmoothness;
    const sorted = [...norms.l1].sort((x, y) => x - y);
    lines.push(`nonsmoothness    pre-activation sign flips x -> x_adv per layer: ${flips.map((f) => `${(100 * f.share).toFixed(1)}%`).join(', ')}; input-gradient L1 norm median ${sorted[Math.floor(sorted.length / 2)].toExponential(2)}, zero ${pct(norms.zero, norms.n)}, near zero ${pct(norms.nearZero, norms.n)}`);
  }
  if (r.landscape) {
    const { t, meanLoss } = r.landscape.adversarial;
    const at = (v: number) => meanLoss[t.findIndex((x) => x >= v)];
    lines.push(`landscape        mean loss along x -> x_adv: ${at(0).toFixed(3)} at x, ${at(1).toFixed(3)} at x_adv, ${at(2).toFixed(3)} at twice the step; ${r.landscape.slices.length} 2-D slices`);
  }
  return lines;
}

export async function diagnoseCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(
    argv,
    { run: { type: 'string' }, measures: { type: 'string' }, profile: { type: 'string' }, n: { type: 'string' }, eps: { type: 'string' }, steps: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    { positionals: false },
  );
  if (v.help) return console.log(DIAGNOSE_HELP), 0;
  if (!v.run) throw new UsageError('sat diagnose needs --run DIR (a finished run folder made by sat train, data/runs/<run-id>).');
  const measures = v.measures?.split(',').map((m) => m.trim()) as MeasureName[] | undefined;
  const unknown = measures?.filter((m) => !MEASURES.includes(m));
  if (unknown?.length) throw new UsageError(`Unknown --measures '${unknown.join(', ')}'. Valid: ${MEASURES.join(', ')}.`);
  const run = new RunFolder(v.run);
  const config = run.readConfig<TrainConfig>();
  if (!run.hasCheckpoint() || !run.hasResults()) throw new UsageError(`${run.dir} holds no finished run (no checkpoint.bin or results.json): finish its training first.`);
  let profile;
  try {
    profile = resolveProfile(v.profile ?? config.profile);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const settings = diagnosticSettings(profile);
  const eps = parseNumber('eps', v.eps) ?? config.attack?.eps ?? settings.eps;
  if (!(eps > 0 && eps <= 1)) throw new UsageError(`--eps ${eps} is outside (0, 1]: pixels are in [0,1], so write 8/255 as ${(8 / 255).toFixed(5)}.`);
  const steps = parseCount('steps', v.steps, 'PGD steps') ?? settings.attackSteps;
  const s = { ...settings, eps, attackStepSize: eps / 4, n: parseCount('n', v.n, 'test images') ?? settings.n, attackSteps: steps };
  await initBackend();
  const records = await diagnoseRun(run.dir, s, { measures, force: Boolean(v.force), log: (line) => console.error(line) });
  if (v.json) console.log(JSON.stringify(records));
  else console.log(describeDiagnostics(records).join('\n'));
  console.error(`[sat] records in ${run.dir}/evaluations/ (diagnostics-*.json)`);
  return 0;
}
