// Picks the TensorFlow.js backend: native `tensorflow` (tfjs-node-gpu or tfjs-node) when it is
// installed and loads, else `wasm` with our training kernels, else the pure-JS `cpu`.
// SAT_BACKEND=tensorflow|wasm|cpu overrides the choice.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

export interface BackendInfo {
  name: BackendName;
  /** Why this backend was chosen, in words a user can act on. */
  reason: string;
  /** The native package that provided `tensorflow`, when that is the backend. */
  nativePackage?: string;
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** Loads a native tfjs package; returns its name, or the reason none loaded. */
function loadNative(): { pkg?: string; failures: string[] } {
  const failures: string[] = [];
  for (const pkg of NATIVE_PACKAGES) {
    try {
      // danfojs-node's npm override installs plain @tensorflow/tfjs under this name: not native.
      if ((require(`${pkg}/package.json`) as { name: string }).name !== pkg) continue;
    } catch {
      continue; // not installed: not worth a warning
    }
    try {
      require(pkg);
      if (tf.findBackendFactory('tensorflow')) return { pkg, failures };
      failures.push(`${pkg} loaded but registered no 'tensorflow' backend`);
    } catch (e) {
      failures.push(`${pkg} is installed but failed to load: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { failures };
}

/** Registers the wasm training kernels (lib/kernels) when that module exists. */
async function registerWasmKernels(): Promise<string> {
  const kernels = await import('./kernels');
  kernels.registerWasmKernels();
  return kernels.wasmKernelsEnabled() ? ` with our gradient kernels; ${kernels.describeConvKernels()}` : ' WITHOUT our gradient kernels (SAT_WASM_KERNELS=0: conv training fails)';
}

let chosen: BackendInfo | undefined;

/**
 * Chooses and initialises the backend once per process; later calls return the same choice.
 * `requested` (or SAT_BACKEND) forces one; an unknown name is an error that lists the valid ones.
 */
export async function initBackend(requested = process.env.SAT_BACKEND, quiet = false): Promise<BackendInfo> {
  if (chosen && (!requested || requested === chosen.name)) return chosen;
  if (requested && !BACKENDS.includes(requested as BackendName)) {
    throw new Error(`Unknown backend '${requested}' (from SAT_BACKEND or --backend). Use one of: ${BACKENDS.join(', ')}.`);
  }
  // PROD silences tfjs's "install the node backend" banner; describeBackend says what runs.
  tf.env().set('PROD', true);
  let info: BackendInfo;
  if (requested === 'cpu') {
    info = { name: 'cpu', reason: 'requested by SAT_BACKEND=cpu' };
  } else if (requested === 'wasm') {
    info = { name: 'wasm', reason: 'requested by SAT_BACKEND=wasm' };
  } else {
    const native = loadNative();
    if (native.pkg) {
      info = { name: 'tensorflow', reason: `native TensorFlow from ${native.pkg}`, nativePackage: native.pkg };
    } else if (requested === 'tensorflow') {
      throw new Error(
        `SAT_BACKEND=tensorflow but no native TensorFlow backend could be loaded` +
          (native.failures.length ? `: ${native.failures.join('; ')}` : ' (neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed)') +
          `. Install one with 'npm install @tensorflow/tfjs-node-gpu@4.22.0' on a machine with internet, or use SAT_BACKEND=wasm.`,
      );
    } else {
      for (const f of native.failures) if (!quiet) console.warn(`[sat] warning: ${f}; falling back to wasm.`);
      info = {
        name: 'wasm',
        reason: native.failures.length
          ? 'native TensorFlow failed to load (see warning); wasm is the fastest backend left'
          : 'no native TensorFlow package installed; wasm (XNNPACK)',
      };
    }
  }
  if (info.name === 'wasm') {
    try {
      info.reason += await registerWasmKernels();
      if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    } catch (e) {
      if (requested === 'wasm') throw new Error(`The wasm backend failed to start: ${(e as Error).message}`);
      if (!quiet) console.warn(`[sat] warning: the wasm backend failed to start (${(e as Error).message}); using the slow cpu backend.`);
      info = { name: 'cpu', reason: 'wasm failed to start' };
    }
  }
  if (info.name !== 'wasm' && !(await tf.setBackend(info.name))) {
    throw new Error(`tf.setBackend('${info.name}') failed.`);
  }
  await tf.ready();
  chosen = info;
  return info;
}

/** What the `tensorflow` backend runs on: libtensorflow's version and whether ops go to a GPU. */
export interface NativeDevice {
  libtensorflow?: string;
  /** tfjs-node's binding.isUsingGpuDevice(); undefined when the binding cannot tell. */
  gpu?: boolean;
  /** A warning to print loudly, when the GPU package runs on the CPU. */
  warning?: string;
}

/**
 * Asks the native binding (tfjs-node/-node-gpu: binding.TF_Version, binding.isUsingGpuDevice())
 * whether a GPU is in use. tfjs-node-gpu 4.22 loads libtensorflow 2.9.1, which needs CUDA 11.2 and
 * cuDNN 8.1; without them it fails to load (libcudart.so.11.0 missing, tensorflow/tfjs#8362) or
 * silently runs on the CPU (tensorflow/tfjs#8269): that second case is the warning.
 */
export function nativeDevice(pkg: string | undefined, binding: { TF_Version?: string; isUsingGpuDevice?: () => boolean } | undefined): NativeDevice {
  const libtensorflow = binding?.TF_Version;
  let gpu: boolean | undefined;
  try {
    gpu = typeof binding?.isUsingGpuDevice === 'function' ? Boolean(binding.isUsingGpuDevice()) : undefined;
  } catch {
    gpu = undefined;
  }
  const warning = pkg === '@tensorflow/tfjs-node-gpu' && gpu !== true
    ? `WARNING: ${pkg} loaded, but TensorFlow ${gpu === false ? 'runs on the CPU' : 'does not say whether it uses a GPU'}. ` +
      `libtensorflow ${libtensorflow ?? '2.9.1'} needs CUDA 11.2 and cuDNN 8.1 (libcudart.so.11.0, libcudnn.so.8) on the library path; ` +
      'with CUDA 12 alone it falls back to the CPU silently (tensorflow/tfjs#8269). Check nvidia-smi, LD_LIBRARY_PATH and CUDA_VISIBLE_DEVICES; see the README\'s GPU section.'
    : undefined;
  return { ...(libtensorflow ? { libtensorflow } : {}), ...(gpu !== undefined ? { gpu } : {}), ...(warning ? { warning } : {}) };
}

/** nativeDevice() of the running backend, when it is `tensorflow`. */
export function currentNativeDevice(info: BackendInfo): NativeDevice | undefined {
  if (info.name !== 'tensorflow') return undefined;
  const backend = tf.backend() as unknown as { binding?: { TF_Version?: string; isUsingGpuDevice?: () => boolean } };
  return nativeDevice(info.nativePackage, backend.binding);
}

/** One line for logs and notebooks: which backend runs and why. */
export function describeBackend(info: BackendInfo): string {
  return `backend: ${info.name} (${info.reason})`;
}
