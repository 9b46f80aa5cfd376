// `sat grid`: an experiment's runs as a grid, on a local pool of workers, on Slurm, or printed
// as JSON lines for another scheduler; and where each run of a grid stands.
import { BACKENDS } from '../backend';
import { resolveProfile } from '../experiments/profiles';
import {
  describeGridExperiments, formatStatus, GRID_EXECUTORS, gridExperiment, gridStatus, planGrid, printGrid, profileResources, queuedTasks, runPool, submitSlurm,
  type SlurmResources,
} from '../grid';
import { oneOf, parse, parseCount, parseInteger, UsageError } from './args';

export const GRID_HELP = `sat grid submit EXPERIMENT [--profile P] [--executor local|slurm|print] [options]
sat grid status EXPERIMENT [--profile P] [--json]
sat grid list
  Runs every run of an experiment (a notebook's grid). Results land in the run folders
  (data/runs, or SAT_RUNS_DIR), keyed by config: finished runs are skipped, and the notebook
  then loads them. EXPERIMENT is a name from 'sat grid list' or a notebook number (01, 03, 04).
  --executor local       (default) a pool of worker processes on this machine
    --workers N          worker processes (default: SAT_WORKERS, else the number of cores)
    --fail-fast          stop every worker at the first failed run
    --retrain            train again even runs that are finished
    --max-minutes M      stop after M minutes: every worker ends at its next step with whole
                         files, so the next submit resumes (advance a long study in pieces)
  --executor slurm       writes a job array (one task per unfinished run) into the grid's
                         folder (data/grids/<experiment>-<profile>/slurm) and submits it with sbatch
    --partition P  --time T (e.g. 02:00:00)  --gres G (e.g. gpu:1)  --mem M (e.g. 4G)
    --cpus-per-task N    per-run resources; defaults come from the profile
    --dry-run            write the script, do not submit
  --backend NAME         the workers' backend (as SAT_BACKEND)
  --executor print       one JSON line per run: its config and the exact command that trains it
  status combines squeue (queued and running array tasks) with the run folders (done) and the
  workers' outcome files (failed, stopped).`;

export async function gridCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, {
    profile: { type: 'string' }, executor: { type: 'string' }, workers: { type: 'string' }, 'fail-fast': { type: 'boolean' },
    retrain: { type: 'boolean' }, partition: { type: 'string' }, time: { type: 'string' }, gres: { type: 'string' },
    mem: { type: 'string' }, 'cpus-per-task': { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' },
    backend: { type: 'string' }, help: { type: 'boolean' }, 'max-minutes': { type: 'string' },
  });
  const [verb, name, ...extra] = positionals;
  if (v.help || !verb) return console.log(GRID_HELP), v.help ? 0 : 2;
  if (verb === 'list') return console.log(`Experiments that run as a grid:\n${describeGridExperiments()}`), 0;
  if (verb !== 'submit' && verb !== 'status') throw new UsageError(`Unknown 'sat grid ${verb}'. Use submit, status or list (see --help).`);
  if (!name) throw new UsageError(`sat grid ${verb} needs an EXPERIMENT. Experiments:\n${describeGridExperiments()}`);
  if (extra.length) throw new UsageError(`Unexpected argument(s): ${extra.join(' ')} (see --help).`);
  const profile = resolveProfile(v.profile);
  const executor = oneOf('executor', v.executor, GRID_EXECUTORS) ?? 'local';
  const slurmFlags = (['partition', 'time', 'gres', 'mem', 'cpus-per-task', 'dry-run'] as const).filter((k) => v[k] !== undefined);
  if (verb === 'submit' && executor !== 'slurm' && slurmFlags.length) throw new UsageError(`--${slurmFlags[0]} applies to --executor slurm only.`);
  const localFlags = (['workers', 'fail-fast', 'retrain', 'max-minutes'] as const).filter((k) => v[k] !== undefined);
  if (verb === 'submit' && executor !== 'local' && localFlags.length) throw new UsageError(`--${localFlags[0]} applies to --executor local only.`);
  const workers = parseInteger('workers', v.workers);
  // Workers choose their backend as every computing command does; --backend reaches them through the environment.
  if (v.backend !== undefined) process.env.SAT_BACKEND = oneOf('backend', v.backend, BACKENDS);
  const grid = planGrid(await gridExperiment(name), profile);

  if (verb === 'status') {
    const queue = queuedTasks();
    const rows = gridStatus(grid, queue);
    if (v.json) for (const r of rows) console.log(JSON.stringify({ run: r.run.index + 1, id: r.run.id, variant: r.run.label, state: r.state, queue: r.queue ?? null, detail: r.detail, log: r.log }));
    else console.log(formatStatus(grid, rows, queue !== null));
    return 0;
  }
  if (executor === 'print') return console.log(printGrid(grid)), 0;
  if (executor === 'slurm') {
    const res: SlurmResources = { ...profileResources(profile) };
    if (v.partition !== undefined) res.partition = v.partition;
    if (v.time !== undefined) res.time = v.time;
    if (v.gres !== undefined) res.gres = v.gres;
    if (v.mem !== undefined) res.mem = v.mem;
    res.cpusPerTask = parseInteger('cpus-per-task', v['cpus-per-task']) ?? res.cpusPerTask;
    const r = submitSlurm(grid, res, { dryRun: v['dry-run'] });
    console.error(`[sat grid] ${grid.runs.length} runs: ${r.finished.length} finished, ${r.queued.length} already queued, ${r.submitted.length} to submit`);
    if (!r.script) {
      console.error('[sat grid] nothing to submit.');
      return 0;
    }
    if (r.jobId === null) {
      console.error(`[sat grid] wrote ${r.script} (not submitted: --dry-run)`);
      return 0;
    }
    console.error(`[sat grid] submitted ${r.script}: job array ${r.jobId} (${r.submitted.length} tasks); follow it with: sat grid status ${name} --profile ${profile}`);
    console.log(r.jobId);
    return 0;
  }
  const maxMinutes = parseCount('max-minutes', v['max-minutes'], 'minutes before the grid stops');
  const pool = await runPool(grid, { workers, failFast: v['fail-fast'], reuse: !v.retrain, force: v.retrain, signal: maxMinutes ? AbortSignal.timeout(maxMinutes * 60_000) : undefined });
  if (pool.stopped) return 130;
  return pool.runs.some((r) => r.status === 'failed') ? 1 : 0;
}
