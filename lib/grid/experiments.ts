// The experiments `sat grid` knows by name: each built exactly as its notebook builds it, so a
// grid run on a cluster fills the run folders the notebook then finds finished.
import type { Experiment } from '../experiments/types';

interface Entry {
  /** Notebook that shows its results, if any. */
  notebook?: string;
  make: () => Promise<Experiment>;
}

const EXPERIMENTS: Record<string, Entry> = {
  'mnist-relu-vs-silu': { make: async () => (await import('../experiments/mnist-relu-vs-silu')).mnistReluVsSilu() },
  'relu-vs-smooth-backward': {
    notebook: '01-relu-vs-smooth-backward',
    make: async () => (await import('../experiments/relu-vs-smooth-backward')).reluVsSmoothBackward(),
  },
  scaling: { notebook: '03-efficientnet-scaling', make: async () => (await import('../experiments/scaling')).scalingStudy() },
  'cifar10-activations': { notebook: '04-cifar10', make: async () => (await import('../experiments/cifar10')).cifar10Activations() },
};

export function gridExperimentNames(): string[] {
  return Object.keys(EXPERIMENTS);
}

/** One line per experiment: name and notebook. */
export function describeGridExperiments(): string {
  return Object.entries(EXPERIMENTS)
    .map(([k, e]) => `  ${k}${e.notebook ? `  (notebook ${e.notebook})` : ''}`)
    .join('\n');
}

/** An experiment by its name or its notebook's number ('01' or '01-relu-vs-smooth-backward'). */
export async function gridExperiment(name: string): Promise<Experiment> {
  const entry = EXPERIMENTS[name] ?? Object.values(EXPERIMENTS).find((e) => e.notebook && (e.notebook === name || e.notebook.slice(0, 2) === name));
  if (!entry) {
    throw new Error(`Unknown experiment '${name}'. Experiments that run as a grid:\n${describeGridExperiments()}\n(notebook 02 trains on image folders it loads itself, so it runs in its notebook.)`);
  }
  const exp = await entry.make();
  return exp;
}

/** Whether an experiment of this name is known here (so a worker can rebuild its data sets). */
export function isGridExperiment(name: string | undefined): name is string {
  return name !== undefined && name in EXPERIMENTS;
}
