// `sat train`: one SAT run from command-line options.
import * as path from 'node:path';
import { ACTIVATIONS, GRADIENT_MODES } from '../activations';
import type { AttackConfig } from '../attacks';
import { formatResults } from '../eval/table';
import { DEFAULT_CONFIG, train, TrainingInterrupted, TRAINING_ATTACKS, type TrainConfig } from '../train';
import { datasetNames } from '../data';
import { modelNames } from '../models';
import { oneOf, parse, parseCount, parseInteger, parseList, parseNumber, UsageError } from './args';
import { SIGNAL_EXIT_CODES, stopOnSignals } from './signals';

/** The help text, with the data sets, models and activations read from their registries. */
export function trainHelp(): string {
  return `sat train [options]
  --dataset NAME         ${wrapList(datasetNames(), 25)} (default mnist)
  --train-limit N        use only the first N training images
  --test-limit N         use only the first N test images
  --model NAME           ${wrapList(modelNames(), 25)} (default mnist-cnn)
  --width N              model width (mnist-cnn: 16, preact-resnet18: 64)
  --activation NAME      ${wrapList([...ACTIVATIONS], 25)}
                         (psoftplus:a, celu:alpha, smoothrelu:beta and elu:alpha take a parameter; gelu is exact,
                         gelu-tanh the official code's; smoothrelu-learnable trains beta, as the official code)
  --attacker-grad MODE   own | smooth: gradient of the attacker's pass (smooth = sigmoid(a·x))
  --trainer-grad MODE    own | smooth: gradient of the trainer's pass
  --surrogate-a A        a of the smooth surrogate gradient (default 10)
  --attack TYPE          fgsm, pgd-linf (default), pgd-l2, none (standard training)
  --eps E                attack radius, e.g. 0.3 or 8/255
  --steps K              attack steps (default 1)
  --step-size S          attack step size (default eps for 1 step)
  --epochs N  --batch-size N  --lr LR  --momentum M  --nesterov
  --weight-decay WD      applied to conv/dense kernels only
  --label-smoothing S    --schedule cosine|step|constant  --warmup EPOCHS
  --milestones E1,E2     --gamma G   (step schedule)
  --augment              the data set's standard augmentation
  --eval-steps K1,K2     PGD steps of the final evaluation (default 10)
  --eval-eps E1,E2       eps of the final evaluation (default: the training eps)
  --eval-size N          test images evaluated at the end (default 1000)
  --val-size N           hold out N training images (fixed seed) as a validation split: the per-epoch
                         evaluation then runs on it, never on the test set
  --epoch-eval-size N    images evaluated after every epoch, clean and attacked (default with --val-size:
                         min(N, 1000); without it 0, none)
  --epoch-eval-steps K   PGD steps of that per-epoch attack, random start, step eps/4 (default: the
                         training attack; a multi-step attack shows catastrophic overfitting)
  --keep-best            keep the epoch with the best validation adversarial accuracy as the model
                         (early stopping by checkpoint selection, best.bin; needs --val-size)
  --seed N               --experiment NAME  --quiet
  --out DIR              run folder (default data/runs/<run-id>, named by the options)
  --resume               continue the run in the folder from its checkpoint
  --force                discard the run already in the folder and train from scratch
                         (a finished run of the same options is reused, never retrained, without it)
  --backend NAME         tensorflow, wasm or cpu (default: the fastest that loads; or SAT_BACKEND)
                         Ctrl-C stops after the current step (whole files; continue with --resume)
  --max-steps N          train at most N steps in all, then evaluate (a truncated run; part of its config)
  --max-minutes M        stop after M minutes with a checkpoint; continue later with --resume
  --checkpoint-every-steps N, --checkpoint-every-minutes M
                         also checkpoint inside an epoch (resume continues at that step exactly)
  --attack-clean-start P share of batches whose attack starts at the clean image (SAT's official code: 0.2)`;
}

/** The validation split, the per-epoch evaluation on it and keep-best, into `c`; refused before any work when they cannot work together. */
function validationOptions(v: Record<string, string | boolean | undefined>, c: Partial<TrainConfig>): void {
  const valSize = parseCount('val-size', v['val-size'] as string | undefined, 'training images held out for validation');
  const evalSize = v['epoch-eval-size'] === '0' ? 0 : parseCount('epoch-eval-size', v['epoch-eval-size'] as string | undefined, 'images evaluated after every epoch (0: none)');
  const evalSteps = parseCount('epoch-eval-steps', v['epoch-eval-steps'] as string | undefined, 'PGD steps of the per-epoch attack');
  if (v['keep-best'] && !valSize) throw new UsageError('--keep-best picks the epoch on a validation split: add --val-size N (for example 5000), so that the test set is never used to choose.');
  if (v['keep-best'] && evalSize === 0) throw new UsageError('--keep-best needs a per-epoch evaluation: drop --epoch-eval-size 0, or give it a positive number.');
  const attack = c.attack === undefined ? DEFAULT_CONFIG.attack : c.attack;
  if (evalSteps !== undefined && !attack) throw new UsageError('--epoch-eval-steps sets the per-epoch PGD attack, which takes its eps from the training attack, and --attack none has none: drop it, or train with an attack.');
  if (valSize !== undefined) c.valSize = valSize;
  const size = evalSize ?? (valSize ? Math.min(valSize, 1000) : undefined);
  if (size !== undefined) c.epochEvalSize = size;
  if (evalSteps !== undefined && attack) c.epochEvalAttack = { type: attack.type === 'pgd-l2' ? 'pgd-l2' : 'pgd-linf', eps: attack.eps, steps: evalSteps, stepSize: attack.eps / 4, randomStart: true };
  if (v['keep-best']) c.keep = 'best-val-adv';
}

/** Names joined by ', ' and wrapped so that continuation lines start at column `indent`. */
function wrapList(names: string[], indent: number, width = 100): string {
  const lines: string[] = [''];
  for (const n of names) {
    const last = lines[lines.length - 1];
    const piece = last ? `${last}, ${n}` : n;
    if (indent + piece.length > width && last) lines.push(n);
    else lines[lines.length - 1] = piece;
  }
  return lines.join(`,\n${' '.repeat(indent)}`);
}

/** For a bare word like `sat train mnist silu`: the option the user probably meant. */
function suggestOption(word: string): string | undefined {
  if (datasetNames().includes(word)) return `--dataset ${word}`;
  if (modelNames().includes(word)) return `--model ${word}`;
  if ((ACTIVATIONS as readonly string[]).includes(word.split(':')[0])) return `--activation ${word}`;
  if ([...TRAINING_ATTACKS, 'none'].includes(word as never)) return `--attack ${word}`;
  return undefined;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    dataset: { type: 'string' }, 'train-limit': { type: 'string' }, 'test-limit': { type: 'string' },
    model: { type: 'string' }, width: { type: 'string' }, activation: { type: 'string' },
    'attacker-grad': { type: 'string' }, 'trainer-grad': { type: 'string' }, 'surrogate-a': { type: 'string' },
    attack: { type: 'string' }, eps: { type: 'string' }, steps: { type: 'string' }, 'step-size': { type: 'string' },
    epochs: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' }, momentum: { type: 'string' },
    nesterov: { type: 'boolean' }, 'weight-decay': { type: 'string' }, 'label-smoothing': { type: 'string' },
    schedule: { type: 'string' }, warmup: { type: 'string' }, milestones: { type: 'string' }, gamma: { type: 'string' },
    augment: { type: 'boolean' }, 'eval-steps': { type: 'string' }, 'eval-eps': { type: 'string' }, 'eval-size': { type: 'string' },
    seed: { type: 'string' }, experiment: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, force: { type: 'boolean' },
    quiet: { type: 'boolean' }, backend: { type: 'string' }, help: { type: 'boolean' },
    'max-steps': { type: 'string' }, 'max-minutes': { type: 'string' }, 'checkpoint-every-steps': { type: 'string' },
    'checkpoint-every-minutes': { type: 'string' }, 'attack-clean-start': { type: 'string' },
    'val-size': { type: 'string' }, 'epoch-eval-size': { type: 'string' }, 'epoch-eval-steps': { type: 'string' }, 'keep-best': { type: 'boolean' },
  }, { positionals: false, suggest: suggestOption });
  if (v.help) return console.log(trainHelp()), 0;
  const c: Partial<TrainConfig> = {};
  const set = <K extends keyof TrainConfig>(k: K, x: TrainConfig[K] | undefined) => {
    if (x !== undefined) c[k] = x;
  };
  set('dataset', v.dataset);
  set('trainLimit', parseCount('train-limit', v['train-limit'], 'training images to use; leave it out for all'));
  set('testLimit', parseCount('test-limit', v['test-limit'], 'test images to load; leave it out for all'));
  set('model', v.model);
  set('width', parseCount('width', v.width, "the model's width; leave it out for its default"));
  set('activation', v.activation);
  set('attackerGradient', oneOf('attacker-grad', v['attacker-grad'], GRADIENT_MODES));
  set('trainerGradient', oneOf('trainer-grad', v['trainer-grad'], GRADIENT_MODES));
  set('surrogateA', parseNumber('surrogate-a', v['surrogate-a']));
  set('epochs', parseCount('epochs', v.epochs, 'passes over the training images'));
  set('batchSize', parseCount('batch-size', v['batch-size'], 'images per step'));
  set('lr', parseNumber('lr', v.lr));
  set('momentum', parseNumber('momentum', v.momentum));
  set('nesterov', v.nesterov);
  set('weightDecay', parseNumber('weight-decay', v['weight-decay']));
  set('labelSmoothing', parseNumber('label-smoothing', v['label-smoothing']));
  set('augment', v.augment);
  set('seed', parseInteger('seed', v.seed));
  set('experiment', v.experiment);
  set('maxSteps', parseCount('max-steps', v['max-steps'], 'training steps in all'));
  set('attackCleanStart', parseNumber('attack-clean-start', v['attack-clean-start']));
  const type = oneOf('schedule', v.schedule, ['cosine', 'step', 'constant'] as const) ?? 'cosine';
  const warmupEpochs = parseNumber('warmup', v.warmup) ?? 0;
  if (type !== 'step' && (v.milestones !== undefined || v.gamma !== undefined)) {
    throw new UsageError(`--milestones and --gamma only apply to --schedule step, not ${type}: drop them, or add --schedule step.`);
  }
  c.schedule = type === 'step'
    ? { type, warmupEpochs, milestones: parseList('milestones', v.milestones) ?? [], gamma: parseNumber('gamma', v.gamma) ?? 0.1 }
    : { type, warmupEpochs };
  const attackType = oneOf('attack', v.attack, [...TRAINING_ATTACKS, 'none'] as const);
  const eps = parseNumber('eps', v.eps);
  const stepOptions = (['steps', 'step-size'] as const).filter((k) => v[k] !== undefined);
  if (attackType === 'none' && (eps !== undefined || stepOptions.length)) {
    throw new UsageError(`--attack none trains on clean images, so --${[...(eps !== undefined ? ['eps'] : []), ...stepOptions].join(', --')} would be ignored: drop them, or choose an attack.`);
  }
  if (attackType === 'fgsm' && stepOptions.length) {
    throw new UsageError(`--attack fgsm is one step of size eps, so --${stepOptions.join(', --')} would be ignored: drop them, or use --attack pgd-linf for several steps.`);
  }
  if (attackType === 'none') c.attack = null;
  else if (attackType || eps !== undefined || v.steps || v['step-size']) {
    const e = eps ?? 0.3;
    const steps = parseInteger('steps', v.steps) ?? 1;
    c.attack = { type: attackType ?? 'pgd-linf', eps: e, steps, stepSize: parseNumber('step-size', v['step-size']) ?? (steps === 1 ? e : undefined), randomStart: steps > 1 };
  }
  const evalSteps = parseList('eval-steps', v['eval-steps']) ?? [10];
  const evalEps = parseList('eval-eps', v['eval-eps']) ?? [c.attack?.eps ?? eps ?? 0.3];
  const evalType = c.attack?.type === 'pgd-l2' ? 'pgd-l2' : 'pgd-linf';
  const attacks: AttackConfig[] = evalEps.flatMap((e) => evalSteps.map((k) => ({ type: evalType, eps: e, steps: k }) as AttackConfig));
  c.evaluation = { size: parseCount('eval-size', v['eval-size'], 'test images evaluated at the end') ?? 1000, attacks };
  validationOptions(v, c);
  if (v.resume && v.force) throw new UsageError('--resume continues the run in the folder and --force discards it: pass one of them.');
  const stop = stopOnSignals();
  let r: Awaited<ReturnType<typeof train>>;
  try {
    r = await train(c, {
      runDir: v.out ? path.resolve(v.out) : undefined, resume: Boolean(v.resume), force: v.force, quiet: v.quiet, signal: stop.signal,
      maxMinutes: parseNumber('max-minutes', v['max-minutes']),
      checkpointEverySteps: parseCount('checkpoint-every-steps', v['checkpoint-every-steps'], 'steps between mid-epoch checkpoints'),
      checkpointEveryMinutes: parseNumber('checkpoint-every-minutes', v['checkpoint-every-minutes']),
    });
  } catch (e) {
    const received = stop.received();
    if (e instanceof TrainingInterrupted && received) {
      console.error(`sat train: ${e.message}`);
      return SIGNAL_EXIT_CODES[received];
    }
    if (e instanceof TrainingInterrupted) {
      // --max-minutes: a planned stop, resumable; exit 3 tells a job script to resubmit.
      console.error(`sat train: ${e.message}`);
      return 3;
    }
    throw e;
  } finally {
    stop.dispose();
  }
  r.model.dispose();
  // Said even with --quiet: the run was not trained again.
  if (r.reused && v.quiet) console.error(`[sat] reusing finished run ${r.runDir} (same options); pass --force to train it again.`);
  console.log(formatResults(r.results));
  console.log(`run folder: ${r.runDir}`);
  return 0;
}
