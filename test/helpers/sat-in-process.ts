// Runs `sat ...` in this process and captures what it prints (the CLI tests share it).
import { main } from '../../lib/cli';

export async function sat(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  const write = process.stderr.write;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  // Progress bars write to stderr directly: kept, so a test can see whether work started.
  process.stderr.write = ((chunk: string | Uint8Array) => (err.push(String(chunk).trimEnd()), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
  }
}
