// Process-wide settings: random seeds and generator state, threads, devices, version.
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include <mutex>

#include "common.h"

namespace safetune {

namespace {
at::Generator cpuGenerator() { return at::detail::getDefaultCPUGenerator(); }

bool cudaAvailable() {
  return at::detail::getCUDAHooks().hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0;
}
}  // namespace

void registerRuntime(Napi::Env env, Napi::Object exports) {
  define(env, exports, "manualSeed", [](const Napi::CallbackInfo& info) {
    auto seed = static_cast<uint64_t>(intArg(info, 0));
    {
      auto gen = cpuGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(seed);
    }
    if (cudaAvailable()) {
      auto& hooks = at::detail::getCUDAHooks();
      for (int64_t i = 0; i < hooks.getNumGPUs(); i++) {
        auto gen = hooks.getDefaultCUDAGenerator(i);
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_current_seed(seed);
      }
    }
    return info.Env().Undefined();
  });
  // The CPU generator's full state as a uint8 tensor, for checkpoints that resume bit-exactly.
  define(env, exports, "getRngState", [](const Napi::CallbackInfo& info) {
    auto gen = cpuGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return wrap(info.Env(), gen.get_state());
  });
  define(env, exports, "setRngState", [](const Napi::CallbackInfo& info) {
    auto gen = cpuGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(tensorArg(info, 0));
    return info.Env().Undefined();
  });
  define(env, exports, "setNumThreads", [](const Napi::CallbackInfo& info) {
    at::set_num_threads(static_cast<int>(intArg(info, 0)));
    return info.Env().Undefined();
  });
  define(env, exports, "getNumThreads", [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), at::get_num_threads());
  });
  define(env, exports, "cudaAvailable", [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), cudaAvailable());
  });
  define(env, exports, "cudaDeviceCount", [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), cudaAvailable() ? at::detail::getCUDAHooks().getNumGPUs() : 0);
  });
  define(env, exports, "version", [](const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), TORCH_VERSION);
  });
  define(env, exports, "compiledWithCuda", [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), SAFETUNE_WITH_CUDA != 0);
  });
}

}  // namespace safetune
