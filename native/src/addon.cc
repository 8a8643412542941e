// Entry point of the libtorch addon. N-API modules are context-aware: each worker thread gets its own instance.
#include "common.h"

namespace safetune {

void registerDistributed(Napi::Env env, Napi::Object exports);  // distributed.cc
void registerCheckpoint(Napi::Env env, Napi::Object exports);   // checkpoint.cc
void registerDecode(Napi::Env env, Napi::Object exports);  // decode.cc
void registerQuantized(Napi::Env env, Napi::Object exports);    // quantized.cc
void registerChunkedLogProbs(Napi::Env env, Napi::Object exports);  // chunkedLogProbs.cc
void installCpuAllocator();                                         // cpuAllocator.cc

Napi::Object init(Napi::Env env, Napi::Object exports) {
  installCpuAllocator();
  registerCreation(env, exports);
  registerOps(env, exports);
  registerAutograd(env, exports);
  registerRuntime(env, exports);
  registerDistributed(env, exports);
  registerCheckpoint(env, exports);
  registerDecode(env, exports);
  registerQuantized(env, exports);
  registerChunkedLogProbs(env, exports);
  return exports;
}

}  // namespace safetune

static Napi::Object initAddon(Napi::Env env, Napi::Object exports) { return safetune::init(env, exports); }

NODE_API_MODULE(safetune_torch, initAddon)
