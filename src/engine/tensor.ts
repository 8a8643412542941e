// The Tensor: a TypeScript face over one native at::Tensor reference. Every method maps onto one ATen call.
import { type DType, typedView } from "./dtype.js";
import { type Handle, loadNative, type NativeTorch } from "./native.js";
import { track } from "./scope.js";

let native: NativeTorch | undefined;
/** The addon, cached for the hot path. */
export function nt(): NativeTorch {
  native ??= loadNative();
  return native;
}

export type TensorOrNumber = Tensor | number;

function raw(value: TensorOrNumber): Handle | number {
  return typeof value === "number" ? value : value.handle;
}

export class Tensor {
  readonly isTensor = true;
  #handle: Handle | undefined;
  #shape: readonly number[] | undefined;
  #dtype: DType | undefined;

  /** Wraps a native handle; the tensor joins the innermost tidy() scope. */
  constructor(handle: Handle) {
    this.#handle = handle;
    track(this);
  }

  get handle(): Handle {
    if (this.#handle === undefined) throw new Error("tensor used after dispose()");
    return this.#handle;
  }

  get isDisposed(): boolean {
    return this.#handle === undefined;
  }

  /** Frees the native reference now (idempotent). */
  dispose(): void {
    if (this.#handle === undefined) return;
    nt().dispose(this.#handle);
    this.#handle = undefined;
  }

  // ---- metadata
  get shape(): readonly number[] {
    this.#shape ??= Object.freeze(nt().shape(this.handle));
    return this.#shape;
  }
  get rank(): number {
    return this.shape.length;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  size(dim: number): number {
    const d = dim < 0 ? this.rank + dim : dim;
    const s = this.shape[d];
    if (s === undefined) throw new RangeError(`dimension ${dim} out of range for shape [${this.shape}]`);
    return s;
  }
  get dtype(): DType {
    this.#dtype ??= nt().dtype(this.handle) as DType;
    return this.#dtype;
  }
  get device(): string {
    return nt().device(this.handle);
  }
  get isContiguous(): boolean {
    return nt().isContiguous(this.handle);
  }

  // ---- data out
  /** The data as a typed array (f16/bf16 as raw Uint16 bits; use toFloat32Array for their values). */
  toTypedArray(): ArrayBufferView {
    return typedView(nt().toBytes(this.handle), this.dtype);
  }
  toBytes(): Uint8Array {
    return new Uint8Array(nt().toBytes(this.handle));
  }
  toFloat32Array(): Float32Array {
    if (this.dtype === "float32") return new Float32Array(nt().toBytes(this.handle));
    const h = nt().toDtype(this.handle, "float32");
    try {
      return new Float32Array(nt().toBytes(h));
    } finally {
      nt().dispose(h);
    }
  }
  /** The data as plain numbers, flattened in row-major order. */
  toArray(): number[] {
    const dtype = this.dtype;
    if (dtype === "int64") return Array.from(new BigInt64Array(nt().toBytes(this.handle)), Number);
    if (dtype === "float16" || dtype === "bfloat16") return Array.from(this.toFloat32Array());
    return Array.from(typedView(nt().toBytes(this.handle), dtype) as unknown as ArrayLike<number>, Number);
  }
  item(): number {
    return nt().item(this.handle);
  }

  // ---- elementwise
  add(other: TensorOrNumber): Tensor {
    return new Tensor(nt().add(this.handle, raw(other)));
  }
  sub(other: TensorOrNumber): Tensor {
    return new Tensor(nt().sub(this.handle, raw(other)));
  }
  mul(other: TensorOrNumber): Tensor {
    return new Tensor(nt().mul(this.handle, raw(other)));
  }
  div(other: TensorOrNumber): Tensor {
    return new Tensor(nt().div(this.handle, raw(other)));
  }
  pow(exponent: TensorOrNumber): Tensor {
    return new Tensor(nt().pow(this.handle, raw(exponent)));
  }
  maximum(other: TensorOrNumber): Tensor {
    return new Tensor(nt().maximum(this.handle, raw(other)));
  }
  minimum(other: TensorOrNumber): Tensor {
    return new Tensor(nt().minimum(this.handle, raw(other)));
  }
  neg(): Tensor {
    return new Tensor(nt().neg(this.handle));
  }
  exp(): Tensor {
    return new Tensor(nt().exp(this.handle));
  }
  log(): Tensor {
    return new Tensor(nt().log(this.handle));
  }
  log1p(): Tensor {
    return new Tensor(nt().log1p(this.handle));
  }
  sqrt(): Tensor {
    return new Tensor(nt().sqrt(this.handle));
  }
  rsqrt(): Tensor {
    return new Tensor(nt().rsqrt(this.handle));
  }
  abs(): Tensor {
    return new Tensor(nt().abs(this.handle));
  }
  sign(): Tensor {
    return new Tensor(nt().sign(this.handle));
  }
  square(): Tensor {
    return new Tensor(nt().square(this.handle));
  }
  reciprocal(): Tensor {
    return new Tensor(nt().reciprocal(this.handle));
  }
  sin(): Tensor {
    return new Tensor(nt().sin(this.handle));
  }
  cos(): Tensor {
    return new Tensor(nt().cos(this.handle));
  }
  tanh(): Tensor {
    return new Tensor(nt().tanh(this.handle));
  }
  sigmoid(): Tensor {
    return new Tensor(nt().sigmoid(this.handle));
  }
  logsigmoid(): Tensor {
    return new Tensor(nt().logsigmoid(this.handle));
  }
  relu(): Tensor {
    return new Tensor(nt().relu(this.handle));
  }
  silu(): Tensor {
    return new Tensor(nt().silu(this.handle));
  }
  /** GELU; "tanh" is GPT-2's gelu_new approximation. */
  gelu(approximate: "none" | "tanh" = "none"): Tensor {
    return new Tensor(nt().gelu(this.handle, approximate));
  }
  clamp(min?: number, max?: number): Tensor {
    return new Tensor(nt().clamp(this.handle, min, max));
  }
  floor(): Tensor {
    return new Tensor(nt().floor(this.handle));
  }
  isfinite(): Tensor {
    return new Tensor(nt().isfinite(this.handle));
  }
  dropout(p: number, train: boolean): Tensor {
    return new Tensor(nt().dropout(this.handle, p, train));
  }

  /** this + a * b, in one kernel. */
  addcmul(a: Tensor, b: Tensor): Tensor {
    return new Tensor(nt().addcmul(this.handle, a.handle, b.handle));
  }

  // ---- comparison and logic
  eq(other: TensorOrNumber): Tensor {
    return new Tensor(nt().eq(this.handle, raw(other)));
  }
  ne(other: TensorOrNumber): Tensor {
    return new Tensor(nt().ne(this.handle, raw(other)));
  }
  lt(other: TensorOrNumber): Tensor {
    return new Tensor(nt().lt(this.handle, raw(other)));
  }
  le(other: TensorOrNumber): Tensor {
    return new Tensor(nt().le(this.handle, raw(other)));
  }
  gt(other: TensorOrNumber): Tensor {
    return new Tensor(nt().gt(this.handle, raw(other)));
  }
  ge(other: TensorOrNumber): Tensor {
    return new Tensor(nt().ge(this.handle, raw(other)));
  }
  logicalAnd(other: Tensor): Tensor {
    return new Tensor(nt().logicalAnd(this.handle, other.handle));
  }
  logicalOr(other: Tensor): Tensor {
    return new Tensor(nt().logicalOr(this.handle, other.handle));
  }
  logicalNot(): Tensor {
    return new Tensor(nt().logicalNot(this.handle));
  }
  /** Where `mask` is true, `value`; elsewhere this tensor. */
  maskedFill(mask: Tensor, value: TensorOrNumber): Tensor {
    return new Tensor(nt().maskedFill(this.handle, mask.handle, raw(value)));
  }

  // ---- reductions (dims undefined: over all elements)
  sum(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(nt().sum(this.handle, dimList(dims), keepdim));
  }
  mean(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(nt().mean(this.handle, dimList(dims), keepdim));
  }
  amax(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(nt().amax(this.handle, dimList(dims), keepdim));
  }
  amin(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(nt().amin(this.handle, dimList(dims), keepdim));
  }
  logsumexp(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(nt().logsumexp(this.handle, dimList(dims), keepdim));
  }
  /** Max along a dimension: values and their indices. */
  max(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    const [v, i] = nt().maxDim(this.handle, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(nt().argmax(this.handle, dim, keepdim));
  }
  norm(p = 2): Tensor {
    return new Tensor(nt().norm(this.handle, p));
  }
  all(): Tensor {
    return new Tensor(nt().all(this.handle));
  }
  any(): Tensor {
    return new Tensor(nt().any(this.handle));
  }
  cumsum(dim: number): Tensor {
    return new Tensor(nt().cumsum(this.handle, dim));
  }

  // ---- shape
  view(...shape: number[]): Tensor {
    return new Tensor(nt().view(this.handle, shape));
  }
  reshape(...shape: number[]): Tensor {
    return new Tensor(nt().reshape(this.handle, shape));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return new Tensor(nt().transpose(this.handle, dim0, dim1));
  }
  permute(...dims: number[]): Tensor {
    return new Tensor(nt().permute(this.handle, dims));
  }
  contiguous(): Tensor {
    return new Tensor(nt().contiguous(this.handle));
  }
  expand(...shape: number[]): Tensor {
    return new Tensor(nt().expand(this.handle, shape));
  }
  repeat(...repeats: number[]): Tensor {
    return new Tensor(nt().repeat(this.handle, repeats));
  }
  repeatInterleave(repeats: number, dim: number): Tensor {
    return new Tensor(nt().repeatInterleave(this.handle, repeats, dim));
  }
  squeeze(dim: number): Tensor {
    return new Tensor(nt().squeeze(this.handle, dim));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(nt().unsqueeze(this.handle, dim));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return new Tensor(nt().flatten(this.handle, startDim, endDim));
  }
  /** The slice [start, start + length) along `dim` (a view). */
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(nt().narrow(this.handle, dim, start, length));
  }
  select(dim: number, index: number): Tensor {
    return new Tensor(nt().select(this.handle, dim, index));
  }
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    return nt()
      .split(this.handle, sizeOrSizes, dim)
      .map((h) => new Tensor(h));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(nt().indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(nt().gather(this.handle, dim, index.handle));
  }
  scatter(dim: number, index: Tensor, src: TensorOrNumber): Tensor {
    return new Tensor(nt().scatter(this.handle, dim, index.handle, raw(src)));
  }
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(nt().maskedSelect(this.handle, mask.handle));
  }
  triu(diagonal = 0): Tensor {
    return new Tensor(nt().triu(this.handle, diagonal));
  }
  tril(diagonal = 0): Tensor {
    return new Tensor(nt().tril(this.handle, diagonal));
  }
  flip(...dims: number[]): Tensor {
    return new Tensor(nt().flip(this.handle, dims));
  }
  /** Shifts elements along `dim` by `shift`, wrapping around. */
  roll(shift: number, dim: number): Tensor {
    return new Tensor(nt().roll(this.handle, [shift], [dim]));
  }

  // ---- sorting and sampling
  topk(k: number, dim = -1, largest = true): { values: Tensor; indices: Tensor } {
    const [v, i] = nt().topk(this.handle, k, dim, largest);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = nt().sort(this.handle, dim, descending);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** Draws indices from each row of non-negative weights. */
  multinomial(numSamples: number, replacement = false): Tensor {
    return new Tensor(nt().multinomial(this.handle, numSamples, replacement));
  }

  // ---- neural-network primitives
  matmul(other: Tensor): Tensor {
    return new Tensor(nt().matmul(this.handle, other.handle));
  }
  softmax(dim: number): Tensor {
    return new Tensor(nt().softmax(this.handle, dim));
  }
  logSoftmax(dim: number): Tensor {
    return new Tensor(nt().logSoftmax(this.handle, dim));
  }

  // ---- conversion
  to(dtypeOrDevice: DType | string): Tensor {
    return isDeviceName(dtypeOrDevice)
      ? new Tensor(nt().toDevice(this.handle, dtypeOrDevice))
      : new Tensor(nt().toDtype(this.handle, dtypeOrDevice));
  }
  float(): Tensor {
    return this.to("float32");
  }
  long(): Tensor {
    return this.to("int64");
  }
  clone(): Tensor {
    return new Tensor(nt().clone(this.handle));
  }

  // ---- in place (return this)
  copy_(src: Tensor): this {
    nt().copy_(this.handle, src.handle);
    return this;
  }
  add_(other: TensorOrNumber, alpha = 1): this {
    nt().add_(this.handle, raw(other), alpha);
    return this;
  }
  mul_(other: TensorOrNumber): this {
    nt().mul_(this.handle, raw(other));
    return this;
  }
  fill_(value: number | boolean): this {
    nt().fill_(this.handle, value);
    return this;
  }
  zero_(): this {
    nt().zero_(this.handle);
    return this;
  }
  normal_(mean = 0, std = 1): this {
    nt().normal_(this.handle, mean, std);
    return this;
  }
  uniform_(low = 0, high = 1): this {
    nt().uniform_(this.handle, low, high);
    return this;
  }

  // ---- autograd
  get requiresGrad(): boolean {
    return nt().requiresGrad(this.handle);
  }
  requiresGrad_(value = true): this {
    nt().setRequiresGrad(this.handle, value);
    return this;
  }
  get isLeaf(): boolean {
    return nt().isLeaf(this.handle);
  }
  /** The accumulated gradient (a new reference to it), or undefined. */
  get grad(): Tensor | undefined {
    const h = nt().grad(this.handle);
    return h === null ? undefined : new Tensor(h);
  }
  set grad(value: Tensor | undefined) {
    nt().setGrad(this.handle, value?.handle);
  }
  backward(gradient?: Tensor, retainGraph?: boolean): void {
    nt().backward(this.handle, gradient?.handle, retainGraph);
  }
  detach(): Tensor {
    return new Tensor(nt().detach(this.handle));
  }

  toString(): string {
    if (this.isDisposed) return "Tensor(disposed)";
    return `Tensor(shape=[${this.shape.join(", ")}], dtype=${this.dtype}, device=${this.device})`;
  }
}

function dimList(dims: number | number[] | undefined): number[] | undefined {
  return typeof dims === "number" ? [dims] : dims;
}

function isDeviceName(name: string): boolean {
  return name === "cpu" || name === "cuda" || name.startsWith("cuda:") || name === "mps";
}
