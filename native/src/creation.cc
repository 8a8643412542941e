// Tensors in and out of JS: creation from typed arrays and factories, reading back, metadata, disposal.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common.h"

namespace safetune {

namespace {
at::TensorOptions optionsArg(const Napi::CallbackInfo& info, size_t dtypeIndex) {
  auto options = at::TensorOptions().dtype(dtypeArg(info, dtypeIndex));
  if (info.Length() > dtypeIndex + 1 && info[dtypeIndex + 1].IsString()) options = options.device(deviceArg(info, dtypeIndex + 1));
  return options;
}

// Returns the bytes of an ArrayBuffer, a TypedArray or a DataView/Buffer.
std::pair<const uint8_t*, size_t> bytesArg(const Napi::CallbackInfo& info, size_t index) {
  auto v = info[index];
  if (v.IsArrayBuffer()) {
    auto ab = v.As<Napi::ArrayBuffer>();
    return {static_cast<const uint8_t*>(ab.Data()), ab.ByteLength()};
  }
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    auto* base = static_cast<const uint8_t*>(ta.ArrayBuffer().Data());
    return {base + ta.ByteOffset(), ta.ByteLength()};
  }
  if (v.IsDataView()) {
    auto dv = v.As<Napi::DataView>();
    auto* base = static_cast<const uint8_t*>(dv.ArrayBuffer().Data());
    return {base + dv.ByteOffset(), dv.ByteLength()};
  }
  throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + ": expected an ArrayBuffer or typed array");
}
}  // namespace

void registerCreation(Napi::Env env, Napi::Object exports) {
  // fromBytes(bytes, shape, dtype[, device]): copies the bytes into a new tensor.
  define(env, exports, "fromBytes", [](const Napi::CallbackInfo& info) {
    auto [data, length] = bytesArg(info, 0);
    auto shape = intListArg(info, 1);
    auto options = at::TensorOptions().dtype(dtypeArg(info, 2));
    auto t = at::empty(shape, options);
    size_t expected = t.numel() * t.element_size();
    if (expected != length) {
      throw Napi::RangeError::New(info.Env(), "fromBytes: shape needs " + std::to_string(expected) + " bytes, got " +
                                                  std::to_string(length));
    }
    if (length > 0) std::memcpy(t.data_ptr(), data, length);
    if (info.Length() > 3 && info[3].IsString()) t = t.to(deviceArg(info, 3));
    return wrap(info.Env(), t);
  });
  // readFile(fd, position, shape, dtype): a new CPU tensor whose bytes are read from the open file `fd` at byte
  // `position` straight into its storage (pread): loading a checkpoint holds each weight once, with no JS buffer
  // in between. The caller has validated the range against the file's safetensors header.
  define(env, exports, "readFile", [](const Napi::CallbackInfo& info) {
    int fd = static_cast<int>(intArg(info, 0));
    int64_t position = intArg(info, 1);
    auto t = at::empty(intListArg(info, 2), at::TensorOptions().dtype(dtypeArg(info, 3)));
    auto* out = static_cast<char*>(t.data_ptr());
    size_t length = t.numel() * t.element_size();
    size_t filled = 0;
    while (filled < length) {
      ssize_t n = ::pread(fd, out + filled, length - filled, static_cast<off_t>(position + filled));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Napi::Error::New(info.Env(), std::string("readFile: ") + std::strerror(errno));
      if (n == 0) {
        throw Napi::Error::New(info.Env(), "readFile: file ended after " + std::to_string(filled) + " of " +
                                               std::to_string(length) + " bytes");
      }
      filled += static_cast<size_t>(n);
    }
    return wrap(info.Env(), t);
  });
  // toBytes(t): a copy of the (contiguous, CPU) data as an ArrayBuffer.
  define(env, exports, "toBytes", [](const Napi::CallbackInfo& info) {
    auto t = tensorArg(info, 0).detach().to(at::kCPU).contiguous();
    size_t length = t.numel() * t.element_size();
    auto buffer = Napi::ArrayBuffer::New(info.Env(), length);
    if (length > 0) std::memcpy(buffer.Data(), t.data_ptr(), length);
    return buffer;
  });
  define(env, exports, "scalarTensor", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::scalar_tensor(scalarArg(info, 0), optionsArg(info, 1)));
  });
  define(env, exports, "zeros", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::zeros(intListArg(info, 0), optionsArg(info, 1)));
  });
  define(env, exports, "ones", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::ones(intListArg(info, 0), optionsArg(info, 1)));
  });
  define(env, exports, "empty", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::empty(intListArg(info, 0), optionsArg(info, 1)));
  });
  define(env, exports, "full", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::full(intListArg(info, 0), scalarArg(info, 1), optionsArg(info, 2)));
  });
  define(env, exports, "arange", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::arange(scalarArg(info, 0), scalarArg(info, 1), scalarArg(info, 2), optionsArg(info, 3)));
  });
  define(env, exports, "randn", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::randn(intListArg(info, 0), optionsArg(info, 1)));
  });
  define(env, exports, "rand", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::rand(intListArg(info, 0), optionsArg(info, 1)));
  });
  define(env, exports, "randint", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::randint(intArg(info, 0), intArg(info, 1), intListArg(info, 2), optionsArg(info, 3)));
  });
  define(env, exports, "randperm", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::randperm(intArg(info, 0), at::TensorOptions().dtype(at::kLong)));
  });
  define(env, exports, "zerosLike", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::zeros_like(tensorArg(info, 0)));
  });
  define(env, exports, "onesLike", [](const Napi::CallbackInfo& info) {
    return wrap(info.Env(), at::ones_like(tensorArg(info, 0)));
  });

  define(env, exports, "shape", [](const Napi::CallbackInfo& info) {
    auto sizes = tensorArg(info, 0).sizes();
    auto array = Napi::Array::New(info.Env(), sizes.size());
    for (size_t i = 0; i < sizes.size(); i++) array.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), sizes[i]));
    return array;
  });
  define(env, exports, "dtype", [](const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), dtypeName(tensorArg(info, 0).scalar_type()));
  });
  define(env, exports, "device", [](const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), tensorArg(info, 0).device().str());
  });
  define(env, exports, "item", [](const Napi::CallbackInfo& info) {
    auto& t = tensorArg(info, 0);
    if (t.numel() != 1) throw Napi::Error::New(info.Env(), "item: tensor has " + std::to_string(t.numel()) + " elements, expected 1");
    return Napi::Number::New(info.Env(), t.item<double>());
  });
  define(env, exports, "isContiguous", [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), tensorArg(info, 0).is_contiguous());
  });
  define(env, exports, "isDisposed", [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), !boxOf(info[0], 0)->tensor.defined());
  });
  define(env, exports, "dispose", [](const Napi::CallbackInfo& info) {
    releaseBox(info.Env(), boxOf(info[0], 0));
    return info.Env().Undefined();
  });
  define(env, exports, "liveTensors", [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(liveTensorCount()));
  });
}

}  // namespace safetune
