// TensorFlow DataType codes (types.proto) and how each one's raw little-endian bytes become
// a JavaScript typed array.

/** The dtypes this reader decodes, by TensorFlow's short name. */
export type CheckpointDtype =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'string';

/**
 * Decoded values, flat in row-major order:
 * float32/float16/bfloat16 -> Float32Array (half floats widened); float64 -> Float64Array;
 * int64 -> BigInt64Array and uint64 -> BigUint64Array (always, even when every value would
 * fit a JS number, so the type does not depend on the data); bool -> Uint8Array of 0/1;
 * string -> Uint8Array[] (TF strings are byte strings, often serialized protos, not UTF-8).
 */
export type TensorValues =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Uint8Array[];

interface DtypeSpec {
  name: CheckpointDtype;
  /** Bytes per element on disk; 0 for variable-length strings. */
  bytes: number;
}

/** DataType enum values from tensorflow/core/framework/types.proto. */
export const DTYPE_CODES: Readonly<Record<CheckpointDtype, number>> = {
  float32: 1,
  float64: 2,
  int32: 3,
  uint8: 4,
  int16: 5,
  int8: 6,
  string: 7,
  int64: 9,
  bool: 10,
  bfloat16: 14,
  uint16: 17,
  float16: 19,
  uint32: 22,
  uint64: 23,
};

const BYTES: Readonly<Record<CheckpointDtype, number>> = {
  float32: 4, float64: 8, int32: 4, uint8: 1, int16: 2, int8: 1, string: 0,
  int64: 8, bool: 1, bfloat16: 2, uint16: 2, float16: 2, uint32: 4, uint64: 8,
};

const BY_CODE = new Map<number, DtypeSpec>(
  (Object.keys(DTYPE_CODES) as CheckpointDtype[]).map((name) => [DTYPE_CODES[name], { name, bytes: BYTES[name] }]),
);

/** Names of the dtypes we list but cannot decode, so `list()` can still say what they are. */
const OTHER_NAMES: Readonly<Record<number, string>> = {
  8: 'complex64', 11: 'qint8', 12: 'quint8', 13: 'qint32', 15: 'qint16', 16: 'quint16',
  18: 'complex128', 20: 'resource', 21: 'variant',
};

export function dtypeSpec(code: number): DtypeSpec | undefined {
  return BY_CODE.get(code);
}

/** A readable name for any DataType code, supported or not. */
export function dtypeName(code: number): string {
  return BY_CODE.get(code)?.name ?? OTHER_NAMES[code] ?? `unknown dtype ${code}`;
}

export function supportedDtypes(): CheckpointDtype[] {
  return [...BY_CODE.values()].map((s) => s.name);
}

/** float16 bits -> float32 value (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Turns a fixed-width tensor's raw bytes into typed values. `raw` must start at byte 0 of
 * its own ArrayBuffer (so views are aligned); most dtypes become a view on it, no copy.
 */
export function decodeFixedWidth(dtype: CheckpointDtype, raw: Uint8Array): TensorValues {
  const { buffer, byteOffset, byteLength } = raw;
  const n = byteLength / BYTES[dtype];
  switch (dtype) {
    case 'float32': return new Float32Array(buffer, byteOffset, n);
    case 'float64': return new Float64Array(buffer, byteOffset, n);
    case 'int8': return new Int8Array(buffer, byteOffset, n);
    case 'int16': return new Int16Array(buffer, byteOffset, n);
    case 'int32': return new Int32Array(buffer, byteOffset, n);
    case 'int64': return new BigInt64Array(buffer, byteOffset, n);
    case 'uint8': return raw;
    case 'uint16': return new Uint16Array(buffer, byteOffset, n);
    case 'uint32': return new Uint32Array(buffer, byteOffset, n);
    case 'uint64': return new BigUint64Array(buffer, byteOffset, n);
    case 'bool': return raw.map((b) => (b ? 1 : 0));
    case 'float16': {
      const bits = new Uint16Array(buffer, byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(bits[i]);
      return out;
    }
    case 'bfloat16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint16Array(buffer, byteOffset, n);
      const wide = new Uint32Array(n);
      for (let i = 0; i < n; i++) wide[i] = bits[i] << 16;
      return new Float32Array(wide.buffer);
    }
    case 'string':
      throw new Error('strings are variable-length; decode them with decodeStrings');
  }
}
