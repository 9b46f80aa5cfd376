// A minimal protobuf wire-format reader: just what BundleEntryProto and BundleHeaderProto need.
import { readUint32LE, readVarint } from './bytes';
import { CheckpointError } from './errors';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

export class ProtoReader {
  pos = 0;

  /** `what` names the message in errors, e.g. 'entry "conv1/kernel" in model.ckpt.index'. */
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  fail(problem: string): never {
    throw new CheckpointError(`corrupt protobuf in ${this.what}: ${problem} at byte ${this.pos}`);
  }

  /** A varint as an unsigned 64-bit BigInt. */
  varintBig(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.bytes.length) this.fail('varint runs past the end');
      const b = this.bytes[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    this.fail('varint longer than 10 bytes');
  }

  /** A varint that must fit a non-negative safe integer (sizes, offsets, enums, field tags). */
  varint(): number {
    let value: number;
    [value, this.pos] = readVarint(this.bytes, this.pos, (why) => this.fail(why));
    return value;
  }

  /** An int64 field (two's complement in 64 bits), as a number; it must be a safe integer. */
  int64(): number {
    const v = BigInt.asIntN(64, this.varintBig());
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) this.fail(`int64 ${v} out of range`);
    return Number(v);
  }

  fixed32(): number {
    if (this.pos + 4 > this.bytes.length) this.fail('fixed32 runs past the end');
    const value = readUint32LE(this.bytes, this.pos);
    this.pos += 4;
    return value;
  }

  bytesField(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.bytes.length) this.fail(`field of ${len} bytes runs past the end`);
    const out = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** Reads the next field key; returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const key = this.varint();
    return [Math.floor(key / 8), key & 7];
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varintBig();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_BYTES:
        this.bytesField();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.bytes.length) this.fail('field runs past the end');
    this.pos += n;
  }

  /** Checks a field's wire type before reading it. */
  expect(field: number, wireType: number, expected: number): void {
    if (wireType !== expected) this.fail(`field ${field} has wire type ${wireType}, expected ${expected}`);
  }
}
