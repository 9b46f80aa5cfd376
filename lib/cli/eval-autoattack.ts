// `sat eval --run DIR --autoattack`: AutoAttack's standard version on a trained run, with its
// breakdown table and PGD-20 on the same images beside it (lib/eval/run-autoattack.ts); the
// result is printed, then written to the run folder as evaluations/autoattack-<norm>-<eps>.json.
import * as os from 'node:os';
import * as path from 'node:path';
import { attackLabel, type AttackConfig, type AttackNorm } from '../attacks';
import { initBackend } from '../backend';
import { formatAutoAttack } from '../eval/autoattack';
import { autoAttackRun, type EvaluatedWeights } from '../eval/run-autoattack';
import type { TrainConfig } from '../train/config';
import { RunFolder } from '../train/run-folder';
import { writeFileAtomic } from '../util/fs';
import { oneOf, parseCount, parseList, UsageError } from './args';
import { refuseOtherModesOptions } from './eval-modes';

export const AUTOATTACK_HELP = `sat eval --run DIR --autoattack [options]   (AutoAttack, Croce & Hein 2020)
  --version standard  APGD-CE, APGD-T (9 targets), FAB-T (9 targets), Square (5,000 queries),
                      each on the points still robust (the only version here)
  --eps E             radius (default: the run's training eps)
  --norm linf|l2      threat model (default linf)
  --n N               test images (default 1000)
  --pgd-steps K       PGD-K on the same images beside it, 0 for none (default 20)
  --json              print the result as JSON
  --allow-unfinished  evaluate a run that is not finished or is still training (its latest checkpoint)
  Prints the result, then writes DIR/evaluations/autoattack-<norm>-<eps>.json (breakdown, result
  records, per-image flags); when that write fails the records go to the system temp folder.
  DIR/checkpoint.bin of a run that keeps its best epoch (best.bin is its model) evaluates the last
  epoch's weights instead, written as autoattack-<norm>-<eps>-last-epoch.json.`;

export interface AutoAttackCliInput {
  dir: string;
  checkpoint: string;
  config: TrainConfig;
  v: Record<string, string | boolean | undefined>;
}

export async function evalAutoAttack({ dir, checkpoint, config, v }: AutoAttackCliInput): Promise<number> {
  const str = (k: string) => v[k] as string | undefined;
  const clash = ['attack', 'steps', 'restarts', 'size'].filter((k) => v[k] !== undefined);
  if (clash.length) throw new UsageError(`--autoattack fixes its attacks: drop --${clash.join(', --')} (use --n for the number of images, --pgd-steps for the PGD beside it).`);
  refuseOtherModesOptions('autoattack', v);
  oneOf('version', str('version'), ['standard'] as const);
  const norm: AttackNorm = oneOf('norm', str('norm'), ['linf', 'l2'] as const) ?? 'linf';
  const epsList = parseList('eps', str('eps'));
  if (epsList && epsList.length !== 1) throw new UsageError(`--autoattack takes one --eps, got ${epsList.length}; run it once per radius.`);
  const eps = epsList?.[0] ?? config.attack?.eps;
  if (eps === undefined) throw new UsageError(`The run was trained without an attack, so there is no training eps: pass --eps.`);
  if (norm === 'linf' && !(eps > 0 && eps <= 1)) throw new UsageError(`--eps ${eps} is outside (0, 1] for L-inf: pixels are in [0,1], so write 8/255 as ${(8 / 255).toFixed(5)}.`);
  const n = parseCount('n', str('n'), 'test images') ?? 1000;
  const pgdSteps = parseCount('pgd-steps', str('pgd-steps'), 'PGD steps beside AutoAttack', 0) ?? 20;

  const weights = evaluatedWeights(new RunFolder(dir), checkpoint);

  await initBackend();
  const { result, pgd, name, evaluation } = await autoAttackRun(dir, config, checkpoint, { eps, norm, n, pgdSteps, label: 'autoattack', weights });
  const { robust: _flags, ...summary } = result;
  // Printed first: a failed write (full or read-only disk) must not lose the computation.
  if (v.json) console.log(JSON.stringify({ ...summary, pgd: pgd && { ...pgd, robust: undefined } }));
  else console.log(formatAutoAttack(result, pgd ? [{ label: attackLabel(pgd), accuracy: pgd.accuracy }] : []));
  try {
    console.error(`[sat] wrote ${new RunFolder(dir).writeEvaluation(name, evaluation)}`);
    return 0;
  } catch (e) {
    const aside = saveAside(`${path.basename(dir)}-${name}`, evaluation);
    throw new Error(`${(e as Error).message.replace(/\.$/, '')}. The results are printed above${aside ? `, and the full records (per-image flags) were written to ${aside} instead` : ''}.`);
  }
}

/**
 * Which of the run's weights a checkpoint file is: its model, or its last epoch's where the run
 * keeps an earlier one. The evaluation is named by it, so that the last epoch's never overwrites the model's.
 */
export function evaluatedWeights(folder: RunFolder, checkpoint: string): EvaluatedWeights {
  const file = path.resolve(checkpoint);
  if (file === path.resolve(folder.modelFile())) return 'model';
  if (file === path.resolve(folder.files.checkpoint)) return 'last-epoch';
  throw new UsageError(`${checkpoint} is neither the run's model (${folder.modelFile()}) nor its last epoch's weights (${folder.files.checkpoint}): AutoAttack names its evaluation by which of the two it evaluated. Pass the run folder, or one of those files.`);
}

/** Writes records to the system temp folder when the run folder cannot take them; the file, or null when that fails too. */
function saveAside(name: string, records: unknown): string | null {
  const file = path.join(os.tmpdir(), `sat-${name}-${Date.now()}.json`);
  try {
    writeFileAtomic(file, JSON.stringify(records, null, 1) + '\n');
    return file;
  } catch {
    return null;
  }
}

/** --norm and --queries for the attacks that take them (errors name the attacks that do). */
export function attackExtras(type: AttackConfig['type'], v: Record<string, string | boolean | undefined>): Partial<AttackConfig> {
  const hasNorm = ['apgd-ce', 'apgd-dlr', 'apgd-t', 'fab-t', 'square'].includes(type);
  const norm = oneOf('norm', v.norm as string | undefined, ['linf', 'l2'] as const);
  if (norm && !hasNorm) throw new UsageError(`--norm is for apgd-ce, apgd-dlr, apgd-t, fab-t and square; '${type}' fixes its norm by name (pgd-linf, pgd-l2).`);
  const queries = parseCount('queries', v.queries as string | undefined, "Square's query budget");
  if (queries !== undefined && type !== 'square') throw new UsageError(`--queries is for --attack square only.`);
  if (type === 'square' && v.steps !== undefined) throw new UsageError(`Square counts queries, not steps: use --queries instead of --steps.`);
  return { ...(norm ? { norm } : {}), ...(queries !== undefined ? { queries } : {}) };
}
