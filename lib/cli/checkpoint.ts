// `sat checkpoint SUBCOMMAND ...`: reads TensorFlow checkpoints. `inspect <prefix> [--json]`
// lists a checkpoint's variables.
import { openCheckpoint, supportedDtypes, type CheckpointTensor, type VariableInfo } from '../checkpoint';
import { parse, UsageError } from './args';

/** Tensors with at most this many elements get their values printed. */
const MAX_PRINTED_ELEMENTS = 16;
/** Longer strings are shown by their length in the text listing. */
const MAX_PRINTED_STRING = 80;

/** The subcommands, each with its usage line and what it does (the help lists them). */
const SUBCOMMANDS = {
  inspect: {
    usage: 'sat checkpoint inspect <prefix> [--json]',
    summary: `lists the variables of a TensorFlow checkpoint (TensorBundle format): one line each with
    name, dtype and shape, plus the values of tensors with at most ${MAX_PRINTED_ELEMENTS} elements
    <prefix>  the checkpoint prefix: for model.ckpt-1000.index and
              model.ckpt-1000.data-00000-of-00001 pass model.ckpt-1000 (a directory
              holding one checkpoint, or a SavedModel directory, also works)
    --json    one JSON object per line: {name, dtype, shape, values?}`,
  },
} as const;
type Subcommand = keyof typeof SUBCOMMANDS;
const NAMES = Object.keys(SUBCOMMANDS) as Subcommand[];

export const CHECKPOINT_HELP = `sat checkpoint <subcommand> [options]
Subcommands:
${NAMES.map((k) => `  ${SUBCOMMANDS[k].usage}\n    ${SUBCOMMANDS[k].summary}`).join('\n')}`;

type JsonValue = number | string;

/** Runs `sat checkpoint ...` (argv without `checkpoint`); usage errors throw UsageError (exit 2), a checkpoint it cannot read an Error (exit 1). */
export async function checkpointCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (v.help) return console.log(CHECKPOINT_HELP), 0;
  const [sub, prefix, ...extra] = positionals;
  if (sub === undefined) throw new UsageError(`sat checkpoint needs a subcommand: ${NAMES.join(', ')} (see --help).`);
  if (!NAMES.includes(sub as Subcommand)) throw new UsageError(`Unknown subcommand 'sat checkpoint ${sub}'. Subcommands: ${NAMES.join(', ')} (see --help).`);
  if (prefix === undefined) throw new UsageError(`sat checkpoint inspect needs a <prefix>: ${SUBCOMMANDS.inspect.usage}.`);
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}': ${SUBCOMMANDS.inspect.usage}.`);
  inspect(prefix, Boolean(v.json));
  return 0;
}

function inspect(prefix: string, json: boolean): void {
  const ckpt = openCheckpoint(prefix);
  const vars = ckpt.list();
  const nameWidth = Math.max(0, ...vars.map((v) => v.name.length));
  const dtypeWidth = Math.max(0, ...vars.map((v) => v.dtype.length));
  for (const v of vars) {
    const t = printable(v) ? ckpt.read(v.name) : undefined;
    if (json) {
      const record: Record<string, unknown> = { name: v.name, dtype: v.dtype, shape: v.shape };
      if (t) Object.assign(record, jsonValues(t));
      console.log(JSON.stringify(record));
    } else {
      const cols = [v.name.padEnd(nameWidth), v.dtype.padEnd(dtypeWidth), `[${v.shape.join(',')}]`];
      if (t) cols.push(textValues(t));
      console.log(cols.join('  ').trimEnd());
    }
  }
}

const READABLE = new Set<string>(supportedDtypes());

function printable(v: VariableInfo): boolean {
  return READABLE.has(v.dtype) && !v.partitioned && v.shape.reduce((a, b) => a * b, 1) <= MAX_PRINTED_ELEMENTS;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

function textValues(t: CheckpointTensor): string {
  const items =
    t.dtype === 'string'
      ? (t.values as Uint8Array[]).map((b) => {
          const s = utf8OrUndefined(b);
          return s !== undefined && s.length <= MAX_PRINTED_STRING ? JSON.stringify(s) : `<${b.length} bytes>`;
        })
      : Array.from(t.values as ArrayLike<number | bigint>, (x) => String(x));
  return t.shape.length === 0 ? items[0] : `[${items.join(', ')}]`;
}

/** JSON has no NaN, Infinity or int64: those become strings; non-UTF-8 strings become base64. */
function jsonValues(t: CheckpointTensor): { values: JsonValue[]; valuesEncoding?: 'base64' } {
  if (t.dtype === 'string') {
    const bytes = t.values as Uint8Array[];
    const texts = bytes.map(utf8OrUndefined);
    if (texts.every((s) => s !== undefined)) return { values: texts as string[] };
    return { values: bytes.map((b) => Buffer.from(b).toString('base64')), valuesEncoding: 'base64' };
  }
  const values = Array.from(t.values as ArrayLike<number | bigint>, (x): JsonValue => {
    if (typeof x === 'bigint') return Number.isSafeInteger(Number(x)) ? Number(x) : String(x);
    return Number.isFinite(x) ? x : String(x);
  });
  return { values };
}
