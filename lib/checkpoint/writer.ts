// A TensorBundle writer: the same layout as TensorFlow's BundleWriter (tensor_bundle.cc) in a
// LevelDB-style table, with knobs to force several index blocks, snappy-compressed blocks and
// several data shards. Tests use it to generate checkpoints; notebooks to write stand-ins for
// released models. It builds each file in memory, so it suits checkpoints of a few hundred MB.
import * as fs from 'node:fs';
import SnappyJS from 'snappyjs';
import { crc32c, crc32cExtend, maskCrc } from './crc32c';
import { DTYPE_CODES, type CheckpointDtype } from './dtypes';
import { dataShardPath } from './reader';

export interface TensorToWrite {
  name: string;
  /** A dtype name, or a raw DataType code to write dtypes the reader does not decode. */
  dtype: CheckpointDtype | number;
  shape: number[];
  /** The elements' little-endian bytes (any typed array), or the elements of a string tensor. */
  data: ArrayBufferView | Uint8Array[];
  /** Data shard to put it in; default: round-robin over the shards. */
  shard?: number;
}

export interface WriteOptions {
  numShards?: number;
  /** Flush a data block once its entries reach this many bytes (LevelDB's default is 4096). */
  blockSize?: number;
  /** Entries between restart points (full keys) in data blocks. */
  restartInterval?: number;
  compression?: 'none' | 'snappy';
}

export interface WrittenCheckpoint {
  indexPath: string;
  dataPaths: string[];
  /** How many data blocks the index table got. */
  dataBlocks: number;
  /** How many blocks (data and index) were stored snappy-compressed. */
  compressedBlocks: number;
}

class ByteWriter {
  private chunks: Uint8Array[] = [];
  length = 0;

  bytes(b: Uint8Array): this {
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }

  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    do {
      const low = Number(x & 0x7fn);
      x >>= 7n;
      out.push(x ? low | 0x80 : low);
    } while (x);
    return this.bytes(Uint8Array.from(out));
  }

  uint32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.bytes(b);
  }

  /** A protobuf field key. */
  tag(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  finish(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

function encodeShape(shape: number[]): Uint8Array {
  const w = new ByteWriter();
  for (const size of shape) {
    const dim = new ByteWriter().tag(1, 0).varint(size).finish();
    w.tag(2, 2).varint(dim.length).bytes(dim);
  }
  return w.finish();
}

function encodeEntry(dtype: number, shape: number[], shard: number, offset: number, size: number, crc: number): Uint8Array {
  // proto3: fields at their default value are omitted, except the shape message (as TF writes it).
  const w = new ByteWriter().tag(1, 0).varint(dtype);
  const s = encodeShape(shape);
  w.tag(2, 2).varint(s.length).bytes(s);
  if (shard) w.tag(3, 0).varint(shard);
  if (offset) w.tag(4, 0).varint(offset);
  if (size) w.tag(5, 0).varint(size);
  return w.tag(6, 5).uint32(maskCrc(crc)).finish();
}

function encodeHeader(numShards: number): Uint8Array {
  const version = new ByteWriter().tag(1, 0).varint(1).finish();
  return new ByteWriter().tag(1, 0).varint(numShards).tag(3, 2).varint(version.length).bytes(version).finish();
}

/** WriteStringTensor's layout: varint lengths, masked crc of the lengths (as uint32), bytes. */
function encodeStrings(strings: Uint8Array[]): { bytes: Uint8Array; crc: number } {
  const w = new ByteWriter();
  let crc = 0;
  for (const s of strings) {
    w.varint(s.length);
    crc = crc32cExtend(crc, new ByteWriter().uint32(s.length).finish());
  }
  const lengthCrc = new ByteWriter().uint32(maskCrc(crc)).finish();
  w.bytes(lengthCrc);
  crc = crc32cExtend(crc, lengthCrc);
  for (const s of strings) {
    w.bytes(s);
    crc = crc32cExtend(crc, s);
  }
  return { bytes: w.finish(), crc };
}

/** LevelDB's FindShortestSeparator: a short key k with last <= k < next, for the index block. */
function shortestSeparator(last: Uint8Array, next: Uint8Array): Uint8Array {
  let i = 0;
  while (i < last.length && i < next.length && last[i] === next[i]) i++;
  if (i < last.length && i < next.length && last[i] < 0xff && last[i] + 1 < next[i]) {
    const k = last.slice(0, i + 1);
    k[i]++;
    return k;
  }
  return last;
}

/** LevelDB's FindShortSuccessor: a short key >= `last`, for the final block's index entry. */
function shortSuccessor(last: Uint8Array): Uint8Array {
  const i = last.findIndex((b) => b !== 0xff);
  if (i < 0) return last;
  const k = last.slice(0, i + 1);
  k[i]++;
  return k;
}

/** Encodes a block: prefix-compressed entries, then restart offsets and their count. */
function encodeBlock(entries: { key: Uint8Array; value: Uint8Array }[], restartInterval: number): Uint8Array {
  const w = new ByteWriter();
  const restarts: number[] = [];
  let prev = new Uint8Array(0);
  entries.forEach(({ key, value }, i) => {
    let shared = 0;
    if (i % restartInterval === 0) restarts.push(w.length);
    else while (shared < prev.length && shared < key.length && prev[shared] === key[shared]) shared++;
    w.varint(shared).varint(key.length - shared).varint(value.length).bytes(key.subarray(shared)).bytes(value);
    prev = key;
  });
  if (restarts.length === 0) restarts.push(0);
  for (const r of restarts) w.uint32(r);
  return w.uint32(restarts.length).finish();
}

export function writeCheckpoint(prefix: string, tensors: TensorToWrite[], options: WriteOptions = {}): WrittenCheckpoint {
  const numShards = options.numShards ?? 1;
  const shards: ByteWriter[] = Array.from({ length: numShards }, () => new ByteWriter());
  const entries: { key: Uint8Array; value: Uint8Array }[] = [{ key: new Uint8Array(0), value: encodeHeader(numShards) }];
  tensors.forEach((t, i) => {
    const shard = t.shard ?? i % numShards;
    const dtype = typeof t.dtype === 'number' ? t.dtype : DTYPE_CODES[t.dtype];
    const { bytes, crc } = Array.isArray(t.data)
      ? encodeStrings(t.data)
      : (() => {
          const b = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
          return { bytes: b, crc: crc32c(b) };
        })();
    const offset = shards[shard].length;
    shards[shard].bytes(bytes);
    entries.push({ key: Buffer.from(t.name, 'utf8'), value: encodeEntry(dtype, t.shape, shard, offset, bytes.length, crc) });
  });
  entries.sort((a, b) => Buffer.compare(a.key, b.key));

  // The table: data blocks, an empty metaindex block, the index block, the footer.
  const file = new ByteWriter();
  let compressedBlocks = 0;
  const writeBlock = (contents: Uint8Array, snappy: boolean): Uint8Array => {
    // As LevelDB: keep the compressed form only when it saves at least 1/8.
    const packed = snappy ? SnappyJS.compress(contents) : contents;
    const compress = snappy && packed.length < contents.length - contents.length / 8;
    if (compress) compressedBlocks++;
    const body = compress ? packed : contents;
    const handle = new ByteWriter().varint(file.length).varint(body.length).finish();
    const typed = Buffer.concat([body, Uint8Array.of(compress ? 1 : 0)]);
    file.bytes(typed).uint32(maskCrc(crc32c(typed)));
    return handle;
  };
  const snappy = options.compression === 'snappy';
  const blockSize = options.blockSize ?? 4096;
  const index: { key: Uint8Array; value: Uint8Array }[] = [];
  let pending: typeof entries = [];
  let pendingBytes = 0;
  let unindexed: { last: Uint8Array; handle: Uint8Array } | undefined;
  // A block's index key is chosen once the next block's first key is known, as in LevelDB.
  const indexUpTo = (next: Uint8Array | undefined) => {
    if (!unindexed) return;
    const key = next ? shortestSeparator(unindexed.last, next) : shortSuccessor(unindexed.last);
    index.push({ key, value: unindexed.handle });
    unindexed = undefined;
  };
  const flush = () => {
    if (pending.length === 0) return;
    const handle = writeBlock(encodeBlock(pending, options.restartInterval ?? 16), snappy);
    unindexed = { last: pending[pending.length - 1].key, handle };
    pending = [];
    pendingBytes = 0;
  };
  for (const e of entries) {
    indexUpTo(e.key);
    pending.push(e);
    pendingBytes += e.key.length + e.value.length;
    if (pendingBytes >= blockSize) flush();
  }
  flush();
  indexUpTo(undefined);
  const metaHandle = writeBlock(encodeBlock([], 1), false);
  const indexHandle = writeBlock(encodeBlock(index, 1), snappy);
  const footer = new Uint8Array(48);
  footer.set(metaHandle, 0);
  footer.set(indexHandle, metaHandle.length);
  new DataView(footer.buffer).setBigUint64(40, 0xdb4775248b80fb57n, true);
  file.bytes(footer);

  const indexPath = `${prefix}.index`;
  fs.writeFileSync(indexPath, file.finish());
  const dataPaths = shards.map((s, i) => {
    const p = dataShardPath(prefix, i, numShards);
    fs.writeFileSync(p, s.finish());
    return p;
  });
  return { indexPath, dataPaths, dataBlocks: index.length, compressedBlocks };
}
