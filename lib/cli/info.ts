// `sat info`: versions, the backend and why.
import * as tf from '@tensorflow/tfjs';
import { ACTIVATIONS } from '../activations';
import { currentNativeDevice, describeBackend, initBackend } from '../backend';
import { datasetNames } from '../data';
import { modelNames } from '../models';
import { runsDir } from '../util/fs';

export async function infoCommand(): Promise<number> {
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
