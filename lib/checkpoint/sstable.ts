// The LevelDB-style table ("SSTable") that holds a TensorBundle's .index file:
//   [data block]* [metaindex block] [index block] [footer: 48 bytes]
// Each block is followed by a 1-byte compression type and a masked crc32c of block + type.
// A block holds prefix-compressed entries, then uint32 restart offsets and their count.
// The index block maps a separator key to each data block's handle (offset, size).
import SnappyJS from 'snappyjs';
import { readUint32LE, readVarint } from './bytes';
import { crc32c, unmaskCrc } from './crc32c';
import { CheckpointError } from './errors';

export const TABLE_MAGIC_LO = 0x8b80fb57; // 0xdb4775248b80fb57, stored little-endian
export const TABLE_MAGIC_HI = 0xdb477524;
export const FOOTER_SIZE = 48; // two block handles padded to 40 bytes, then the magic
export const BLOCK_TRAILER_SIZE = 5;
export const COMPRESSION_NONE = 0;
export const COMPRESSION_SNAPPY = 1;

export interface TableEntry {
  key: Uint8Array;
  value: Uint8Array;
}

export interface BlockHandle {
  offset: number;
  size: number;
}

function decodeHandle(bytes: Uint8Array, pos: number, fail: (why: string) => never): [BlockHandle, number] {
  const [offset, p1] = readVarint(bytes, pos, fail);
  const [size, p2] = readVarint(bytes, p1, fail);
  return [{ offset, size }, p2];
}

/** Reads every entry of the table in `file` (already in memory), in key order. */
export function readTable(file: Uint8Array, fileName: string): TableEntry[] {
  const failAt = (where: string) => (why: string): never => {
    throw new CheckpointError(`corrupt checkpoint index ${fileName}: ${where}: ${why}`);
  };
  if (file.length < FOOTER_SIZE) {
    failAt('footer')(`the file has ${file.length} bytes, fewer than the ${FOOTER_SIZE}-byte footer; it is truncated`);
  }
  const footerPos = file.length - FOOTER_SIZE;
  const magicLo = readUint32LE(file, footerPos + 40);
  const magicHi = readUint32LE(file, footerPos + 44);
  if (magicLo !== TABLE_MAGIC_LO || magicHi !== TABLE_MAGIC_HI) {
    failAt('footer')('bad magic number (not a TensorFlow checkpoint index, or truncated)');
  }
  const footer = file.subarray(footerPos, footerPos + 40);
  const [, afterMeta] = decodeHandle(footer, 0, failAt('footer metaindex handle'));
  const [indexHandle] = decodeHandle(footer, afterMeta, failAt('footer index handle'));

  const indexBlock = readBlock(file, indexHandle, fileName, 'index block');
  const entries: TableEntry[] = [];
  // The index block's keys are separators for lookups; reading every block in order needs only the handles.
  for (const { value } of indexBlock) {
    const [handle] = decodeHandle(value, 0, failAt('index block entry'));
    const where = `data block at offset ${handle.offset}`;
    for (const e of readBlock(file, handle, fileName, where)) entries.push(e);
  }
  return entries;
}

/** Checks a block's trailer, decompresses it and decodes its entries. */
export function readBlock(file: Uint8Array, handle: BlockHandle, fileName: string, where: string): TableEntry[] {
  const fail = (why: string): never => {
    throw new CheckpointError(`corrupt checkpoint index ${fileName}: ${where}: ${why}`);
  };
  const end = handle.offset + handle.size;
  if (end + BLOCK_TRAILER_SIZE > file.length - FOOTER_SIZE) {
    fail(`block [${handle.offset}, ${end}) and its trailer run past the table data (${file.length} bytes in file); truncated?`);
  }
  const type = file[end];
  const stored = unmaskCrc(readUint32LE(file, end + 1));
  if (crc32c(file.subarray(handle.offset, end + 1)) !== stored) fail('block checksum mismatch (the file is corrupt)');
  let contents = file.subarray(handle.offset, end);
  if (type === COMPRESSION_SNAPPY) {
    try {
      contents = SnappyJS.uncompress(contents);
    } catch (e) {
      fail(`snappy decompression failed (${(e as Error).message})`);
    }
  } else if (type !== COMPRESSION_NONE) {
    fail(`unknown compression type ${type} (0 = none and 1 = snappy are supported)`);
  }
  return decodeBlockEntries(contents, fail);
}

function decodeBlockEntries(block: Uint8Array, fail: (why: string) => never): TableEntry[] {
  if (block.length < 4) fail('block shorter than its restart count');
  const numRestarts = readUint32LE(block, block.length - 4);
  const limit = block.length - 4 - 4 * numRestarts;
  if (limit < 0) fail(`block claims ${numRestarts} restart points, more than fit in ${block.length} bytes`);
  const entries: TableEntry[] = [];
  let prevKey = new Uint8Array(0);
  let pos = 0;
  while (pos < limit) {
    let shared: number, nonShared: number, valueLen: number;
    [shared, pos] = readVarint(block, pos, fail);
    [nonShared, pos] = readVarint(block, pos, fail);
    [valueLen, pos] = readVarint(block, pos, fail);
    if (shared > prevKey.length) fail(`entry shares ${shared} key bytes but the previous key has ${prevKey.length}`);
    if (pos + nonShared + valueLen > limit) fail('entry runs past the end of the block');
    const key = new Uint8Array(shared + nonShared);
    key.set(prevKey.subarray(0, shared));
    key.set(block.subarray(pos, pos + nonShared), shared);
    pos += nonShared;
    entries.push({ key, value: block.subarray(pos, pos + valueLen) });
    pos += valueLen;
    prevKey = key;
  }
  return entries;
}
