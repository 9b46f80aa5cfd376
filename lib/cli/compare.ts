// `sat compare`: the quick start. Trains ReLU and SiLU models with SAT on real MNIST and
// prints their clean and PGD accuracy.
import { initBackend } from '../backend';
import { formatResults } from '../eval/table';
import { compareSummary, mnistReluVsSilu } from '../experiments/mnist-relu-vs-silu';
import { profileNote, resolveProfile } from '../experiments/profiles';
import { runExperiment } from '../run-experiment';
import { parse, parseList } from './args';

export const COMPARE_HELP = `sat compare [--profile smoke|small|paper] [--activations relu,silu] [--seeds 0,1,2] [--retrain]
  Trains one model per activation and seed with SAT on real MNIST (PGD-1, random start, step = eps)
  and prints clean and PGD accuracy, and each activation against the first, paired by seed with a
  95% confidence interval (one seed, the default, has none: pass --seeds 0,1,2 for one).
  Finished runs in data/runs are reused unless --retrain.`;

export async function compareCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    profile: { type: 'string' }, activations: { type: 'string' }, seeds: { type: 'string' },
    retrain: { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean' },
  }, { positionals: false });
  if (v.help) return console.log(COMPARE_HELP), 0;
  const profile = resolveProfile(v.profile);
  const backend = await initBackend(); // chosen and printed by lib/cli.ts
  const exp = mnistReluVsSilu(v.activations?.split(',') ?? ['relu', 'silu'], parseList('seeds', v.seeds) ?? [0]);
  const t0 = Date.now();
  const result = await runExperiment(exp, profile, { reuse: !v.retrain, force: v.retrain, quiet: v.quiet });
  console.log(`\n${exp.title} — ${profileNote(profile)}`);
  console.log(formatResults(result.records));
  console.log('');
  for (const line of compareSummary(result.records, v.activations?.split(',') ?? ['relu', 'silu'])) console.log(line);
  const trained = result.runs.filter((r) => !r.reused);
  const rates = trained.flatMap((r) => r.metrics.map((m) => m.images_per_s));
  if (rates.length) console.log(`training speed: ${(rates.reduce((a, b) => a + b, 0) / rates.length).toFixed(0)} images/s (SAT with ${trained[0].config.attack ? 'PGD-' + (trained[0].config.attack.steps ?? 1) : 'no attack'}) on ${backend.name}`);
  console.log(`took ${((Date.now() - t0) / 1000).toFixed(0)} s; runs in ${result.runs.map((r) => r.runDir).join(', ')}`);
  return 0;
}
