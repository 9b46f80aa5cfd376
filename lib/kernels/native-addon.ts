// Loads the oneDNN convolution addon (native/, built by `npm run build:native`) and says why
// when it does not: not built, failed to load, or switched off with SAT_NATIVE=0. Its threads
// follow SAT_THREADS (the grid pool sets it to cores / workers), else all cores.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The addon's functions (native/sat_onednn.cc). Offsets are bytes into `heap`. */
export interface OneDnnAddon {
  conv(op: ConvOp, heap: ArrayBuffer, geometry: Int32Array, a: number, b: number, c: number, d: number, token: number, alpha: number): void;
  /**
   * A conv followed by batch norm with frozen statistics, folded into one conv (forward: x -> y,
   * with the geometry's activation as a post-op; backwardData: dz -> dx). `stats`: offsets of
   * gamma, beta, mean, variance; `token` names the (filter, gamma, variance) values.
   */
  convBn(op: typeof CONV_OP.forward | typeof CONV_OP.backwardData, heap: ArrayBuffer, geometry: Int32Array, x: number, filter: number, out: number, stats: Float64Array, epsilon: number, token: number): void;
  /** Batch norm over dims [N, H, W, C]; `offsets` per mode as in BN_MODE. */
  batchNorm(mode: BnMode, heap: ArrayBuffer, dims: Int32Array, epsilon: number, offsets: Float64Array): void;
  /** out = f(x) when dy is -1, else out = dy * f'(x); n floats each. */
  activation(code: ActivationCode, param: number, heap: ArrayBuffer, n: number, x: number, dy: number, out: number): void;
  /** out[B, M, N] = a[B, M, K] (or its transpose stored [B, K, M]) times b[BB, K, N] (or [BB, N, K]); BB is B or 1. */
  matmul(heap: ArrayBuffer, dims: Int32Array, a: number, b: number, out: number): void;
  implementation(op: ConvOp, geometry: Int32Array, alpha?: number): string;
  setThreads(n: number): void;
  getThreads(): number;
  cacheStats(): { entries: number; bytes: number };
  clearCache(): void;
  version(): string;
}

/** The addon's ops (enum Op in native/sat_onednn.cc). */
export const CONV_OP = { forward: 0, backwardData: 1, backwardWeights: 2 } as const;
export type ConvOp = (typeof CONV_OP)[keyof typeof CONV_OP];

/**
 * Batch-norm modes (enum BnMode in native/sat_onednn.cc) and the byte offsets each takes, in order:
 * inference: x, scale, shift, mean, variance, y; training: x, scale, shift, y, mean, variance;
 * backward: x, dy, scale, shift, mean, variance, dx, dscale, dshift (oneDNN 2.6 wants the shift).
 */
export const BN_MODE = { inference: 0, training: 1, backward: 2 } as const;
export type BnMode = (typeof BN_MODE)[keyof typeof BN_MODE];

/**
 * Activation codes (enum ActCode in native/sat_onednn.cc). The param is a of psoftplus and
 * smoothrelu, alpha of celu, a of the smooth surrogate gradient sigmoid(a x); the others ignore it.
 */
export const NATIVE_ACTIVATION = {
  relu: 0, silu: 1, geluErf: 2, geluTanh: 3, elu: 4, softplus: 5, mish: 6, psoftplus: 7, smoothrelu: 8, celu: 9, surrogate: 10,
} as const;
export type ActivationCode = (typeof NATIVE_ACTIVATION)[keyof typeof NATIVE_ACTIVATION];

/**
 * Activations a conv applies as a oneDNN post-op (enum Act in native/sat_onednn.cc): FusedConv2D's
 * (linear, relu, relu6, elu, leakyrelu, sigmoid), then those of our activations oneDNN has.
 */
export const POST_OP = { linear: 0, relu: 1, relu6: 2, elu: 3, leakyrelu: 4, sigmoid: 5, swish: 6, geluErf: 7, geluTanh: 8, softRelu: 9, mish: 10 } as const;

/** Slots of the geometry array the addon reads (enum G in native/sat_onednn.cc). */
export const GEOMETRY_SLOTS = ['n', 'ih', 'iw', 'ic', 'oc', 'kh', 'kw', 'oh', 'ow', 'sh', 'sw', 'dh', 'dw', 'pt', 'pl', 'pb', 'pr', 'groups', 'act', 'hasBias'] as const;

export const ADDON_PATH = path.resolve(__dirname, '../../native/build/Release/sat_onednn.node');

export interface NativeStatus {
  /** True when the addon loaded and is not switched off. */
  available: boolean;
  /** In words a user can act on. */
  reason: string;
  version?: string;
  threads?: number;
}

/** False when SAT_NATIVE is 0, false, off or no. */
export function nativeEnabled(env = process.env.SAT_NATIVE): boolean {
  return !['0', 'false', 'off', 'no'].includes((env ?? '').trim().toLowerCase());
}

/**
 * Threads for oneDNN: SAT_THREADS when it is a positive integer, else every core. A bad value
 * is an error (a silent default would oversubscribe a grid's workers).
 */
export function threadsFromEnv(env = process.env.SAT_THREADS): number {
  const raw = (env ?? '').trim();
  if (raw === '') return os.availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SAT_THREADS='${env}' is not a positive integer; set it to the number of threads for native kernels (or unset it for all ${os.availableParallelism()} cores).`);
  return n;
}

/** Every function the kernels call: a build that lacks one is out of date. */
export const ADDON_FUNCTIONS = ['conv', 'convBn', 'batchNorm', 'activation', 'matmul', 'implementation', 'setThreads', 'getThreads', 'cacheStats', 'clearCache', 'version'] as const satisfies readonly (keyof OneDnnAddon)[];

let loaded: { addon?: OneDnnAddon; status: NativeStatus } | undefined;

function load(): { addon?: OneDnnAddon; status: NativeStatus } {
  if (!nativeEnabled()) return { status: { available: false, reason: 'SAT_NATIVE=0: native kernels switched off' } };
  if (!fs.existsSync(ADDON_PATH)) {
    return { status: { available: false, reason: 'native addon not built (`npm run build:native`; needs libdnnl-dev and a C++ compiler)' } };
  }
  // OpenMP's threads otherwise spin for a while after each conv, taking a core from the JS
  // thread's element-wise work and from other processes (a grid's workers). libgomp reads this
  // when the addon loads it; the user's own setting wins.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  let addon: OneDnnAddon;
  try {
    addon = require(ADDON_PATH) as OneDnnAddon;
  } catch (e) {
    return { status: { available: false, reason: `native addon failed to load: ${(e as Error).message.split('\n')[0]} (rebuild with \`npm run build:native\`)` } };
  }
  // A build older than this code (pulled without `npm run build:native`) lacks functions the
  // kernels call: run without it rather than fail in the middle of a training step.
  const missing = ADDON_FUNCTIONS.filter((f) => typeof (addon as unknown as Record<string, unknown>)[f] !== 'function');
  if (missing.length) {
    return { status: { available: false, reason: `native addon in native/build is older than the code (it lacks ${missing.join(', ')}): rebuild it with \`npm run build:native\`` } };
  }
  const threads = threadsFromEnv();
  addon.setThreads(threads);
  return { addon, status: { available: true, reason: `oneDNN ${addon.version()} convolutions, ${threads} thread${threads === 1 ? '' : 's'}`, version: addon.version(), threads } };
}

/** The addon when it is built, loads and is enabled; loaded once per process. */
export function nativeAddon(): OneDnnAddon | undefined {
  loaded ??= load();
  return loaded.addon;
}

export function nativeStatus(): NativeStatus {
  loaded ??= load();
  return loaded.status;
}

/** Sets oneDNN's thread count for this process (the option behind SAT_THREADS). */
export function setNativeThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`native threads must be a positive integer, got ${n}`);
  const addon = nativeAddon();
  if (!addon) throw new Error(`cannot set native threads: ${nativeStatus().reason}`);
  addon.setThreads(n);
  loaded!.status = { ...loaded!.status, threads: n, reason: `oneDNN ${addon.version()} convolutions, ${n} thread${n === 1 ? '' : 's'}` };
}
