// Gradient kernels for the wasm backend (filled in by the wasm-kernels work, issue 3).
export function registerWasmKernels(): void {}
