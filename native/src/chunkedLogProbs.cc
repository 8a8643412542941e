// Token log-probs and the next-token loss through the output head, a chunk of positions at a time, with their own
// backward: the logits [positions, vocab] exist one chunk at a time, so a [batch, length, vocab] float32 tensor is
// never held whole. Positions whose target is the ignore index are skipped altogether (no head matmul).
// - ChunkedTokenLogProbs: log p(target) per position; autograd saves the head's inputs and one log-sum-exp per
//   position, and the backward recomputes each chunk's logits (the upstream gradient differs per position).
// - ChunkedTokenLoss: Σ -log p(target), a scalar; its gradients are computed in the forward, chunk by chunk (the
//   upstream gradient of a scalar only scales them), so no logits are recomputed.
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>

#include "common.h"

namespace safetune {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Logits of a chunk of positions [n, D] in float32 (the matmul runs in the head's dtype; its result is widened).
at::Tensor chunkLogits(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& bias) {
  auto logits = bias.defined() ? at::addmm(bias, hidden, weight.t()) : at::mm(hidden, weight.t());
  return logits.scalar_type() == at::kFloat ? logits : logits.to(at::kFloat);
}

// The positions that count: hidden rows and targets where the target is not the ignore index.
struct KeptRows {
  at::Tensor kept;     // [K] indices into the flattened positions
  at::Tensor hidden;   // [K, D]
  at::Tensor targets;  // [K] int64
  int64_t positions;   // all positions (N)

  KeptRows(const at::Tensor& allHidden, const at::Tensor& allTargets, int64_t ignoreIndex) {
    auto flatTargets = allTargets.reshape({-1}).to(at::kLong);
    positions = flatTargets.size(0);
    kept = flatTargets.ne(ignoreIndex).nonzero().squeeze(1);
    hidden = allHidden.reshape({-1, allHidden.size(-1)}).index_select(0, kept);
    targets = flatTargets.index_select(0, kept);
  }
};

// Gradients of the head's inputs summed chunk by chunk from each chunk's logits gradient.
struct HeadGrads {
  at::Tensor hidden;  // [K, D], the hidden states' dtype
  at::Tensor weight;  // [V, D] float32, or undefined when not needed
  at::Tensor bias;    // [V] float32, or undefined

  HeadGrads(const at::Tensor& keptHidden, const at::Tensor& weightIn, bool weightGrad, bool biasGrad) {
    auto floatOptions = weightIn.options().dtype(at::kFloat);
    hidden = at::empty(keptHidden.sizes(), keptHidden.options());
    if (weightGrad) weight = at::zeros(weightIn.sizes(), floatOptions);
    if (biasGrad) bias = at::zeros({weightIn.size(0)}, floatOptions);
  }

  // logitsGrad [n, V] float32: d(output)/d(logits) of rows start..start+n, whose hidden states are h.
  void add(int64_t start, const at::Tensor& logitsGrad, const at::Tensor& h, const at::Tensor& weightIn) {
    const auto dtype = weightIn.scalar_type();
    auto d = logitsGrad.scalar_type() == dtype ? logitsGrad : logitsGrad.to(dtype);
    auto rows = hidden.narrow(0, start, logitsGrad.size(0));
    at::mm_out(rows, d, weightIn);
    if (weight.defined()) {
      if (dtype == at::kFloat) weight.addmm_(d.t(), h);
      else weight.add_(at::mm(d.t(), h).to(at::kFloat));
    }
    if (bias.defined()) bias.add_(logitsGrad.sum(0));
  }

  // The hidden states' gradient at every position [..., D] (0 at ignored ones), the head's in its own dtype.
  variable_list finish(const KeptRows& rows, at::IntArrayRef hiddenShape, at::ScalarType dtype) const {
    auto all = at::zeros({rows.positions, hidden.size(1)}, hidden.options()).index_copy_(0, rows.kept, hidden);
    auto cast = [&](const at::Tensor& t) { return t.defined() && t.scalar_type() != dtype ? t.to(dtype) : t; };
    return {all.view(hiddenShape), cast(weight), cast(bias)};
  }
};

bool needsGrad(const at::Tensor& t) { return t.defined() && t.numel() > 0 && t.requires_grad(); }

// log p(target) = logit[target] - logsumexp(logits) for every position whose target is not `ignoreIndex`
// (0 elsewhere), in float32, shaped like `targets`. hidden [..., D] and targets [...] share their leading shape;
// an empty bias means none.
class ChunkedTokenLogProbs : public torch::autograd::Function<ChunkedTokenLogProbs> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                            const at::Tensor& biasOrEmpty, const at::Tensor& targets, int64_t ignoreIndex,
                            int64_t chunk) {
    auto bias = biasOrEmpty.numel() > 0 ? biasOrEmpty : at::Tensor();
    KeptRows rows(hidden, targets, ignoreIndex);
    const int64_t count = rows.kept.size(0);
    auto floatOptions = hidden.options().dtype(at::kFloat);
    auto keptLogProbs = at::empty({count}, floatOptions);
    auto logSumExp = at::empty({count}, floatOptions);
    for (int64_t start = 0; start < count; start += chunk) {
      const int64_t n = std::min(chunk, count - start);
      auto logits = chunkLogits(rows.hidden.narrow(0, start, n), weight, bias);
      auto index = rows.targets.narrow(0, start, n).unsqueeze(1);
      auto pickedLogit = logits.gather(1, index).squeeze(1);
      auto out = keptLogProbs.narrow(0, start, n);
      out.copy_(at::_log_softmax(logits, 1, false).gather(1, index).squeeze(1));
      auto lse = logSumExp.narrow(0, start, n);  // logit - log p: the backward's softmax needs it
      at::sub_out(lse, pickedLogit, out);
    }
    ctx->saved_data["chunk"] = chunk;
    ctx->saved_data["positions"] = rows.positions;
    ctx->saved_data["hiddenShape"] = hidden.sizes().vec();
    ctx->saved_data["weightGrad"] = needsGrad(weight);
    ctx->saved_data["biasGrad"] = needsGrad(bias);
    ctx->save_for_backward({rows.hidden, weight, biasOrEmpty, rows.targets, rows.kept, logSumExp});
    return at::zeros({rows.positions}, floatOptions).index_copy_(0, rows.kept, keptLogProbs).view(targets.sizes());
  }

  // d log p(target) / d logits = onehot(target) - softmax(logits), per position scaled by the incoming gradient.
  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    auto saved = ctx->get_saved_variables();
    KeptRows rows = savedRows(ctx, saved);
    const auto& weight = saved[1];
    auto bias = saved[2].numel() > 0 ? saved[2] : at::Tensor();
    const auto& logSumExp = saved[5];
    const int64_t chunk = ctx->saved_data["chunk"].toInt();
    const int64_t count = rows.kept.size(0);
    auto incoming = gradOutputs[0].reshape({-1}).to(at::kFloat).index_select(0, rows.kept);
    HeadGrads grads(rows.hidden, weight, ctx->saved_data["weightGrad"].toBool(), ctx->saved_data["biasGrad"].toBool());
    for (int64_t start = 0; start < count; start += chunk) {
      const int64_t n = std::min(chunk, count - start);
      auto h = rows.hidden.narrow(0, start, n);
      auto g = incoming.narrow(0, start, n).unsqueeze(1);
      auto logitsGrad = chunkLogits(h, weight, bias);
      logitsGrad.sub_(logSumExp.narrow(0, start, n).unsqueeze(1)).exp_().mul_(g.neg());
      logitsGrad.scatter_add_(1, rows.targets.narrow(0, start, n).unsqueeze(1), g);
      grads.add(start, logitsGrad, h, weight);
    }
    auto out = grads.finish(rows, ctx->saved_data["hiddenShape"].toIntVector(), weight.scalar_type());
    return {out[0], out[1], out[2], at::Tensor(), at::Tensor(), at::Tensor()};
  }

 private:
  static KeptRows savedRows(AutogradContext* ctx, const variable_list& saved) {
    KeptRows rows(at::empty({0, 1}), at::empty({0}, at::kLong), 0);
    rows.hidden = saved[0];
    rows.targets = saved[3];
    rows.kept = saved[4];
    rows.positions = ctx->saved_data["positions"].toInt();
    return rows;
  }
};

// Σ -log p(target) over the positions whose target is not `ignoreIndex`, a float32 scalar. With `withGrad`, the
// gradients of that sum are computed here, chunk by chunk, and the backward only scales them.
class ChunkedTokenLoss : public torch::autograd::Function<ChunkedTokenLoss> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                            const at::Tensor& biasOrEmpty, const at::Tensor& targets, int64_t ignoreIndex,
                            int64_t chunk, bool withGrad) {
    auto bias = biasOrEmpty.numel() > 0 ? biasOrEmpty : at::Tensor();
    KeptRows rows(hidden, targets, ignoreIndex);
    const int64_t count = rows.kept.size(0);
    auto total = at::zeros({}, hidden.options().dtype(at::kFloat));
    HeadGrads grads(withGrad ? rows.hidden : at::empty({0, weight.size(1)}, hidden.options()), weight,
                    withGrad && needsGrad(weight), withGrad && needsGrad(bias));
    for (int64_t start = 0; start < count; start += chunk) {
      const int64_t n = std::min(chunk, count - start);
      auto h = rows.hidden.narrow(0, start, n);
      auto index = rows.targets.narrow(0, start, n).unsqueeze(1);
      auto logProbs = at::_log_softmax(chunkLogits(h, weight, bias), 1, false);
      total.sub_(logProbs.gather(1, index).sum());
      if (!withGrad) continue;
      // d(-log p(target)) / d logits = softmax(logits) - onehot(target)
      auto logitsGrad = logProbs.exp_();
      logitsGrad.scatter_add_(1, index, at::full({n, 1}, -1.0, logitsGrad.options()));
      grads.add(start, logitsGrad, h, weight);
    }
    if (withGrad) {
      auto out = grads.finish(rows, hidden.sizes(), weight.scalar_type());
      auto orEmpty = [](const at::Tensor& t) { return t.defined() ? t : at::empty({0}); };
      ctx->save_for_backward({out[0], orEmpty(out[1]), orEmpty(out[2])});
    }
    ctx->saved_data["withGrad"] = withGrad;
    return total;
  }

  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    if (!ctx->saved_data["withGrad"].toBool()) {
      throw std::runtime_error("chunkedTokenLoss: gradients were not computed (grad mode was off in the forward)");
    }
    auto saved = ctx->get_saved_variables();
    const auto& g = gradOutputs[0];
    auto scale = [&](const at::Tensor& t) { return t.numel() > 0 ? t.mul(g.to(t.scalar_type())) : at::Tensor(); };
    return {scale(saved[0]), scale(saved[1]), scale(saved[2]), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

#define T(i) tensorArg(info, i)

// The head's inputs, checked once for both ops: a bias is [V] or absent (passed on as an empty tensor, since
// autograd::Function takes defined tensors only).
struct HeadArgs {
  at::Tensor hidden, weight, bias, targets;
  int64_t ignoreIndex, chunk;
};

HeadArgs headArgs(const Napi::CallbackInfo& info, const char* name) {
  auto fail = [&](const std::string& what) { return Napi::RangeError::New(info.Env(), std::string(name) + ": " + what); };
  HeadArgs a{T(0), T(1), optionalTensorArg(info, 2), T(3), intArg(info, 4), intArg(info, 5)};
  if (a.chunk < 1) throw fail("chunk must be at least 1 position");
  if (a.weight.dim() != 2 || a.hidden.dim() < 1 || a.hidden.size(-1) != a.weight.size(1)) {
    throw fail("expected hidden [..., D] and weight [V, D] with the same D");
  }
  if (a.hidden.scalar_type() != a.weight.scalar_type()) {
    throw fail(std::string("hidden is ") + dtypeName(a.hidden.scalar_type()) + " but the head weight is " +
               dtypeName(a.weight.scalar_type()));
  }
  if (!at::isFloatingType(a.hidden.scalar_type())) throw fail("hidden and weight must be floating point");
  if (a.bias.defined() &&
      (a.bias.dim() != 1 || a.bias.size(0) != a.weight.size(0) || a.bias.scalar_type() != a.weight.scalar_type())) {
    throw fail("bias must be [V] in the head's dtype");
  }
  if (a.targets.numel() * a.hidden.size(-1) != a.hidden.numel()) {
    throw fail("targets must have hidden's shape without its last dim");
  }
  if (!a.bias.defined()) a.bias = at::empty({0}, a.weight.options());
  return a;
}

}  // namespace

void registerChunkedLogProbs(Napi::Env env, Napi::Object exports) {
  // chunkedTokenLogProbs(hidden [..., D], weight [V, D], bias [V] | null, targets [...], ignoreIndex, chunk)
  define(env, exports, "chunkedTokenLogProbs", [](const Napi::CallbackInfo& info) {
    auto a = headArgs(info, "chunkedTokenLogProbs");
    return wrap(info.Env(), ChunkedTokenLogProbs::apply(a.hidden, a.weight, a.bias, a.targets, a.ignoreIndex, a.chunk));
  });
  // chunkedTokenLoss(hidden [..., D], weight [V, D], bias [V] | null, targets [...], ignoreIndex, chunk): Σ -log p
  define(env, exports, "chunkedTokenLoss", [](const Napi::CallbackInfo& info) {
    auto a = headArgs(info, "chunkedTokenLoss");
    const bool withGrad = at::GradMode::is_enabled() &&
                          (a.hidden.requires_grad() || a.weight.requires_grad() || a.bias.requires_grad());
    return wrap(info.Env(),
                ChunkedTokenLoss::apply(a.hidden, a.weight, a.bias, a.targets, a.ignoreIndex, a.chunk, withGrad));
  });
}

}  // namespace safetune
