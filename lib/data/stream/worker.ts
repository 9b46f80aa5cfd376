// A decoding worker thread: answers {id, task} with {id, pixels} (transferred, not copied) or
// {id, error}. Loads no TensorFlow.js.
import { parentPort } from 'node:worker_threads';
import { runImageTask, type ImageTask } from './task';

parentPort!.on('message', (m: { id: number; task: ImageTask }) => {
  runImageTask(m.task).then(
    (pixels) => parentPort!.postMessage({ id: m.id, pixels }, [pixels.buffer]),
    (e: Error) => parentPort!.postMessage({ id: m.id, error: e.message }),
  );
});
