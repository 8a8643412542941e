// The Tensor API against exact or hand-computed values: creation and read-back, dtypes, shape ops, math,
// reductions, neural-network primitives, sampling, conversions and error reporting. Each test runs inside
// tidy() and the live native tensor count must return to its starting value after every test.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import {
  addmm,
  arange,
  cat,
  crossEntropy,
  cudaAvailable,
  embedding,
  fromBytes,
  full,
  layerNorm,
  linear,
  liveTensors,
  loadNative,
  manualSeed,
  ones,
  onesLike,
  rand,
  randint,
  randn,
  randperm,
  scalar,
  stack,
  type Tensor,
  tensor,
  tidy,
  where,
  zeros,
  zerosLike,
} from "../src/engine/index.js";

const baseline = liveTensors();
afterEach(() => {
  assert.equal(liveTensors(), baseline, "every tensor made by the test was freed");
});

/** Elementwise |actual - expected| <= tol, with the index of the first mismatch in the message. */
function close(actual: Tensor | ArrayLike<number>, expected: readonly number[], tol = 1e-6): void {
  const values = isTensor(actual) ? actual.toArray() : Array.from(actual);
  assert.equal(values.length, expected.length, `length ${values.length} vs ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = values[i] as number;
    const e = expected[i] as number;
    if (Number.isNaN(e)) assert.ok(Number.isNaN(a), `[${i}]: expected NaN, got ${a}`);
    else if (!Number.isFinite(e)) assert.equal(a, e, `[${i}]`);
    else
      assert.ok(
        Math.abs(a - e) <= tol,
        `[${i}]: ${a} vs ${e} (tol ${tol})\nactual   ${values}\nexpected ${expected}`,
      );
  }
}

/** Exact values and shape. */
function exact(t: Tensor, shape: readonly number[], values: readonly number[]): void {
  assert.deepEqual(t.shape, shape);
  assert.deepEqual(t.toArray(), values);
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === "object" && v !== null && (v as { isTensor?: unknown }).isTensor === true;
}

/** Runs `fn` and returns the message of the Error it throws. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error, "a JS Error");
    return err.message;
  }
  assert.fail("expected a throw");
}

/** `fn` throws a libtorch error as a JS Error: one op-prefixed message without C++ backtrace frames. */
function expectOpError(fn: () => unknown, op: string): void {
  assertCleanOpError(errorOf(fn), op);
}

/** A libtorch error in JS: one op-prefixed message without C++ backtrace frames. */
function assertCleanOpError(message: string, op: string): void {
  assert.ok(message.startsWith(`${op}: `), `message starts with "${op}: ": ${message}`);
  assert.doesNotMatch(message, /Exception raised from|frame #\d|\.cpp:\d+|libc10|libtorch/);
}

describe("creation and read-back", () => {
  test("typed arrays keep their dtype and round-trip exactly", () =>
    tidy(() => {
      const f = new Float32Array([1.5, -2.25, 3.1, 1e-30, -0, Number.POSITIVE_INFINITY]);
      const t = tensor(f, [2, 3]);
      assert.equal(t.dtype, "float32");
      assert.deepEqual(t.shape, [2, 3]);
      assert.equal(t.rank, 2);
      assert.equal(t.numel, 6);
      assert.equal(t.size(-1), 3);
      assert.equal(t.device, "cpu");
      const back = t.toTypedArray();
      assert.ok(back instanceof Float32Array);
      assert.deepEqual(back, f);
      assert.ok(Object.is((back as Float32Array)[4], -0), "the sign of -0 survives");

      // int64 beyond 2^53 survives a BigInt64Array round trip bit-exactly
      const big = new BigInt64Array([9007199254740993n, -5n, 0n]);
      const ti = tensor(big);
      assert.equal(ti.dtype, "int64");
      assert.deepEqual(ti.shape, [3]);
      assert.deepEqual(ti.toTypedArray(), big);

      const i32 = tensor(new Int32Array([7, -8]));
      assert.equal(i32.dtype, "int32");
      assert.deepEqual(i32.toArray(), [7, -8]);

      const u8 = tensor(new Uint8Array([0, 255, 3]));
      assert.equal(u8.dtype, "uint8");
      assert.deepEqual(u8.toArray(), [0, 255, 3]);

      const f64 = tensor(new Float64Array([0.1, 1 / 3]));
      assert.equal(f64.dtype, "float64");
      assert.deepEqual(f64.toArray(), [0.1, 1 / 3]);

      // a subarray (non-zero byte offset) reads only its own elements
      const sub = tensor(new Float32Array([9, 1, 2, 9]).subarray(1, 3));
      assert.deepEqual(sub.toArray(), [1, 2]);

      // a typed array with a dtype option is converted
      assert.deepEqual(tensor(new Float32Array([1.9, -1.9]), [2], { dtype: "int64" }).toArray(), [1, -1]);
    }));

  test("nested arrays and scalars: shape inferred, float32 by default", () =>
    tidy(() => {
      const t = tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      exact(t, [2, 3], [1, 2, 3, 4, 5, 6]);
      assert.equal(t.dtype, "float32");
      const s = tensor(3.5);
      assert.deepEqual(s.shape, []);
      assert.equal(s.item(), 3.5);
      const b = tensor([true, false, true], undefined, { dtype: "bool" });
      assert.equal(b.dtype, "bool");
      assert.deepEqual(b.toArray(), [1, 0, 1]);
      const l = tensor([[[1], [2]]], undefined, { dtype: "int64" });
      exact(l, [1, 2, 1], [1, 2]);
      assert.equal(l.dtype, "int64");
      exact(tensor([1, 2, 3, 4], [2, 2]), [2, 2], [1, 2, 3, 4]);
      exact(tensor([]), [0], []);
      assert.equal(scalar(2, { dtype: "int64" }).item(), 2);
      assert.throws(() => tensor([1, 2, 3], [2, 2]), RangeError);
    }));

  test("fromBytes copies raw bytes; a size mismatch is a RangeError naming fromBytes", () =>
    tidy(() => {
      const src = new Float32Array([1, 2, 3, 4]);
      const bytes = new Uint8Array(src.buffer.slice(0));
      const t = fromBytes(bytes, [2, 2], "float32");
      bytes.fill(0);
      exact(t, [2, 2], [1, 2, 3, 4]);
      assert.deepEqual(t.toBytes(), new Uint8Array(src.buffer));
      // float16 from its raw bits: 0x3c00 = 1, 0xc000 = -2, 0x3555 = 0.333251953125
      const half = fromBytes(
        new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3555]).buffer),
        [3],
        "float16",
      );
      assert.deepEqual(half.toArray(), [1, -2, 0.333251953125]);
      assert.throws(() => fromBytes(new Uint8Array(12), [2, 2], "float32"), RangeError);
      assert.equal(
        errorOf(() => fromBytes(new Uint8Array(12), [2, 2], "float32")),
        "fromBytes: shape needs 16 bytes, got 12",
      );
    }));

  test("factories", () =>
    tidy(() => {
      exact(zeros([2, 2]), [2, 2], [0, 0, 0, 0]);
      exact(ones([3]), [3], [1, 1, 1]);
      exact(full([2], 7.5), [2], [7.5, 7.5]);
      assert.equal(full([1], true, { dtype: "bool" }).dtype, "bool");
      const a = arange(0, 5);
      assert.equal(a.dtype, "int64");
      exact(a, [5], [0, 1, 2, 3, 4]);
      exact(arange(1, 2, 0.25, { dtype: "float32" }), [4], [1, 1.25, 1.5, 1.75]);
      exact(arange(5, 0, -2), [3], [5, 3, 1]);
      const x = tensor([1, 2], undefined, { dtype: "bfloat16" });
      const zl = zerosLike(x);
      assert.equal(zl.dtype, "bfloat16");
      exact(zl, [2], [0, 0]);
      exact(onesLike(x), [2], [1, 1]);

      const r = randn([1000]);
      assert.deepEqual(r.shape, [1000]);
      assert.ok(Math.abs(r.mean().item()) < 0.15, "randn mean near 0");
      const u = rand([1000]).toArray();
      assert.ok(
        u.every((v) => v >= 0 && v < 1),
        "rand in [0, 1)",
      );
      const ri = randint(3, 7, [500]);
      assert.equal(ri.dtype, "int64");
      const riv = ri.toArray();
      assert.ok(riv.every((v) => v >= 3 && v < 7 && Number.isInteger(v)));
      assert.deepEqual(new Set(riv), new Set([3, 4, 5, 6]), "every value of [3, 7) drawn in 500 tries");
      const p = randperm(10).toArray();
      assert.deepEqual(
        [...p].sort((m, n) => m - n),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      );
    }));
});

describe("dtypes", () => {
  test("float16 and bfloat16 round 1/3 as IEEE half and bfloat16 do", () =>
    tidy(() => {
      const bf = tensor([1 / 3], undefined, { dtype: "bfloat16" });
      assert.equal(bf.dtype, "bfloat16");
      assert.deepEqual(bf.toArray(), [0.333984375]);
      assert.deepEqual(Array.from(bf.toTypedArray() as Uint16Array), [0x3eab]);
      const h = tensor([1 / 3], undefined, { dtype: "float16" });
      assert.equal(h.dtype, "float16");
      assert.deepEqual(h.toArray(), [0.333251953125]);
      assert.deepEqual(Array.from(h.toTypedArray() as Uint16Array), [0x3555]);
      assert.deepEqual(Array.from(h.toFloat32Array()), [0.333251953125]);
      // half overflows above 65504; bf16 keeps float32's range with 8 bits of mantissa
      assert.deepEqual(tensor([70000, 65504], undefined, { dtype: "float16" }).toArray(), [Infinity, 65504]);
      assert.deepEqual(tensor([70000, 257], undefined, { dtype: "bfloat16" }).toArray(), [70144, 256]);
      // arithmetic stays in the low-precision dtype: 1 + 2^-9 is not representable in bf16
      const sum = bf
        .to("float32")
        .mul(0)
        .add(1)
        .to("bfloat16")
        .add(2 ** -9);
      assert.equal(sum.dtype, "bfloat16");
      assert.deepEqual(sum.toArray(), [1]);
    }));

  test("conversions between float32, float16, bfloat16, int64 and bool", () =>
    tidy(() => {
      const x = tensor([1.75, -1.75, 0, 2.5]);
      const l = x.to("int64");
      assert.equal(l.dtype, "int64");
      assert.deepEqual(l.toArray(), [1, -1, 0, 2], "float to int truncates toward zero");
      assert.deepEqual(x.long().toArray(), [1, -1, 0, 2]);
      const b = x.to("bool");
      assert.equal(b.dtype, "bool");
      assert.deepEqual(b.toArray(), [1, 1, 0, 1]);
      assert.deepEqual(Array.from(b.toTypedArray() as Uint8Array), [1, 1, 0, 1]);
      assert.deepEqual(b.to("float32").toArray(), [1, 1, 0, 1]);
      assert.deepEqual(b.to("int64").toArray(), [1, 1, 0, 1]);
      assert.deepEqual(l.float().toArray(), [1, -1, 0, 2]);
      assert.equal(l.float().dtype, "float32");
      // exact halves survive every float dtype
      assert.deepEqual(x.to("float16").to("bfloat16").to("float32").toArray(), [1.75, -1.75, 0, 2.5]);
      assert.equal(x.to("float64").dtype, "float64");
      // 16777217 = 2^24 + 1 is exact in int64 and rounds to 2^24 in float32
      const big = tensor(new BigInt64Array([16777217n]));
      assert.deepEqual(big.to("float32").toArray(), [16777216]);
      assert.deepEqual(big.to("float64").toArray(), [16777217]);
    }));

  test("nested arrays with dtype float64 keep double precision", () =>
    tidy(() => {
      // 0.1 and 1/3 are not float32 values: a float64 tensor made from JS numbers must hold them exactly
      const d = tensor([0.1, 1 / 3, 16777217], undefined, { dtype: "float64" });
      assert.equal(d.dtype, "float64");
      assert.deepEqual(d.toArray(), [0.1, 1 / 3, 16777217]);
    }));

  test("type promotion: int64 with a fractional scalar gives float32, comparisons give bool", () =>
    tidy(() => {
      const i = tensor([1, 2, 3], undefined, { dtype: "int64" });
      const f = i.mul(0.5);
      assert.equal(f.dtype, "float32");
      assert.deepEqual(f.toArray(), [0.5, 1, 1.5]);
      assert.equal(i.add(1).dtype, "int64");
      const d = i.div(2);
      assert.equal(d.dtype, "float32", "div is true division");
      assert.deepEqual(d.toArray(), [0.5, 1, 1.5]);
      assert.equal(i.gt(1).dtype, "bool");
      assert.equal(i.add(tensor([0.5, 0.5, 0.5])).dtype, "float32");
    }));
});

describe("shape ops", () => {
  const m23 = () =>
    tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);

  test("view, reshape, transpose, permute, contiguous", () =>
    tidy(() => {
      const x = m23();
      exact(x.view(3, 2), [3, 2], [1, 2, 3, 4, 5, 6]);
      exact(x.view(-1), [6], [1, 2, 3, 4, 5, 6]);
      exact(x.reshape(6, 1), [6, 1], [1, 2, 3, 4, 5, 6]);
      const t = x.transpose(0, 1);
      assert.equal(t.isContiguous, false);
      exact(t, [3, 2], [1, 4, 2, 5, 3, 6]);
      const c = t.contiguous();
      assert.equal(c.isContiguous, true);
      exact(c, [3, 2], [1, 4, 2, 5, 3, 6]);
      exact(t.reshape(6), [6], [1, 4, 2, 5, 3, 6]);
      expectOpError(() => t.view(6), "view");
      const y = arange(0, 24).reshape(2, 3, 4);
      const p = y.permute(2, 0, 1);
      assert.deepEqual(p.shape, [4, 2, 3]);
      // p[i][j][k] = y[j][k][i] = 12 j + 4 k + i
      assert.deepEqual(p.select(0, 1).toArray(), [1, 5, 9, 13, 17, 21]);
      // a view shares storage with its base
      const base = zeros([4]);
      base.view(2, 2).select(0, 1).fill_(9);
      assert.deepEqual(base.toArray(), [0, 0, 9, 9]);
    }));

  test("cat, stack, split by size and by sizes, narrow, select", () =>
    tidy(() => {
      const a = tensor([[1, 2]]);
      const b = tensor([[3, 4]]);
      exact(cat([a, b]), [2, 2], [1, 2, 3, 4]);
      exact(cat([a, b], 1), [1, 4], [1, 2, 3, 4]);
      exact(cat([a, b], -1), [1, 4], [1, 2, 3, 4]);
      exact(stack([a, b]), [2, 1, 2], [1, 2, 3, 4]);
      exact(stack([a, b], 2), [1, 2, 2], [1, 3, 2, 4]);
      expectOpError(() => cat([a, tensor([[1, 2, 3]])]), "cat");

      const x = arange(0, 10);
      const parts = x.split(4);
      assert.deepEqual(
        parts.map((p) => p.toArray()),
        [
          [0, 1, 2, 3],
          [4, 5, 6, 7],
          [8, 9],
        ],
      );
      const bySizes = x.split([1, 6, 3]);
      assert.deepEqual(
        bySizes.map((p) => p.toArray()),
        [[0], [1, 2, 3, 4, 5, 6], [7, 8, 9]],
      );
      expectOpError(() => x.split([1, 2]), "split");
      const m = m23();
      const cols = m.split([2, 1], 1);
      exact(cols[0] as Tensor, [2, 2], [1, 2, 4, 5]);
      exact(cols[1] as Tensor, [2, 1], [3, 6]);

      exact(m.narrow(1, 1, 2), [2, 2], [2, 3, 5, 6]);
      exact(m.narrow(0, 1, 1), [1, 3], [4, 5, 6]);
      exact(m.select(0, 1), [3], [4, 5, 6]);
      exact(m.select(1, -1), [2], [3, 6]);
      expectOpError(() => m.select(0, 2), "select");
    }));

  test("indexSelect, gather, scatter, maskedSelect, expand, repeat, flip", () =>
    tidy(() => {
      const m = m23();
      const idx = tensor([2, 0, 2], undefined, { dtype: "int64" });
      exact(m.indexSelect(1, idx), [2, 3], [3, 1, 3, 6, 4, 6]);
      exact(m.indexSelect(0, tensor([1], undefined, { dtype: "int64" })), [1, 3], [4, 5, 6]);
      const g = tensor([[2], [0]], undefined, { dtype: "int64" });
      exact(m.gather(1, g), [2, 1], [3, 4]);
      exact(zeros([2, 3]).scatter(1, g, 1), [2, 3], [0, 0, 1, 1, 0, 0]);
      exact(m.maskedSelect(m.gt(3)), [3], [4, 5, 6]);

      const col = tensor([[1], [2]]);
      const e = col.expand(2, 3);
      exact(e, [2, 3], [1, 1, 1, 2, 2, 2]);
      exact(col.expand(-1, 2), [2, 2], [1, 1, 2, 2]);
      expectOpError(() => m.expand(3, 3), "expand");
      exact(tensor([1, 2]).repeat(2, 2), [2, 4], [1, 2, 1, 2, 1, 2, 1, 2]);
      exact(tensor([1, 2]).repeatInterleave(2, 0), [4], [1, 1, 2, 2]);
      exact(m.flip(1), [2, 3], [3, 2, 1, 6, 5, 4]);
    }));

  test("squeeze, unsqueeze, flatten", () =>
    tidy(() => {
      const x = zeros([2, 1, 3, 1]);
      assert.deepEqual(x.squeeze(1).shape, [2, 3, 1]);
      assert.deepEqual(x.squeeze(-1).shape, [2, 1, 3]);
      assert.deepEqual(x.squeeze(0).shape, [2, 1, 3, 1], "squeezing a dim of size 2 is a no-op");
      assert.deepEqual(x.unsqueeze(0).shape, [1, 2, 1, 3, 1]);
      assert.deepEqual(x.unsqueeze(-1).shape, [2, 1, 3, 1, 1]);
      assert.deepEqual(x.flatten().shape, [6]);
      assert.deepEqual(x.flatten(1).shape, [2, 3]);
      assert.deepEqual(x.flatten(0, 2).shape, [6, 1]);
      exact(arange(0, 6).reshape(1, 2, 3).flatten(1, 2), [1, 6], [0, 1, 2, 3, 4, 5]);
    }));
});

describe("elementwise math", () => {
  test("binary ops with tensors, scalars and broadcasting", () =>
    tidy(() => {
      const a = tensor([1, 2, 3]);
      const b = tensor([4, 5, 6]);
      exact(a.add(b), [3], [5, 7, 9]);
      exact(a.sub(b), [3], [-3, -3, -3]);
      exact(a.mul(b), [3], [4, 10, 18]);
      exact(b.div(tensor([2, 4, 8])), [3], [2, 1.25, 0.75]);
      exact(a.pow(2), [3], [1, 4, 9]);
      exact(tensor([2, 3]).pow(tensor([3, 2])), [2], [8, 9]);
      exact(a.add(0.5), [3], [1.5, 2.5, 3.5]);
      exact(a.sub(1), [3], [0, 1, 2]);
      exact(a.mul(-2), [3], [-2, -4, -6]);
      exact(a.div(4), [3], [0.25, 0.5, 0.75]);
      exact(a.maximum(2), [3], [2, 2, 3]);
      exact(a.minimum(2), [3], [1, 2, 2]);
      exact(a.maximum(tensor([3, 1, 3])), [3], [3, 2, 3]);
      exact(a.minimum(tensor([3, 1, 3])), [3], [1, 1, 3]);
      // [2, 1] with [3] broadcasts to [2, 3]
      const col = tensor([[10], [20]]);
      exact(col.add(a), [2, 3], [11, 12, 13, 21, 22, 23]);
      exact(col.mul(a), [2, 3], [10, 20, 30, 20, 40, 60]);
      exact(
        tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]).sub(tensor([1, 1, 1])),
        [2, 3],
        [0, 1, 2, 3, 4, 5],
      );
      expectOpError(() => a.add(tensor([1, 2])), "add");
    }));

  test("unary ops", () =>
    tidy(() => {
      const x = tensor([-2, -0.5, 0, 0.5, 2]);
      exact(x.neg(), [5], [2, 0.5, -0, -0.5, -2]);
      exact(x.abs(), [5], [2, 0.5, 0, 0.5, 2]);
      exact(x.sign(), [5], [-1, -1, 0, 1, 1]);
      exact(x.square(), [5], [4, 0.25, 0, 0.25, 4]);
      exact(x.floor(), [5], [-2, -1, 0, 0, 2]);
      exact(x.clamp(-1, 1), [5], [-1, -0.5, 0, 0.5, 1]);
      exact(x.clamp(0), [5], [0, 0, 0, 0.5, 2]);
      exact(x.clamp(undefined, 0), [5], [-2, -0.5, 0, 0, 0]);
      exact(x.relu(), [5], [0, 0, 0, 0.5, 2]);
      const xs = [-2, -0.5, 0, 0.5, 2];
      close(x.exp(), xs.map(Math.exp));
      close(x.tanh(), xs.map(Math.tanh));
      close(x.sin(), xs.map(Math.sin));
      close(x.cos(), xs.map(Math.cos));
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      close(x.sigmoid(), xs.map(sig));
      close(
        x.silu(),
        xs.map((v) => v * sig(v)),
      );
      // GELU: exact erf form at 1 is 0.8413447460685429; tanh form 0.8411919906082768
      close(tensor([1]).gelu(), [0.8413447460685429]);
      close(tensor([1]).gelu("tanh"), [0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (1 + 0.044715)))]);
      const p = tensor([0.25, 1, 4]);
      exact(p.sqrt(), [3], [0.5, 1, 2]);
      exact(p.rsqrt(), [3], [2, 1, 0.5]);
      exact(p.reciprocal(), [3], [4, 1, 0.25]);
      close(p.log(), [Math.log(0.25), 0, Math.log(4)]);
      close(p.log1p(), [Math.log1p(0.25), Math.log(2), Math.log(5)]);
      exact(tensor([-1]).log(), [1], [Number.NaN]);
      exact(tensor([1, Number.POSITIVE_INFINITY, Number.NaN]).isfinite(), [3], [1, 0, 0]);
    }));

  test("comparisons, logic, where, maskedFill", () =>
    tidy(() => {
      const a = tensor([1, 2, 3]);
      const b = tensor([3, 2, 1]);
      exact(a.eq(b), [3], [0, 1, 0]);
      exact(a.ne(b), [3], [1, 0, 1]);
      exact(a.lt(b), [3], [1, 0, 0]);
      exact(a.le(b), [3], [1, 1, 0]);
      exact(a.gt(2), [3], [0, 0, 1]);
      exact(a.ge(2), [3], [0, 1, 1]);
      assert.equal(a.eq(2).dtype, "bool");
      const m1 = a.gt(1);
      const m2 = a.lt(3);
      exact(m1.logicalAnd(m2), [3], [0, 1, 0]);
      exact(m1.logicalOr(m2), [3], [1, 1, 1]);
      exact(m1.logicalNot(), [3], [1, 0, 0]);
      exact(a.gt(0).all(), [], [1]);
      exact(a.gt(2).all(), [], [0]);
      exact(a.gt(2).any(), [], [1]);

      const cond = tensor([true, false, true], undefined, { dtype: "bool" });
      exact(where(cond, a, b), [3], [1, 2, 3]);
      exact(where(cond, a, -1), [3], [1, -1, 3]);
      exact(where(cond, 0, b), [3], [0, 2, 0]);
      // the condition broadcasts: [2, 1] against [3]
      exact(where(tensor([[true], [false]], undefined, { dtype: "bool" }), a, b), [2, 3], [1, 2, 3, 3, 2, 1]);
      assert.throws(() => where(cond, 1, 2), /where: at least one of the values must be a tensor/);

      exact(a.maskedFill(cond, 0), [3], [0, 2, 0]);
      exact(a.maskedFill(cond, Number.NEGATIVE_INFINITY), [3], [-Infinity, 2, -Infinity]);
      exact(a.maskedFill(cond, tensor(9)), [3], [9, 2, 9]);
      // a causal mask: upper triangle (above the diagonal) filled
      const blocked = ones([3, 3]).triu(1).to("bool");
      exact(zeros([3, 3]).maskedFill(blocked, -1), [3, 3], [0, -1, -1, 0, 0, -1, 0, 0, 0]);
    }));

  test("triu and tril with diagonals", () =>
    tidy(() => {
      const m = arange(1, 10, 1, { dtype: "float32" }).reshape(3, 3);
      exact(m.triu(), [3, 3], [1, 2, 3, 0, 5, 6, 0, 0, 9]);
      exact(m.triu(1), [3, 3], [0, 2, 3, 0, 0, 6, 0, 0, 0]);
      exact(m.tril(), [3, 3], [1, 0, 0, 4, 5, 0, 7, 8, 9]);
      exact(m.tril(-1), [3, 3], [0, 0, 0, 4, 0, 0, 7, 8, 0]);
    }));
});

describe("reductions", () => {
  const m = () =>
    tensor([
      [1, 5, 3],
      [4, 2, 6],
    ]);

  test("sum and mean over all, one and several dims, with keepdim", () =>
    tidy(() => {
      const x = m();
      exact(x.sum(), [], [21]);
      exact(x.sum(0), [3], [5, 7, 9]);
      exact(x.sum(1), [2], [9, 12]);
      exact(x.sum(-1, true), [2, 1], [9, 12]);
      exact(x.sum([0, 1]), [], [21]);
      exact(x.sum([0, 1], true), [1, 1], [21]);
      exact(x.mean(), [], [3.5]);
      exact(x.mean(0), [3], [2.5, 3.5, 4.5]);
      exact(x.mean(1, true), [2, 1], [3, 4]);
      assert.equal(tensor([1, 2], undefined, { dtype: "int64" }).sum().dtype, "int64");
      expectOpError(() => x.sum(2), "sum");
    }));

  test("amax, amin, logsumexp, max with indices, argmax", () =>
    tidy(() => {
      const x = m();
      exact(x.amax(), [], [6]);
      exact(x.amax(0), [3], [4, 5, 6]);
      exact(x.amax(1, true), [2, 1], [5, 6]);
      exact(x.amin(1), [2], [1, 2]);
      const lse = (v: number[]) => Math.log(v.reduce((s, e) => s + Math.exp(e), 0));
      close(x.logsumexp(1), [lse([1, 5, 3]), lse([4, 2, 6])], 1e-5);
      close(x.logsumexp(), [lse([1, 5, 3, 4, 2, 6])], 1e-5);
      assert.deepEqual(x.logsumexp(0, true).shape, [1, 3]);
      // logsumexp is stable for large inputs
      close(tensor([1000, 1000]).logsumexp(), [1000 + Math.log(2)], 1e-3);

      const { values, indices } = x.max(1);
      exact(values, [2], [5, 6]);
      exact(indices, [2], [1, 2]);
      assert.equal(indices.dtype, "int64");
      const kept = x.max(0, true);
      exact(kept.values, [1, 3], [4, 5, 6]);
      exact(kept.indices, [1, 3], [1, 0, 1]);

      exact(x.argmax(), [], [5]);
      exact(x.argmax(1), [2], [1, 2]);
      exact(x.argmax(0, true), [1, 3], [1, 0, 1]);
    }));

  test("norm and cumsum", () =>
    tidy(() => {
      exact(tensor([3, -4]).norm(), [], [5]);
      exact(tensor([3, -4]).norm(1), [], [7]);
      exact(tensor([3, -4]).norm(Number.POSITIVE_INFINITY), [], [4]);
      close(m().norm(), [Math.sqrt(1 + 25 + 9 + 16 + 4 + 36)]);
      exact(m().cumsum(1), [2, 3], [1, 6, 9, 4, 6, 12]);
      exact(m().cumsum(0), [2, 3], [1, 5, 3, 5, 7, 9]);
      const c = tensor([1, 2, 3], undefined, { dtype: "int64" }).cumsum(0);
      assert.equal(c.dtype, "int64");
      assert.deepEqual(c.toArray(), [1, 3, 6]);
    }));
});

describe("linear algebra and neural-network primitives", () => {
  test("matmul: 2-D, batched, broadcast, vector", () =>
    tidy(() => {
      const a = tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const b = tensor([
        [1, 0],
        [0, 1],
        [1, 1],
      ]);
      exact(a.matmul(b), [2, 2], [4, 5, 10, 11]);
      exact(a.matmul(tensor([1, 1, 1])), [2], [6, 15]);
      // batched [2, 2, 3] @ [2, 3, 2]: batch 0 = a @ b, batch 1 = (2a) @ (-b)
      const ba = stack([a, a.mul(2)]);
      const bb = stack([b, b.neg()]);
      exact(ba.matmul(bb), [2, 2, 2], [4, 5, 10, 11, -8, -10, -20, -22]);
      // [2, 2, 3] @ [3, 2] broadcasts the right operand over the batch
      exact(ba.matmul(b), [2, 2, 2], [4, 5, 10, 11, 8, 10, 20, 22]);
      const msg = errorOf(() => a.matmul(a));
      assertCleanOpError(msg, "matmul");
      assert.match(msg, /2x3 and 2x3|mat1 and mat2|size mismatch/);
    }));

  test("linear and addmm", () =>
    tidy(() => {
      const x = tensor([[1, 2]]);
      const w = tensor([
        [1, 0],
        [0, 1],
        [1, -1],
      ]);
      exact(linear(x, w), [1, 3], [1, 2, -1]);
      exact(linear(x, w, tensor([10, 20, 30])), [1, 3], [11, 22, 29]);
      exact(addmm(tensor([1, 1, 1]), x, w.transpose(0, 1)), [1, 3], [2, 3, 0]);
    }));

  test("softmax, logSoftmax, logsigmoid", () =>
    tidy(() => {
      const rows = [
        [1, 2, 3],
        [-1, 0, 5],
      ];
      const x = tensor(rows);
      const softmax = (r: number[]) => {
        const z = r.reduce((s, v) => s + Math.exp(v), 0);
        return r.map((v) => Math.exp(v) / z);
      };
      close(x.softmax(-1), rows.flatMap(softmax));
      close(
        x.logSoftmax(1),
        rows.flatMap((r) => softmax(r).map(Math.log)),
        1e-5,
      );
      close(x.softmax(-1).sum(-1), [1, 1]);
      // over dim 0: column j is softmax([rows[0][j], rows[1][j]])
      const col = softmax([3, 5]);
      close(x.softmax(0).select(1, 2), col);
      // softmax is shift-invariant and stable at large magnitudes
      close(tensor([1000, 1001]).softmax(0), softmax([0, 1]));
      const xs = [-30, -1, 0, 1, 30];
      // log σ(x) = -log(1 + e^{-x}); at -30 it is about -30 (no underflow to -inf)
      close(
        tensor(xs).logsigmoid(),
        xs.map((v) => -Math.log1p(Math.exp(-v))),
        1e-5,
      );
    }));

  test("layerNorm with weight and bias", () =>
    tidy(() => {
      const x = tensor([
        [1, 2, 3, 4],
        [-1, 0, 0.5, 10],
      ]);
      const w = tensor([1, 0.5, 2, -1]);
      const b = tensor([0, 0.1, -0.2, 0.3]);
      // torch.nn.functional.layer_norm(x, [4], w, b, 1e-5) in PyTorch 1.13
      const expected = [
        -1.3416354656219482, -0.12360592931509018, 0.6944236159324646, -1.041635513305664, -0.760940670967102,
        -0.16773837804794312, -1.0454896688461304, -1.4191622734069824,
      ];
      close(layerNorm(x, w, b, 1e-5), expected, 1e-5);
      // hand-computed first row: mean 2.5, variance 1.25 (biased)
      const inv = 1 / Math.sqrt(1.25 + 1e-5);
      close(
        layerNorm(x, undefined, undefined, 1e-5).select(0, 0),
        [-1.5, -0.5, 0.5, 1.5].map((v) => v * inv),
        1e-5,
      );
    }));

  test("embedding picks rows by id", () =>
    tidy(() => {
      const weight = tensor([
        [0, 0.5],
        [1, 1.5],
        [2, 2.5],
      ]);
      const ids = tensor(
        [
          [2, 0],
          [1, 1],
        ],
        undefined,
        { dtype: "int64" },
      );
      exact(embedding(weight, ids), [2, 2, 2], [2, 2.5, 0, 0.5, 1, 1.5, 1, 1.5]);
      expectOpError(() => embedding(weight, tensor([3], undefined, { dtype: "int64" })), "embedding");
    }));

  test("crossEntropy: ignoreIndex, reductions, label smoothing", () =>
    tidy(() => {
      const logits = tensor([
        [2, 1, 0],
        [0, 1, 2],
        [1, 1, 1],
        [0.5, -0.5, 3],
      ]);
      const target = tensor([0, -100, 2, 1], undefined, { dtype: "int64" });
      // per row: logsumexp(row) - row[target]
      const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
      const ce0 = lse([2, 1, 0]) - 2;
      const ce2 = Math.log(3);
      const ce3 = lse([0.5, -0.5, 3]) + 0.5;
      close(crossEntropy(logits, target, { reduction: "none" }), [ce0, 0, ce2, ce3], 1e-5);
      close(crossEntropy(logits, target, { reduction: "sum" }), [ce0 + ce2 + ce3], 1e-5);
      // the mean is over the 3 non-ignored rows, not 4
      close(crossEntropy(logits, target), [(ce0 + ce2 + ce3) / 3], 1e-5);
      // the same numbers from torch.nn.functional.cross_entropy in PyTorch 1.13
      close(crossEntropy(logits, target), [1.704210877418518], 1e-6);
      // label smoothing 0.1: (1 - 0.1) nll + 0.1 * mean over classes of -log p; torch 1.13 gives these
      close(crossEntropy(logits, target, { labelSmoothing: 0.1 }), [1.6875441074371338], 1e-6);
      close(
        crossEntropy(logits, target, { labelSmoothing: 0.1, reduction: "none" }),
        [0.5076059103012085, 0, 1.0986123085021973, 3.456413984298706],
        1e-6,
      );
      // a custom ignoreIndex
      const t2 = tensor([0, 1, 2, 1], undefined, { dtype: "int64" });
      close(crossEntropy(logits, t2, { ignoreIndex: 1 }), [(ce0 + ce2) / 2], 1e-5);
      // every target ignored: the mean is 0/0
      exact(crossEntropy(logits, full([4], -100, { dtype: "int64" })), [], [Number.NaN]);
      expectOpError(
        () => crossEntropy(logits, tensor([0, 1], undefined, { dtype: "int64" })),
        "crossEntropy",
      );
    }));
});

describe("sorting and sampling", () => {
  test("topk and sort", () =>
    tidy(() => {
      const x = tensor([
        [3, 1, 4, 1.5],
        [9, 2, 6, 5],
      ]);
      const top = x.topk(2);
      exact(top.values, [2, 2], [4, 3, 9, 6]);
      exact(top.indices, [2, 2], [2, 0, 0, 2]);
      const bottom = x.topk(1, -1, false);
      exact(bottom.values, [2, 1], [1, 2]);
      exact(bottom.indices, [2, 1], [1, 1]);
      const col = x.topk(1, 0);
      exact(col.values, [1, 4], [9, 2, 6, 5]);
      const asc = x.sort();
      exact(asc.values, [2, 4], [1, 1.5, 3, 4, 2, 5, 6, 9]);
      exact(asc.indices, [2, 4], [1, 3, 0, 2, 1, 3, 2, 0]);
      const desc = x.sort(1, true);
      exact(desc.values, [2, 4], [4, 3, 1.5, 1, 9, 6, 5, 2]);
      exact(desc.indices, [2, 4], [2, 0, 3, 1, 0, 2, 3, 1]);
      expectOpError(() => x.topk(5), "topk");
    }));

  test("multinomial: seeded draws repeat, only non-zero weights are drawn", () =>
    tidy(() => {
      const w = tensor([0, 1, 0, 3]);
      manualSeed(123);
      const first = w.multinomial(2000, true).toArray();
      manualSeed(123);
      const second = w.multinomial(2000, true).toArray();
      assert.deepEqual(first, second, "same seed, same draw");
      assert.ok(
        first.every((i) => i === 1 || i === 3),
        "only indices with non-zero weight",
      );
      // P(3) = 3/4; 2000 draws: sd = sqrt(2000 * 0.75 * 0.25) ≈ 19.4, allow > 5 sd
      const threes = first.filter((i) => i === 3).length;
      assert.ok(Math.abs(threes - 1500) < 100, `${threes} threes of 2000`);
      manualSeed(124);
      assert.notDeepEqual(w.multinomial(2000, true).toArray(), first, "another seed, another draw");
      // without replacement: k distinct indices, all with non-zero weight
      const rows = tensor([
        [0, 0.2, 0.3, 0, 0.5],
        [1, 0, 0, 0, 0],
      ]);
      const draw = rows.multinomial(3);
      assert.deepEqual(draw.shape, [2, 3]);
      assert.equal(draw.dtype, "int64");
      assert.deepEqual([...(draw.select(0, 0).toArray() as number[])].sort(), [1, 2, 4]);
      // more samples than categories without replacement, and negative weights, are errors
      expectOpError(() => tensor([0, 1, 0]).multinomial(4), "multinomial");
      expectOpError(() => tensor([0, -1, 2]).multinomial(1), "multinomial");
    }));

  test("argmax of probabilities picks the largest", () =>
    tidy(() => {
      exact(tensor([0.1, 0.7, 0.2]).argmax(), [], [1]);
      exact(tensor([[0.1, 0.7, 0.2]]).argmax(-1), [1], [1]);
    }));

  test("dropout: identity without training; with training zeroes about p and scales by 1/(1-p)", () =>
    tidy(() => {
      const x = tensor([1, 2, 3, 4]);
      exact(x.dropout(0.5, false), [4], [1, 2, 3, 4]);
      exact(x.dropout(0, true), [4], [1, 2, 3, 4]);
      manualSeed(7);
      const n = 20000;
      const p = 0.25;
      const y = ones([n]).dropout(p, true).toArray();
      const zerosCount = y.filter((v) => v === 0).length;
      // Binomial(20000, 0.25): sd ≈ 61; allow > 6 sd
      assert.ok(Math.abs(zerosCount - n * p) < 400, `${zerosCount} zeros of ${n}`);
      const kept = y.filter((v) => v !== 0);
      close(kept.slice(0, 5), new Array(5).fill(1 / (1 - p)));
      assert.ok(
        kept.every((v) => Math.abs(v - 1 / (1 - p)) < 1e-6),
        "survivors scaled by 1/(1-p)",
      );
      exact(x.dropout(1, true), [4], [0, 0, 0, 0]);
    }));
});

describe("devices, errors, disposal", () => {
  test("to(dtype) and to('cpu')", () =>
    tidy(() => {
      const x = tensor([1.5, 2.5]);
      const c = x.to("cpu");
      assert.equal(c.device, "cpu");
      exact(c, [2], [1.5, 2.5]);
      const h = x.to("float16");
      assert.equal(h.dtype, "float16");
      assert.equal(h.device, "cpu");
      assert.throws(() => x.to("tpu" as never), /unknown dtype 'tpu'/);
      assert.match(String(x), /^Tensor\(shape=\[2\], dtype=float32, device=cpu\)$/);
    }));

  test("cudaAvailable() is a boolean", () => {
    assert.equal(typeof cudaAvailable(), "boolean");
  });

  test("CUDA round trip", { skip: !cudaAvailable() && "CUDA is not available" }, () =>
    tidy(() => {
      const x = tensor([1, 2, 3], undefined, { device: "cuda" });
      assert.match(x.device, /^cuda/);
      exact(x.mul(2).to("cpu"), [3], [2, 4, 6]);
      exact(x.matmul(x), [], [14]);
    }),
  );

  test("a libtorch error is a JS Error named after the op, without a C++ backtrace", () =>
    tidy(() => {
      const a = zeros([2, 3]);
      const msg = errorOf(() => a.matmul(zeros([2, 3])));
      assertCleanOpError(msg, "matmul");
      assert.ok(!msg.includes("\n"), `one line: ${JSON.stringify(msg)}`);
      expectOpError(() => a.view(4), "view");
      expectOpError(() => a.reshape(5), "reshape");
      expectOpError(() => a.transpose(0, 3), "transpose");
      expectOpError(() => a.softmax(2), "softmax");
      // the process carries on after an error
      exact(a.add(1).sum(), [], [6]);
    }));

  test("using a disposed tensor throws 'tensor used after dispose()'", () => {
    const before = liveTensors();
    const t = tensor([1, 2]);
    const other = tensor([3, 4]);
    assert.equal(liveTensors(), before + 2);
    t.dispose();
    assert.equal(liveTensors(), before + 1);
    assert.equal(t.isDisposed, true);
    t.dispose(); // idempotent
    assert.equal(liveTensors(), before + 1);
    assert.throws(() => t.add(1), { message: "tensor used after dispose()" });
    assert.throws(() => t.toArray(), { message: "tensor used after dispose()" });
    assert.throws(() => t.shape, { message: "tensor used after dispose()" });
    assert.throws(() => other.add(t), { message: "tensor used after dispose()" });
    assert.throws(() => cat([other, t]), { message: "tensor used after dispose()" });
    assert.equal(String(t), "Tensor(disposed)");
    // a stale native handle is rejected by the addon too, not dereferenced
    const raw = other.handle;
    other.dispose();
    assert.throws(() => loadNative().add(raw, 1), /tensor was disposed/);
    assert.equal(liveTensors(), before);
  });
});
