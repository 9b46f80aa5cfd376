// `sat eval`: a trained run's checkpoint against clean and PGD attacks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activationLabel, makeActivation, parseActivation } from '../activations';
import { ATTACK_TYPES, type AttackConfig } from '../attacks';
import { describeBackend, initBackend } from '../backend';
import { loadDataset, take } from '../data';
import { evaluate } from '../eval';
import { formatResults } from '../eval/table';
import { makeConfig, type TrainConfig } from '../train/config';
import { modelFor } from '../train/trainer';
import { loadCheckpoint } from '../train/run-checkpoint';
import { oneOf, parse, parseInteger, parseList, UsageError } from './args';

export const EVAL_HELP = `sat eval --run DIR [options]      (DIR: a run folder with config.json and checkpoint.bin)
  --attack TYPE       pgd-linf (default), pgd-l2, fgsm
  --eps E1,E2         radii (default: the run's training eps)
  --steps K1,K2       PGD steps (default 10)
  --restarts R        extra random restarts (default 0)
  --size N            test images (default 1000)
  --json              print result records as JSON lines`;

/** Finds config.json and checkpoint.bin from a run folder or a checkpoint file. */
function locateRun(arg: string): { dir: string; checkpoint: string } {
  const p = path.resolve(arg);
  const dir = fs.existsSync(p) && fs.statSync(p).isFile() ? path.dirname(p) : p;
  const checkpoint = fs.existsSync(p) && fs.statSync(p).isFile() ? p : path.join(dir, 'checkpoint.bin');
  if (!fs.existsSync(checkpoint)) {
    throw new UsageError(`No checkpoint found: looked for ${checkpoint}. Pass a run folder made by 'sat train' (data/runs/<run-id>) or its checkpoint.bin.`);
  }
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    throw new UsageError(`Found ${checkpoint} but no config.json beside it in ${dir}; the config says which model to build.`);
  }
  return { dir, checkpoint };
}

export async function evalCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    run: { type: 'string' }, checkpoint: { type: 'string' }, attack: { type: 'string' }, eps: { type: 'string' },
    steps: { type: 'string' }, restarts: { type: 'string' }, size: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
  });
  if (v.help) return console.log(EVAL_HELP), 0;
  const where = v.run ?? v.checkpoint;
  if (!where) throw new UsageError('sat eval needs --run DIR (a run folder with config.json and checkpoint.bin).');
  const { dir, checkpoint } = locateRun(where);
  const config = makeConfig(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as TrainConfig);
  const backend = await initBackend();
  console.error(`[sat] ${describeBackend(backend)}`);
  const data = loadDataset(config.dataset, { testLimit: config.testLimit });
  const model = modelFor(config, data);
  try {
    loadCheckpoint(checkpoint, { params: model.params, state: model.state });
    const type = oneOf('attack', v.attack, ATTACK_TYPES) ?? 'pgd-linf';
    const epsList = parseList('eps', v.eps) ?? [config.attack?.eps ?? 0.3];
    const steps = parseList('steps', v.steps) ?? [10];
    const restarts = parseInteger('restarts', v.restarts) ?? 0;
    const attacks = epsList.flatMap((eps): AttackConfig[] => (type === 'fgsm' ? [{ type, eps }] : steps.map((k) => ({ type, eps, steps: k, restarts }))));
    const spec = parseActivation(config.activation);
    const records = evaluate(
      model,
      take(data.test, parseInteger('size', v.size) ?? 1000),
      attacks,
      { run: path.basename(dir), experiment: config.experiment, dataset: data.test.name, synthetic: data.test.synthetic, model: config.model, activation: activationLabel(spec), attackerGradient: config.attackerGradient, trainerGradient: config.trainerGradient, seed: config.seed, profile: config.profile },
      { act: makeActivation(spec), seed: config.seed, label: 'eval' },
    );
    console.log(v.json ? records.map((r) => JSON.stringify(r)).join('\n') : formatResults(records));
    return 0;
  } finally {
    model.dispose();
  }
}
