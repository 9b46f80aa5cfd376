// `sat export --run DIR --format safetensors --out FILE`: a trained run's weights and batch-norm
// statistics in a file PyTorch (and anything else with a safetensors reader) can load.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activationLabel, parseActivation } from '../activations';
import { initBackend } from '../backend';
import { exportModel } from '../export/safetensors';
import { makeConfig, type TrainConfig } from '../train/config';
import { loadCheckpointState } from '../train/run-checkpoint';
import { RunFolder } from '../train/run-folder';
import type { EpochMetrics } from '../train/trainer';
import { restoreModel, runData } from '../train/trainer';
import { writeFileAtomic } from '../util/fs';
import { writeProblem } from '../util/fs-errors';
import { oneOf, parse, UsageError } from './args';

export const EXPORT_HELP = `sat export --run DIR --format safetensors --out FILE [--force] [--allow-unfinished]
  Writes every weight and batch-norm statistic of a finished run (DIR/config.json and
  checkpoint.bin) as safetensors, with __metadata__: model, width, activation, input shape,
  epoch and step of the checkpoint, tensor layout (tfjs NHWC / HWIO: PyTorch needs conv kernels
  permuted to OIHW and dense kernels transposed; see the README) and pixel range [0,1].
  --force              overwrite FILE if it exists
  --allow-unfinished   export a run that is not finished or is still training (its latest checkpoint)`;

/** The refusals that need no computation: an existing or unwritable --out, an unfinished run. */
export function checkExportTarget(out: string, force: boolean): void {
  if (fs.existsSync(out) && fs.statSync(out).isDirectory()) throw new UsageError(`--out ${out} is a folder: name a file, e.g. --out ${path.join(out, 'model.safetensors')}.`);
  if (fs.existsSync(out) && !force) throw new UsageError(`--out ${out} exists: pass --force to overwrite it, or choose another file.`);
  const problem = writeProblem(out);
  if (problem) throw new UsageError(`cannot write --out ${out}: ${problem}; choose another path.`);
}

export async function exportCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, {
    run: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' },
    force: { type: 'boolean' }, 'allow-unfinished': { type: 'boolean' },
  }, { positionals: false });
  if (v.help) return console.log(EXPORT_HELP), 0;
  if (!v.run) throw new UsageError('sat export needs --run DIR (a run folder with config.json and checkpoint.bin).');
  oneOf('format', v.format ?? 'safetensors', ['safetensors'] as const);
  if (!v.out) throw new UsageError('sat export needs --out FILE (for example model.safetensors).');
  const out = path.resolve(v.out);
  // The run folder knows the run's files; a corrupt config.json is named with its fix.
  const run = new RunFolder(v.run);
  const dir = run.dir;
  for (const [present, f] of [[run.hasConfig(), run.files.config], [run.hasCheckpoint(), run.files.checkpoint]] as const) {
    if (!present) throw new UsageError(`No ${path.basename(f)} in ${dir}: pass a run folder made by 'sat train' (data/runs/<run-id>).`);
  }
  const unfinished = run.unfinishedReason();
  if (unfinished && !v['allow-unfinished']) throw new UsageError(`${dir}: ${unfinished}. Wait for it to finish (or continue it with sat train --resume --out ${dir}), or pass --allow-unfinished to export its latest checkpoint.`);
  checkExportTarget(out, Boolean(v.force));
  const config = makeConfig(run.readConfig<TrainConfig>());
  await initBackend();
  const model = restoreModel(config, await runData(config), run.modelFile());
  try {
    const { epoch, position } = loadCheckpointState(run.modelFile(), {});
    const done = run.readMetrics<EpochMetrics>().find((m) => m.epoch === epoch - 1)?.step ?? 0;
    const meta = { epoch, epochs: config.epochs, step: done + (position?.step ?? 0), finished: unfinished === null };
    if (unfinished) console.error(`[sat] warning: exporting an unfinished run (${unfinished}): epoch ${epoch} of ${config.epochs}, step ${meta.step}; the metadata says finished: false.`);
    const bytes = exportModel(model, { model: config.model, width: config.width, activation: activationLabel(parseActivation(config.activation)), dataset: config.dataset, run: path.basename(dir), ...meta });
    writeFileAtomic(out, bytes);
    console.error(`[sat] wrote ${v.out}: ${model.params.size} weights and ${model.state.size} batch-norm statistics, ${(bytes.length / 1024).toFixed(0)} KiB (epoch ${epoch} of ${config.epochs}, step ${meta.step})`);
    return 0;
  } finally {
    model.dispose();
  }
}
