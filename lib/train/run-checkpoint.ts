// A training checkpoint: model parameters, BN statistics, optimizer momentum and the epoch
// reached, in one file written atomically:
//   'SATCKPT2' | u32 header length | u32 CRC-32C of header and data | JSON header | float32 data.
// The checksum turns a damaged file into a clear error instead of silently wrong weights; the
// writer refuses non-finite values, so a diverging run never replaces a good checkpoint.
// Version 1 files (no checksum) still load.
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { crc32c, crc32cExtend } from '../checkpoint/crc32c';
import { writeFileAtomic } from '../util/fs';

const MAGIC = 'SATCKPT2';
const MAGIC_V1 = 'SATCKPT1';

/** A checkpoint was not written because some values are NaN or infinite. */
export class NonFiniteWeightsError extends Error {
  constructor(readonly variable: string) {
    super(`${variable} holds NaN or infinite values; the checkpoint was not written.`);
    this.name = 'NonFiniteWeightsError';
  }
}

/**
 * Where inside an epoch a mid-epoch checkpoint was written: steps done in epoch `epoch` (the
 * epochs before it are complete) and the running sums of that epoch's metrics, so that a resumed
 * run continues the epoch's data order, augmentation, learning rate and metrics line exactly.
 */
export interface EpochPosition {
  step: number;
  lossSum: number;
  correct: number;
  seen: number;
  seconds: number;
}

export interface CheckpointContents {
  /** Epochs completed. */
  epoch: number;
  /** Set for a checkpoint written inside epoch `epoch` (H16: mid-epoch checkpoints). */
  position?: EpochPosition;
  groups: Record<string, Map<string, tf.Variable>>;
}

interface Entry {
  group: string;
  name: string;
  shape: number[];
  offset: number;
}

export function saveCheckpoint(file: string, c: CheckpointContents): void {
  const entries: Entry[] = [];
  const arrays: Float32Array[] = [];
  let offset = 0;
  for (const [group, vars] of Object.entries(c.groups)) {
    for (const [name, v] of vars) {
      const data = v.dataSync() as Float32Array;
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new NonFiniteWeightsError(`${group}/${name}`);
      entries.push({ group, name, shape: v.shape, offset });
      arrays.push(data);
      offset += data.length;
    }
  }
  const header = Buffer.from(JSON.stringify({ epoch: c.epoch, ...(c.position ? { position: c.position } : {}), entries }));
  const base = MAGIC.length + 8 + header.length;
  const out = new Uint8Array(base + offset * 4);
  out.set(Buffer.from(MAGIC), 0);
  out.set(header, MAGIC.length + 8);
  const floats = new Float32Array(offset);
  arrays.reduce((o, a) => (floats.set(a, o), o + a.length), 0);
  out.set(new Uint8Array(floats.buffer), base);
  const view = new DataView(out.buffer);
  view.setUint32(MAGIC.length, header.length, true);
  view.setUint32(MAGIC.length + 4, crc32c(out.subarray(MAGIC.length + 8)), true);
  writeFileAtomic(file, out);
}

/** Loads into existing variables; shapes and names must match exactly. Returns the epoch. */
export function loadCheckpoint(file: string, groups: Record<string, Map<string, tf.Variable>>): number {
  return loadCheckpointState(file, groups).epoch;
}

/** loadCheckpoint, also returning the position inside the epoch of a mid-epoch checkpoint. */
export function loadCheckpointState(file: string, groups: Record<string, Map<string, tf.Variable>>): { epoch: number; position?: EpochPosition } {
  if (!fs.existsSync(file)) throw new Error(`No checkpoint at ${file}. Train first, or pass the run folder that holds checkpoint.bin.`);
  const buf = fs.readFileSync(file);
  const bad = (why: string) =>
    new Error(`Checkpoint ${file} is corrupt or not a sat checkpoint (${why}); delete it and train again (with --force), or restore it from a copy.`);
  const magic = buf.subarray(0, MAGIC.length).toString();
  if (magic !== MAGIC && magic !== MAGIC_V1) throw bad('bad magic');
  const prefix = magic === MAGIC ? MAGIC.length + 8 : MAGIC.length + 4;
  if (buf.length < prefix) throw bad(`only ${buf.length} bytes`);
  const headerLen = buf.readUInt32LE(MAGIC.length);
  if (magic === MAGIC) {
    const stored = buf.readUInt32LE(MAGIC.length + 4);
    const actual = crc32cExtend(0, buf.subarray(prefix));
    if (stored !== actual) throw bad(`checksum mismatch: the file is truncated or damaged (${buf.length} bytes)`);
  }
  let header: { epoch: number; position?: EpochPosition; entries: Entry[] };
  try {
    header = JSON.parse(buf.subarray(prefix, prefix + headerLen).toString());
  } catch {
    throw bad('unreadable header');
  }
  const base = prefix + headerLen;
  const dataBytes = buf.length - base;
  const expected = 4 * header.entries.reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0);
  if (dataBytes !== expected) throw bad(`${dataBytes} bytes of data where the header lists ${expected}: truncated`);
  const floats = new Float32Array(buf.buffer.slice(buf.byteOffset + base, buf.byteOffset + buf.length));
  const seen = new Set<string>();
  for (const e of header.entries) {
    if (!(e.group in groups)) continue; // e.g. optimizer state when only evaluating
    const v = groups[e.group].get(e.name);
    if (!v) throw new Error(`Checkpoint ${file} has variable ${e.group}/${e.name}, which this model lacks: was it trained with another model or width?`);
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (e.shape.join(',') !== v.shape.join(',')) throw new Error(`Checkpoint ${file}: ${e.name} has shape [${e.shape}] but the model expects [${v.shape}].`);
    if (e.offset + size > floats.length) throw bad(`data for ${e.name} is truncated`);
    tf.tidy(() => v.assign(tf.tensor(floats.subarray(e.offset, e.offset + size), e.shape)));
    seen.add(`${e.group}/${e.name}`);
  }
  for (const [group, vars] of Object.entries(groups)) {
    for (const name of vars.keys()) {
      if (!seen.has(`${group}/${name}`)) throw new Error(`Checkpoint ${file} lacks ${group}/${name}: was it trained with another model?`);
    }
  }
  return { epoch: header.epoch, ...(header.position ? { position: header.position } : {}) };
}
