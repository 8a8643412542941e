// Shared plumbing of the addon: how tensors cross the N-API boundary and how arguments are read.
#pragma once

#include <ATen/ATen.h>
#include <napi.h>

#include <functional>
#include <string>
#include <vector>

namespace safetune {

// A JS handle owns one reference to an at::Tensor. dispose() drops it early; the finalizer drops it otherwise.
struct TensorBox {
  at::Tensor tensor;
  int64_t accountedBytes = 0;  // reported to V8 as external memory, returned on release
};

Napi::Value wrap(Napi::Env env, at::Tensor tensor);
TensorBox* boxOf(const Napi::Value& value, size_t index);
at::Tensor& tensorArg(const Napi::CallbackInfo& info, size_t index);
at::Tensor optionalTensorArg(const Napi::CallbackInfo& info, size_t index);
std::vector<at::Tensor> tensorListArg(const Napi::CallbackInfo& info, size_t index);
int64_t intArg(const Napi::CallbackInfo& info, size_t index);
double doubleArg(const Napi::CallbackInfo& info, size_t index);
bool boolArg(const Napi::CallbackInfo& info, size_t index);
std::string stringArg(const Napi::CallbackInfo& info, size_t index);
std::vector<int64_t> intListArg(const Napi::CallbackInfo& info, size_t index);
bool isTensor(const Napi::Value& value);
at::Scalar scalarArg(const Napi::CallbackInfo& info, size_t index);
at::ScalarType dtypeArg(const Napi::CallbackInfo& info, size_t index);
at::Device deviceArg(const Napi::CallbackInfo& info, size_t index);
const char* dtypeName(at::ScalarType type);
Napi::Value wrapList(Napi::Env env, const std::vector<at::Tensor>& tensors);
int64_t liveTensorCount();
// Basic (GC-time) finalizers: a handle's bookkeeping is freed during garbage collection, not on a later
// event-loop turn, so a synchronous training loop does not accumulate it.
void releaseBox(Napi::BasicEnv env, TensorBox* box);

using Binding = std::function<Napi::Value(const Napi::CallbackInfo&)>;
// Registers a function whose libtorch errors become JS errors carrying libtorch's message without its backtrace.
void define(Napi::Env env, Napi::Object exports, const char* name, Binding fn);

void registerCreation(Napi::Env env, Napi::Object exports);
void registerOps(Napi::Env env, Napi::Object exports);
void registerAutograd(Napi::Env env, Napi::Object exports);
void registerRuntime(Napi::Env env, Napi::Object exports);

}  // namespace safetune
