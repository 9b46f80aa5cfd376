// A training checkpoint: model parameters, BN statistics, optimizer momentum and the epoch
// reached, in one file (JSON header + float32 data) written atomically.
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../util/fs';

const MAGIC = 'SATCKPT1';

export interface CheckpointContents {
  /** Epochs completed. */
  epoch: number;
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
      entries.push({ group, name, shape: v.shape, offset });
      arrays.push(data);
      offset += data.length;
    }
  }
  const header = Buffer.from(JSON.stringify({ epoch: c.epoch, entries }));
  const out = new Uint8Array(MAGIC.length + 4 + header.length + offset * 4);
  out.set(Buffer.from(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length, true);
  out.set(header, MAGIC.length + 4);
  const base = MAGIC.length + 4 + header.length;
  const floats = new Float32Array(offset);
  arrays.reduce((o, a) => (floats.set(a, o), o + a.length), 0);
  out.set(new Uint8Array(floats.buffer), base);
  writeFileAtomic(file, out);
}

/** Loads into existing variables; shapes and names must match exactly. Returns the epoch. */
export function loadCheckpoint(file: string, groups: Record<string, Map<string, tf.Variable>>): number {
  if (!fs.existsSync(file)) throw new Error(`No checkpoint at ${file}. Train first, or pass the run folder that holds checkpoint.bin.`);
  const buf = fs.readFileSync(file);
  const bad = (why: string) => new Error(`Checkpoint ${file} is corrupt or not a sat checkpoint (${why}); delete it and retrain that epoch.`);
  if (buf.length < MAGIC.length + 4 || buf.subarray(0, MAGIC.length).toString() !== MAGIC) throw bad('bad magic');
  const headerLen = buf.readUInt32LE(MAGIC.length);
  let header: { epoch: number; entries: Entry[] };
  try {
    header = JSON.parse(buf.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLen).toString());
  } catch {
    throw bad('unreadable header');
  }
  const base = MAGIC.length + 4 + headerLen;
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
  return header.epoch;
}
