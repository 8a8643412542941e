// Loads the libtorch N-API addon. Everything native goes through the `torch` object exported here.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SafetuneError } from "../util/safetuneError.js";

/** An opaque reference to a native at::Tensor. */
export type Handle = { readonly __brand: "TensorHandle" };
type H = Handle;
type Num = H | number;
type Opt<T> = T | undefined | null;

/** An opaque reference to a native decode plan (native/src/decode.cc). */
export type DecodePlanHandle = { readonly __brand: "DecodePlan" };

/** A linear layer of a decode plan: y = x Wᵀ + b (+ scale · B A x with a LoRA pair); conv1d: W stored [in, out]. */
export interface DecodeLinear<T> {
  weight: T;
  bias?: T;
  conv1d?: boolean;
  loraA?: T;
  loraB?: T;
  loraScale?: number;
}

export interface DecodeNorm<T> {
  weight: T;
  bias?: T;
}

/** One layer: Llama uses q, k, v, o, gate, up, down; GPT-2 uses qkv (c_attn), o, up (c_fc), down. */
export interface DecodeLayer<T> {
  norm1: DecodeNorm<T>;
  norm2: DecodeNorm<T>;
  q?: DecodeLinear<T>;
  k?: DecodeLinear<T>;
  v?: DecodeLinear<T>;
  qkv?: DecodeLinear<T>;
  o: DecodeLinear<T>;
  gate?: DecodeLinear<T>;
  up: DecodeLinear<T>;
  down: DecodeLinear<T>;
}

/** Everything a fused decode step reads: weights, rotary tables, the KV cache buffers and each row's left padding. */
export interface DecodePlanSpec<T> {
  family: "llama" | "gpt2";
  activation: "silu" | "gelu_tanh" | "gelu" | "relu";
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  hiddenSize: number;
  eps: number;
  /** The value masked attention scores take (maskValue of the compute dtype). */
  maskValue: number;
  embed: T;
  /** GPT-2's learned positions. */
  positions?: T;
  /** Llama's rotary tables [positions, headDim] (sin with its first half negated). */
  rotaryCos?: T;
  rotarySin?: T;
  layers: DecodeLayer<T>[];
  finalNorm: DecodeNorm<T>;
  head: DecodeLinear<T>;
  keys: T[];
  values: T[];
  padding: number[];
}

/** The addon's functions, one-to-one with native/src/*.cc. */
export interface NativeTorch {
  fromBytes(bytes: ArrayBufferView | ArrayBuffer, shape: number[], dtype: string, device?: string): H;
  readFile(fd: number, position: number, shape: number[], dtype: string): H;
  setCheckpointRunner(runner: (id: number, inputs: H[]) => H): void;
  checkpoint(id: number, inputs: H[], params: H[]): H;
  deadCheckpointIds(): number[];
  toBytes(t: H): ArrayBuffer;
  scalarTensor(value: number | boolean, dtype: string, device?: string): H;
  zeros(shape: number[], dtype: string, device?: string): H;
  ones(shape: number[], dtype: string, device?: string): H;
  empty(shape: number[], dtype: string, device?: string): H;
  full(shape: number[], value: number | boolean, dtype: string, device?: string): H;
  arange(start: number, end: number, step: number, dtype: string, device?: string): H;
  randn(shape: number[], dtype: string, device?: string): H;
  rand(shape: number[], dtype: string, device?: string): H;
  randint(low: number, high: number, shape: number[], dtype: string, device?: string): H;
  randperm(n: number): H;
  zerosLike(t: H): H;
  onesLike(t: H): H;
  shape(t: H): number[];
  dtype(t: H): string;
  device(t: H): string;
  item(t: H): number;
  isContiguous(t: H): boolean;
  isDisposed(t: H): boolean;
  dispose(t: H): void;
  liveTensors(): number;

  neg(t: H): H;
  exp(t: H): H;
  log(t: H): H;
  log1p(t: H): H;
  sqrt(t: H): H;
  rsqrt(t: H): H;
  abs(t: H): H;
  sign(t: H): H;
  square(t: H): H;
  reciprocal(t: H): H;
  sin(t: H): H;
  cos(t: H): H;
  tanh(t: H): H;
  sigmoid(t: H): H;
  logsigmoid(t: H): H;
  relu(t: H): H;
  silu(t: H): H;
  logicalNot(t: H): H;
  floor(t: H): H;
  isfinite(t: H): H;
  gelu(t: H, approximate?: "none" | "tanh"): H;
  clamp(t: H, min: Opt<number>, max: Opt<number>): H;
  dropout(t: H, p: number, train: boolean): H;

  add(a: H, b: Num): H;
  sub(a: H, b: Num): H;
  mul(a: H, b: Num): H;
  div(a: H, b: Num): H;
  pow(a: H, b: Num): H;
  maximum(a: H, b: Num): H;
  minimum(a: H, b: Num): H;
  eq(a: H, b: Num): H;
  ne(a: H, b: Num): H;
  lt(a: H, b: Num): H;
  le(a: H, b: Num): H;
  gt(a: H, b: Num): H;
  ge(a: H, b: Num): H;
  logicalAnd(a: H, b: H): H;
  logicalOr(a: H, b: H): H;
  where(cond: H, a: Num, b: Num): H;
  maskedFill(t: H, mask: H, value: Num): H;

  sum(t: H, dims?: number[], keepdim?: boolean): H;
  mean(t: H, dims?: number[], keepdim?: boolean): H;
  amax(t: H, dims?: number[], keepdim?: boolean): H;
  amin(t: H, dims?: number[], keepdim?: boolean): H;
  logsumexp(t: H, dims?: number[], keepdim?: boolean): H;
  maxDim(t: H, dim: number, keepdim?: boolean): [H, H];
  argmax(t: H, dim?: number, keepdim?: boolean): H;
  norm(t: H, p: number): H;
  all(t: H): H;
  any(t: H): H;
  cumsum(t: H, dim: number): H;

  view(t: H, shape: number[]): H;
  reshape(t: H, shape: number[]): H;
  transpose(t: H, a: number, b: number): H;
  permute(t: H, dims: number[]): H;
  contiguous(t: H): H;
  expand(t: H, shape: number[]): H;
  repeat(t: H, repeats: number[]): H;
  repeatInterleave(t: H, repeats: number, dim: number): H;
  squeeze(t: H, dim: number): H;
  unsqueeze(t: H, dim: number): H;
  flatten(t: H, start: number, end: number): H;
  narrow(t: H, dim: number, start: number, length: number): H;
  select(t: H, dim: number, index: number): H;
  cat(ts: H[], dim: number): H;
  stack(ts: H[], dim: number): H;
  split(t: H, sizeOrSizes: number | number[], dim: number): H[];
  indexSelect(t: H, dim: number, index: H): H;
  gather(t: H, dim: number, index: H): H;
  scatter(t: H, dim: number, index: H, src: Num): H;
  maskedSelect(t: H, mask: H): H;
  triu(t: H, diagonal?: number): H;
  tril(t: H, diagonal?: number): H;
  flip(t: H, dims: number[]): H;
  roll(t: H, shifts: number[], dims: number[]): H;

  topk(t: H, k: number, dim: number, largest?: boolean): [H, H];
  sort(t: H, dim: number, descending?: boolean): [H, H];
  multinomial(probs: H, numSamples: number, replacement?: boolean): H;

  matmul(a: H, b: H): H;
  linear(x: H, weight: H, bias?: Opt<H>): H;
  addmm(bias: H, a: H, b: H): H;
  addcmul(t: H, a: H, b: H): H;
  softmax(t: H, dim: number): H;
  logSoftmax(t: H, dim: number): H;
  layerNorm(t: H, normalizedShape: number[], weight: Opt<H>, bias: Opt<H>, eps: number): H;
  embedding(weight: H, ids: H): H;
  crossEntropy(logits: H, target: H, ignoreIndex: number, reduction: number, labelSmoothing?: number): H;
  chunkedTokenLogProbs(hidden: H, weight: H, bias: Opt<H>, targets: H, ignoreIndex: number, chunk: number): H;
  chunkedTokenLoss(hidden: H, weight: H, bias: Opt<H>, targets: H, ignoreIndex: number, chunk: number): H;

  /** The fused decode step (native/src/decode.cc): a plan per decode session, one call per token. */
  decodePlan(spec: DecodePlanSpec<H>): DecodePlanHandle;
  decodeStep(plan: DecodePlanHandle, ids: number[], past: number): H;
  decodePlanDispose(plan: DecodePlanHandle): void;

  toDtype(t: H, dtype: string): H;
  toDevice(t: H, device: string): H;
  clone(t: H): H;
  copy_(dst: H, src: H): void;
  add_(t: H, other: Num, alpha?: number): void;
  mul_(t: H, other: Num): void;
  fill_(t: H, value: number | boolean): void;
  zero_(t: H): void;
  normal_(t: H, mean: number, std: number): void;
  uniform_(t: H, low: number, high: number): void;

  setRequiresGrad(t: H, value: boolean): void;
  requiresGrad(t: H): boolean;
  isLeaf(t: H): boolean;
  backward(t: H, gradient?: Opt<H>, retainGraph?: boolean): void;
  grad(t: H): H | null;
  setGrad(t: H, grad: Opt<H>): void;
  detach(t: H): H;
  setGradEnabled(enabled: boolean): void;
  isGradEnabled(): boolean;
  zeroGrads(params: H[]): void;
  adamwStep(
    params: H[],
    expAvg: H[],
    expAvgSq: H[],
    options: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number },
  ): void;
  clipGradNorm(params: H[], maxNorm: number): number;

  quantizeWeight(weight: H, kind: string, block: number): H[];
  dequantizeWeight(data: H, scales: H, kind: string, out: number, inFeatures: number, block: number): H;
  quantizedLinear(x: H, data: H, scales: H, kind: string, out: number, inFeatures: number, block: number): H;
  quantizedEmbedding(
    ids: H,
    data: H,
    scales: H,
    kind: string,
    out: number,
    inFeatures: number,
    block: number,
  ): H;
  nf4CodeTable(): number[];

  manualSeed(seed: number): void;
  getRngState(): H;
  setRngState(state: H): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaAvailable(): boolean;
  cudaDeviceCount(): number;
  version(): string;
  compiledWithCuda(): boolean;
}

/** Thrown when the addon is not built or libtorch cannot be loaded; its message is one line with the fix. */
export class EngineUnavailableError extends SafetuneError {
  override readonly name = "EngineUnavailableError";
}

export const LIBTORCH_HINT =
  "install it with `apt-get install libtorch-dev` (Debian/Ubuntu) or set LIBTORCH=/path/to/libtorch, then run `npm run build:native`";

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** SAFETUNE_ADDON points at another build of the addon (e.g. one compiled against a CUDA libtorch). */
const addonPath =
  process.env.SAFETUNE_ADDON ?? join(packageRoot, "native", "build", "Release", "safetune_torch.node");

let loaded: NativeTorch | undefined;

export function loadNative(): NativeTorch {
  if (loaded) return loaded;
  if (!existsSync(addonPath)) {
    throw new EngineUnavailableError(
      `safetune: the libtorch engine is not built (libtorch not found?): ${LIBTORCH_HINT}`,
    );
  }
  try {
    loaded = createRequire(import.meta.url)(addonPath) as NativeTorch;
  } catch (err) {
    const reason = String((err as Error).message).split("\n")[0];
    throw new EngineUnavailableError(
      `safetune: cannot load the libtorch engine (${reason}): ${LIBTORCH_HINT}`,
    );
  }
  return loaded;
}

/** The addon, loaded on first use so that commands that need no engine work without libtorch. */
export const torch: NativeTorch = new Proxy({} as NativeTorch, {
  get(_target, key) {
    return (loadNative() as unknown as Record<string | symbol, unknown>)[key];
  },
});
