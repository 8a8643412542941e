// A quantised frozen base (QLoRA's idea): 2-D weights stored as int8 per output channel or as 4-bit NF4 codes in
// blocks with absmax scales, and used by matmuls that dequantise a few rows at a time, never the whole matrix.
//
// Formats (the TypeScript reference quantiser in src/model/quantizeReference.ts computes the same bytes):
//  - int8: data int8 [out, in]; scales float32 [out] = absmax(row) / 127; w ≈ q · scale, q = round(w / scale).
//  - nf4:  data uint8 [ceil(numel / 2)], two codes per byte, element 2k in the high nibble (as bitsandbytes);
//          scales float32 [ceil(numel / block)] = absmax of each block of the row-major flattened weight;
//          w ≈ NF4[code] · absmax, code = the nearest NF4 value to w / absmax (ties to the lower code).
// The input gradient of quantizedLinear is computed by re-dequantising in backward: autograd saves only the
// packed tensors (the model holds them anyway), never a dequantised copy.
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>

#include "common.h"

#pragma GCC optimize("O3")

namespace safetune {

namespace {

// The 16 NF4 values of QLoRA (Dettmers et al. 2023, appendix E): quantiles of N(0, 1) normalised to [-1, 1],
// with an exact zero.
constexpr float kNf4[16] = {-1.0f,
                            -0.6961928009986877f,
                            -0.5250730514526367f,
                            -0.39491748809814453f,
                            -0.28444138169288635f,
                            -0.18477343022823334f,
                            -0.09105003625154495f,
                            0.0f,
                            0.07958029955625534f,
                            0.16093020141124725f,
                            0.24611230194568634f,
                            0.33791524171829224f,
                            0.44070982933044434f,
                            0.5626170039176941f,
                            0.7229568362236023f,
                            1.0f};

enum class Kind { Int8, Nf4 };

struct Packed {
  Kind kind;
  at::Tensor data;    // int8 [out, in] or uint8 [ceil(numel / 2)], contiguous
  at::Tensor scales;  // float32, contiguous
  int64_t out, in, block;
};

Kind kindOf(const std::string& name) {
  if (name == "int8") return Kind::Int8;
  if (name == "nf4") return Kind::Nf4;
  throw std::invalid_argument("quantized: kind must be 'int8' or 'nf4', got '" + name + "'");
}

// Rounds half away from zero (std::round), as the reference quantiser does.
inline int32_t roundAway(float v) { return static_cast<int32_t>(std::round(v)); }

inline uint8_t nearestNf4(float v) {
  uint8_t best = 0;
  float bestDistance = std::fabs(v - kNf4[0]);
  for (uint8_t c = 1; c < 16; c++) {
    float d = std::fabs(v - kNf4[c]);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

// Rows [r0, r0 + rows) of the weight as float32 into dst [rows, in].
__attribute__((target_clones("avx512f", "avx2", "default"))) void dequantizeRows(const Packed& p, int64_t r0,
                                                                                   int64_t rows, float* dst) {
  const int64_t in = p.in;
  const float* scales = p.scales.data_ptr<float>();
  if (p.kind == Kind::Int8) {
    const int8_t* q = p.data.data_ptr<int8_t>();
    for (int64_t r = 0; r < rows; r++) {
      const int8_t* row = q + (r0 + r) * in;
      const float s = scales[r0 + r];
      float* out = dst + r * in;
      for (int64_t j = 0; j < in; j++) out[j] = static_cast<float>(row[j]) * s;
    }
    return;
  }
  const uint8_t* bytes = p.data.data_ptr<uint8_t>();
  const int64_t first = r0 * in, count = rows * in;
  for (int64_t i = 0; i < count; i++) {
    const int64_t e = first + i;
    const uint8_t byte = bytes[e >> 1];
    const uint8_t code = (e & 1) ? (byte & 0x0F) : (byte >> 4);
    dst[i] = kNf4[code] * scales[e / p.block];
  }
}

// Rows of output features per tile: about 1 MiB of float32, so a tile stays in cache between its two uses.
int64_t tileRows(int64_t in) { return std::max<int64_t>(8, (int64_t{1} << 18) / std::max<int64_t>(in, 1)); }

// Dot products with 16 partial sums, so the compiler vectorises them without reassociating one sum.
template <typename W>
inline float dotLanes(const float* x, const W* w, int64_t n) {
  float lanes[16] = {0};
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int k = 0; k < 16; k++) lanes[k] += x[j + k] * static_cast<float>(w[j + k]);
  float acc = 0;
  for (int k = 0; k < 16; k++) acc += lanes[k];
  for (; j < n; j++) acc += x[j] * static_cast<float>(w[j]);
  return acc;
}
inline float dotInt8(const float* x, const int8_t* w, int64_t n) { return dotLanes(x, w, n); }
inline float dotFloat(const float* x, const float* w, int64_t n) { return dotLanes(x, w, n); }

// y [m, out] = x [m, in] · Wᵀ for few rows of x (decoding): each weight row is dequantised into a thread-local
// buffer and dotted with every row of x, so the weight is read once.
__attribute__((target_clones("avx512f", "avx2", "default"))) void gemvRows(const Packed& p, const float* x,
                                                                             int64_t m, float* y, int64_t o0,
                                                                             int64_t o1) {
  const int64_t in = p.in;
  if (p.kind == Kind::Int8) {
    const int8_t* q = p.data.data_ptr<int8_t>();
    const float* scales = p.scales.data_ptr<float>();
    for (int64_t o = o0; o < o1; o++) {
      const int8_t* row = q + o * in;
      for (int64_t r = 0; r < m; r++) {
        const float* xr = x + r * in;
        y[r * p.out + o] = dotInt8(xr, row, in) * scales[o];
      }
    }
    return;
  }
  std::vector<float> buffer(static_cast<size_t>(in));
  for (int64_t o = o0; o < o1; o++) {
    dequantizeRows(p, o, 1, buffer.data());
    for (int64_t r = 0; r < m; r++) {
      const float* xr = x + r * in;
      y[r * p.out + o] = dotFloat(xr, buffer.data(), in);
    }
  }
}

constexpr int64_t kGemvMaxRows = 4;

// x [m, in] float32 contiguous -> [m, out] float32.
at::Tensor forwardMatmul(const Packed& p, const at::Tensor& x) {
  const int64_t m = x.size(0);
  auto y = at::empty({m, p.out}, x.options());
  if (m <= kGemvMaxRows) {
    const float* xs = x.data_ptr<float>();
    float* ys = y.data_ptr<float>();
    at::parallel_for(0, p.out, 16, [&](int64_t o0, int64_t o1) { gemvRows(p, xs, m, ys, o0, o1); });
    return y;
  }
  const int64_t tile = tileRows(p.in);
  auto w = at::empty({std::min(tile, p.out), p.in}, x.options());
  for (int64_t r0 = 0; r0 < p.out; r0 += tile) {
    const int64_t rows = std::min(tile, p.out - r0);
    auto wTile = w.narrow(0, 0, rows);
    float* dst = wTile.data_ptr<float>();
    at::parallel_for(0, rows, 8, [&](int64_t a, int64_t b) { dequantizeRows(p, r0 + a, b - a, dst + a * p.in); });
    y.narrow(1, r0, rows).copy_(at::mm(x, wTile.t()));
  }
  return y;
}

// dy [m, out] -> dx [m, in] = dy · W, accumulated tile by tile.
at::Tensor inputGradient(const Packed& p, const at::Tensor& dy) {
  const int64_t tile = tileRows(p.in);
  auto dx = at::zeros({dy.size(0), p.in}, dy.options());
  auto w = at::empty({std::min(tile, p.out), p.in}, dy.options());
  for (int64_t r0 = 0; r0 < p.out; r0 += tile) {
    const int64_t rows = std::min(tile, p.out - r0);
    auto wTile = w.narrow(0, 0, rows);
    float* dst = wTile.data_ptr<float>();
    at::parallel_for(0, rows, 8, [&](int64_t a, int64_t b) { dequantizeRows(p, r0 + a, b - a, dst + a * p.in); });
    dx.addmm_(dy.narrow(1, r0, rows), wTile);
  }
  return dx;
}

Packed packedOf(const at::Tensor& data, const at::Tensor& scales, const std::string& kind, int64_t out, int64_t in,
                int64_t block) {
  Packed p{kindOf(kind), data, scales, out, in, block};
  if (p.kind == Kind::Int8) {
    TORCH_CHECK(data.scalar_type() == at::kChar && data.numel() == out * in, "quantized int8: data must be int8 [",
                out, ", ", in, "]");
    TORCH_CHECK(scales.numel() == out, "quantized int8: scales must have ", out, " entries");
  } else {
    TORCH_CHECK(block > 0, "quantized nf4: block must be positive");
    TORCH_CHECK(data.scalar_type() == at::kByte && data.numel() == (out * in + 1) / 2,
                "quantized nf4: data must be uint8 with ", (out * in + 1) / 2, " bytes");
    TORCH_CHECK(scales.numel() == (out * in + block - 1) / block, "quantized nf4: scales must have ",
                (out * in + block - 1) / block, " entries");
  }
  TORCH_CHECK(scales.scalar_type() == at::kFloat, "quantized: scales must be float32");
  TORCH_CHECK(data.is_contiguous() && scales.is_contiguous() && data.device().is_cpu(),
              "quantized: packed tensors must be contiguous CPU tensors");
  return p;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y = x · Wᵀ with W packed; gradients flow to x only (the base is frozen).
struct QuantizedLinearFunction : public torch::autograd::Function<QuantizedLinearFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& data, const at::Tensor& scales,
                            const std::string& kind, int64_t out, int64_t in, int64_t block) {
    Packed p = packedOf(data, scales, kind, out, in, block);
    TORCH_CHECK(x.size(-1) == in, "quantizedLinear: input has ", x.size(-1), " features, the weight expects ", in);
    ctx->save_for_backward({data, scales});
    ctx->saved_data["kind"] = kind;
    ctx->saved_data["out"] = out;
    ctx->saved_data["in"] = in;
    ctx->saved_data["block"] = block;
    auto shape = x.sizes().vec();
    auto x2 = x.reshape({-1, in}).to(at::kFloat).contiguous();
    auto y = forwardMatmul(p, x2);
    shape.back() = out;
    return y.view(shape).to(x.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto kind = ctx->saved_data["kind"].toStringRef();
    const int64_t out = ctx->saved_data["out"].toInt(), in = ctx->saved_data["in"].toInt(),
                  block = ctx->saved_data["block"].toInt();
    Packed p = packedOf(saved[0], saved[1], kind, out, in, block);
    const auto& dy = grads[0];
    auto shape = dy.sizes().vec();
    auto dx = inputGradient(p, dy.reshape({-1, out}).to(at::kFloat).contiguous());
    shape.back() = in;
    return {dx.view(shape).to(dy.scalar_type()), at::Tensor(), at::Tensor(), at::Tensor(),
            at::Tensor(),                        at::Tensor(), at::Tensor()};
  }
};

std::vector<at::Tensor> quantizeInt8(const at::Tensor& weight) {
  TORCH_CHECK(weight.dim() == 2, "quantize int8: expected a 2-D weight");
  auto w = weight.to(at::kFloat).contiguous();
  const int64_t out = w.size(0), in = w.size(1);
  auto data = at::empty({out, in}, at::kChar);
  auto scales = at::empty({out}, at::kFloat);
  const float* ws = w.data_ptr<float>();
  int8_t* q = data.data_ptr<int8_t>();
  float* s = scales.data_ptr<float>();
  at::parallel_for(0, out, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* row = ws + r * in;
      float absmax = 0;
      for (int64_t j = 0; j < in; j++) absmax = std::max(absmax, std::fabs(row[j]));
      const float scale = absmax / 127.0f;
      s[r] = scale;
      for (int64_t j = 0; j < in; j++)
        q[r * in + j] = scale == 0 ? 0 : static_cast<int8_t>(std::clamp(roundAway(row[j] / scale), -127, 127));
    }
  });
  return {data, scales};
}

std::vector<at::Tensor> quantizeNf4(const at::Tensor& weight, int64_t block) {
  TORCH_CHECK(block > 0 && block % 2 == 0, "quantize nf4: block must be a positive even number");
  auto w = weight.to(at::kFloat).contiguous();
  const int64_t numel = w.numel();
  const int64_t blocks = (numel + block - 1) / block;
  auto data = at::zeros({(numel + 1) / 2}, at::kByte);
  auto scales = at::empty({blocks}, at::kFloat);
  const float* ws = w.data_ptr<float>();
  uint8_t* bytes = data.data_ptr<uint8_t>();
  float* s = scales.data_ptr<float>();
  // Blocks have an even size, so no byte is shared by two blocks and blocks can be packed in parallel.
  at::parallel_for(0, blocks, 64, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      const int64_t start = b * block, end = std::min(numel, start + block);
      float absmax = 0;
      for (int64_t e = start; e < end; e++) absmax = std::max(absmax, std::fabs(ws[e]));
      s[b] = absmax;
      for (int64_t e = start; e < end; e++) {
        const uint8_t code = nearestNf4(absmax == 0 ? 0.0f : ws[e] / absmax);
        bytes[e >> 1] |= (e & 1) ? code : static_cast<uint8_t>(code << 4);
      }
    }
  });
  return {data, scales};
}

// Rows ids of the packed table [out, in] (an embedding): [..., in] float32.
at::Tensor gatherRows(const Packed& p, const at::Tensor& ids) {
  auto flat = ids.reshape({-1}).to(at::kLong).contiguous();
  const int64_t n = flat.numel();
  auto result = at::empty({n, p.in}, at::kFloat);
  const int64_t* idx = flat.data_ptr<int64_t>();
  float* dst = result.data_ptr<float>();
  for (int64_t i = 0; i < n; i++) {
    TORCH_CHECK(idx[i] >= 0 && idx[i] < p.out, "quantizedEmbedding: id ", idx[i], " out of range [0, ", p.out, ")");
  }
  at::parallel_for(0, n, 4, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; i++) dequantizeRows(p, idx[i], 1, dst + i * p.in);
  });
  auto shape = ids.sizes().vec();
  shape.push_back(p.in);
  return result.view(shape);
}

}  // namespace

void registerQuantized(Napi::Env env, Napi::Object exports) {
  // quantizeWeight(w [out, in], kind, block) -> [data, scales]
  define(env, exports, "quantizeWeight", [](const Napi::CallbackInfo& info) {
    const auto kind = kindOf(stringArg(info, 1));
    at::NoGradGuard noGrad;
    auto parts = kind == Kind::Int8 ? quantizeInt8(tensorArg(info, 0)) : quantizeNf4(tensorArg(info, 0), intArg(info, 2));
    return wrapList(info.Env(), parts);
  });
  // dequantizeWeight(data, scales, kind, out, in, block) -> float32 [out, in] (for tests and exports)
  define(env, exports, "dequantizeWeight", [](const Napi::CallbackInfo& info) {
    Packed p = packedOf(tensorArg(info, 0), tensorArg(info, 1), stringArg(info, 2), intArg(info, 3), intArg(info, 4),
                        intArg(info, 5));
    auto w = at::empty({p.out, p.in}, at::kFloat);
    dequantizeRows(p, 0, p.out, w.data_ptr<float>());
    return wrap(info.Env(), w);
  });
  // quantizedLinear(x [..., in], data, scales, kind, out, in, block) -> [..., out] in x's dtype
  define(env, exports, "quantizedLinear", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), QuantizedLinearFunction::apply(tensorArg(info, 0), tensorArg(info, 1), tensorArg(info, 2),
                                                           stringArg(info, 3), intArg(info, 4), intArg(info, 5),
                                                           intArg(info, 6)));
  });
  // quantizedEmbedding(ids, data, scales, kind, out, in, block) -> float32 [..., in]
  define(env, exports, "quantizedEmbedding", [](const Napi::CallbackInfo& info) {
    Packed p = packedOf(tensorArg(info, 1), tensorArg(info, 2), stringArg(info, 3), intArg(info, 4), intArg(info, 5),
                        intArg(info, 6));
    return wrap(info.Env(), gatherRows(p, tensorArg(info, 0)));
  });
  define(env, exports, "nf4CodeTable", [](const Napi::CallbackInfo& info) {
    auto array = Napi::Array::New(info.Env(), 16);
    for (uint32_t i = 0; i < 16; i++) array.Set(i, Napi::Number::New(info.Env(), kNf4[i]));
    return array;
  });
}

}  // namespace safetune
