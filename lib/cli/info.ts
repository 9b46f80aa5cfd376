// `sat info`: versions, the backend and why.
import * as tf from '@tensorflow/tfjs';
import { ACTIVATIONS } from '../activations';
import { currentNativeDevice, describeBackend, initBackend } from '../backend';
import { datasetNames } from '../data';
import { modelNames } from '../models';
import { runsDir } from '../util/fs';
import { parse } from './args';

export const INFO_HELP = `sat info [--backend NAME]
  Prints the versions, the backend in use and why, and the activations, models and data sets.`;

export async function infoCommand(argv: string[] = []): Promise<number> {
  const { values: v } = parse(argv, { help: { type: 'boolean' } }, { positionals: false });
  if (v.help) return console.log(INFO_HELP), 0;
  const backend = await initBackend();
  const pkg = require('../../package.json') as { version: string };
  console.log(`sat-notebooks ${pkg.version}`);
  console.log(`node ${process.version}, tfjs ${tf.version.tfjs}`);
  console.log(describeBackend(backend));
  const device = currentNativeDevice(backend);
  if (device) {
    console.log(`libtensorflow ${device.libtensorflow ?? 'version unknown'}; device: ${device.gpu === true ? 'GPU' : device.gpu === false ? 'CPU' : 'unknown (the binding does not say)'}`);
    if (device.warning) console.error(`\n*** ${device.warning} ***\n`);
  }
  console.log(`activations: ${ACTIVATIONS.join(', ')}`);
  console.log(`models: ${modelNames().join(', ')}`);
  console.log(`datasets: ${datasetNames().join(', ')}`);
  console.log(`runs folder: ${runsDir()}`);
  return 0;
}
