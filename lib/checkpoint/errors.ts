/** Any problem reading a checkpoint: missing files, corrupt or truncated data, bad names. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** How a checkpoint prefix relates to its files, for error messages. */
export const PREFIX_HINT =
  'A TensorFlow checkpoint prefix is the path without the file suffix: for the files ' +
  'model.ckpt-1000.index and model.ckpt-1000.data-00000-of-00001, pass model.ckpt-1000 ' +
  '(for a SavedModel, pass <dir>/variables/variables).';
