// --dtype and --device of the commands that load a model without a run config (generate, eval, serve, export):
// declared once here, checked before anything is loaded. The trainers take the same two options from their run
// config (dtype, device in src/train/runConfig.ts).

import { DeviceError, resolveDevice } from "../engine/device.js";
import { COMPUTE_DTYPES, type ComputeDtype, parseComputeDtype } from "../engine/dtype.js";
import { QUANTIZE_KINDS, type QuantizeKind } from "../engine/quantized.js";
import { UsageError } from "./errors.js";

export const MODEL_PLACEMENT_FLAGS = {
  dtype: { type: "string" },
  device: { type: "string" },
  quantize: { type: "string" },
} as const;

export const MODEL_PLACEMENT_HELP = `  --dtype D               weights in memory: float32 (default), bfloat16 or float16 (half the memory)
  --device D              cpu (default), cuda or cuda:N (needs an addon built against a CUDA libtorch)
  --quantize Q            pack the 2-D weights of a Llama-family model: int8 (per channel, ~1 byte a weight)
                          or nf4 (4-bit NormalFloat, blocks of 64, 0.56 bytes a weight); norms stay in --dtype`;

export interface ModelPlacement {
  dtype?: ComputeDtype;
  device?: string;
  quantize?: QuantizeKind;
}

/** The flags' dtype and device, validated (a CUDA device also against this build and machine). */
export function modelPlacement(values: {
  dtype?: string;
  device?: string;
  quantize?: string;
}): ModelPlacement {
  const placement: ModelPlacement = {};
  if (values.dtype !== undefined) {
    const dtype = parseComputeDtype(values.dtype);
    if (!dtype)
      throw new UsageError(
        `--dtype: expected ${COMPUTE_DTYPES.slice(0, -1).join(", ")} or ${COMPUTE_DTYPES.at(-1)}, got '${values.dtype}'`,
      );
    placement.dtype = dtype;
  }
  if (values.device !== undefined) {
    try {
      placement.device = resolveDevice(values.device);
    } catch (error) {
      if (error instanceof DeviceError) throw new UsageError(`--${error.message}`);
      throw error;
    }
  }
  if (values.quantize !== undefined) {
    if (!Object.hasOwn(QUANTIZE_KINDS, values.quantize))
      throw new UsageError(
        `--quantize: expected ${Object.keys(QUANTIZE_KINDS).join(" or ")}, got '${values.quantize}'`,
      );
    placement.quantize = values.quantize as QuantizeKind;
  }
  return placement;
}
