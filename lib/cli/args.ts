// Option parsing shared by the sat subcommands: numbers, fractions like 8/255, lists.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A user-facing error: printed as one line, exit code 2, no stack trace. */
export class UsageError extends Error {}

export function parse<const O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see --help)`);
  }
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
