// Little-endian integer readers shared by the table, protobuf and string-tensor decoders.

/** Reads an unsigned varint that must be a safe integer; returns [value, nextPos]. */
export function readVarint(bytes: Uint8Array, pos: number, fail: (why: string) => never): [number, number] {
  let result = 0;
  for (let scale = 1, i = 0; i < 10; i++, scale *= 128) {
    if (pos >= bytes.length) fail('a varint runs past the end');
    const b = bytes[pos++];
    result += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (!Number.isSafeInteger(result)) fail(`a varint is too large (${result})`);
      return [result, pos];
    }
  }
  fail('a varint is longer than 10 bytes');
}

export function readUint32LE(bytes: Uint8Array, pos: number): number {
  return (bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16) | (bytes[pos + 3] << 24)) >>> 0;
}
