// `npm run bench -- --autoattack`: AutoAttack's standard version on test images of the MNIST CNN
// trained by `npm run compare` (reused when that has run, else trained first), timed per attack,
// with APGD's and PGD's iterations per second (image-iterations: images x iterations / s).
import { parseArgs } from 'node:util';
import { makeActivation, parseActivation } from '../lib/activations';
import { type LogitsFn } from '../lib/attacks';
import { describeBackend, initBackend } from '../lib/backend';
import { loadDataset, take } from '../lib/data';
import { autoAttack, formatAutoAttack } from '../lib/eval/autoattack';
import { robustFlags } from '../lib/eval/sanity';
import { mnistReluVsSilu } from '../lib/experiments/mnist-relu-vs-silu';
import { train } from '../lib/train';

export async function autoattackBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { n: { type: 'string' }, activation: { type: 'string' }, json: { type: 'boolean' }, backend: { type: 'string' } }, strict: true });
  const n = Number(values.n ?? 1000);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--n must be a positive integer (test images), got ${values.n}.`);
  console.error(describeBackend(await initBackend(values.backend)));
  const activation = values.activation ?? 'relu';
  const config = mnistReluVsSilu([activation], [0]).runs('small')[0];
  const t0 = Date.now();
  const run = await train({ ...config, experiment: 'mnist-relu-vs-silu', profile: 'small' }, { quiet: true });
  console.error(`model: ${run.runDir} (${run.reused ? 'reused from npm run compare' : `trained now in ${((Date.now() - t0) / 1000).toFixed(0)} s`})`);
  const eps = run.config.attack!.eps;
  const data = take(loadDataset(run.config.dataset, { testLimit: run.config.testLimit }).test, n);
  const act = makeActivation(parseActivation(run.config.activation));
  const logits: LogitsFn = (x) => run.model.apply(x, { training: false, act });
  const pgdSteps = 20;
  const p0 = Date.now();
  const pgdFlags = robustFlags({ name: 'compare', logits, data, seed: 0 }, { type: 'pgd-linf', eps, steps: pgdSteps }, { label: `PGD-${pgdSteps}` });
  const pgdSeconds = (Date.now() - p0) / 1000;
  const pgdAcc = pgdFlags.reduce((s, f) => s + f, 0) / n;
  // CPU time beside wall time: on a shared machine the wall clock measures the other tenants too.
  const cpu0 = process.cpuUsage();
  const result = autoAttack(logits, data, { eps, norm: 'linf', version: 'standard', seed: 0, label: 'autoattack' });
  const cpu = process.cpuUsage(cpu0);
  const cpuMinutes = (cpu.user + cpu.system) / 1e6 / 60;
  const apgd = result.stages.find((s) => s.attack === 'apgd-ce')!;
  const row = {
    images: n,
    eps,
    minutes: +(result.seconds / 60).toFixed(2),
    cpu_minutes: +cpuMinutes.toFixed(2),
    // The issue's unit: notebook 01 runs AutoAttack on 1,000 test images per model.
    cpu_minutes_per_1000_images: +((cpuMinutes * 1000) / n).toFixed(2),
    stages: Object.fromEntries(result.stages.map((s) => [s.attack, { seconds: +s.seconds.toFixed(1), attacked: s.attacked, broken: s.broken, robust: s.robustAccuracy }])),
    robust_accuracy: result.robustAccuracy,
    pgd20_accuracy: pgdAcc,
    // Every point APGD-CE attacks runs all its iterations (no early stop), so this rate is exact.
    apgd_image_iterations_per_s: +((apgd.attacked * 100) / apgd.seconds).toFixed(1),
    pgd_image_iterations_per_s: +((n * pgdSteps) / pgdSeconds).toFixed(1),
  };
  run.model.dispose();
  if (values.json) return console.log(JSON.stringify(row));
  console.log(formatAutoAttack(result, [{ label: `PGD-${pgdSteps} L∞ eps=${eps}`, accuracy: pgdAcc }]));
  console.log(`\nAutoAttack (standard) on ${n} images: ${row.minutes} min wall, ${row.cpu_minutes} min CPU (all threads), ${row.cpu_minutes_per_1000_images} CPU-minutes per 1,000 images; APGD-CE ${row.apgd_image_iterations_per_s} image-iterations/s, PGD-${pgdSteps} ${row.pgd_image_iterations_per_s} image-iterations/s (PGD-${pgdSteps} took ${pgdSeconds.toFixed(1)} s).`);
}
