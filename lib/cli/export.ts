// `sat export --run DIR --format safetensors --out FILE`: a trained run's weights and batch-norm
// statistics in a file PyTorch (and anything else with a safetensors reader) can load.
import * as path from 'node:path';
import { activationLabel, parseActivation } from '../activations';
import { initBackend } from '../backend';
import { exportModel } from '../export/safetensors';
import { makeConfig, type TrainConfig } from '../train/config';
import { RunFolder } from '../train/run-folder';
import { restoreModel, runData } from '../train/trainer';
import { writeFileAtomic } from '../util/fs';
import { oneOf, parse, UsageError } from './args';

export const EXPORT_HELP = `sat export --run DIR --format safetensors --out FILE
  Writes every weight and batch-norm statistic of a finished run (DIR/config.json and
  checkpoint.bin) as safetensors, with __metadata__: model, width, activation, input shape,
  tensor layout (tfjs NHWC / HWIO: PyTorch needs conv kernels permuted to OIHW and dense
  kernels transposed; see the README) and pixel range [0,1].`;

export async function exportCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, { run: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } }, { positionals: false });
  if (v.help) return console.log(EXPORT_HELP), 0;
  if (!v.run) throw new UsageError('sat export needs --run DIR (a run folder with config.json and checkpoint.bin).');
  oneOf('format', v.format ?? 'safetensors', ['safetensors'] as const);
  if (!v.out) throw new UsageError('sat export needs --out FILE (for example model.safetensors).');
  // The run folder knows the run's files; a corrupt config.json is named with its fix.
  const run = new RunFolder(v.run);
  const dir = run.dir;
  for (const [present, f] of [[run.hasConfig(), run.files.config], [run.hasCheckpoint(), run.files.checkpoint]] as const) {
    if (!present) throw new UsageError(`No ${path.basename(f)} in ${dir}: pass a run folder made by 'sat train' (data/runs/<run-id>).`);
  }
  const config = makeConfig(run.readConfig<TrainConfig>());
  await initBackend();
  const model = restoreModel(config, await runData(config), run.files.checkpoint);
  try {
    const bytes = exportModel(model, { model: config.model, width: config.width, activation: activationLabel(parseActivation(config.activation)), dataset: config.dataset, run: path.basename(dir) });
    writeFileAtomic(path.resolve(v.out), bytes);
    console.error(`[sat] wrote ${v.out}: ${model.params.size} weights and ${model.state.size} batch-norm statistics, ${(bytes.length / 1024).toFixed(0)} KiB`);
    return 0;
  } finally {
    model.dispose();
  }
}
