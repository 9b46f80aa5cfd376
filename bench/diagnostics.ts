// `npm run bench -- --diagnostics`: the cost of each gradient-quality measure (lib/diagnostics)
// per 1,000 test images, at notebook 07's settings for a profile, on a trained model of its study
// (ReLU, seed 0: reused when notebook 01 or 07 trained it, else trained first). CPU time beside
// wall time: on a shared machine the wall clock measures the other tenants too.
import { parseArgs } from 'node:util';
import { describeBackend, initBackend } from '../lib/backend';
import { take } from '../lib/data';
import { computeMeasure, MEASURES, measureContext } from '../lib/diagnostics/run';
import { arms, diagnosticSettings } from '../lib/experiments/gradient-quality';
import { resolveProfile } from '../lib/experiments/profiles';
import { EXPERIMENT as STUDY, variantConfig } from '../lib/experiments/relu-vs-smooth-backward';
import { runData, train } from '../lib/train';

export async function diagnosticsBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { profile: { type: 'string' }, n: { type: 'string' }, arm: { type: 'string' }, json: { type: 'boolean' }, backend: { type: 'string' } }, strict: true });
  const profile = resolveProfile(values.profile ?? 'small');
  const settings = diagnosticSettings(profile);
  const n = Number(values.n ?? settings.n);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--n must be a positive integer (test images), got ${values.n}.`);
  const arm = arms().find((a) => a.key === (values.arm ?? 'baseline'));
  if (!arm) throw new Error(`--arm must be one of ${arms().map((a) => a.key).join(', ')}, got ${values.arm}.`);
  console.error(describeBackend(await initBackend(values.backend)));
  const run = await train({ ...variantConfig(arm, profile, 0), experiment: STUDY, profile }, { quiet: true });
  const test = take((await runData(run.config)).test, n);
  const ctx = measureContext(run.config, run.model, test);
  const rows = MEASURES.map((m) => {
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    computeMeasure(m, ctx, { ...settings, n });
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const wallS = (Date.now() - t0) / 1000;
    return { measure: m, images: test.n, cpu_s: +cpuS.toFixed(2), wall_s: +wallS.toFixed(2), cpu_s_per_1000: +((cpuS * 1000) / test.n).toFixed(1), wall_s_per_1000: +((wallS * 1000) / test.n).toFixed(1) };
  });
  ctx.dispose();
  run.model.dispose();
  if (values.json) return console.log(JSON.stringify({ profile, arm: arm.key, settings, rows }));
  console.log(`gradient-quality measures at the ${profile} settings on ${run.runDir.split('/').pop()} (${test.n} test images):`);
  console.log(`measure          CPU s   wall s   CPU s / 1,000 images   wall s / 1,000 images`);
  for (const r of rows) console.log(`${r.measure.padEnd(15)}  ${String(r.cpu_s).padStart(6)}  ${String(r.wall_s).padStart(7)}  ${String(r.cpu_s_per_1000).padStart(21)}  ${String(r.wall_s_per_1000).padStart(22)}`);
  console.log(`settings: PGD-${settings.attackSteps} curves${arm.activation === 'relu' ? ' (own and smooth-surrogate gradient)' : ''}, PGD-${settings.pgdSteps} for stability/flips/landscape, ${settings.randomPoints} random points, ${settings.linearitySteps} linearity steps, ${settings.landscapeImages} landscapes of ${settings.landscapePoints}² points (the landscape cost does not scale with images beyond the first ${settings.landscapeImages}).`);
}
