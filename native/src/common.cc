#include "common.h"

#include <atomic>
#include <cmath>

namespace safetune {

namespace {
std::atomic<int64_t> liveTensors{0};

int64_t storageBytes(const at::Tensor& t) {
  if (!t.defined() || t.is_view() || !t.has_storage()) return 0;
  return static_cast<int64_t>(t.storage().nbytes());
}

void finalizeBox(Napi::BasicEnv env, TensorBox* box) {
  releaseBox(env, box);
  delete box;
}

[[noreturn]] void typeError(const Napi::CallbackInfo& info, size_t index, const char* expected) {
  throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + ": expected " + expected);
}
}  // namespace

int64_t liveTensorCount() { return liveTensors.load(); }

void releaseBox(Napi::BasicEnv env, TensorBox* box) {
  if (!box->tensor.defined() && box->accountedBytes == 0) return;
  if (box->tensor.defined()) liveTensors--;
  box->tensor = at::Tensor();
  if (box->accountedBytes != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -box->accountedBytes);
    box->accountedBytes = 0;
  }
}

Napi::Value wrap(Napi::Env env, at::Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  auto* box = new TensorBox{std::move(tensor), 0};
  box->accountedBytes = storageBytes(box->tensor);
  if (box->accountedBytes != 0) Napi::MemoryManagement::AdjustExternalMemory(env, box->accountedBytes);
  liveTensors++;
  return Napi::External<TensorBox>::New(env, box, finalizeBox);
}

Napi::Value wrapList(Napi::Env env, const std::vector<at::Tensor>& tensors) {
  auto array = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); i++) array.Set(static_cast<uint32_t>(i), wrap(env, tensors[i]));
  return array;
}

bool isTensor(const Napi::Value& value) { return value.IsExternal(); }

TensorBox* boxOf(const Napi::Value& value, size_t index) {
  if (!value.IsExternal()) {
    throw Napi::TypeError::New(value.Env(), "argument " + std::to_string(index) + ": expected a tensor");
  }
  return value.As<Napi::External<TensorBox>>().Data();
}

at::Tensor& tensorArg(const Napi::CallbackInfo& info, size_t index) {
  auto* box = boxOf(info[index], index);
  if (!box->tensor.defined()) {
    throw Napi::Error::New(info.Env(), "argument " + std::to_string(index) + ": tensor was disposed");
  }
  return box->tensor;
}

at::Tensor optionalTensorArg(const Napi::CallbackInfo& info, size_t index) {
  if (index >= info.Length() || info[index].IsUndefined() || info[index].IsNull()) return at::Tensor();
  return tensorArg(info, index);
}

std::vector<at::Tensor> tensorListArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsArray()) typeError(info, index, "an array of tensors");
  auto array = info[index].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    auto* box = boxOf(array.Get(i), index);
    if (!box->tensor.defined()) throw Napi::Error::New(info.Env(), "tensor list contains a disposed tensor");
    out.push_back(box->tensor);
  }
  return out;
}

int64_t intArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsNumber()) typeError(info, index, "an integer");
  return info[index].As<Napi::Number>().Int64Value();
}

double doubleArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsNumber()) typeError(info, index, "a number");
  return info[index].As<Napi::Number>().DoubleValue();
}

bool boolArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsBoolean()) typeError(info, index, "a boolean");
  return info[index].As<Napi::Boolean>().Value();
}

std::string stringArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsString()) typeError(info, index, "a string");
  return info[index].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> intListArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsArray()) typeError(info, index, "an array of integers");
  auto array = info[index].As<Napi::Array>();
  std::vector<int64_t> out(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    auto v = array.Get(i);
    if (!v.IsNumber()) typeError(info, index, "an array of integers");
    out[i] = v.As<Napi::Number>().Int64Value();
  }
  return out;
}

at::Scalar scalarArg(const Napi::CallbackInfo& info, size_t index) {
  auto v = info[index];
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (!v.IsNumber()) typeError(info, index, "a number");
  double d = v.As<Napi::Number>().DoubleValue();
  // JS has one number type; an integral value is an integer scalar so int tensors stay int (as Python ints do).
  if (std::nearbyint(d) == d && std::fabs(d) < 9.0e15) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

at::ScalarType dtypeArg(const Napi::CallbackInfo& info, size_t index) {
  auto name = stringArg(info, index);
  if (name == "float32") return at::kFloat;
  if (name == "float16") return at::kHalf;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float64") return at::kDouble;
  if (name == "int64") return at::kLong;
  if (name == "int32") return at::kInt;
  if (name == "int16") return at::kShort;
  if (name == "int8") return at::kChar;
  if (name == "uint8") return at::kByte;
  if (name == "bool") return at::kBool;
  throw Napi::TypeError::New(info.Env(), "unknown dtype '" + name + "'");
}

const char* dtypeName(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return "unsupported";
  }
}

at::Device deviceArg(const Napi::CallbackInfo& info, size_t index) {
  auto name = stringArg(info, index);
  try {
    return at::Device(name);
  } catch (const c10::Error&) {
    throw Napi::TypeError::New(info.Env(), "unknown device '" + name + "' (expected cpu, cuda or cuda:N)");
  }
}

void define(Napi::Env env, Napi::Object exports, const char* name, Binding fn) {
  std::string label(name);
  exports.Set(name, Napi::Function::New(
                        env,
                        [fn, label](const Napi::CallbackInfo& info) -> Napi::Value {
                          try {
                            return fn(info);
                          } catch (const Napi::Error&) {
                            throw;
                          } catch (const c10::Error& e) {
                            throw Napi::Error::New(info.Env(), label + ": " + e.what_without_backtrace());
                          } catch (const std::exception& e) {
                            throw Napi::Error::New(info.Env(), label + ": " + e.what());
                          }
                        },
                        name));
}

}  // namespace safetune
