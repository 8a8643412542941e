// The fused decode step: one native call runs one token of every row of a batch through the whole model
// (embeddings, every layer with its keys/values written in place into the caller's KV cache, final norm, head)
// and returns the logits [B, V] of that position. The ops and their order are the TypeScript model's
// (src/model/llama.ts, gpt2.ts, attention.ts), so the two paths agree to the float; what goes away is the
// per-op crossing of N-API and the wrapper, and autograd's bookkeeping (the step runs in inference mode).
//
// decodePlan(spec) builds a plan once per decode session: it holds references to the weights, the optional LoRA
// pairs, the rotary tables and the cache buffers, plus the left padding of each row. decodeStep(plan, ids, past)
// runs one step for the B token ids at cache position `past`. decodePlanDispose(plan) drops every reference.
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <memory>

#include "common.h"

namespace safetune {

namespace {

struct Linear {
  at::Tensor weight;  // [out, in] as at::linear takes it (a transposed view for GPT-2's Conv1D)
  at::Tensor bias;    // undefined when the layer has none
  at::Tensor loraA;   // [r, in], undefined without an adapter
  at::Tensor loraB;   // [out, r]
  double loraScale = 0;

  // Batched decode (float32, kMinRows..kMaxRows rows): a transposed copy of the weight, [in, out] contiguous, made
  // once per plan, and the number of its columns per GEMM call. Undefined otherwise.
  at::Tensor weightT;
  int64_t columnsPerCall = 0;

  at::Tensor operator()(const at::Tensor& x) const {
    auto y = oneRow(x)               ? matrixVector(x)
             : rowsFit(x)            ? fewRows(x)
                                     : at::linear(x, weight, bias);
    if (!loraA.defined()) return y;
    return y.add(at::linear(at::linear(x, loraA), loraB).mul(loraScale));
  }

  // float32 only: libtorch's bf16/f16 gemv on the CPU accumulates in the low precision (measured on llama-bf16:
  // logits 1.0 off), where its GEMM accumulates in float32.
  static bool oneRow(const at::Tensor& x) { return x.numel() == x.size(-1) && x.scalar_type() == at::kFloat; }

  // One input row (batch-1 decode): a matrix-vector product. at::linear would call a GEMM with M = 1, which packs
  // (copies) the whole weight matrix on every call; gemv streams it once. The sums run in another order, so the
  // result may differ from at::linear's in the last bits.
  at::Tensor matrixVector(const at::Tensor& x) const {
    auto shape = x.sizes().vec();
    shape.back() = weight.size(0);
    auto row = x.reshape({x.size(-1)});
    // A weight stored [in, out] (weightT, or GPT-2's Conv1D) runs OpenBLAS's non-transposed gemv, which is faster
    // for the wide head (gemv over [4096, 256]: 72 against 101 us; see prepareHeadRow).
    const auto& matrix = weightT.defined() ? weightT.t() : weight;
    auto y = bias.defined() ? at::addmv(bias, matrix, row) : at::mv(matrix, row);
    return y.view(shape);
  }

  // Batched decode multiplies a few rows by each weight. OpenBLAS's GEMM packs (copies) the whole weight on every
  // such call (`sgemm_incopy`/`sgemm_itcopy`: 40% of a batch-8 Llama decode step, `perf record`, 2026-12-03) unless
  // the product is small: then its "small matrix" kernels read the operands in place. In OpenBLAS 0.3.21's x86-64
  // kernels that is a non-transposed weight ([in, out] row-major, as x·W with W contiguous) and at most
  // kSmallGemm multiply-adds per call. So the plan keeps a transposed copy of each weight and multiplies it in
  // column blocks that fit: 2-2.6x faster than at::linear at 2-16 rows (bench/decodeProfile.ts, docs/benchmarks.md).
  // Past 16 rows the packing pays for itself and at::linear is used. The sums run in another order than at::linear's,
  // so results may differ in the last bits.
  static constexpr int64_t kMinRows = 2, kMaxRows = 16, kSmallGemm = 1000000;

  // The transposed copies cost memory while the plan lives, so a plan spends at most kCopyBudgetBytes on them, in
  // plan order (layers first, then the head): the bench models' copies fit whole (15.6 MiB at batch 8 for
  // llama-bench), while a real model's weights keep one layout (a 0.5B model's head alone is 545 MB, and copying
  // every weight would double generation's memory). Weights past the budget run at::linear / at::mv as before.
  static constexpr int64_t kCopyBudgetBytes = 32LL << 20;

  // Takes the copy out of `budget` and makes it, or returns false when it does not fit. GPT-2's Conv1D weights are
  // stored [in, out] already: their transposed view is contiguous and costs nothing.
  bool takeTransposed(int64_t& budget) {
    auto t = weight.t();
    int64_t bytes = t.is_contiguous() ? 0 : static_cast<int64_t>(t.numel() * t.element_size());
    if (bytes > budget) return false;
    budget -= bytes;
    weightT = t.contiguous();
    return true;
  }

  void prepareRows(int64_t rows, int64_t& budget) {
    if (rows < kMinRows || rows > kMaxRows || weight.scalar_type() != at::kFloat || !weight.device().is_cpu()) return;
    if (!takeTransposed(budget)) return;
    int64_t in = weight.size(1), out = weight.size(0);
    int64_t widest = std::max<int64_t>(1, kSmallGemm / (rows * in));
    int64_t calls = (out + widest - 1) / widest;
    columnsPerCall = (out + calls - 1) / calls;
  }

  // Batch 1: the head [vocab, hidden] is the largest weight of a decode step, and OpenBLAS's gemv reads it faster
  // stored [in, out] (sgemv_n) than [out, in] (sgemv_t): 72 against 101 us per call at 4096 x 256 (PyTorch over the
  // same OpenBLAS, one thread, 2026-12-03). The layers' weights gain little or nothing that way (256 x 256: 5.8
  // against 5.1 us), so only the head gets the copy (4 MiB for the bench models; a head larger than the copy
  // budget keeps its layout).
  void prepareHeadRow(int64_t rows, int64_t& budget) {
    if (rows != 1 || weight.scalar_type() != at::kFloat || !weight.device().is_cpu()) return;
    takeTransposed(budget);
  }

  bool rowsFit(const at::Tensor& x) const {
    if (!weightT.defined() || x.scalar_type() != at::kFloat) return false;
    int64_t rows = x.numel() / x.size(-1);
    return rows >= kMinRows && rows <= kMaxRows;
  }

  at::Tensor fewRows(const at::Tensor& x) const {
    int64_t in = weightT.size(0), out = weightT.size(1);
    auto shape = x.sizes().vec();
    shape.back() = out;
    auto rows = x.reshape({-1, in}).contiguous();
    auto y = at::empty({rows.size(0), out}, x.options());
    for (int64_t first = 0; first < out; first += columnsPerCall) {
      int64_t width = std::min(columnsPerCall, out - first);
      auto block = y.narrow(1, first, width);  // strides (out, 1): BLAS writes it in place with ldc = out
      auto w = weightT.narrow(1, first, width);
      if (bias.defined()) at::addmm_out(block, bias.narrow(0, first, width), rows, w);
      else at::mm_out(block, rows, w);
    }
    return y.view(shape);
  }
};

struct Norm {
  at::Tensor weight;
  at::Tensor bias;  // LayerNorm only
};

struct Layer {
  Norm norm1, norm2;
  // Llama: q, k, v, o, gate, up, down. GPT-2: qkv (c_attn), o (c_proj), up (c_fc), down (mlp.c_proj).
  Linear q, k, v, qkv, o, gate, up, down;
};

enum class Family { Llama, Gpt2 };
enum class Activation { Silu, GeluTanh, Gelu, Relu };

struct Plan {
  Family family = Family::Llama;
  Activation activation = Activation::Silu;
  int64_t numHeads = 0, numKvHeads = 0, headDim = 0, hidden = 0;
  double eps = 0;
  double maskValue = 0;
  at::Tensor embed, positions, rotaryCos, rotarySin;
  std::vector<Layer> layers;
  Norm finalNorm;
  Linear head;
  std::vector<at::Tensor> keys, values;
  std::vector<int64_t> padding;  // left padding of each row
  bool padded = false;
  bool disposed = false;
};

void finalizePlan(Napi::BasicEnv, Plan* plan) { delete plan; }

Plan& planArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsExternal()) throw Napi::TypeError::New(info.Env(), "argument 0: expected a decode plan");
  auto* plan = info[index].As<Napi::External<Plan>>().Data();
  if (plan->disposed) throw Napi::Error::New(info.Env(), "decode plan used after dispose()");
  return *plan;
}

at::Tensor tensorField(const Napi::Object& o, const char* key, bool required) {
  auto v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) throw Napi::TypeError::New(o.Env(), std::string("decodePlan: missing tensor '") + key + "'");
    return at::Tensor();
  }
  auto* box = boxOf(v, 0);
  if (!box->tensor.defined())
    throw Napi::Error::New(o.Env(), std::string("decodePlan: tensor '") + key + "' was disposed");
  return box->tensor;
}

double numberField(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("decodePlan: '") + key + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

Napi::Object objectField(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  if (!v.IsObject()) throw Napi::TypeError::New(o.Env(), std::string("decodePlan: '") + key + "' must be an object");
  return v.As<Napi::Object>();
}

std::vector<at::Tensor> tensorArrayField(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), std::string("decodePlan: '") + key + "' must be an array");
  auto array = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < array.Length(); i++) {
    auto* box = boxOf(array.Get(i), 0);
    out.push_back(box->tensor);
  }
  return out;
}

Linear linearField(const Napi::Object& o, const char* key, bool required) {
  Linear l;
  auto v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) throw Napi::TypeError::New(o.Env(), std::string("decodePlan: missing linear '") + key + "'");
    return l;
  }
  auto spec = v.As<Napi::Object>();
  l.weight = tensorField(spec, "weight", true);
  if (spec.Get("conv1d").ToBoolean().Value()) l.weight = l.weight.t();  // [in, out] stored: a view, no copy
  l.bias = tensorField(spec, "bias", false);
  l.loraA = tensorField(spec, "loraA", false);
  if (l.loraA.defined()) {
    l.loraB = tensorField(spec, "loraB", true);
    l.loraScale = numberField(spec, "loraScale");
  }
  return l;
}

Norm normField(const Napi::Object& o, const char* key) {
  auto spec = objectField(o, key);
  return Norm{tensorField(spec, "weight", true), tensorField(spec, "bias", false)};
}

// float32 in one pass over each row: the five ATen ops of the general path, as one loop and one allocation.
at::Tensor rmsNormFloat(const at::Tensor& x, const at::Tensor& weight, double eps) {
  auto in = x.contiguous();
  auto out = at::empty_like(in);
  int64_t width = in.size(-1), rows = in.numel() / width;
  const float* src = in.data_ptr<float>();
  const float* w = weight.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  for (int64_t r = 0; r < rows; r++) {
    const float* row = src + r * width;
    double squares = 0;
    for (int64_t i = 0; i < width; i++) squares += static_cast<double>(row[i]) * row[i];
    float scale = 1.0f / std::sqrt(static_cast<float>(squares / width + eps));
    float* o = dst + r * width;
    for (int64_t i = 0; i < width; i++) o[i] = (row[i] * scale) * w[i];
  }
  return out;
}

// x / rms(x) · w, in float32 whatever the compute dtype (LlamaModel.rmsNorm).
at::Tensor rmsNorm(const at::Tensor& x, const Norm& norm, double eps) {
  if (x.scalar_type() == at::kFloat && x.device().is_cpu() && norm.weight.is_contiguous())
    return rmsNormFloat(x, norm.weight, eps);
  auto dtype = x.scalar_type();
  bool f32 = dtype == at::kFloat;
  auto x32 = f32 ? x : x.to(at::kFloat);
  auto normed = x32.mul(x32.square().mean({-1}, true).add(eps).rsqrt());
  return (f32 ? normed : normed.to(dtype)).mul(norm.weight);
}

at::Tensor layerNorm(const at::Tensor& x, const Norm& norm, int64_t hidden, double eps) {
  return at::layer_norm(x, {hidden}, norm.weight, norm.bias, eps);
}

// attend() of src/model/attention.ts for one new position: q [B, H, 1, d], k and v [B, kvH, S, d] -> [B, 1, H·d].
at::Tensor attend(const Plan& p, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const at::Tensor& blocked) {
  int64_t batch = q.size(0), heads = q.size(1), steps = q.size(2), headDim = q.size(3);
  int64_t kvHeads = k.size(1), groups = heads / kvHeads, keyLength = k.size(2);
  auto grouped = groups == 1 ? q : q.reshape({batch, kvHeads, groups * steps, headDim});
  auto scores = grouped.matmul(k.transpose(2, 3)).mul(1.0 / std::sqrt(static_cast<double>(headDim)));
  if (blocked.defined()) {
    scores = groups == 1 ? scores.masked_fill(blocked, p.maskValue)
                         : scores.view({batch, kvHeads, groups, steps, keyLength})
                               .masked_fill(blocked.unsqueeze(2), p.maskValue)
                               .view({batch, kvHeads, groups * steps, keyLength});
  }
  auto dtype = q.scalar_type();
  auto probs = dtype == at::kFloat ? scores.softmax(-1) : scores.to(at::kFloat).softmax(-1).to(dtype);
  auto out = probs.matmul(v);
  auto perHead = groups == 1 ? out : out.view({batch, heads, steps, headDim});
  return perHead.transpose(1, 2).reshape({batch, steps, heads * headDim});
}

at::Tensor activate(const Plan& p, const at::Tensor& x) {
  switch (p.activation) {
    case Activation::Silu: return at::silu(x);
    case Activation::GeluTanh: return at::gelu(x, "tanh");
    case Activation::Gelu: return at::gelu(x, "none");
    case Activation::Relu: return x.relu();
  }
  return x;
}

// Writes this step's k, v [B, kvH, 1, d] at `past` and returns views over positions 0..past.
std::pair<at::Tensor, at::Tensor> cacheUpdate(Plan& p, size_t layer, const at::Tensor& k, const at::Tensor& v,
                                              int64_t past) {
  auto& keys = p.keys[layer];
  auto& values = p.values[layer];
  keys.narrow(2, past, 1).copy_(k);
  values.narrow(2, past, 1).copy_(v);
  return {keys.narrow(2, 0, past + 1), values.narrow(2, 0, past + 1)};
}

// x·cos + roll(x, d/2)·sin for one position, float32 on the CPU: x [B, H, 1, d] (contiguous), cos and sin one row
// [1, d] for every row of the batch or one per row [B, 1, 1, d]. One loop instead of three ops and a roll copy.
at::Tensor rotateFloat(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  auto in = x.contiguous();
  auto c = cos.contiguous(), s = sin.contiguous();
  auto out = at::empty_like(in);
  int64_t batch = in.size(0), heads = in.size(1), d = in.size(3), half = d / 2;
  bool perRow = c.numel() == batch * d && batch > 1;
  const float* src = in.data_ptr<float>();
  const float* cp = c.data_ptr<float>();
  const float* sp = s.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  for (int64_t b = 0; b < batch; b++) {
    const float* cb = cp + (perRow ? b * d : 0);
    const float* sb = sp + (perRow ? b * d : 0);
    for (int64_t h = 0; h < heads; h++) {
      const float* v = src + (b * heads + h) * d;
      float* o = dst + (b * heads + h) * d;
      for (int64_t i = 0; i < d; i++) o[i] = v[i] * cb[i] + v[i < half ? i + half : i - half] * sb[i];
    }
  }
  return out;
}

at::Tensor llamaLayer(Plan& p, size_t index, const at::Tensor& h, const at::Tensor& cos, const at::Tensor& sin,
                      const at::Tensor& blocked, int64_t past) {
  const auto& L = p.layers[index];
  int64_t batch = h.size(0);
  auto heads = [&](const at::Tensor& t, int64_t n) { return t.view({batch, 1, n, p.headDim}).transpose(1, 2); };
  bool fast = h.scalar_type() == at::kFloat && h.device().is_cpu();
  auto rotate = [&](const at::Tensor& t) {
    if (fast) return rotateFloat(t, cos, sin);
    return t.mul(cos).addcmul(t.roll({p.headDim / 2}, {-1}), sin);
  };
  auto x = rmsNorm(h, L.norm1, p.eps);
  auto q = rotate(heads(L.q(x), p.numHeads));
  auto k = rotate(heads(L.k(x), p.numKvHeads));
  auto v = heads(L.v(x), p.numKvHeads);
  auto [keys, values] = cacheUpdate(p, index, k, v, past);
  auto afterAttention = h.add(L.o(attend(p, q, keys, values, blocked)));
  auto y = rmsNorm(afterAttention, L.norm2, p.eps);
  auto gated = activate(p, L.gate(y)).mul(L.up(y));
  return afterAttention.add(L.down(gated));
}

at::Tensor gpt2Layer(Plan& p, size_t index, const at::Tensor& h, const at::Tensor& blocked, int64_t past) {
  const auto& L = p.layers[index];
  int64_t batch = h.size(0);
  auto heads = [&](const at::Tensor& t) { return t.view({batch, 1, p.numHeads, p.headDim}).transpose(1, 2); };
  auto qkv = L.qkv(layerNorm(h, L.norm1, p.hidden, p.eps)).split(p.hidden, -1);
  auto [keys, values] = cacheUpdate(p, index, heads(qkv[1]), heads(qkv[2]), past);
  auto afterAttention = h.add(L.o(attend(p, heads(qkv[0]), keys, values, blocked)));
  auto hiddenMlp = activate(p, L.up(layerNorm(afterAttention, L.norm2, p.hidden, p.eps)));
  return afterAttention.add(L.down(hiddenMlp));
}

Napi::Value createPlan(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "decodePlan: expected a spec object");
  auto spec = info[0].As<Napi::Object>();
  auto plan = std::make_unique<Plan>();
  auto family = spec.Get("family").ToString().Utf8Value();
  if (family != "llama" && family != "gpt2")
    throw Napi::TypeError::New(info.Env(), "decodePlan: family must be llama or gpt2, got '" + family + "'");
  plan->family = family == "llama" ? Family::Llama : Family::Gpt2;
  auto activation = spec.Get("activation").ToString().Utf8Value();
  if (activation == "silu") plan->activation = Activation::Silu;
  else if (activation == "gelu_tanh") plan->activation = Activation::GeluTanh;
  else if (activation == "gelu") plan->activation = Activation::Gelu;
  else if (activation == "relu") plan->activation = Activation::Relu;
  else throw Napi::TypeError::New(info.Env(), "decodePlan: unknown activation '" + activation + "'");
  plan->numHeads = static_cast<int64_t>(numberField(spec, "numHeads"));
  plan->numKvHeads = static_cast<int64_t>(numberField(spec, "numKvHeads"));
  plan->headDim = static_cast<int64_t>(numberField(spec, "headDim"));
  plan->hidden = static_cast<int64_t>(numberField(spec, "hiddenSize"));
  plan->eps = numberField(spec, "eps");
  plan->maskValue = numberField(spec, "maskValue");
  plan->embed = tensorField(spec, "embed", true);
  plan->positions = tensorField(spec, "positions", plan->family == Family::Gpt2);
  plan->rotaryCos = tensorField(spec, "rotaryCos", plan->family == Family::Llama);
  plan->rotarySin = tensorField(spec, "rotarySin", plan->family == Family::Llama);
  auto layers = spec.Get("layers");
  if (!layers.IsArray()) throw Napi::TypeError::New(info.Env(), "decodePlan: 'layers' must be an array");
  auto layerArray = layers.As<Napi::Array>();
  for (uint32_t i = 0; i < layerArray.Length(); i++) {
    auto l = layerArray.Get(i).As<Napi::Object>();
    Layer layer;
    layer.norm1 = normField(l, "norm1");
    layer.norm2 = normField(l, "norm2");
    bool llama = plan->family == Family::Llama;
    layer.q = linearField(l, "q", llama);
    layer.k = linearField(l, "k", llama);
    layer.v = linearField(l, "v", llama);
    layer.qkv = linearField(l, "qkv", !llama);
    layer.o = linearField(l, "o", true);
    layer.gate = linearField(l, "gate", llama);
    layer.up = linearField(l, "up", true);
    layer.down = linearField(l, "down", true);
    plan->layers.push_back(std::move(layer));
  }
  plan->finalNorm = normField(spec, "finalNorm");
  plan->head = linearField(spec, "head", true);
  plan->keys = tensorArrayField(spec, "keys");
  plan->values = tensorArrayField(spec, "values");
  if (plan->keys.size() != plan->layers.size() || plan->values.size() != plan->layers.size())
    throw Napi::RangeError::New(info.Env(), "decodePlan: one key and one value buffer per layer expected");
  auto padding = spec.Get("padding");
  if (!padding.IsArray()) throw Napi::TypeError::New(info.Env(), "decodePlan: 'padding' must be an array");
  auto padArray = padding.As<Napi::Array>();
  for (uint32_t i = 0; i < padArray.Length(); i++) {
    int64_t pad = padArray.Get(i).As<Napi::Number>().Int64Value();
    plan->padding.push_back(pad);
    plan->padded = plan->padded || pad > 0;
  }
  if (!plan->keys.empty() && static_cast<int64_t>(plan->padding.size()) != plan->keys[0].size(0))
    throw Napi::RangeError::New(info.Env(), "decodePlan: one padding entry per cache row expected");
  auto rows = static_cast<int64_t>(plan->padding.size());
  int64_t copyBudget = Linear::kCopyBudgetBytes;
  for (auto& layer : plan->layers)
    for (auto* linear : {&layer.q, &layer.k, &layer.v, &layer.qkv, &layer.o, &layer.gate, &layer.up, &layer.down})
      if (linear->weight.defined()) linear->prepareRows(rows, copyBudget);
  plan->head.prepareRows(rows, copyBudget);
  plan->head.prepareHeadRow(rows, copyBudget);
  return Napi::External<Plan>::New(info.Env(), plan.release(), finalizePlan);
}

Napi::Value step(const Napi::CallbackInfo& info) {
  auto& p = planArg(info, 0);
  auto ids = intListArg(info, 1);
  int64_t past = intArg(info, 2);
  auto batch = static_cast<int64_t>(ids.size());
  if (batch != static_cast<int64_t>(p.padding.size()))
    throw Napi::RangeError::New(info.Env(), "decodeStep: " + std::to_string(batch) + " ids for a batch of " +
                                                std::to_string(p.padding.size()));
  int64_t capacity = p.keys.empty() ? 0 : p.keys[0].size(2);
  if (past + 1 > capacity)
    throw Napi::RangeError::New(info.Env(), "KV cache full: " + std::to_string(past + 1) +
                                                " positions needed, capacity " + std::to_string(capacity));
  c10::InferenceMode guard;
  auto device = p.embed.device();
  auto longs = at::TensorOptions().dtype(at::kLong);
  // from_blob borrows the vector's memory: copied (or moved to the device) before the vector goes away.
  auto idsTensor = at::from_blob(ids.data(), {batch, 1}, longs).to(device, at::kLong, false, true);
  // Positions count real tokens only: a row with `pad` left-padding positions is at past - pad.
  at::Tensor positions, blocked;
  if (p.padded) {
    std::vector<int64_t> pos(batch);
    for (int64_t r = 0; r < batch; r++) pos[r] = std::max<int64_t>(0, past - p.padding[r]);
    positions = at::from_blob(pos.data(), {batch, 1}, longs).to(device, at::kLong, false, true);
    auto pads = at::from_blob(p.padding.data(), {batch, 1, 1, 1}, longs).to(device, at::kLong, false, true);
    blocked = at::arange(past + 1, longs.device(device)).view({1, 1, 1, past + 1}).lt(pads);
  }
  auto h = at::embedding(p.embed, idsTensor);
  at::Tensor cos, sin;
  if (p.family == Family::Gpt2) {
    auto wpe = p.padded ? at::embedding(p.positions, positions) : p.positions.narrow(0, past, 1);
    h = h.add(wpe);
  } else if (p.padded) {
    cos = at::embedding(p.rotaryCos, positions).unsqueeze(1);
    sin = at::embedding(p.rotarySin, positions).unsqueeze(1);
  } else {
    cos = p.rotaryCos.narrow(0, past, 1);
    sin = p.rotarySin.narrow(0, past, 1);
  }
  for (size_t layer = 0; layer < p.layers.size(); layer++) {
    h = p.family == Family::Llama ? llamaLayer(p, layer, h, cos, sin, blocked, past)
                                  : gpt2Layer(p, layer, h, blocked, past);
  }
  h = p.family == Family::Llama ? rmsNorm(h, p.finalNorm, p.eps) : layerNorm(h, p.finalNorm, p.hidden, p.eps);
  return wrap(info.Env(), p.head(h).view({batch, -1}));
}

}  // namespace

void registerDecode(Napi::Env env, Napi::Object exports) {
  define(env, exports, "decodePlan", createPlan);
  define(env, exports, "decodeStep", step);
  define(env, exports, "decodePlanDispose", [](const Napi::CallbackInfo& info) {
    auto& p = planArg(info, 0);
    p = Plan();
    p.disposed = true;
    return info.Env().Undefined();
  });
}

}  // namespace safetune
