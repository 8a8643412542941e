// Data types the engine speaks, and how they map onto JS typed arrays and safetensors codes.

export type DType =
  | "float32"
  | "float16"
  | "bfloat16"
  | "float64"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint8"
  | "bool";

export const FLOAT_DTYPES: readonly DType[] = ["float32", "float16", "bfloat16", "float64"];

/** The dtypes a model's weights may be loaded in for compute (--dtype, config key dtype / torch_dtype). */
export const COMPUTE_DTYPES = ["float32", "bfloat16", "float16"] as const;
export type ComputeDtype = (typeof COMPUTE_DTYPES)[number];

/** bfloat16 and float16: 2 bytes a value, too coarse for optimizer state and losses (mixed precision keeps those fp32). */
export function isHalfDtype(dtype: DType): boolean {
  return dtype === "bfloat16" || dtype === "float16";
}

/** A user's dtype name ("bf16", "float16", ...) as a compute dtype; undefined when it is not one. */
export function parseComputeDtype(name: string): ComputeDtype | undefined {
  const dtype = parseDtype(name);
  return (COMPUTE_DTYPES as readonly string[]).includes(dtype ?? "") ? (dtype as ComputeDtype) : undefined;
}

export function isFloatDtype(dtype: DType): boolean {
  return FLOAT_DTYPES.includes(dtype);
}

export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** Parses user-facing names ("fp32", "bf16", "half", ...) into a DType; undefined when unknown. */
export function parseDtype(name: string): DType | undefined {
  const aliases: Record<string, DType> = {
    float32: "float32",
    fp32: "float32",
    f32: "float32",
    float: "float32",
    float16: "float16",
    fp16: "float16",
    f16: "float16",
    half: "float16",
    bfloat16: "bfloat16",
    bf16: "bfloat16",
    float64: "float64",
    f64: "float64",
    double: "float64",
    int64: "int64",
    int32: "int32",
    int16: "int16",
    int8: "int8",
    uint8: "uint8",
    bool: "bool",
  };
  return aliases[name.toLowerCase()];
}

export type TypedArrayFor<D extends DType> = D extends "float32"
  ? Float32Array
  : D extends "float64"
    ? Float64Array
    : D extends "int64"
      ? BigInt64Array
      : D extends "int32"
        ? Int32Array
        : D extends "int16"
          ? Int16Array
          : D extends "int8"
            ? Int8Array
            : Uint8Array | Uint16Array;

/** Wraps raw bytes of a dtype as the matching typed array (f16/bf16 as their raw Uint16 bits). */
export function typedView(bytes: ArrayBuffer, dtype: DType): ArrayBufferView {
  switch (dtype) {
    case "float32":
      return new Float32Array(bytes);
    case "float64":
      return new Float64Array(bytes);
    case "int64":
      return new BigInt64Array(bytes);
    case "int32":
      return new Int32Array(bytes);
    case "int16":
      return new Int16Array(bytes);
    case "int8":
      return new Int8Array(bytes);
    case "float16":
    case "bfloat16":
      return new Uint16Array(bytes);
    default:
      return new Uint8Array(bytes);
  }
}
