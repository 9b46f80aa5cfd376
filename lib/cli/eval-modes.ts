// The three forms of `sat eval` and the options each reads: --run DIR (PGD and the other
// attacks), --run DIR --autoattack, and --checkpoint PREFIX (a released TensorFlow checkpoint).
import { UsageError } from './args';

/** The options of each form of `sat eval`; an option of another form is refused, naming that form. */
const EVAL_MODES = {
  run: { title: 'sat eval --run DIR', options: ['run', 'checkpoint', 'attack', 'norm', 'queries', 'eps', 'steps', 'restarts', 'size', 'json', 'allow-unfinished'] },
  autoattack: { title: 'sat eval --run DIR --autoattack', options: ['run', 'checkpoint', 'autoattack', 'version', 'eps', 'norm', 'n', 'pgd-steps', 'json', 'allow-unfinished'] },
  tf: { title: 'sat eval --checkpoint PREFIX (a released TensorFlow checkpoint)', options: ['checkpoint', 'arch', 'activation', 'data', 'limit', 'steps', 'batch-size', 'input-size', 'ema', 'synsets', 'seed', 'on-bad-image', 'json'] },
} as const;
type EvalMode = keyof typeof EVAL_MODES;

/** Refuses every option given that `mode` would ignore, naming the form of sat eval it belongs to. */
export function refuseOtherModesOptions(mode: EvalMode, v: Record<string, unknown>): void {
  const own: readonly string[] = EVAL_MODES[mode].options;
  const foreign = Object.keys(v).filter((k) => v[k] !== undefined && k !== 'help' && !own.includes(k));
  if (!foreign.length) return;
  const k = foreign[0];
  const owners = (Object.keys(EVAL_MODES) as EvalMode[]).filter((m) => (EVAL_MODES[m].options as readonly string[]).includes(k)).map((m) => EVAL_MODES[m].title);
  throw new UsageError(
    `--${foreign.join(', --')} ${foreign.length > 1 ? 'are' : 'is'} not an option of ${EVAL_MODES[mode].title}, which would ignore ${foreign.length > 1 ? 'them' : 'it'}` +
      `${owners.length ? ` (--${k} belongs to ${owners.join(' and ')})` : ''}: drop ${foreign.length > 1 ? 'them' : 'it'} (see sat eval --help).`,
  );
}

