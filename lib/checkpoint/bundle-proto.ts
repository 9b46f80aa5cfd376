// BundleEntryProto and BundleHeaderProto (tensorflow/core/protobuf/tensor_bundle.proto),
// decoded by hand with the few fields a reader needs.
import { ProtoReader, WIRE_BYTES, WIRE_FIXED32, WIRE_VARINT } from './protobuf';

export interface BundleEntry {
  dtypeCode: number;
  /** Dimension sizes; undefined when the shape has unknown rank. */
  shape: number[] | undefined;
  shardId: number;
  offset: number;
  size: number;
  /** Masked crc32c of the tensor's bytes, as TF stores it; undefined when absent. */
  maskedCrc32c: number | undefined;
  /** Number of slices for a partitioned variable (its data lives under other keys). */
  numSlices: number;
}

export interface BundleHeader {
  numShards: number;
  /** 0 little-endian, 1 big-endian. */
  endianness: number;
  producer: number;
  minConsumer: number;
}

export function decodeBundleEntry(bytes: Uint8Array, what: string): BundleEntry {
  const r = new ProtoReader(bytes, what);
  const e: BundleEntry = {
    dtypeCode: 0, shape: [], shardId: 0, offset: 0, size: 0, maskedCrc32c: undefined, numSlices: 0,
  };
  while (!r.done) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1: r.expect(field, wire, WIRE_VARINT); e.dtypeCode = r.varint(); break;
      case 2: r.expect(field, wire, WIRE_BYTES); e.shape = decodeShape(r.bytesField(), what); break;
      case 3: r.expect(field, wire, WIRE_VARINT); e.shardId = r.varint(); break;
      case 4: r.expect(field, wire, WIRE_VARINT); e.offset = r.int64(); break;
      case 5: r.expect(field, wire, WIRE_VARINT); e.size = r.int64(); break;
      case 6: r.expect(field, wire, WIRE_FIXED32); e.maskedCrc32c = r.fixed32(); break;
      case 7: r.expect(field, wire, WIRE_BYTES); r.bytesField(); e.numSlices++; break;
      default: r.skip(wire);
    }
  }
  if (e.offset < 0 || e.size < 0) r.fail(`negative offset ${e.offset} or size ${e.size}`);
  return e;
}

/** TensorShapeProto: dim = 2 (TensorShapeProto.Dim: size = 1), unknown_rank = 3. */
function decodeShape(bytes: Uint8Array, what: string): number[] | undefined {
  const r = new ProtoReader(bytes, `shape of ${what}`);
  const dims: number[] = [];
  let unknownRank = false;
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 2 && wire === WIRE_BYTES) {
      const d = new ProtoReader(r.bytesField(), `dimension of ${what}`);
      let size = 0;
      while (!d.done) {
        const [f, w] = d.tag();
        if (f === 1 && w === WIRE_VARINT) size = d.int64();
        else d.skip(w);
      }
      dims.push(size);
    } else if (field === 3 && wire === WIRE_VARINT) {
      unknownRank = r.varint() !== 0;
    } else {
      r.skip(wire);
    }
  }
  return unknownRank ? undefined : dims;
}

export function decodeBundleHeader(bytes: Uint8Array, what: string): BundleHeader {
  const r = new ProtoReader(bytes, what);
  const h: BundleHeader = { numShards: 0, endianness: 0, producer: 0, minConsumer: 0 };
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_VARINT) h.numShards = r.varint();
    else if (field === 2 && wire === WIRE_VARINT) h.endianness = r.varint();
    else if (field === 3 && wire === WIRE_BYTES) {
      // VersionDef: producer = 1, min_consumer = 2, bad_consumers = 3.
      const v = new ProtoReader(r.bytesField(), `version in ${what}`);
      while (!v.done) {
        const [f, w] = v.tag();
        if (f === 1 && w === WIRE_VARINT) h.producer = v.int64();
        else if (f === 2 && w === WIRE_VARINT) h.minConsumer = v.int64();
        else v.skip(w);
      }
    } else r.skip(wire);
  }
  return h;
}
