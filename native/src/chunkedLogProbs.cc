// Token log-probs through the output head, a chunk of positions at a time, with its own backward: the logits
// [positions, vocab] exist one chunk at a time in the forward and again (recomputed) in the backward, so a
// [batch, length, vocab] float32 tensor is never held whole, and autograd saves only the head's inputs and one
// log-sum-exp per position. Positions whose target is the ignore index are skipped altogether (no head matmul).
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

// log p(target) = logit[target] - logsumexp(logits) for every position whose target is not `ignoreIndex`
// (0 elsewhere), in float32, shaped like `targets`. hidden [..., D] and targets [...] share their leading shape;
// an empty bias means none.
class ChunkedTokenLogProbs : public torch::autograd::Function<ChunkedTokenLogProbs> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                            const at::Tensor& biasOrEmpty, const at::Tensor& targets, int64_t ignoreIndex,
                            int64_t chunk) {
    auto bias = biasOrEmpty.numel() > 0 ? biasOrEmpty : at::Tensor();
    const int64_t width = weight.size(1);
    auto flatTargets = targets.reshape({-1}).to(at::kLong);
    auto kept = flatTargets.ne(ignoreIndex).nonzero().squeeze(1);
    auto keptHidden = hidden.reshape({-1, width}).index_select(0, kept);
    auto keptTargets = flatTargets.index_select(0, kept);
    const int64_t count = kept.size(0);
    auto floatOptions = hidden.options().dtype(at::kFloat);
    auto keptLogProbs = at::empty({count}, floatOptions);
    auto logSumExp = at::empty({count}, floatOptions);
    for (int64_t start = 0; start < count; start += chunk) {
      const int64_t n = std::min(chunk, count - start);
      auto logits = chunkLogits(keptHidden.narrow(0, start, n), weight, bias);
      auto lse = at::logsumexp(logits, {1});
      logSumExp.narrow(0, start, n).copy_(lse);
      auto picked = logits.gather(1, keptTargets.narrow(0, start, n).unsqueeze(1)).squeeze(1);
      auto out = keptLogProbs.narrow(0, start, n);
      at::sub_out(out, picked, lse);
    }
    ctx->saved_data["chunk"] = chunk;
    ctx->saved_data["hiddenShape"] = hidden.sizes().vec();
    ctx->saved_data["hasBias"] = bias.defined();
    ctx->saved_data["weightGrad"] = weight.requires_grad();
    ctx->saved_data["biasGrad"] = bias.defined() && bias.requires_grad();
    ctx->save_for_backward({keptHidden, weight, biasOrEmpty, keptTargets, kept, logSumExp});
    return at::zeros({flatTargets.size(0)}, floatOptions).index_copy_(0, kept, keptLogProbs).view(targets.sizes());
  }

  // d log p(target) / d logits = onehot(target) - softmax(logits), per position scaled by the incoming gradient.
  static variable_list backward(AutogradContext* ctx, variable_list gradOutputs) {
    auto saved = ctx->get_saved_variables();
    const auto& keptHidden = saved[0];
    const auto& weight = saved[1];
    auto bias = ctx->saved_data["hasBias"].toBool() ? saved[2] : at::Tensor();
    const auto& keptTargets = saved[3];
    const auto& kept = saved[4];
    const auto& logSumExp = saved[5];
    const int64_t chunk = ctx->saved_data["chunk"].toInt();
    const auto hiddenShape = ctx->saved_data["hiddenShape"].toIntVector();
    const bool weightGrad = ctx->saved_data["weightGrad"].toBool();
    const bool biasGrad = ctx->saved_data["biasGrad"].toBool();
    const int64_t count = kept.size(0);
    const int64_t width = weight.size(1);
    const auto dtype = weight.scalar_type();

    auto incoming = gradOutputs[0].reshape({-1}).to(at::kFloat).index_select(0, kept);
    auto keptHiddenGrad = at::empty({count, width}, keptHidden.options());
    auto floatOptions = weight.options().dtype(at::kFloat);
    at::Tensor weightGradSum = weightGrad ? at::zeros(weight.sizes(), floatOptions) : at::Tensor();
    at::Tensor biasGradSum = biasGrad ? at::zeros({weight.size(0)}, floatOptions) : at::Tensor();
    for (int64_t start = 0; start < count; start += chunk) {
      const int64_t n = std::min(chunk, count - start);
      auto h = keptHidden.narrow(0, start, n);
      auto g = incoming.narrow(0, start, n).unsqueeze(1);
      auto logitsGrad = chunkLogits(h, weight, bias);
      logitsGrad.sub_(logSumExp.narrow(0, start, n).unsqueeze(1)).exp_().mul_(g.neg());
      logitsGrad.scatter_add_(1, keptTargets.narrow(0, start, n).unsqueeze(1), g);
      auto d = logitsGrad.scalar_type() == dtype ? logitsGrad : logitsGrad.to(dtype);
      auto hiddenGradRows = keptHiddenGrad.narrow(0, start, n);
      at::mm_out(hiddenGradRows, d, weight);
      if (weightGrad) {
        if (dtype == at::kFloat) weightGradSum.addmm_(d.t(), h);
        else weightGradSum.add_(at::mm(d.t(), h).to(at::kFloat));
      }
      if (biasGrad) biasGradSum.add_(logitsGrad.sum(0));
    }
    int64_t positions = 1;
    for (size_t i = 0; i + 1 < hiddenShape.size(); i++) positions *= hiddenShape[i];
    auto hiddenGrad = at::zeros({positions, width}, keptHidden.options()).index_copy_(0, kept, keptHiddenGrad);
    auto cast = [&](const at::Tensor& t) { return t.defined() && t.scalar_type() != dtype ? t.to(dtype) : t; };
    return {hiddenGrad.view(hiddenShape), cast(weightGradSum), cast(biasGradSum), at::Tensor(), at::Tensor(),
            at::Tensor()};
  }
};

#define T(i) tensorArg(info, i)
#define HAS(i) (info.Length() > (i) && !info[i].IsUndefined() && !info[i].IsNull())

}  // namespace

void registerChunkedLogProbs(Napi::Env env, Napi::Object exports) {
  // chunkedTokenLogProbs(hidden [..., D], weight [V, D], bias [V] | null, targets [...], ignoreIndex, chunk)
  define(env, exports, "chunkedTokenLogProbs", [](const Napi::CallbackInfo& info) {
    const auto& hidden = T(0);
    const auto& weight = T(1);
    auto bias = optionalTensorArg(info, 2);
    const auto& targets = T(3);
    const int64_t ignoreIndex = intArg(info, 4);
    const int64_t chunk = intArg(info, 5);
    if (chunk < 1) throw Napi::RangeError::New(info.Env(), "chunkedTokenLogProbs: chunk must be at least 1 position");
    if (weight.dim() != 2 || hidden.dim() < 1 || hidden.size(-1) != weight.size(1)) {
      throw Napi::RangeError::New(info.Env(), "chunkedTokenLogProbs: expected hidden [..., D] and weight [V, D] with the same D");
    }
    if (hidden.scalar_type() != weight.scalar_type()) {
      throw Napi::TypeError::New(info.Env(), std::string("chunkedTokenLogProbs: hidden is ") + dtypeName(hidden.scalar_type()) +
                                                 " but the head weight is " + dtypeName(weight.scalar_type()));
    }
    if (!at::isFloatingType(hidden.scalar_type())) {
      throw Napi::TypeError::New(info.Env(), "chunkedTokenLogProbs: hidden and weight must be floating point");
    }
    if (bias.defined() && (bias.dim() != 1 || bias.size(0) != weight.size(0) || bias.scalar_type() != weight.scalar_type())) {
      throw Napi::RangeError::New(info.Env(), "chunkedTokenLogProbs: bias must be [V] in the head's dtype");
    }
    if (targets.numel() * hidden.size(-1) != hidden.numel()) {
      throw Napi::RangeError::New(info.Env(), "chunkedTokenLogProbs: targets must have hidden's shape without its last dim");
    }
    // autograd::Function takes defined tensors only: no bias travels as an empty one.
    auto biasOrEmpty = bias.defined() ? bias : at::empty({0}, weight.options());
    return wrap(info.Env(), ChunkedTokenLogProbs::apply(hidden, weight, biasOrEmpty, targets, ignoreIndex, chunk));
  });
}

}  // namespace safetune
