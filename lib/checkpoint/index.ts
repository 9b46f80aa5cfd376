// TensorFlow checkpoint (TensorBundle) reader: see reader.ts.
export { Checkpoint, dataShardPath, openCheckpoint, resolveCheckpointPrefix } from './reader';
export type { CheckpointTensor, OpenCheckpointOptions, VariableInfo } from './reader';
export type { CheckpointDtype, TensorValues } from './dtypes';
export { DTYPE_CODES, halfToFloat, supportedDtypes } from './dtypes';
export { CheckpointError } from './errors';
export { crc32c, crc32cExtend, maskCrc, unmaskCrc } from './crc32c';
export { writeCheckpoint } from './writer';
export type { TensorToWrite, WriteOptions, WrittenCheckpoint } from './writer';
