// Child process for the atomicity test: writes a checkpoint of [1, 2, 3] to argv[2], then starts
// writing one of [7, 8, 9] and is killed (SIGKILL, no clean-up) half-way through the bytes.
import * as tf from '@tensorflow/tfjs';
import { saveCheckpoint } from '../../lib/train/run-checkpoint';

tf.env().set('PROD', true); // no tfjs banner
const file = process.argv[2];
const v = tf.variable(tf.tensor1d([1, 2, 3]));
saveCheckpoint(file, { epoch: 1, groups: { params: new Map([['w', v]]) } });
// The module object itself (not an import namespace), so that lib/util/fs sees the patch.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fs = require('node:fs') as typeof import('node:fs');
const write = fs.writeSync;
(fs as { writeSync: unknown }).writeSync = (fd: number, data: Uint8Array) => {
  write(fd, data.subarray(0, data.length >> 1));
  process.kill(process.pid, 'SIGKILL');
};
tf.tidy(() => v.assign(tf.tensor1d([7, 8, 9])));
saveCheckpoint(file, { epoch: 2, groups: { params: new Map([['w', v]]) } });
console.log('not reached');
