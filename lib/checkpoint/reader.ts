// Reads TensorFlow checkpoints in the TensorBundle format (tensor_bundle.cc):
//   <prefix>.index                  a table from variable name to BundleEntryProto
//   <prefix>.data-00000-of-00002 …  the raw tensor bytes, at each entry's offset
// The index is read whole (it is small); tensors are read one at a time with positioned
// reads, so reading a checkpoint never holds a data shard in memory.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeBundleEntry, decodeBundleHeader, type BundleEntry, type BundleHeader } from './bundle-proto';
import { readUint32LE, readVarint } from './bytes';
import { crc32c, crc32cExtend, unmaskCrc } from './crc32c';
import { decodeFixedWidth, dtypeName, dtypeSpec, supportedDtypes, type CheckpointDtype, type TensorValues } from './dtypes';
import { CheckpointError, PREFIX_HINT } from './errors';
import { readTable } from './sstable';

export interface VariableInfo {
  name: string;
  /** TF's short dtype name; one of CheckpointDtype when `read` can decode it. */
  dtype: string;
  shape: number[];
  /** Bytes the tensor takes in its data shard (for strings: lengths, checksum and bytes). */
  sizeBytes: number;
  /** A partitioned variable: its data is stored in slices, which `read` does not support. */
  partitioned: boolean;
}

export interface CheckpointTensor {
  name: string;
  dtype: CheckpointDtype;
  shape: number[];
  /** Flat, row-major; see TensorValues for the array type each dtype gives. */
  values: TensorValues;
}

export interface OpenCheckpointOptions {
  /** Check every tensor's crc32c on read (default true; crc32c runs at about 500 MB/s). */
  verifyChecksums?: boolean;
}

const TEXT = new TextDecoder('utf-8');
/** Bytes per readSync call; far below Node's 2 GiB limit per call. */
const READ_CHUNK = 1 << 30;

/**
 * Opens the checkpoint at `prefix` (e.g. `ckpt/model.ckpt-1000`). Also accepts the path of
 * its .index or a .data-* file, a directory holding one checkpoint (or a TF `checkpoint`
 * state file), or a SavedModel directory.
 */
export function openCheckpoint(prefix: string, options: OpenCheckpointOptions = {}): Checkpoint {
  return new Checkpoint(resolveCheckpointPrefix(prefix), options);
}

export function dataShardPath(prefix: string, shard: number, numShards: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `${prefix}.data-${pad(shard)}-of-${pad(numShards)}`;
}

/** Finds the checkpoint prefix that `input` names, or throws listing the paths tried. */
export function resolveCheckpointPrefix(input: string): string {
  const tried: string[] = [];
  const hasIndex = (prefix: string) => {
    tried.push(`${prefix}.index`);
    return isFile(`${prefix}.index`);
  };
  const stripped = input.replace(/\.index$/, '').replace(/\.data-\d{5}-of-\d{5}$/, '');
  if (hasIndex(stripped)) return stripped;
  if (isDirectory(input)) {
    const fromState = prefixFromStateFile(input);
    if (fromState !== undefined && hasIndex(fromState)) return fromState;
    const savedModel = path.join(input, 'variables', 'variables');
    if (hasIndex(savedModel)) return savedModel;
    const indexes = fs.readdirSync(input).filter((f) => f.endsWith('.index'));
    if (indexes.length === 1) return path.join(input, indexes[0].slice(0, -'.index'.length));
    if (indexes.length > 1) {
      throw new CheckpointError(
        `${input} holds ${indexes.length} checkpoints (${indexes.slice(0, 5).join(', ')}${indexes.length > 5 ? ', …' : ''}); ` +
          `pass one prefix, e.g. ${path.join(input, indexes[indexes.length - 1].slice(0, -6))}`,
      );
    }
  }
  const v1 = isFile(input) ? ` ${input} is a file, not a checkpoint prefix (TF's old single-file V1 checkpoints are not supported).` : '';
  throw new CheckpointError(`no TensorFlow checkpoint found at ${input}: tried ${tried.join(', ')}.${v1} ${PREFIX_HINT}`);
}

/** Reads `model_checkpoint_path: "..."` from the `checkpoint` state file that TF writes beside checkpoints. */
function prefixFromStateFile(dir: string): string | undefined {
  const stateFile = path.join(dir, 'checkpoint');
  if (!isFile(stateFile)) return undefined;
  const m = /^model_checkpoint_path:\s*"(.*)"\s*$/m.exec(fs.readFileSync(stateFile, 'utf8'));
  return m ? path.resolve(dir, m[1]) : undefined;
}

function isFile(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}

function isDirectory(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

export class Checkpoint {
  readonly indexPath: string;
  readonly numShards: number;
  private readonly entries = new Map<string, BundleEntry>();
  private readonly verifyChecksums: boolean;

  constructor(
    readonly prefix: string,
    options: OpenCheckpointOptions = {},
  ) {
    this.verifyChecksums = options.verifyChecksums ?? true;
    this.indexPath = `${prefix}.index`;
    let header: BundleHeader | undefined;
    for (const { key, value } of readTable(fs.readFileSync(this.indexPath), this.indexPath)) {
      if (key.length === 0) {
        header = decodeBundleHeader(value, `the header in ${this.indexPath}`);
      } else if (key[0] !== 0) {
        // Keys starting with a 0 byte name slices of partitioned variables; they are not variables.
        const name = TEXT.decode(key);
        const entry = decodeBundleEntry(value, `entry "${name}" in ${this.indexPath}`);
        if (entry.shape === undefined) this.corrupt(name, 'its shape has unknown rank; TF never writes that');
        this.entries.set(name, entry);
      }
    }
    this.numShards = this.checkHeader(header).numShards;
  }

  /** The data shard files this checkpoint consists of, besides the index. */
  get dataPaths(): string[] {
    return Array.from({ length: this.numShards }, (_, i) => dataShardPath(this.prefix, i, this.numShards));
  }

  /** Every variable, sorted by name (the index's order). */
  list(): VariableInfo[] {
    return [...this.entries.keys()].map((name) => this.info(name));
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): VariableInfo {
    const e = this.entry(name);
    return { name, dtype: dtypeName(e.dtypeCode), shape: [...(e.shape ?? [])], sizeBytes: e.size, partitioned: e.numSlices > 0 };
  }

  /** Reads one variable's values from its data shard. */
  read(name: string): CheckpointTensor {
    const entry = this.entry(name);
    const spec = dtypeSpec(entry.dtypeCode);
    if (spec === undefined) {
      throw new CheckpointError(
        `cannot read variable "${name}" in ${this.prefix}: dtype ${dtypeName(entry.dtypeCode)} is not supported ` +
          `(supported: ${supportedDtypes().join(', ')})`,
      );
    }
    if (entry.numSlices > 0) {
      throw new CheckpointError(
        `cannot read variable "${name}" in ${this.prefix}: it is partitioned into ${entry.numSlices} slices, ` +
          'which this reader does not support; re-save the checkpoint without partitioning',
      );
    }
    if (os.endianness() !== 'LE') throw new CheckpointError('reading checkpoints needs a little-endian machine');
    const shape = [...(entry.shape ?? [])];
    const numElements = shape.reduce((a, b) => a * b, 1);
    const raw = this.readBytes(name, entry);
    if (spec.name === 'string') {
      const file = dataShardPath(this.prefix, entry.shardId, this.numShards);
      const { values, crc } = this.decodeStrings(name, file, raw, numElements);
      this.checkCrc(name, entry, crc);
      return { name, dtype: spec.name, shape, values };
    }
    if (raw.length !== numElements * spec.bytes) {
      this.corrupt(name, `it has ${raw.length} bytes but ${spec.name} ${JSON.stringify(shape)} needs ${numElements * spec.bytes}`);
    }
    if (this.verifyChecksums) this.checkCrc(name, entry, crc32c(raw));
    return { name, dtype: spec.name, shape, values: decodeFixedWidth(spec.name, raw) };
  }

  private entry(name: string): BundleEntry {
    const e = this.entries.get(name);
    if (e !== undefined) return e;
    const leaf = name.split('/').pop() ?? name;
    const similar = [...this.entries.keys()].filter((n) => n.includes(leaf)).slice(0, 5);
    throw new CheckpointError(
      `no variable "${name}" in checkpoint ${this.prefix} (it has ${this.entries.size} variables` +
        (similar.length ? `; similar names: ${similar.join(', ')}` : '') +
        `; list them with \`sat checkpoint inspect ${this.prefix}\`)`,
    );
  }

  private checkHeader(header: BundleHeader | undefined): BundleHeader {
    const where = `checkpoint index ${this.indexPath}`;
    if (header === undefined) throw new CheckpointError(`corrupt ${where}: no bundle header (the entry with the empty key)`);
    if (header.numShards < 1) throw new CheckpointError(`corrupt ${where}: header says ${header.numShards} data shards`);
    if (header.endianness !== 0) throw new CheckpointError(`${where} was written on a big-endian machine, which is not supported`);
    if (header.minConsumer > 1) {
      throw new CheckpointError(`${where} needs a reader of TensorBundle version ${header.minConsumer} or newer; this one reads version 1`);
    }
    for (const [name, e] of this.entries) {
      if (e.shardId >= header.numShards) this.corrupt(name, `it is in shard ${e.shardId} but the header says there are ${header.numShards}`);
    }
    return header;
  }

  /** Reads an entry's bytes with positioned reads, checking the shard is long enough. */
  private readBytes(name: string, entry: BundleEntry): Uint8Array {
    const file = dataShardPath(this.prefix, entry.shardId, this.numShards);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw new CheckpointError(
        `cannot read variable "${name}": data file ${file} is missing or unreadable ` +
          `(${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the checkpoint needs ${path.basename(this.indexPath)} ` +
          `and its ${this.numShards} data file(s) ${path.basename(this.dataPaths[0])}${this.numShards > 1 ? ' …' : ''} side by side`,
      );
    }
    try {
      const end = entry.offset + entry.size;
      const fileSize = fs.fstatSync(fd).size;
      const truncated = (): never => {
        throw new CheckpointError(
          `truncated checkpoint data: variable "${name}" needs bytes [${entry.offset}, ${end}) of ${file}, ` +
            `but the file has ${fs.fstatSync(fd).size} bytes`,
        );
      };
      if (end > fileSize) truncated();
      const out = new Uint8Array(entry.size); // its own ArrayBuffer, so typed views are aligned
      for (let done = 0; done < entry.size; ) {
        const n = fs.readSync(fd, out, done, Math.min(READ_CHUNK, entry.size - done), entry.offset + done);
        if (n === 0) truncated();
        done += n;
      }
      return out;
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * DT_STRING layout (tensor_bundle.cc WriteStringTensor): a varint64 length per element,
   * a masked crc32c of the lengths (each taken as uint32, or uint64 when it does not fit),
   * then the bytes. The entry's crc32c covers those lengths, the stored length checksum and
   * the bytes.
   */
  private decodeStrings(name: string, file: string, raw: Uint8Array, count: number): { values: Uint8Array[]; crc: number } {
    const fail = (why: string): never => this.corrupt(name, `${why} (in ${file})`);
    const lengths: number[] = [];
    let crc = 0;
    let pos = 0;
    const lenBytes = new DataView(new ArrayBuffer(8));
    for (let i = 0; i < count; i++) {
      let len: number;
      [len, pos] = readVarint(raw, pos, fail);
      lengths.push(len);
      if (len <= 0xffffffff) {
        lenBytes.setUint32(0, len, true);
        crc = crc32cExtend(crc, new Uint8Array(lenBytes.buffer, 0, 4));
      } else {
        lenBytes.setBigUint64(0, BigInt(len), true);
        crc = crc32cExtend(crc, new Uint8Array(lenBytes.buffer, 0, 8));
      }
    }
    if (pos + 4 > raw.length) fail('its string lengths run past its bytes');
    if (this.verifyChecksums && unmaskCrc(readUint32LE(raw, pos)) !== crc) {
      fail('string length checksum mismatch; the data file is corrupt');
    }
    crc = crc32cExtend(crc, raw.subarray(pos, pos + 4));
    pos += 4;
    const values: Uint8Array[] = [];
    for (const len of lengths) {
      if (pos + len > raw.length) fail('its strings run past its bytes');
      const value = raw.subarray(pos, pos + len);
      crc = crc32cExtend(crc, value);
      values.push(value);
      pos += len;
    }
    if (pos !== raw.length) fail(`its ${count} strings take ${pos} bytes but the entry has ${raw.length}`);
    return { values, crc };
  }

  private checkCrc(name: string, entry: BundleEntry, actual: number): void {
    if (!this.verifyChecksums || entry.maskedCrc32c === undefined) return;
    if (unmaskCrc(entry.maskedCrc32c) !== actual) {
      const file = dataShardPath(this.prefix, entry.shardId, this.numShards);
      throw new CheckpointError(
        `checksum mismatch for variable "${name}" in ${file} (bytes [${entry.offset}, ${entry.offset + entry.size})): ` +
          'the data file is corrupt',
      );
    }
  }

  private corrupt(name: string, why: string): never {
    throw new CheckpointError(`corrupt checkpoint ${this.prefix}: variable "${name}": ${why}`);
  }
}
