import { dotKernelBase64 } from './dotKernelBytes.ts';

/** The part of the WebAssembly JS API used here (the project's TS lib setting declares none of it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  readonly Memory: new (descriptor: { initial: number }) => WasmMemory;
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: object) => { readonly exports: unknown };
}
type WasmModule = { readonly __brand: 'WebAssembly.Module' };
type WasmMemory = { readonly buffer: ArrayBuffer };

const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
let compiled: WasmModule | null | undefined;

/** The compiled kernel module (dotKernel.wat), or null where WebAssembly SIMD is unavailable (once per thread). */
function kernelModule(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = Buffer.from(dotKernelBase64, 'base64');
    compiled = wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null;
  }
  return compiled;
}

/** True when this runtime can run the SIMD kernels (Node >= 16.4 and every current browser can). */
export function wasmSimdAvailable(): boolean {
  return kernelModule() !== null;
}

/**
 * A new instance of the kernel module over its own memory of `bytes`, created at its final size: growing it
 * would detach the old ArrayBuffer, and one detached buffer makes V8 add detach checks to every typed-array
 * access in the process (about 2x slower).
 */
export function instantiateKernels<Exports>(bytes: number): { exports: Exports; buffer: ArrayBuffer } {
  const module = kernelModule();
  if (module === null) throw new Error('WebAssembly SIMD is not available in this runtime');
  const api = wasmApi as WasmApi;
  const memory = new api.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  return { exports: new api.Instance(module, { env: { memory } }).exports as Exports, buffer: memory.buffer };
}

export const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;
