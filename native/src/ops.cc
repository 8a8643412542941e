// Tensor operations: a thin, one-to-one mapping onto ATen. Anything composite lives in TypeScript.
#include "common.h"

namespace safetune {

namespace {
#define T(i) tensorArg(info, i)
#define I(i) intArg(info, i)
#define D(i) doubleArg(info, i)
#define B(i) boolArg(info, i)
#define IL(i) intListArg(info, i)
#define S(i) scalarArg(info, i)
#define RET(expr) return wrap(info.Env(), (expr))
#define HAS(i) (info.Length() > (i) && !info[i].IsUndefined() && !info[i].IsNull())

using Unary = at::Tensor (*)(const at::Tensor&);

void unary(Napi::Env env, Napi::Object exports, const char* name, Unary fn) {
  define(env, exports, name, [fn](const Napi::CallbackInfo& info) { RET(fn(T(0))); });
}

// Binary ops accept a tensor or a JS number as the second operand.
template <typename TensorFn, typename ScalarFn>
void binary(Napi::Env env, Napi::Object exports, const char* name, TensorFn tensorFn, ScalarFn scalarFn) {
  define(env, exports, name, [tensorFn, scalarFn](const Napi::CallbackInfo& info) {
    if (isTensor(info[1])) RET(tensorFn(T(0), T(1)));
    RET(scalarFn(T(0), S(1)));
  });
}

// Optional dims: undefined reduces over everything.
std::vector<int64_t> dimsOrAll(const Napi::CallbackInfo& info, size_t index, const at::Tensor& t) {
  if (HAS(index)) return IL(index);
  std::vector<int64_t> all(t.dim());
  for (int64_t d = 0; d < t.dim(); d++) all[d] = d;
  return all;
}

std::pair<at::Tensor, at::Tensor> pair(const std::tuple<at::Tensor, at::Tensor>& t) { return {std::get<0>(t), std::get<1>(t)}; }

Napi::Value wrapPair(Napi::Env env, const std::tuple<at::Tensor, at::Tensor>& t) {
  auto [a, b] = pair(t);
  return wrapList(env, {a, b});
}
}  // namespace

void registerOps(Napi::Env env, Napi::Object exports) {
  // --- elementwise, unary
  unary(env, exports, "neg", [](const at::Tensor& a) { return at::neg(a); });
  unary(env, exports, "exp", [](const at::Tensor& a) { return at::exp(a); });
  unary(env, exports, "log", [](const at::Tensor& a) { return at::log(a); });
  unary(env, exports, "log1p", [](const at::Tensor& a) { return at::log1p(a); });
  unary(env, exports, "sqrt", [](const at::Tensor& a) { return at::sqrt(a); });
  unary(env, exports, "rsqrt", [](const at::Tensor& a) { return at::rsqrt(a); });
  unary(env, exports, "abs", [](const at::Tensor& a) { return at::abs(a); });
  unary(env, exports, "sign", [](const at::Tensor& a) { return at::sign(a); });
  unary(env, exports, "square", [](const at::Tensor& a) { return at::square(a); });
  unary(env, exports, "reciprocal", [](const at::Tensor& a) { return at::reciprocal(a); });
  unary(env, exports, "sin", [](const at::Tensor& a) { return at::sin(a); });
  unary(env, exports, "cos", [](const at::Tensor& a) { return at::cos(a); });
  unary(env, exports, "tanh", [](const at::Tensor& a) { return at::tanh(a); });
  unary(env, exports, "sigmoid", [](const at::Tensor& a) { return at::sigmoid(a); });
  unary(env, exports, "logsigmoid", [](const at::Tensor& a) { return at::log_sigmoid(a); });
  unary(env, exports, "relu", [](const at::Tensor& a) { return at::relu(a); });
  unary(env, exports, "silu", [](const at::Tensor& a) { return at::silu(a); });
  unary(env, exports, "logicalNot", [](const at::Tensor& a) { return at::logical_not(a); });
  unary(env, exports, "floor", [](const at::Tensor& a) { return at::floor(a); });
  unary(env, exports, "isfinite", [](const at::Tensor& a) { return at::isfinite(a); });
  define(env, exports, "gelu", [](const Napi::CallbackInfo& info) {
    RET(at::gelu(T(0), HAS(1) ? stringArg(info, 1) : std::string("none")));
  });
  // Branches instead of optionals: c10::optional and std::optional differ between libtorch 1.x and 2.x.
  define(env, exports, "clamp", [](const Napi::CallbackInfo& info) {
    if (HAS(1) && HAS(2)) RET(at::clamp(T(0), S(1), S(2)));
    if (HAS(1)) RET(at::clamp_min(T(0), S(1)));
    if (HAS(2)) RET(at::clamp_max(T(0), S(2)));
    RET(T(0).clone());
  });
  define(env, exports, "dropout", [](const Napi::CallbackInfo& info) { RET(at::dropout(T(0), D(1), B(2))); });

  // --- elementwise, binary
  binary(env, exports, "add", [](const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::add(a, b); });
  binary(env, exports, "sub", [](const at::Tensor& a, const at::Tensor& b) { return at::sub(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::sub(a, b); });
  binary(env, exports, "mul", [](const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::mul(a, b); });
  binary(env, exports, "div", [](const at::Tensor& a, const at::Tensor& b) { return at::div(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::div(a, b); });
  binary(env, exports, "pow", [](const at::Tensor& a, const at::Tensor& b) { return at::pow(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::pow(a, b); });
  binary(env, exports, "maximum", [](const at::Tensor& a, const at::Tensor& b) { return at::maximum(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::clamp_min(a, b); });
  binary(env, exports, "minimum", [](const at::Tensor& a, const at::Tensor& b) { return at::minimum(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::clamp_max(a, b); });
  binary(env, exports, "eq", [](const at::Tensor& a, const at::Tensor& b) { return at::eq(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::eq(a, b); });
  binary(env, exports, "ne", [](const at::Tensor& a, const at::Tensor& b) { return at::ne(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::ne(a, b); });
  binary(env, exports, "lt", [](const at::Tensor& a, const at::Tensor& b) { return at::lt(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::lt(a, b); });
  binary(env, exports, "le", [](const at::Tensor& a, const at::Tensor& b) { return at::le(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::le(a, b); });
  binary(env, exports, "gt", [](const at::Tensor& a, const at::Tensor& b) { return at::gt(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::gt(a, b); });
  binary(env, exports, "ge", [](const at::Tensor& a, const at::Tensor& b) { return at::ge(a, b); },
         [](const at::Tensor& a, const at::Scalar& b) { return at::ge(a, b); });
  define(env, exports, "logicalAnd", [](const Napi::CallbackInfo& info) { RET(at::logical_and(T(0), T(1))); });
  define(env, exports, "logicalOr", [](const Napi::CallbackInfo& info) { RET(at::logical_or(T(0), T(1))); });
  define(env, exports, "where", [](const Napi::CallbackInfo& info) {
    auto& cond = T(0);
    if (isTensor(info[1]) && isTensor(info[2])) RET(at::where(cond, T(1), T(2)));
    if (isTensor(info[1])) RET(at::where(cond, T(1), S(2)));
    if (isTensor(info[2])) RET(at::where(cond, S(1), T(2)));
    throw Napi::TypeError::New(info.Env(), "where: at least one of the values must be a tensor");
  });
  define(env, exports, "maskedFill", [](const Napi::CallbackInfo& info) {
    if (isTensor(info[2])) RET(at::masked_fill(T(0), T(1), T(2)));
    RET(at::masked_fill(T(0), T(1), S(2)));
  });

  // --- reductions
  define(env, exports, "sum", [](const Napi::CallbackInfo& info) {
    auto& t = T(0);
    if (!HAS(1)) RET(at::sum(t));
    RET(at::sum(t, IL(1), HAS(2) && B(2)));
  });
  define(env, exports, "mean", [](const Napi::CallbackInfo& info) {
    auto& t = T(0);
    if (!HAS(1)) RET(at::mean(t));
    RET(at::mean(t, IL(1), HAS(2) && B(2)));
  });
  define(env, exports, "amax", [](const Napi::CallbackInfo& info) {
    auto& t = T(0);
    RET(at::amax(t, dimsOrAll(info, 1, t), HAS(2) && B(2)));
  });
  define(env, exports, "amin", [](const Napi::CallbackInfo& info) {
    auto& t = T(0);
    RET(at::amin(t, dimsOrAll(info, 1, t), HAS(2) && B(2)));
  });
  define(env, exports, "logsumexp", [](const Napi::CallbackInfo& info) {
    auto& t = T(0);
    RET(at::logsumexp(t, dimsOrAll(info, 1, t), HAS(2) && B(2)));
  });
  define(env, exports, "maxDim", [](const Napi::CallbackInfo& info) { return wrapPair(info.Env(), at::max(T(0), I(1), HAS(2) && B(2))); });
  define(env, exports, "argmax", [](const Napi::CallbackInfo& info) {
    if (!HAS(1)) RET(at::argmax(T(0)));
    RET(at::argmax(T(0), I(1), HAS(2) && B(2)));
  });
  define(env, exports, "norm", [](const Napi::CallbackInfo& info) { RET(at::norm(T(0), S(1))); });
  define(env, exports, "all", [](const Napi::CallbackInfo& info) { RET(at::all(T(0))); });
  define(env, exports, "any", [](const Napi::CallbackInfo& info) { RET(at::any(T(0))); });
  define(env, exports, "cumsum", [](const Napi::CallbackInfo& info) { RET(at::cumsum(T(0), I(1))); });

  // --- shape and indexing
  define(env, exports, "view", [](const Napi::CallbackInfo& info) { RET(T(0).view(IL(1))); });
  define(env, exports, "reshape", [](const Napi::CallbackInfo& info) { RET(at::reshape(T(0), IL(1))); });
  define(env, exports, "transpose", [](const Napi::CallbackInfo& info) { RET(at::transpose(T(0), I(1), I(2))); });
  define(env, exports, "permute", [](const Napi::CallbackInfo& info) { RET(T(0).permute(IL(1))); });
  define(env, exports, "contiguous", [](const Napi::CallbackInfo& info) { RET(T(0).contiguous()); });
  define(env, exports, "expand", [](const Napi::CallbackInfo& info) { RET(T(0).expand(IL(1))); });
  define(env, exports, "repeat", [](const Napi::CallbackInfo& info) { RET(T(0).repeat(IL(1))); });
  define(env, exports, "repeatInterleave", [](const Napi::CallbackInfo& info) {
    RET(at::repeat_interleave(T(0), I(1), I(2)));
  });
  define(env, exports, "squeeze", [](const Napi::CallbackInfo& info) { RET(at::squeeze(T(0), I(1))); });
  define(env, exports, "unsqueeze", [](const Napi::CallbackInfo& info) { RET(at::unsqueeze(T(0), I(1))); });
  define(env, exports, "flatten", [](const Napi::CallbackInfo& info) { RET(at::flatten(T(0), I(1), I(2))); });
  define(env, exports, "narrow", [](const Napi::CallbackInfo& info) { RET(at::narrow(T(0), I(1), I(2), I(3))); });
  define(env, exports, "select", [](const Napi::CallbackInfo& info) { RET(at::select(T(0), I(1), I(2))); });
  define(env, exports, "cat", [](const Napi::CallbackInfo& info) { RET(at::cat(tensorListArg(info, 0), I(1))); });
  define(env, exports, "stack", [](const Napi::CallbackInfo& info) { RET(at::stack(tensorListArg(info, 0), I(1))); });
  define(env, exports, "split", [](const Napi::CallbackInfo& info) {
    if (info[1].IsArray()) return wrapList(info.Env(), at::split_with_sizes(T(0), IL(1), I(2)));
    return wrapList(info.Env(), at::split(T(0), I(1), I(2)));
  });
  define(env, exports, "indexSelect", [](const Napi::CallbackInfo& info) { RET(at::index_select(T(0), I(1), T(2))); });
  define(env, exports, "gather", [](const Napi::CallbackInfo& info) { RET(at::gather(T(0), I(1), T(2))); });
  define(env, exports, "scatter", [](const Napi::CallbackInfo& info) {
    if (isTensor(info[3])) RET(at::scatter(T(0), I(1), T(2), T(3)));
    RET(at::scatter(T(0), I(1), T(2), S(3)));
  });
  define(env, exports, "maskedSelect", [](const Napi::CallbackInfo& info) { RET(at::masked_select(T(0), T(1))); });
  define(env, exports, "triu", [](const Napi::CallbackInfo& info) { RET(at::triu(T(0), HAS(1) ? I(1) : 0)); });
  define(env, exports, "tril", [](const Napi::CallbackInfo& info) { RET(at::tril(T(0), HAS(1) ? I(1) : 0)); });
  define(env, exports, "flip", [](const Napi::CallbackInfo& info) { RET(at::flip(T(0), IL(1))); });
  define(env, exports, "roll", [](const Napi::CallbackInfo& info) { RET(at::roll(T(0), IL(1), IL(2))); });

  // --- sorting and sampling
  define(env, exports, "topk", [](const Napi::CallbackInfo& info) {
    return wrapPair(info.Env(), at::topk(T(0), I(1), I(2), HAS(3) ? B(3) : true, true));
  });
  define(env, exports, "sort", [](const Napi::CallbackInfo& info) {
    return wrapPair(info.Env(), at::sort(T(0), I(1), HAS(2) && B(2)));
  });
  define(env, exports, "multinomial", [](const Napi::CallbackInfo& info) {
    RET(at::multinomial(T(0), I(1), HAS(2) && B(2)));
  });

  // --- linear algebra and neural-network primitives
  define(env, exports, "matmul", [](const Napi::CallbackInfo& info) { RET(at::matmul(T(0), T(1))); });
  define(env, exports, "linear", [](const Napi::CallbackInfo& info) { RET(at::linear(T(0), T(1), optionalTensorArg(info, 2))); });
  define(env, exports, "addmm", [](const Napi::CallbackInfo& info) { RET(at::addmm(T(0), T(1), T(2))); });
  // addcmul(t, a, b): t + a * b in one kernel.
  define(env, exports, "addcmul", [](const Napi::CallbackInfo& info) { RET(at::addcmul(T(0), T(1), T(2))); });
  define(env, exports, "softmax", [](const Napi::CallbackInfo& info) { RET(at::softmax(T(0), I(1))); });
  define(env, exports, "logSoftmax", [](const Napi::CallbackInfo& info) { RET(at::log_softmax(T(0), I(1))); });
  define(env, exports, "layerNorm", [](const Napi::CallbackInfo& info) {
    RET(at::layer_norm(T(0), IL(1), optionalTensorArg(info, 2), optionalTensorArg(info, 3), D(4)));
  });
  define(env, exports, "embedding", [](const Napi::CallbackInfo& info) { RET(at::embedding(T(0), T(1))); });
  // crossEntropy(logits [N, C], target [N], ignoreIndex, reduction: 0 none | 1 mean | 2 sum, labelSmoothing)
  define(env, exports, "crossEntropy", [](const Napi::CallbackInfo& info) {
    RET(at::cross_entropy_loss(T(0), T(1), {}, I(3), I(2), HAS(4) ? D(4) : 0.0));
  });

  // --- conversion and copies
  define(env, exports, "toDtype", [](const Napi::CallbackInfo& info) { RET(T(0).to(dtypeArg(info, 1))); });
  define(env, exports, "toDevice", [](const Napi::CallbackInfo& info) { RET(T(0).to(deviceArg(info, 1))); });
  define(env, exports, "clone", [](const Napi::CallbackInfo& info) { RET(T(0).clone()); });

  // --- in place (optimisers, caches, weight surgery); they return nothing
  define(env, exports, "copy_", [](const Napi::CallbackInfo& info) {
    T(0).copy_(T(1));
    return info.Env().Undefined();
  });
  define(env, exports, "add_", [](const Napi::CallbackInfo& info) {
    if (isTensor(info[1])) T(0).add_(T(1), HAS(2) ? S(2) : at::Scalar(1));
    else T(0).add_(S(1));
    return info.Env().Undefined();
  });
  define(env, exports, "mul_", [](const Napi::CallbackInfo& info) {
    if (isTensor(info[1])) T(0).mul_(T(1));
    else T(0).mul_(S(1));
    return info.Env().Undefined();
  });
  define(env, exports, "fill_", [](const Napi::CallbackInfo& info) {
    T(0).fill_(S(1));
    return info.Env().Undefined();
  });
  define(env, exports, "zero_", [](const Napi::CallbackInfo& info) {
    T(0).zero_();
    return info.Env().Undefined();
  });
  define(env, exports, "normal_", [](const Napi::CallbackInfo& info) {
    T(0).normal_(D(1), D(2));
    return info.Env().Undefined();
  });
  define(env, exports, "uniform_", [](const Napi::CallbackInfo& info) {
    T(0).uniform_(D(1), D(2));
    return info.Env().Undefined();
  });
}

}  // namespace safetune
