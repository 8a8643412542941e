// Where tensors live: "cpu", "cuda" or "cuda:N", checked once up front so that a command fails in one line before
// it loads anything, rather than deep inside libtorch.

import { SafetuneError } from "../util/safetuneError.js";
import { compiledWithCuda, cudaAvailable, cudaDeviceCount } from "./runtime.js";

/** A device name that is not usable here (bad spelling, no CUDA build, no such GPU). */
export class DeviceError extends SafetuneError {
  override readonly name = "DeviceError";
}

const DEVICE = /^(cpu|cuda)(?::(\d+))?$/;

/** The canonical form of a device name ("cpu", "cuda", "cuda:1"); throws DeviceError when it is not one. */
export function parseDevice(text: string): string {
  const m = DEVICE.exec(text.trim().toLowerCase());
  if (!m || (m[1] === "cpu" && m[2] !== undefined))
    throw new DeviceError(`device: expected cpu, cuda or cuda:N, got '${text}'`);
  return m[2] === undefined ? (m[1] as string) : `cuda:${Number(m[2])}`;
}

/** What a CUDA device name needs of this installation, or undefined when it is usable. */
export function cudaProblem(
  device: string,
  engine: { compiledWithCuda: boolean; available: boolean; count: number },
): string | undefined {
  if (!device.startsWith("cuda")) return undefined;
  if (!engine.compiledWithCuda)
    return `device ${device}: this safetune addon was built without CUDA (build it against a CUDA libtorch: LIBTORCH=/path/to/torch npm run build:native)`;
  if (!engine.available || engine.count === 0)
    return `device ${device}: libtorch has CUDA but sees no GPU (check the driver and CUDA_VISIBLE_DEVICES)`;
  const index = device.includes(":") ? Number(device.split(":")[1]) : 0;
  if (index >= engine.count)
    return `device ${device}: there ${engine.count === 1 ? "is 1 GPU" : `are ${engine.count} GPUs`} (cuda:0${engine.count > 1 ? `..cuda:${engine.count - 1}` : ""})`;
  return undefined;
}

/** parseDevice, then a check that this build and machine have it; throws a one-line DeviceError otherwise. */
export function resolveDevice(text: string | undefined): string {
  const device = parseDevice(text ?? "cpu");
  if (device === "cpu") return device;
  const problem = cudaProblem(device, {
    compiledWithCuda: compiledWithCuda(),
    available: compiledWithCuda() && cudaAvailable(),
    count: compiledWithCuda() ? cudaDeviceCount() : 0,
  });
  if (problem) throw new DeviceError(problem);
  return device;
}
