// Option parsing shared by the sat subcommands: numbers, fractions like 8/255, lists.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A user-facing error: printed as one line, exit code 2, no stack trace. */
export class UsageError extends Error {}

export interface ParseOptions {
  /** Bare words the command takes (e.g. model names); when false each one is refused. Default true. */
  positionals?: boolean;
  /** Suggests an option for a bare word, e.g. 'silu' -> '--activation silu'. */
  suggest?: (word: string) => string | undefined;
}

/**
 * Parses argv strictly. A value that starts with '-' but is a number (`--eps -1`) is taken as the
 * option's value, so the range check can say what is wrong instead of "argument is ambiguous".
 */
export function parse<const O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O, opts: ParseOptions = {}) {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    const opt = a.startsWith('--') && !a.includes('=') ? options[a.slice(2)] : undefined;
    if (opt?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see --help)`);
  }
  if (opts.positionals === false && parsed.positionals.length > 0) {
    const word = parsed.positionals[0];
    const hint = opts.suggest?.(word);
    throw new UsageError(`unexpected argument '${word}': this command takes options only${hint ? `; did you mean ${hint}?` : ''} (see --help)`);
  }
  return parsed;
}

/** Parses '0.3', '8/255' or '4/255'. */
export function parseNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(-?[\d.e+-]+)\s*(?:\/\s*([\d.e+-]+))?\s*$/i.exec(text);
  const v = m ? Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2])) : NaN;
  if (!Number.isFinite(v)) throw new UsageError(`--${name} must be a number (or a fraction like 8/255), got '${text}'.`);
  return v;
}

export function parseInteger(name: string, text: string | undefined): number | undefined {
  const v = parseNumber(name, text);
  if (v !== undefined && !Number.isInteger(v)) throw new UsageError(`--${name} must be an integer, got '${text}'.`);
  return v;
}

/** A count that must be at least `min` (default 1), e.g. a number of images. */
export function parseCount(name: string, text: string | undefined, what: string, min = 1): number | undefined {
  const v = parseInteger(name, text);
  if (v !== undefined && v < min) throw new UsageError(`--${name} must be ${min === 1 ? 'a positive integer' : `an integer >= ${min}`} (${what}), got ${text}.`);
  return v;
}

/** A comma-separated list of numbers. */
export function parseList(name: string, text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((t) => parseNumber(name, t)!);
}

export function oneOf<T extends string>(name: string, text: string | undefined, valid: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!valid.includes(text as T)) throw new UsageError(`Unknown --${name} '${text}'. Valid values: ${valid.join(', ')}.`);
  return text as T;
}
