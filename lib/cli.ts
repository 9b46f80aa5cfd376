// The `sat` command. Each subcommand lives in lib/cli/<name>.ts and returns an exit code.
// Errors a user can fix print as one line (no stack trace) and exit non-zero.
import { UsageError } from './cli/args';

type Command = { summary: string; run: (argv: string[]) => Promise<number> };

const COMMANDS: Record<string, Command> = {
  info: { summary: 'versions and the backend in use', run: async () => (await import('./cli/info')).infoCommand() },
  train: { summary: 'train one model with SAT', run: async (a) => (await import('./cli/train')).trainCommand(a) },
  eval: { summary: 'evaluate a trained run against clean and PGD attacks', run: async (a) => (await import('./cli/eval')).evalCommand(a) },
  checkpoint: { summary: 'inspect a TensorFlow checkpoint (inspect <prefix> [--json])', run: async (a) => (await import('./cli/checkpoint')).checkpointCommand(a) },
  models: { summary: 'parameters and multiply-adds of every model ([<model>...] [--json])', run: async (a) => (await import('./cli/models')).modelsCommand(a) },
  data: { summary: 'download and unpack a data set (data cifar10)', run: async (a) => (await import('./cli/data')).dataCommand(a) },
  compare: { summary: 'the quick start: ReLU vs SiLU with SAT on MNIST, as a table', run: async (a) => (await import('./cli/compare')).compareCommand(a) },
};

function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return `usage: sat <command> [options]   (sat <command> --help for its options)\n\n${Object.entries(COMMANDS)
    .map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary}`)
    .join('\n')}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`sat: unknown command '${name}'.\n${usage()}`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    const err = e as Error;
    console.error(`sat ${name}: error: ${err.message}`);
    if (process.env.SAT_DEBUG) console.error(err.stack);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
