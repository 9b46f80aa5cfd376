// Running an experiment's grid of runs: a local pool of worker processes (pool.ts), Slurm job
// arrays (slurm.ts), or JSON lines with the exact command per run for any other scheduler.
import { isComplete, writeGridFiles, type Grid } from './plan';
import { runCommand } from './slurm';

export * from './experiments';
export * from './plan';
export * from './pool';
export * from './pool-status';
export * from './slurm';
export * from './worker-process';

export const GRID_EXECUTORS = ['local', 'slurm', 'print'] as const;
export type GridExecutor = (typeof GRID_EXECUTORS)[number];

/** The grid as JSON lines: per run its config, its folder and the exact command that trains it. */
export function printGrid(grid: Grid): string {
  writeGridFiles(grid);
  return grid.runs
    .map((r) =>
      JSON.stringify({
        run: r.index + 1,
        id: r.id,
        variant: r.label,
        finished: isComplete(r),
        run_dir: r.runDir,
        config_file: r.configFile,
        command: runCommand(r),
        config: r.config,
      }),
    )
    .join('\n');
}
