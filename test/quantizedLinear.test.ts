import assert from "node:assert/strict";
import { test } from "node:test";
import {
  dequantizeWeight,
  manualSeed,
  nativeNf4Table,
  noGrad,
  packedBytes,
  quantizedEmbedding,
  quantizedLinear,
  quantizeWeight,
  randn,
  tensor,
  tidy,
} from "../src/engine/index.js";
import {
  NF4_VALUES,
  nearestNf4Code,
  referenceDequantizeInt8,
  referenceDequantizeNf4,
  referenceQuantizeInt8,
  referenceQuantizeNf4,
} from "../src/engine/quantizeReference.js";
import { encodeQ8_0 } from "../src/export/ggufTensors.js";

test("NF4 code table: the native table is the reference's, 16 sorted values from -1 to 1 with an exact zero", () => {
  assert.deepEqual(nativeNf4Table(), NF4_VALUES);
  assert.equal(NF4_VALUES.length, 16);
  assert.equal(NF4_VALUES[0], -1);
  assert.equal(NF4_VALUES[7], 0);
  assert.equal(NF4_VALUES[15], 1);
  for (let i = 1; i < 16; i++) assert.ok((NF4_VALUES[i] as number) > (NF4_VALUES[i - 1] as number));
  assert.equal(nearestNf4Code(0.03), 7);
  assert.equal(nearestNf4Code(-0.9), 0);
});

test("reference int8 on a known row: scale absmax/127, codes rounded half away from zero", () => {
  const w = new Float32Array([0.5, -1.27, 0.01, 1.27, 0, 0, 0, 0]);
  const { data, scales } = referenceQuantizeInt8(w, 2, 4);
  assert.deepEqual([...scales], [Math.fround(Math.fround(1.27) / 127), 0]);
  assert.deepEqual([...data], [50, -127, 1, 127, 0, 0, 0, 0]);
  const back = referenceDequantizeInt8(data, scales, 2, 4);
  assert.deepEqual([...back.slice(4)], [0, 0, 0, 0], "a zero row stays zero");
  assert.ok(Math.abs((back[0] as number) - 0.5) < 1e-6);
});

test("reference NF4 on a known block: absmax scale, nearest codes, first code in the high nibble", () => {
  const { data, scales } = referenceQuantizeNf4(new Float32Array([0.5, -1, 0.1, 0.25, 0, 0, 2, -2]), 4);
  assert.deepEqual([...scales], [1, 2]);
  // 0.5 -> 0.4407 (12), -1 -> 0, 0.1 -> 0.0796 (8), 0.25 -> 0.2461 (10); 0 -> 7, 2/2 -> 15, -2/2 -> 0
  assert.deepEqual([...data], [0xc0, 0x8a, 0x77, 0xf0]);
  const back = referenceDequantizeNf4(data, scales, 8, 4);
  assert.deepEqual([...back], [NF4_VALUES[12], -1, NF4_VALUES[8], NF4_VALUES[10], 0, 0, 2, -2]);
});

/** A random float32 weight as both a tensor and its values. */
function randomWeight(
  out: number,
  inFeatures: number,
): { values: Float32Array; t: ReturnType<typeof randn> } {
  const t = randn([out, inFeatures]);
  return { values: t.toFloat32Array(), t };
}

for (const [out, inFeatures] of [
  [7, 130],
  [5, 13],
  [64, 96],
] as [number, number][]) {
  test(`native packing equals the reference bytes and dequantisation, int8 and nf4, [${out}, ${inFeatures}]`, () => {
    manualSeed(out * 1000 + inFeatures);
    tidy(() => {
      const { values, t } = randomWeight(out, inFeatures);
      const int8 = quantizeWeight(t, "int8");
      const refInt8 = referenceQuantizeInt8(values, out, inFeatures);
      assert.deepEqual(new Int8Array(int8.data.toBytes().buffer), refInt8.data);
      assert.deepEqual(int8.scales.toFloat32Array(), refInt8.scales);
      assert.deepEqual(
        dequantizeWeight(int8).toFloat32Array(),
        referenceDequantizeInt8(refInt8.data, refInt8.scales, out, inFeatures),
      );
      const nf4 = quantizeWeight(t, "nf4");
      assert.equal(nf4.block, 64);
      const refNf4 = referenceQuantizeNf4(values, 64);
      assert.deepEqual(new Uint8Array(nf4.data.toBytes()), refNf4.data);
      assert.deepEqual(nf4.scales.toFloat32Array(), refNf4.scales);
      assert.deepEqual(
        dequantizeWeight(nf4).toFloat32Array(),
        referenceDequantizeNf4(refNf4.data, refNf4.scales, values.length, 64),
      );
    });
  });
}

function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i] as number));
    err = Math.max(err, Math.abs((a[i] as number) - (b[i] as number)));
  }
  return err / scale;
}

for (const kind of ["int8", "nf4"] as const) {
  for (const rows of [1, 2, 37]) {
    test(`quantizedLinear ${kind}, ${rows * 2} input rows (${rows * 2 <= 4 ? "decode kernel" : "tiled matmul"}): forward and input gradient match the dequantised matmul`, () => {
      manualSeed(rows);
      tidy(() => {
        const weight = randn([300, 192]);
        const packed = quantizeWeight(weight, kind);
        const dense = dequantizeWeight(packed);
        const x = randn([rows, 2, 192]).requiresGrad_();
        const y = quantizedLinear(x, packed);
        assert.deepEqual(y.shape, [rows, 2, 300]);
        const expected = noGrad(() => x.matmul(dense.transpose(0, 1)));
        assert.ok(maxRelativeError(y.toFloat32Array(), expected.toFloat32Array()) < 1e-5);
        const upstream = randn([rows, 2, 300]);
        y.mul(upstream).sum().backward();
        const grad = x.grad;
        assert.ok(grad);
        const expectedGrad = upstream.matmul(dense);
        assert.ok(maxRelativeError(grad.toFloat32Array(), expectedGrad.toFloat32Array()) < 1e-5);
      });
    });
  }
}

test("quantizedLinear keeps bfloat16 inputs in bfloat16", () => {
  tidy(() => {
    const packed = quantizeWeight(randn([16, 64]), "int8");
    const y = quantizedLinear(randn([2, 64]).to("bfloat16"), packed);
    assert.equal(y.dtype, "bfloat16");
  });
});

test("quantizedEmbedding gathers dequantised rows", () => {
  manualSeed(3);
  tidy(() => {
    for (const kind of ["int8", "nf4"] as const) {
      const packed = quantizeWeight(randn([50, 128]), kind);
      const dense = dequantizeWeight(packed);
      const ids = tensor([[3, 49, 0]], [1, 3], { dtype: "int64" });
      const rows = quantizedEmbedding(packed, ids);
      assert.deepEqual(rows.shape, [1, 3, 128]);
      assert.deepEqual(rows.toFloat32Array(), dense.indexSelect(0, ids.view(3)).toFloat32Array());
    }
    assert.throws(
      () => quantizedEmbedding(quantizeWeight(randn([4, 64]), "int8"), tensor([4], [1], { dtype: "int64" })),
      /out of range/,
    );
  });
});

test("storage: NF4 uses at most 0.6 bytes per weight and int8 about 1, measured from the packed buffers", () => {
  tidy(() => {
    const weight = randn([512, 1024]);
    const nf4 = packedBytes(quantizeWeight(weight, "nf4")) / weight.numel;
    const int8 = packedBytes(quantizeWeight(weight, "int8")) / weight.numel;
    assert.ok(nf4 <= 0.6, `nf4: ${nf4} bytes per weight`);
    assert.equal(nf4, 0.5 + 4 / 64);
    assert.ok(int8 > 1 && int8 < 1.01, `int8: ${int8} bytes per weight`);
  });
});

test("GGUF Q8_0 blocks: f16 scale absmax/127 then 32 codes rounded half away from zero; a zero block is all zero", () => {
  tidy(() => {
    const values = new Float32Array(64);
    values[0] = 1.27;
    values[1] = -0.635; // -0.635 / 0.01 = -63.5 -> -64
    values[2] = 0.004; // 0.4 -> 0
    const bytes = encodeQ8_0(tensor(values, [2, 32]));
    assert.equal(bytes.length, 2 * 34);
    const scale = tensor(new Float32Array([Math.fround(1.27) / 127]), [1])
      .to("float16")
      .toBytes();
    assert.deepEqual([...bytes.subarray(0, 2)], [...scale]);
    assert.deepEqual([...new Int8Array(bytes.buffer, 2, 3)], [127, -64, 0]);
    assert.ok(
      bytes.subarray(34).every((b) => b === 0),
      "zero block",
    );
  });
});
