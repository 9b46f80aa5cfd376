// The safetensors format (huggingface/safetensors, "Format" in its README): an unsigned
// little-endian 64-bit header length N, then N bytes of UTF-8 JSON mapping each tensor name to
// { dtype, shape, data_offsets: [begin, end] } (byte offsets into the data that follows, which
// they cover without holes or overlaps) plus an optional "__metadata__" of string to string,
// then the raw little-endian row-major data. The header may end in spaces; we pad it so the
// data starts 8-byte aligned, as the reference writer does.
import * as tf from '@tensorflow/tfjs';
import { modelDefaults, type Model } from '../models';

export type SafetensorsDtype = 'F32' | 'I32';

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

const HEADER_LIMIT = 100 * 1024 * 1024; // the reference rejects larger headers

/** Serialises tensors (in the given order) and string metadata. */
export function encodeSafetensors(tensors: Map<string, SafetensorsTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`safetensors metadata must be strings: '${k}' is ${typeof v}.`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new Error("A tensor may not be named '__metadata__'.");
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`Tensor '${name}': shape [${t.shape}] holds ${count} values, the data has ${t.data.length}.`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - ((8 + json.length) % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    const dv = new DataView(out.buffer, at, 4 * t.data.length);
    // Explicitly little-endian, whatever the machine.
    if (t.dtype === 'F32') t.data.forEach((v, i) => dv.setFloat32(4 * i, v, true));
    else t.data.forEach((v, i) => dv.setInt32(4 * i, v, true));
    at += 4 * t.data.length;
  }
  return out;
}

/** Parses a safetensors file, checking the header as the format specifies. */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) throw new Error(`Not a safetensors file: ${bytes.length} bytes, shorter than the 8-byte header length.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > HEADER_LIMIT || 8 + n > bytes.length) throw new Error(`Not a safetensors file: header length ${n} does not fit the ${bytes.length}-byte file.`);
  const text = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8');
  if (!text.startsWith('{')) throw new Error("safetensors header must be a JSON object starting with '{'.");
  const header = JSON.parse(text) as Record<string, unknown>;
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const spans: [number, number, string][] = [];
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: off } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (dtype !== 'F32' && dtype !== 'I32') throw new Error(`Tensor '${name}': dtype ${dtype} is not supported here (F32, I32).`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (off[1] - off[0] !== 4 * count) throw new Error(`Tensor '${name}': offsets ${off} hold ${off[1] - off[0]} bytes, shape [${shape}] needs ${4 * count}.`);
    if (off[0] < 0 || off[1] > dataLength) throw new Error(`Tensor '${name}': offsets ${off} lie outside the ${dataLength}-byte data.`);
    spans.push([off[0], off[1], name]);
    const dv = new DataView(bytes.buffer, bytes.byteOffset + dataStart + off[0], 4 * count);
    const data = dtype === 'F32' ? Float32Array.from({ length: count }, (_, i) => dv.getFloat32(4 * i, true)) : Int32Array.from({ length: count }, (_, i) => dv.getInt32(4 * i, true));
    tensors.set(name, { dtype, shape, data });
  }
  // The data must be covered exactly: no holes, no overlaps.
  spans.sort((a, b) => a[0] - b[0]);
  let end = 0;
  for (const [b, e, name] of spans) {
    if (b !== end) throw new Error(`safetensors data has a ${b > end ? 'hole' : 'overlap'} before tensor '${name}' (offset ${b}, expected ${end}).`);
    end = e;
  }
  if (end !== dataLength) throw new Error(`safetensors data has ${dataLength - end} bytes after the last tensor.`);
  return { tensors, metadata };
}

export interface ExportMetadata {
  model: string;
  /** The config's width; left out, the model's default (from the registry) is written. */
  width?: number;
  activation: string;
  dataset?: string;
  run?: string;
  /** Epochs the checkpoint completed, of `epochs` planned; step: training steps done in all. */
  epoch?: number;
  epochs?: number;
  step?: number;
  /** False for a run exported before it finished (sat export --allow-unfinished). */
  finished?: boolean;
}

/**
 * Every trainable weight and every batch-norm statistic of `model`, in tfjs layout: activations
 * NHWC, conv kernels HWIO [kh, kw, in, out], depthwise kernels [kh, kw, in, multiplier], dense
 * kernels [in, out]. PyTorch wants conv OIHW (permute 3,2,0,1) and Linear [out, in] (transpose).
 */
export function exportModel(model: Model, meta: ExportMetadata): Uint8Array {
  const tensors = new Map<string, SafetensorsTensor>();
  const add = (name: string, v: tf.Variable) => {
    if (tensors.has(name)) throw new Error(`Two variables are named '${name}'.`);
    const data = v.dataSync();
    tensors.set(name, v.dtype === 'int32' ? { dtype: 'I32', shape: v.shape, data: Int32Array.from(data) } : { dtype: 'F32', shape: v.shape, data: Float32Array.from(data) });
  };
  for (const [name, v] of model.params) add(name, v);
  for (const [name, v] of model.state) add(name, v);
  const width = meta.width ?? modelDefaults(meta.model).width;
  const metadata: Record<string, string> = {
    format: 'sat-notebooks safetensors export v1',
    model: meta.model,
    // The width the model was built with (only a model registered without a default has none).
    ...(width !== undefined ? { width: String(width) } : {}),
    activation: meta.activation,
    num_classes: String(model.numClasses),
    input_shape: JSON.stringify(model.inputShape),
    layout: 'tfjs: inputs NHWC; conv kernels HWIO [kh,kw,in,out]; depthwise kernels [kh,kw,in,multiplier]; dense kernels [in,out]',
    pixel_range: '[0,1] (no mean/std normalisation: the model takes raw pixels scaled to [0,1])',
    trainable: JSON.stringify([...model.params.keys()]),
    state: JSON.stringify([...model.state.keys()]),
    ...(meta.dataset ? { dataset: meta.dataset } : {}),
    ...(meta.run ? { run: meta.run } : {}),
    ...(meta.epoch !== undefined ? { epoch: String(meta.epoch) } : {}),
    ...(meta.epochs !== undefined ? { epochs: String(meta.epochs) } : {}),
    ...(meta.step !== undefined ? { step: String(meta.step) } : {}),
    ...(meta.finished !== undefined ? { finished: String(meta.finished) } : {}),
  };
  return encodeSafetensors(tensors, metadata);
}

/** Loads an export back into a model of the same architecture (shapes must match). */
export function importModel(model: Model, file: SafetensorsFile): void {
  const all = new Map([...model.params, ...model.state]);
  for (const [name, v] of all) {
    const t = file.tensors.get(name);
    if (!t) throw new Error(`The file has no tensor '${name}': it was exported from another model.`);
    if (t.shape.join(',') !== v.shape.join(',')) throw new Error(`Tensor '${name}': file shape [${t.shape}], model shape [${v.shape}].`);
    tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, v.dtype)));
  }
  for (const name of file.tensors.keys()) if (!all.has(name)) throw new Error(`The file's tensor '${name}' is not a variable of this model.`);
}
