// The `sat` command. Each subcommand lives in lib/cli/<name>.ts and returns an exit code.
// Errors a user can fix print as one line (no stack trace) and exit non-zero.
// Every command that computes goes through `initComputeBackend` here first, so `--backend` and
// SAT_BACKEND mean the same everywhere and the backend line is printed once.
import { BACKENDS, describeBackend, initBackend } from './backend';
import { UsageError } from './cli/args';

/** `compute`: the command runs tensors, so the backend is chosen (and printed) before it starts. */
type Command = { summary: string; compute?: boolean; run: (argv: string[]) => Promise<number> };

const COMMANDS: Record<string, Command> = {
  info: { summary: 'versions and the backend in use', compute: true, run: async (a) => (await import('./cli/info')).infoCommand(a) },
  train: { summary: 'train one model with SAT', compute: true, run: async (a) => (await import('./cli/train')).trainCommand(a) },
  eval: { summary: 'evaluate a trained run against clean and PGD attacks', compute: true, run: async (a) => (await import('./cli/eval')).evalCommand(a) },
  export: { summary: 'write a run\'s weights as safetensors for PyTorch (--run DIR --format safetensors --out FILE)', compute: true, run: async (a) => (await import('./cli/export')).exportCommand(a) },
  checkpoint: { summary: 'inspect a TensorFlow checkpoint (inspect <prefix> [--json])', run: async (a) => (await import('./cli/checkpoint')).checkpointCommand(a) },
  models: { summary: 'parameters and multiply-adds of every model ([<model>...] [--json])', compute: true, run: async (a) => (await import('./cli/models')).modelsCommand(a) },
  data: { summary: 'download and unpack a data set (data cifar10)', run: async (a) => (await import('./cli/data')).dataCommand(a) },
  compare: { summary: 'the quick start: ReLU vs SiLU with SAT on MNIST, as a table', compute: true, run: async (a) => (await import('./cli/compare')).compareCommand(a) },
  diagnose: { summary: 'gradient-quality measures of a finished run (--run DIR; notebook 07)', compute: true, run: async (a) => (await import('./cli/diagnose')).diagnoseCommand(a) },
  grid: { summary: "an experiment's runs on a local worker pool or Slurm (submit|status|list)", run: async (a) => (await import('./cli/grid')).gridCommand(a) },
};

/**
 * Takes `--backend NAME` (or `--backend=NAME`) out of argv, exports it as SAT_BACKEND (so worker
 * processes inherit it) and initialises the backend. Returns the remaining arguments.
 */
export async function initComputeBackend(argv: string[], opts: { print?: boolean } = {}): Promise<string[]> {
  const rest: string[] = [];
  let requested: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--backend' || a.startsWith('--backend=')) {
      requested = a === '--backend' ? argv[++i] : a.slice('--backend='.length);
      if (!requested || requested.startsWith('-')) throw new UsageError(`--backend needs a value: one of ${BACKENDS.join(', ')}.`);
      if (!BACKENDS.includes(requested as never)) throw new UsageError(`Unknown --backend '${requested}'. Valid values: ${BACKENDS.join(', ')}.`);
    } else rest.push(a);
  }
  if (requested) process.env.SAT_BACKEND = requested;
  const backend = await initBackend(requested);
  if (opts.print ?? true) console.error(`[sat] ${describeBackend(backend)}`);
  return rest;
}

function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return `usage: sat <command> [options]   (sat <command> --help for its options)\n\n${Object.entries(COMMANDS)
    .map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary}`)
    .join('\n')}\n\nCommands that compute take --backend ${BACKENDS.join('|')} (or SAT_BACKEND; default: the fastest that loads).`;
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
    const wantsHelp = rest.includes('--help') || rest.includes('-h');
    // `info` prints the backend itself, on stdout.
    const args = cmd.compute && !wantsHelp ? await initComputeBackend(rest, { print: name !== 'info' }) : rest;
    return await cmd.run(args);
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
