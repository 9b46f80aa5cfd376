// `sat eval`: a trained run's checkpoint against clean and PGD attacks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activationLabel, makeActivation, parseActivation } from '../activations';
import { ATTACK_TYPES, resolveAttackConfig, type UncheckedAttackConfig } from '../attacks';
import { initBackend } from '../backend';
import { take } from '../data';
import { evaluate, type ResultRecord } from '../eval';
import { formatResults } from '../eval/table';
import { checkAttacksFitInput, makeConfig, type TrainConfig } from '../train/config';
import { RunFolder } from '../train/run-folder';
import { restoreModel, runData } from '../train/trainer';
import { resolveCheckpointPrefix } from '../checkpoint';
import { releasedModelFor } from '../checkpoint/released';
import { findImageFolder } from '../data/image-folder';
import { evaluateTfCheckpoint } from '../eval/released-models';
import { PartialEvaluationError } from '../eval/stream';
import { oneOf, parse, parseCount, parseInteger, parseList, UsageError } from './args';
import { attackExtras, AUTOATTACK_HELP, evalAutoAttack } from './eval-autoattack';
import { refuseOtherModesOptions } from './eval-modes';

export const EVAL_HELP = `sat eval --run DIR [options]      (DIR: a run folder with config.json and checkpoint.bin)
  --attack TYPE       pgd-linf (default), pgd-l2, fgsm, apgd-ce, apgd-dlr, apgd-t, fab-t, square
  --norm linf|l2      threat model of apgd-*, fab-t, square (default linf)
  --queries Q         square's query budget (default 5000)
  --autoattack        AutoAttack's standard version instead (sat eval --autoattack --help)
  --eps E1,E2         radii (default: the run's training eps)
  --steps K1,K2       PGD steps (default 10; APGD and FAB-T 100)
  --restarts R        extra random restarts (default 0)
  --size N            test images (default 1000)
  --json              print result records as JSON lines
  --allow-unfinished  evaluate a run that is not finished or is still training (its latest checkpoint)

sat eval --checkpoint PREFIX --data DIR [options]   (a released SAT TensorFlow checkpoint)
  Evaluates as the official code does: its preprocessing, clean top-1 and non-targeted
  PGD-k at eps 4/255, step size 1/255, random start (README, ResNet/adv_model.py).
  --checkpoint PREFIX  e.g. data/checkpoints/Res50-silu/Res50-silu (or its folder)
  --arch NAME          resnet50, resnet101, resnet152, resnext50-32x4d, resnext50-32x8d,
                       resnext152-32x8d, efficientnet-b0 … b7, efficientnet-l1
                       (default: from the download scripts' folder name, e.g. Res50-silu)
  --activation NAME    relu, silu, gelu, elu, smoothrelu, softplus, mish (default: likewise)
  --data DIR           ImageNet val as class folders: DIR/val/<wnid>/*.JPEG (default
                       IMAGENET_DIR, else data/imagenet)
  --limit N            at most N images, spread over the classes (default: all)
  --steps K1,K2        PGD steps (default 10,20,50)
  --batch-size B       images per batch (default 16)
  --input-size S       input side (default: the release's, e.g. 224, 299, 380; b0-b7 as published)
  --ema on|off         load the ExponentialMovingAverage weights (default: on only for
                       efficientnet-bL1-enhanced, as the README evaluates it)
  --synsets FILE       the 1000 WordNet IDs in class order, for folders with a subset of classes
  --seed S             seed of PGD's random starts (default 0)
  --on-bad-image fail|skip  an unreadable image ends the evaluation (fail, default; what was
                       measured before is printed) or is left out and named in the records (skip)
  --json               print result records as JSON lines`;

/** Finds the run folder and its checkpoint from a run folder or a checkpoint file. */
function locateRun(arg: string): { run: RunFolder; checkpoint: string } {
  const p = path.resolve(arg);
  const isFile = fs.existsSync(p) && fs.statSync(p).isFile();
  const run = new RunFolder(isFile ? path.dirname(p) : p);
  const checkpoint = isFile ? p : run.modelFile();
  if (!fs.existsSync(checkpoint)) {
    throw new UsageError(`No checkpoint found: looked for ${checkpoint}. Pass a run folder made by 'sat train' (data/runs/<run-id>) or its checkpoint.bin.`);
  }
  if (!run.hasConfig()) {
    throw new UsageError(`Found ${checkpoint} but no config.json beside it in ${run.dir}; the config says which model to build.`);
  }
  return { run, checkpoint };
}

/** Whether --checkpoint names a TensorFlow checkpoint (an .index beside it) rather than a run's checkpoint.bin. */
function isTfCheckpoint(arg: string): boolean {
  try {
    resolveCheckpointPrefix(arg);
    return true;
  } catch {
    return false;
  }
}

/** `sat eval --checkpoint PREFIX`: a released TensorFlow checkpoint on an ImageNet val folder. */
async function evalTfCheckpoint(v: Record<string, string | boolean | undefined>): Promise<number> {
  const str = (k: string) => v[k] as string | undefined;
  const legacy = ['attack', 'eps', 'restarts', 'size'].filter((k) => v[k] !== undefined);
  if (legacy.length > 0) {
    throw new UsageError(`--${legacy.join(', --')} do not apply to a TensorFlow checkpoint: its evaluation is the official one (PGD L-inf, eps 4/255, step 1/255); use --steps, --limit (images) and --input-size (pixels).`);
  }
  refuseOtherModesOptions('tf', v);
  const data = str('data') ?? findImageFolder();
  if (!data) {
    throw new UsageError('sat eval --checkpoint needs ImageNet validation images: pass --data DIR (DIR/val/<wnid>/*.JPEG) or set IMAGENET_DIR; data/imagenet does not exist.');
  }
  const ema = oneOf('ema', str('ema'), ['on', 'off'] as const);
  const onBadImage = oneOf('on-bad-image', str('on-bad-image'), ['fail', 'skip'] as const) ?? 'fail';
  await initBackend(); // chosen and printed by lib/cli.ts
  const print = (records: ResultRecord[]) => console.log(v.json ? records.map((rec) => JSON.stringify(rec)).join('\n') : formatResults(records));
  const result = await evaluateTfCheckpoint({
    checkpoint: str('checkpoint')!,
    arch: str('arch'),
    activation: str('activation'),
    movingAverage: ema === undefined ? undefined : ema === 'on',
    inputSize: parseCount('input-size', str('input-size'), 'input side in pixels'),
    data,
    limit: parseCount('limit', str('limit'), 'images to evaluate; leave it out for all'),
    steps: parseList('steps', str('steps')),
    batchSize: parseCount('batch-size', str('batch-size'), 'images per batch'),
    synsets: str('synsets'),
    seed: parseInteger('seed', str('seed')),
    label: 'eval',
    onBadImage,
  }).catch((e) => {
    // What was measured before a bad image stopped the evaluation is still printed.
    if (!(e instanceof PartialEvaluationError)) throw e;
    if (e.records.length) print(e.records);
    throw new Error(`${e.message}; pass --on-bad-image skip to leave unreadable images out (they are named in the records).`);
  });
  const skipped = result.records[0]?.skippedFiles ?? [];
  // Zero images is no measurement: "clean 0.0%" would read as a broken model.
  if (result.records.length === 0 || result.records.every((rec) => rec.n === 0)) {
    throw new Error(`no image could be evaluated${skipped.length ? `: all ${skipped.length} were unreadable and skipped (${skipped.slice(0, 3).join(', ')}${skipped.length > 3 ? ', ...' : ''})` : ''}; check the --data folder (${data}).`);
  }
  if (skipped.length) console.error(`[sat] skipped ${skipped.length} unreadable image(s): ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', ...' : ''}`);
  const r = result.report;
  console.error(`[sat] loaded ${r.mapping.length} variables (${(r.elements / 1e6).toFixed(2)}M values) into ${r.arch}; ignored ${r.ignored.length} training-only variables; input ${result.inputSize}x${result.inputSize}; labels: ${result.labelSource}; ${result.seconds.toFixed(0)} s`);
  if (result.released?.readme) {
    const m = result.released.readme;
    console.error(`[sat] README (${result.released.name}, full 50k val): clean ${m.clean}%${m.pgd10 !== undefined ? `, PGD-10 ${m.pgd10}%, PGD-20 ${m.pgd20}%, PGD-50 ${m.pgd50}%` : ''}`);
  }
  print(result.records);
  return 0;
}

export async function evalCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    run: { type: 'string' }, checkpoint: { type: 'string' }, attack: { type: 'string' }, eps: { type: 'string' },
    steps: { type: 'string' }, restarts: { type: 'string' }, size: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    arch: { type: 'string' }, activation: { type: 'string' }, data: { type: 'string' }, limit: { type: 'string' }, 'batch-size': { type: 'string' },
    'input-size': { type: 'string' }, ema: { type: 'string' }, synsets: { type: 'string' }, seed: { type: 'string' }, 'on-bad-image': { type: 'string' },
    autoattack: { type: 'boolean' }, version: { type: 'string' }, norm: { type: 'string' }, n: { type: 'string' }, 'pgd-steps': { type: 'string' }, queries: { type: 'string' },
    'allow-unfinished': { type: 'boolean' },
  }, { positionals: false });
  if (v.help) return console.log(v.autoattack ? AUTOATTACK_HELP : EVAL_HELP), 0;
  if (!v.run && v.checkpoint && (v.arch || v.data || isTfCheckpoint(v.checkpoint) || releasedModelFor(v.checkpoint))) return evalTfCheckpoint(v);
  const where = v.run ?? v.checkpoint;
  if (!where) throw new UsageError('sat eval needs --run DIR (a run folder with config.json and checkpoint.bin).');
  if (v.run && v.checkpoint) throw new UsageError(`--run and --checkpoint both name what to evaluate: pass one (--run DIR for a run folder, --checkpoint PREFIX for a released TensorFlow checkpoint).`);
  if (!v.autoattack) refuseOtherModesOptions('run', v);
  const { run, checkpoint } = locateRun(where);
  const dir = run.dir;
  // A run still training, or stopped before its last epoch, has a checkpoint of an earlier epoch.
  const unfinished = run.unfinishedReason();
  if (unfinished && !v['allow-unfinished']) throw new UsageError(`${dir}: ${unfinished}. Wait for it to finish (or continue it with sat train --resume --out ${dir}), or pass --allow-unfinished to evaluate its latest checkpoint.`);
  if (unfinished) console.error(`[sat] warning: evaluating an unfinished run (${unfinished}).`);
  const config = makeConfig(run.readConfig<TrainConfig>());
  if (v.autoattack) return evalAutoAttack({ dir, checkpoint, config, v });
  // Every option is checked before the data, the model and the clean pass.
  const type = oneOf('attack', v.attack, ATTACK_TYPES) ?? 'pgd-linf';
  const ignored = (['steps', 'restarts'] as const).filter((k) => v[k] !== undefined);
  if (type === 'fgsm' && ignored.length) {
    throw new UsageError(`--attack fgsm is one step of size eps, so --${ignored.join(', --')} would be ignored: drop them, or use --attack pgd-linf.`);
  }
  const epsList = parseList('eps', v.eps) ?? [config.attack?.eps ?? 0.3];
  const steps = parseList('steps', v.steps) ?? [type.startsWith('pgd') ? 10 : undefined];
  const restarts = parseCount('restarts', v.restarts, 'extra random restarts', 0) ?? 0;
  const extra = attackExtras(type, v);
  const attacks = epsList.flatMap((eps): UncheckedAttackConfig[] => (type === 'fgsm' ? [{ type, eps }] : steps.map((k) => ({ type, eps, steps: k, restarts, ...extra })))).map(resolveAttackConfig);
  const size = parseCount('size', v.size, 'test images to evaluate') ?? 1000;
  await initBackend(); // chosen and printed by lib/cli.ts
  const data = await runData(config);
  checkAttacksFitInput(attacks, data.test);
  const model = restoreModel(config, data, checkpoint);
  try {
    const spec = parseActivation(config.activation);
    const records = evaluate(
      model,
      take(data.test, size),
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
