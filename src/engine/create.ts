// Making tensors: from JS data, and the usual factories.
import type { DType } from "./dtype.js";
import { nt, Tensor } from "./tensor.js";

export interface CreateOptions {
  dtype?: DType;
  device?: string;
}

type Nested = number | boolean | Nested[];

/**
 * A tensor from JS data: a typed array (its dtype is kept unless `dtype` says otherwise; give `shape`),
 * or plain numbers / nested arrays (float32 by default; the shape is inferred).
 */
export function tensor(
  data: ArrayBufferView | Nested,
  shape?: number[],
  options: CreateOptions = {},
): Tensor {
  if (ArrayBuffer.isView(data)) {
    const own = typedArrayDtype(data);
    const dims = shape ?? [data.byteLength / bytesPerElement(data)];
    const t = new Tensor(nt().fromBytes(data, dims, own, options.device));
    return options.dtype && options.dtype !== own ? convert(t, options.dtype) : t;
  }
  const dims = shape ?? inferShape(data);
  const flat = flatten(data);
  const dtype = options.dtype ?? "float32";
  const numbers = flat.map(Number);
  const product = dims.reduce((a, b) => a * b, 1);
  if (product !== numbers.length)
    throw new RangeError(`tensor(): shape [${dims}] needs ${product} values, got ${numbers.length}`);
  if (dtype === "int64")
    return new Tensor(
      nt().fromBytes(
        BigInt64Array.from(numbers, (n) => BigInt(Math.trunc(n))),
        dims,
        "int64",
        options.device,
      ),
    );
  if (dtype === "bool")
    return new Tensor(
      nt().fromBytes(
        Uint8Array.from(numbers, (n) => (n ? 1 : 0)),
        dims,
        "bool",
        options.device,
      ),
    );
  if (dtype === "float64")
    return new Tensor(nt().fromBytes(Float64Array.from(numbers), dims, "float64", options.device));
  if (dtype === "int32")
    return new Tensor(nt().fromBytes(Int32Array.from(numbers), dims, "int32", options.device));
  const f32 = new Tensor(nt().fromBytes(Float32Array.from(numbers), dims, "float32", options.device));
  return dtype === "float32" ? f32 : convert(f32, dtype);
}

/** Raw bytes (e.g. a safetensors entry) as a tensor of `dtype` and `shape`; the bytes are copied. */
export function fromBytes(bytes: Uint8Array, shape: number[], dtype: DType, device?: string): Tensor {
  return new Tensor(nt().fromBytes(bytes, shape, dtype, device));
}

/**
 * A CPU tensor of `dtype` and `shape` read from the open file `fd` at byte `position` directly into its storage
 * (no intermediate buffer): what loads checkpoint weights without a second copy.
 */
export function readTensorFromFile(fd: number, position: number, shape: number[], dtype: DType): Tensor {
  return new Tensor(nt().readFile(fd, position, shape, dtype));
}

function convert(t: Tensor, dtype: DType): Tensor {
  const out = t.to(dtype);
  t.dispose();
  return out;
}

function flatten(data: Nested): (number | boolean)[] {
  if (!Array.isArray(data)) return [data];
  const out: (number | boolean)[] = [];
  const walk = (v: Nested) => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else out.push(v);
  };
  walk(data);
  return out;
}

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let level: Nested = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as Nested;
  }
  return shape;
}

function bytesPerElement(view: ArrayBufferView): number {
  return (view as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
}

function typedArrayDtype(view: ArrayBufferView): DType {
  if (view instanceof Float32Array) return "float32";
  if (view instanceof Float64Array) return "float64";
  if (view instanceof BigInt64Array) return "int64";
  if (view instanceof Int32Array) return "int32";
  if (view instanceof Int16Array) return "int16";
  if (view instanceof Int8Array) return "int8";
  if (view instanceof Uint8Array) return "uint8";
  throw new TypeError(
    `tensor(): unsupported typed array ${view.constructor.name}; pass Float32Array, BigInt64Array, Int32Array or Uint8Array`,
  );
}

export function scalar(value: number, options: CreateOptions = {}): Tensor {
  return new Tensor(nt().scalarTensor(value, options.dtype ?? "float32", options.device));
}
export function zeros(shape: number[], options: CreateOptions = {}): Tensor {
  return new Tensor(nt().zeros(shape, options.dtype ?? "float32", options.device));
}
export function ones(shape: number[], options: CreateOptions = {}): Tensor {
  return new Tensor(nt().ones(shape, options.dtype ?? "float32", options.device));
}
export function empty(shape: number[], options: CreateOptions = {}): Tensor {
  return new Tensor(nt().empty(shape, options.dtype ?? "float32", options.device));
}
export function full(shape: number[], value: number | boolean, options: CreateOptions = {}): Tensor {
  return new Tensor(nt().full(shape, value, options.dtype ?? "float32", options.device));
}
/** [start, end) by step; int64 by default, as torch.arange on integers. */
export function arange(start: number, end: number, step = 1, options: CreateOptions = {}): Tensor {
  return new Tensor(nt().arange(start, end, step, options.dtype ?? "int64", options.device));
}
export function randn(shape: number[], options: CreateOptions = {}): Tensor {
  return new Tensor(nt().randn(shape, options.dtype ?? "float32", options.device));
}
export function rand(shape: number[], options: CreateOptions = {}): Tensor {
  return new Tensor(nt().rand(shape, options.dtype ?? "float32", options.device));
}
export function randint(low: number, high: number, shape: number[], options: CreateOptions = {}): Tensor {
  return new Tensor(nt().randint(low, high, shape, options.dtype ?? "int64", options.device));
}
export function randperm(n: number): Tensor {
  return new Tensor(nt().randperm(n));
}
export function zerosLike(t: Tensor): Tensor {
  return new Tensor(nt().zerosLike(t.handle));
}
export function onesLike(t: Tensor): Tensor {
  return new Tensor(nt().onesLike(t.handle));
}
