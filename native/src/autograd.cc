// Autograd and the optimiser kernels that run on whole parameter lists in one call.
#include <cmath>

#include "common.h"

namespace safetune {

namespace {
#define T(i) tensorArg(info, i)
#define HAS(i) (info.Length() > (i) && !info[i].IsUndefined() && !info[i].IsNull())

struct AdamWHyper {
  double lr, beta1, beta2, eps, weightDecay;
  int64_t step;
};

AdamWHyper adamwHyper(const Napi::Object& o) {
  auto num = [&](const char* key) {
    auto v = o.Get(key);
    if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("adamwStep: option '") + key + "' must be a number");
    return v.As<Napi::Number>().DoubleValue();
  };
  return {num("lr"), num("beta1"), num("beta2"), num("eps"), num("weightDecay"), static_cast<int64_t>(num("step"))};
}
}  // namespace

void registerAutograd(Napi::Env env, Napi::Object exports) {
  define(env, exports, "setRequiresGrad", [](const Napi::CallbackInfo& info) {
    T(0).requires_grad_(boolArg(info, 1));
    return info.Env().Undefined();
  });
  define(env, exports, "requiresGrad", [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), T(0).requires_grad());
  });
  define(env, exports, "isLeaf", [](const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), T(0).is_leaf()); });
  // backward(t[, gradient[, retainGraph]])
  define(env, exports, "backward", [](const Napi::CallbackInfo& info) {
    auto gradient = optionalTensorArg(info, 1);
    if (HAS(2)) T(0).backward(gradient, boolArg(info, 2), false);
    else T(0).backward(gradient);
    return info.Env().Undefined();
  });
  define(env, exports, "grad", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(0).grad()); });
  define(env, exports, "setGrad", [](const Napi::CallbackInfo& info) {
    T(0).mutable_grad() = optionalTensorArg(info, 1);
    return info.Env().Undefined();
  });
  define(env, exports, "detach", [](const Napi::CallbackInfo& info) { return wrap(info.Env(), T(0).detach()); });
  define(env, exports, "setGradEnabled", [](const Napi::CallbackInfo& info) {
    at::GradMode::set_enabled(boolArg(info, 0));
    return info.Env().Undefined();
  });
  define(env, exports, "isGradEnabled", [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
  });
  define(env, exports, "zeroGrads", [](const Napi::CallbackInfo& info) {
    for (auto& p : tensorListArg(info, 0)) p.mutable_grad().reset();
    return info.Env().Undefined();
  });

  // adamwStep(params, expAvg, expAvgSq, {lr, beta1, beta2, eps, weightDecay, step}): decoupled weight decay
  // (Loshchilov & Hutter), bias-corrected moments, as torch.optim.AdamW. Parameters without a gradient are skipped.
  define(env, exports, "adamwStep", [](const Napi::CallbackInfo& info) {
    auto params = tensorListArg(info, 0);
    auto expAvg = tensorListArg(info, 1);
    auto expAvgSq = tensorListArg(info, 2);
    if (!info[3].IsObject()) throw Napi::TypeError::New(info.Env(), "adamwStep: argument 3 must be an options object");
    auto h = adamwHyper(info[3].As<Napi::Object>());
    if (expAvg.size() != params.size() || expAvgSq.size() != params.size()) {
      throw Napi::Error::New(info.Env(), "adamwStep: state lists must match the parameter list");
    }
    at::NoGradGuard noGrad;
    const double bias1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
    const double bias2Sqrt = std::sqrt(1.0 - std::pow(h.beta2, static_cast<double>(h.step)));
    const double stepSize = h.lr / bias1;
    for (size_t i = 0; i < params.size(); i++) {
      auto& p = params[i];
      const auto& g = p.grad();
      if (!g.defined()) continue;
      if (h.weightDecay != 0) p.mul_(1.0 - h.lr * h.weightDecay);
      expAvg[i].lerp_(g, 1.0 - h.beta1);
      expAvgSq[i].mul_(h.beta2).addcmul_(g, g, 1.0 - h.beta2);
      auto denom = (expAvgSq[i].sqrt() / bias2Sqrt).add_(h.eps);
      p.addcdiv_(expAvg[i], denom, -stepSize);
    }
    return info.Env().Undefined();
  });

  // clipGradNorm(params, maxNorm): scales gradients so their global L2 norm is at most maxNorm; returns the norm
  // before clipping (as torch.nn.utils.clip_grad_norm_).
  define(env, exports, "clipGradNorm", [](const Napi::CallbackInfo& info) {
    auto params = tensorListArg(info, 0);
    double maxNorm = doubleArg(info, 1);
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> norms;
    for (auto& p : params) {
      if (p.grad().defined()) norms.push_back(at::norm(p.grad(), 2).to(at::kFloat));
    }
    if (norms.empty()) return Napi::Number::New(info.Env(), 0.0);
    auto total = at::norm(at::stack(norms), 2);
    double totalNorm = total.item<double>();
    double coef = maxNorm / (totalNorm + 1e-6);
    if (coef < 1.0) {
      for (auto& p : params) {
        if (p.grad().defined()) p.mutable_grad().mul_(coef);
      }
    }
    return Napi::Number::New(info.Env(), totalNorm);
  });
}

}  // namespace safetune
