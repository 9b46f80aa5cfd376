// Composes a kernel out of the wasm backend's own kernels. Every intermediate TensorInfo a
// kernel creates goes through a KernelScope, which frees all but the returned one, also when
// something throws: kernels run below tf.tidy, so nothing else would ever free them.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type Attrs = Record<string, unknown>;
type Inputs = Record<string, tf.TensorInfo>;

/** What tfjs passes a wasm kernel function. */
export interface KernelArgs<A = Attrs> {
  inputs: Inputs;
  backend: BackendWasm;
  attrs: A;
}

type KernelFn = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** The wasm kernels we replace, as they were before; their own names resolve to ours. */
const originals = new Map<string, tf.KernelConfig>();

export function rememberOriginal(config: tf.KernelConfig): void {
  if (!originals.has(config.kernelName)) originals.set(config.kernelName, config);
}

export function originalKernel(name: string): tf.KernelConfig | undefined {
  return originals.get(name);
}

function wasmKernel(name: string, original: boolean): KernelFn {
  const config = original ? originals.get(name) : tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`the wasm backend has no${original ? ' original' : ''} '${name}' kernel (is @tensorflow/tfjs-backend-wasm 4.22.0 installed?)`);
  return config.kernelFunc as unknown as KernelFn;
}

export class KernelScope {
  private readonly made: tf.TensorInfo[] = [];
  private readonly views: tf.TensorInfo[] = [];

  constructor(readonly backend: BackendWasm) {}

  /** Runs a wasm kernel; `original` picks the backend's own version of a kernel we replaced. */
  run(name: string, inputs: Inputs, attrs: Attrs = {}, original = false): tf.TensorInfo {
    const out = wasmKernel(name, original)({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) throw new Error(`kernel '${name}' returned several outputs; KernelScope.run expects one`);
    this.made.push(out);
    return out;
  }

  /** A new float32 tensor on the wasm heap, for a kernel to fill. */
  allocate(shape: number[]): tf.TensorInfo {
    const out = this.backend.makeOutput(shape, 'float32');
    this.made.push(out);
    return out;
  }

  /**
   * Transposes with runs of axes that stay together merged first (the backend's transpose is
   * faster on fewer axes), and the 3-axis reversal done as two cheaper transposes (2x faster).
   */
  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    const outShape = perm.map((p) => x.shape[p]);
    const groups: number[][] = [];
    for (const p of perm) {
      const last = groups[groups.length - 1];
      if (last && last[last.length - 1] + 1 === p) last.push(p);
      else groups.push([p]);
    }
    const order = [...groups].sort((a, b) => a[0] - b[0]);
    const merged = this.reshape(x, order.map((g) => g.reduce((n, p) => n * x.shape[p], 1)));
    const mergedPerm = groups.map((g) => order.indexOf(g));
    let y: tf.TensorInfo;
    if (mergedPerm.join() === '2,1,0') {
      const [a, b, c] = merged.shape;
      const flat = this.run(tf.Transpose, { x: this.reshape(merged, [a, b * c]) }, { perm: [1, 0] });
      y = this.run(tf.Transpose, { x: this.reshape(flat, [b, c, a]) }, { perm: [1, 0, 2] });
    } else {
      y = this.run(tf.Transpose, { x: merged }, { perm: mergedPerm });
    }
    return this.reshape(y, outShape);
  }

  /**
   * The whole wasm heap as floats, for copies between tensors with heap.copyWithin (a memmove:
   * about 3x faster than a JS loop over 32 floats, and no subarray objects). Take it after the
   * last allocate: the heap may grow, which detaches older views.
   */
  heap(): Float32Array {
    return (this.backend.wasm as unknown as { HEAPF32: Float32Array }).HEAPF32; // Emscripten's view
  }

  /**
   * A float32 tensor of `shape` over x's memory from float `offset` on: no copy. It lives until
   * the scope ends (its memory is x's, so it is unregistered, never freed) and must not be the
   * kernel's result.
   */
  view(x: tf.TensorInfo, offset: number, shape: number[]): tf.TensorInfo {
    const size = tf.util.sizeFromShape(shape);
    const available = tf.util.sizeFromShape(x.shape);
    if (x.dtype !== 'float32' || offset < 0 || offset + size > available) {
      throw new Error(`a view of ${size} floats at ${offset} does not fit a ${x.dtype} tensor of ${available}`);
    }
    const info = this.backend.makeOutput(shape, 'float32', this.backend.getMemoryOffset(x.dataId) + offset * 4);
    this.views.push(info);
    return info;
  }

  /** Where a float32 tensor starts in heap(), in floats. */
  offset(x: tf.TensorInfo): number {
    return this.backend.getMemoryOffset(x.dataId) / 4;
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run(tf.Reshape, { x }, { shape });
  }

  /**
   * x[begin + i*step] over a 4D float32 box of `size`, one row copy per output row (the
   * backend's Slice first copies all of x, its StridedSlice is an index loop per element).
   */
  slice(x: tf.TensorInfo, begin: number[], size: number[], step: number[] = [1, 1, 1]): tf.TensorInfo {
    if (begin.every((b) => b === 0) && size.every((n, i) => n === x.shape[i]) && step.every((t) => t === 1)) return x;
    const out = this.allocate(size);
    const heap = this.heap();
    const [src, dst] = [this.offset(x), this.offset(out)];
    const [, h, w, c] = x.shape;
    const row = size[3];
    let to = dst;
    for (let i = 0; i < size[0]; i++) {
      for (let j = 0; j < size[1]; j++) {
        for (let k = 0; k < size[2]; k++) {
          const from = src + (((begin[0] + i * step[0]) * h + begin[1] + j * step[1]) * w + begin[2] + k * step[2]) * c + begin[3];
          heap.copyWithin(to, from, from + row);
          to += row;
        }
      }
    }
    return out;
  }

  sum(x: tf.TensorInfo, axis: number[]): tf.TensorInfo {
    return this.run(tf.Sum, { x }, { axis, keepDims: false });
  }

  /** Frees intermediates early (a kernel that loops over big ones). */
  release(...infos: tf.TensorInfo[]): void {
    for (const info of new Set(infos)) {
      const i = this.made.indexOf(info);
      if (i < 0) continue; // an input, or already released
      this.made.splice(i, 1);
      this.backend.disposeData(info.dataId);
    }
  }

  /** Frees every intermediate except `result`, which the caller hands on to tfjs. */
  finish(result: tf.TensorInfo): tf.TensorInfo {
    if (this.views.includes(result)) throw new Error('a kernel cannot return a view: its memory belongs to another tensor');
    // tfjs takes ownership of a kernel's output: an input passed through needs its own reference.
    if (!this.made.includes(result)) result = this.run(tf.Identity, { x: result });
    this.dropViews();
    for (const info of this.made) if (info !== result) this.backend.disposeData(info.dataId);
    this.made.length = 0;
    return result;
  }

  dispose(): void {
    this.dropViews();
    for (const info of this.made) this.backend.disposeData(info.dataId);
    this.made.length = 0;
  }

  /** Unregisters the views, without freeing their memory as disposeData would. */
  private dropViews(): void {
    for (const v of this.views) {
      const data = this.backend.dataIdMap.get(v.dataId);
      if (!data) continue;
      this.backend.wasm.tfjs.disposeData(data.id);
      this.backend.dataIdMap.delete(v.dataId);
    }
    this.views.length = 0;
  }
}

/** Runs `body` in a fresh scope and returns its result, all intermediates freed. */
export function inScope(backend: BackendWasm, body: (scope: KernelScope) => tf.TensorInfo): tf.TensorInfo {
  const scope = new KernelScope(backend);
  try {
    return scope.finish(body(scope));
  } catch (e) {
    scope.dispose();
    throw e;
  }
}
