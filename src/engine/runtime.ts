// Process-wide engine settings: seeds, RNG state, threads, devices.
import { nt, Tensor } from "./tensor.js";

/** Seeds libtorch's CPU (and CUDA) generators: same seed, same random tensors. */
export function manualSeed(seed: number): void {
  nt().manualSeed(seed);
}
/** The CPU generator state (uint8 tensor), to save in checkpoints. */
export function getRngState(): Tensor {
  return new Tensor(nt().getRngState());
}
export function setRngState(state: Tensor): void {
  nt().setRngState(state.handle);
}
/**
 * Intra-op threads of libtorch, and of BLAS's own thread pool (OpenBLAS keeps one that libtorch does not resize).
 * BLAS's thread count can change results in the last bits (the demo printed other digits with two BLAS threads a
 * stage than with one), so both follow `n`.
 */
export function setNumThreads(n: number): void {
  nt().setNumThreads(n);
}
export function getNumThreads(): number {
  return nt().getNumThreads();
}
export function cudaAvailable(): boolean {
  return nt().cudaAvailable();
}
/** Whether the addon was compiled against a CUDA libtorch (false: only the CPU is reachable). */
export function compiledWithCuda(): boolean {
  return nt().compiledWithCuda();
}
export function cudaDeviceCount(): number {
  return nt().cudaDeviceCount();
}
export function torchVersion(): string {
  return nt().version();
}
/** Native tensor references alive in this process (all threads): for leak tests. */
export function liveTensors(): number {
  return nt().liveTensors();
}
/** "cuda" when a GPU is usable, else "cpu". */
export function defaultDevice(): string {
  return cudaAvailable() ? "cuda" : "cpu";
}
