// Process-wide settings: random seeds and generator state, threads, devices, version.
// Devices and seeds go through the public torch:: API, which is stable across libtorch 1.13 and 2.x.
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <mutex>

#include "common.h"

namespace safetune {

namespace {
at::Generator cpuGenerator() { return at::detail::getDefaultCPUGenerator(); }

// OpenBLAS (the BLAS of Debian's libtorch) keeps a thread pool of its own, sized to the machine's cores, that
// at::set_num_threads does not resize: with one libtorch thread, its matmuls still ran on two threads and the second
// spun in sched_yield between them (a 0.5B LoRA DPO step at --threads 1: 5.65 CPU s, 3.88 with one BLAS thread).
// Resized here when the loaded BLAS is OpenBLAS; MKL follows at::set_num_threads already.
void setBlasThreads(int threads) {
  using SetThreads = void (*)(int);
  static const auto openblasSetNumThreads =
      reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (openblasSetNumThreads != nullptr) openblasSetNumThreads(threads);
}
}  // namespace

void registerRuntime(Napi::Env env, Napi::Object exports) {
  // Seeds the CPU generator and every CUDA device's.
  define(env, exports, "manualSeed", [](const Napi::CallbackInfo& info) {
    torch::manual_seed(static_cast<uint64_t>(intArg(info, 0)));
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
    const auto threads = static_cast<int>(intArg(info, 0));
    at::set_num_threads(threads);
    setBlasThreads(threads);
    return info.Env().Undefined();
  });
  define(env, exports, "getNumThreads", [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), at::get_num_threads());
  });
  define(env, exports, "cudaAvailable", [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), torch::cuda::is_available());
  });
  define(env, exports, "cudaDeviceCount", [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count()));
  });
  define(env, exports, "version", [](const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), TORCH_VERSION);
  });
  define(env, exports, "compiledWithCuda", [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), SAFETUNE_WITH_CUDA != 0);
  });
}

}  // namespace safetune
