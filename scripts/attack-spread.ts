// The spread of our attacks over their random seeds (issue 23): one SAT SiLU model of notebook
// 01's small design (Fashion-MNIST, seed 0), AutoAttack's standard version and PGD-20 each run
// with attack seeds 0, 1, 2 on the same test images; per stage, how many images each seed breaks,
// and per pair of seeds, McNemar's exact test on the final per-image robust flags.
// Usage: npx tsx scripts/attack-spread.ts [--n 200] [--out results/attack-spread/sat-silu-small.json] [--gradient-stages] [--seeds 0,1,2]
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { makeActivation, parseActivation } from '../lib/activations';
import { type LogitsFn } from '../lib/attacks';
import { describeBackend, initBackend } from '../lib/backend';
import { loadDataset, take } from '../lib/data';
import { autoAttack, standardAttacks } from '../lib/eval/autoattack';
import { robustFlags } from '../lib/eval/sanity';
import { VARIANTS, variantConfig } from '../lib/experiments/relu-vs-smooth-backward';
import { mcnemarExact } from '../lib/report/stats';
import { train } from '../lib/train';
import { writeFileAtomic } from '../lib/util/fs';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { n: { type: 'string' }, out: { type: 'string' }, arm: { type: 'string' }, seeds: { type: 'string' }, 'gradient-stages': { type: 'boolean' } }, strict: true });
  const n = Number(values.n ?? 200);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--n must be a positive whole number of test images, got ${values.n}`);
  const out = values.out ?? 'results/attack-spread/sat-silu-small.json';
  const arm = VARIANTS.find((v) => v.key === (values.arm ?? 'sat-silu'));
  if (!arm) throw new Error(`--arm must be one of ${VARIANTS.map((v) => v.key).join(', ')}, got ${values.arm}`);
  console.error(describeBackend(await initBackend()));
  const run = await train({ ...variantConfig(arm, 'small', 0), experiment: 'attack-spread', profile: 'small' }, { quiet: true });
  const eps = run.config.attack!.eps;
  const data = take(loadDataset(run.config.dataset, { testLimit: run.config.testLimit }).test, n);
  const act = makeActivation(parseActivation(run.config.activation));
  const logits: LogitsFn = (x) => run.model.apply(x, { training: false, act });
  const seeds = (values.seeds ?? '0,1,2').split(',').map(Number);
  if (seeds.some((x) => !Number.isInteger(x) || x < 0)) throw new Error(`--seeds must be whole numbers >= 0 separated by commas, got ${values.seeds}`);
  const result: Record<string, unknown> = { model: run.runDir, arm: arm.key, n, eps, seeds, pgd: [], autoattack: [] };
  const save = () => writeFileAtomic(out, JSON.stringify(result, null, 1));
  const count = (f: Uint8Array) => f.reduce((s, v) => s + v, 0);
  const pgdFlags: Uint8Array[] = [];
  const aaFlags: Uint8Array[] = [];
  for (const seed of seeds) {
    const t0 = Date.now();
    const f = robustFlags({ name: arm.key, logits, data, seed }, { type: 'pgd-linf', eps, steps: 20 });
    pgdFlags.push(f);
    (result.pgd as unknown[]).push({ seed, robust: count(f), seconds: (Date.now() - t0) / 1000 });
    save();
    // --gradient-stages: APGD-CE and APGD-T only (the stages whose spread is in question; a
  // stage's result does not depend on the stages after it), to fit a loaded 2-core machine.
  const stages = values['gradient-stages'] ? { version: 'custom' as const, attacks: standardAttacks(eps, 'linf', data.numClasses).slice(0, 2) } : {};
  const aa = autoAttack(logits, data, { eps, seed, label: `AA seed ${seed}`, warn: () => {}, ...stages });
    aaFlags.push(aa.robust);
    (result.autoattack as unknown[]).push({ seed, clean: Math.round(aa.clean * n), robust: count(aa.robust), stages: aa.stages.map((s) => ({ label: s.label, attacked: s.attacked, broken: s.broken, robust: Math.round(s.robustAccuracy * n), seconds: s.seconds })) });
    save();
    console.error(`seed ${seed}: PGD-20 robust ${count(f)}/${n}, AutoAttack robust ${count(aa.robust)}/${n} (${aa.stages.map((s) => `${s.label} -${s.broken}`).join(', ')})`);
  }
  const pairs = seeds.flatMap((_, a) => seeds.map((__, b) => [a, b]).filter(([i, j]) => i < j));
  result.mcnemar = {
    pgd: pairs.map(([a, b]) => ({ seeds: [seeds[a], seeds[b]], ...mcnemarExact([...pgdFlags[a]].map(Boolean), [...pgdFlags[b]].map(Boolean)) })),
    autoattack: pairs.map(([a, b]) => ({ seeds: [seeds[a], seeds[b]], ...mcnemarExact([...aaFlags[a]].map(Boolean), [...aaFlags[b]].map(Boolean)) })),
  };
  save();
  console.log(JSON.stringify(result, null, 1));
  run.model.dispose();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
