// The TensorBundle writer now lives in lib/checkpoint/writer.ts (notebooks use it too).
export * from '../../lib/checkpoint/writer';
