// c10d, the distributed engine inside libtorch: a TCPStore for rendezvous, ProcessGroupGloo for collectives on CPU
// tensors, and ProcessGroupNCCL for CUDA tensors when the addon is built against a CUDA libtorch with NCCL.
// Only the plumbing lives here; the rendezvous protocol, defaults and error messages are TypeScript
// (src/distributed/). Every call blocks until its Work is done: Gloo applies the group's timeout itself and
// reports a dead peer as an exception, which define() turns into a JS error carrying c10d's message.
#include "common.h"

#if SAFETUNE_WITH_C10D
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if SAFETUNE_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#endif

namespace safetune {

#if SAFETUNE_WITH_C10D
namespace {

struct StoreBox {
  c10::intrusive_ptr<c10d::Store> store;
};

// One group of either backend. The two classes share no base with these methods across libtorch 1.13 and 2.x
// (ProcessGroup there, Backend here), so calls go through with(), which hands over whichever is set.
struct GroupBox {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
#if SAFETUNE_WITH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  std::chrono::milliseconds timeout;
  bool alive() const {
#if SAFETUNE_WITH_NCCL
    if (nccl) return true;
#endif
    return static_cast<bool>(group);
  }
  template <typename Call>
  auto with(Call call) {
#if SAFETUNE_WITH_NCCL
    if (nccl) return call(*nccl);
#endif
    return call(*group);
  }
  void reset() {
    group.reset();
#if SAFETUNE_WITH_NCCL
    nccl.reset();
#endif
  }
};

template <typename Box>
Box* external(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (!info[index].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(index) + ": expected " + what);
  }
  return info[index].As<Napi::External<Box>>().Data();
}

c10d::Store& storeArg(const Napi::CallbackInfo& info, size_t index) {
  auto* box = external<StoreBox>(info, index, "a c10d store");
  if (!box->store) throw Napi::Error::New(info.Env(), "the store was released");
  return *box->store;
}

GroupBox& groupArg(const Napi::CallbackInfo& info, size_t index) {
  auto* box = external<GroupBox>(info, index, "a process group");
  if (!box->alive()) throw Napi::Error::New(info.Env(), "the process group was destroyed");
  return *box;
}

std::chrono::milliseconds millisArg(const Napi::CallbackInfo& info, size_t index) {
  return std::chrono::milliseconds(intArg(info, index));
}

std::vector<std::string> stringListArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsArray()) throw Napi::TypeError::New(info.Env(), "expected an array of strings");
  auto array = info[index].As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < array.Length(); i++) out.push_back(array.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

Napi::Value wrapStore(Napi::Env env, c10::intrusive_ptr<c10d::Store> store) {
  return Napi::External<StoreBox>::New(env, new StoreBox{std::move(store)},
                                       [](Napi::BasicEnv, StoreBox* box) { delete box; });
}

c10d::ReduceOp reduceOpArg(const Napi::CallbackInfo& info, size_t index) {
  auto name = stringArg(info, index);
  if (name == "sum") return c10d::ReduceOp::SUM;
  if (name == "max") return c10d::ReduceOp::MAX;
  if (name == "min") return c10d::ReduceOp::MIN;
  throw Napi::TypeError::New(info.Env(), "unknown reduce op '" + name + "' (expected sum, max or min)");
}

// Gloo reads and writes raw memory, so each tensor goes through a contiguous buffer (itself when already
// contiguous) that is copied back after the collective. Grad mode is off: the writes are not autograd ops.
struct Buffers {
  std::vector<at::Tensor> originals, buffers;
  explicit Buffers(std::vector<at::Tensor> tensors) : originals(std::move(tensors)) {
    for (auto& t : originals) buffers.push_back(t.is_contiguous() ? t : t.contiguous());
  }
  void copyBack() {
    for (size_t i = 0; i < originals.size(); i++) {
      if (!buffers[i].is_same(originals[i])) originals[i].copy_(buffers[i]);
    }
  }
};

// Enqueues one Work per tensor (Gloo's multi-tensor form means one tensor per local device, all the same
// shape) and waits for all of them in order; the first failure propagates.
template <typename Enqueue>
void runEach(std::vector<at::Tensor>& buffers, Enqueue enqueue) {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& t : buffers) {
    std::vector<at::Tensor> one{t};
    works.push_back(enqueue(one));
  }
  for (auto& work : works) work->wait();
}

}  // namespace
#endif

void registerDistributed(Napi::Env env, Napi::Object exports) {
  define(env, exports, "c10dAvailable", [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), SAFETUNE_WITH_C10D != 0);
  });
#if SAFETUNE_WITH_C10D
  // tcpStore(host, port, worldSize, isServer, timeoutMs): rank 0 serves; clients retry connecting until the timeout.
  define(env, exports, "tcpStore", [](const Napi::CallbackInfo& info) {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(intArg(info, 1));
    opts.numWorkers = static_cast<std::size_t>(intArg(info, 2));
    opts.isServer = boolArg(info, 3);
    opts.waitWorkers = false;  // the rendezvous (TypeScript) waits, so that it can name the missing ranks
    opts.timeout = millisArg(info, 4);
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(stringArg(info, 0), opts);
    return wrapStore(info.Env(), std::move(store));
  });
  define(env, exports, "prefixStore", [](const Napi::CallbackInfo& info) {
    auto* base = external<StoreBox>(info, 1, "a c10d store");
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::PrefixStore>(stringArg(info, 0), base->store);
    return wrapStore(info.Env(), std::move(store));
  });
  define(env, exports, "storeAdd", [](const Napi::CallbackInfo& info) {
    auto value = storeArg(info, 0).add(stringArg(info, 1), intArg(info, 2));
    return Napi::Number::New(info.Env(), static_cast<double>(value));
  });
  define(env, exports, "storeSet", [](const Napi::CallbackInfo& info) {
    auto value = stringArg(info, 2);
    storeArg(info, 0).set(stringArg(info, 1), std::vector<uint8_t>(value.begin(), value.end()));
    return info.Env().Undefined();
  });
  define(env, exports, "storeGet", [](const Napi::CallbackInfo& info) {
    auto value = storeArg(info, 0).get(stringArg(info, 1));
    return Napi::String::New(info.Env(), std::string(value.begin(), value.end()));
  });
  define(env, exports, "storeCheck", [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), storeArg(info, 0).check(stringListArg(info, 1)));
  });
  define(env, exports, "storeWait", [](const Napi::CallbackInfo& info) {
    storeArg(info, 0).wait(stringListArg(info, 1), millisArg(info, 2));
    return info.Env().Undefined();
  });
  define(env, exports, "storeRelease", [](const Napi::CallbackInfo& info) {
    external<StoreBox>(info, 0, "a c10d store")->store.reset();
    return info.Env().Undefined();
  });
  // glooGroup(store, rank, worldSize, timeoutMs, interfaces[], hostname): one Gloo device per interface named,
  // else one bound to `hostname`, else the default device (this machine's hostname, falling back to loopback).
  define(env, exports, "glooGroup", [](const Napi::CallbackInfo& info) {
    auto* store = external<StoreBox>(info, 0, "a c10d store");
    auto timeout = millisArg(info, 3);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    for (auto& name : stringListArg(info, 4)) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
    }
    auto hostname = stringArg(info, 5);
    if (options->devices.empty()) {
      options->devices.push_back(hostname.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                                  : c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
    }
    // The constructor connects the full mesh through the store: it blocks until every peer is reachable.
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store->store, static_cast<int>(intArg(info, 1)),
                                                            static_cast<int>(intArg(info, 2)), options);
    auto* box = new GroupBox();
    box->group = std::move(group);
    box->timeout = timeout;
    return Napi::External<GroupBox>::New(info.Env(), box, [](Napi::BasicEnv, GroupBox* b) { delete b; });
  });
  define(env, exports, "ncclAvailable", [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), SAFETUNE_WITH_NCCL != 0);
  });
#if SAFETUNE_WITH_NCCL
  // ncclGroup(store, rank, worldSize, timeoutMs): collectives on CUDA tensors; each rank uses its own GPU (the
  // caller sets the device before the first collective).
  define(env, exports, "ncclGroup", [](const Napi::CallbackInfo& info) {
    auto* store = external<StoreBox>(info, 0, "a c10d store");
    auto timeout = millisArg(info, 3);
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    auto* box = new GroupBox();
    box->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store->store, static_cast<int>(intArg(info, 1)),
                                                            static_cast<int>(intArg(info, 2)), options);
    box->timeout = timeout;
    return Napi::External<GroupBox>::New(info.Env(), box, [](Napi::BasicEnv, GroupBox* b) { delete b; });
  });
#endif
  // broadcast(group, tensors, root): in place.
  define(env, exports, "broadcast", [](const Napi::CallbackInfo& info) {
    auto& box = groupArg(info, 0);
    at::NoGradGuard noGrad;
    Buffers io(tensorListArg(info, 1));
    c10d::BroadcastOptions opts;
    opts.rootRank = intArg(info, 2);
    opts.timeout = box.timeout;
    runEach(io.buffers, [&](std::vector<at::Tensor>& one) { return box.with([&](auto& g) { return g.broadcast(one, opts); }); });
    io.copyBack();
    return info.Env().Undefined();
  });
  // allReduce(group, tensors, op): in place.
  define(env, exports, "allReduce", [](const Napi::CallbackInfo& info) {
    auto& box = groupArg(info, 0);
    at::NoGradGuard noGrad;
    Buffers io(tensorListArg(info, 1));
    c10d::AllreduceOptions opts;
    opts.reduceOp = reduceOpArg(info, 2);
    opts.timeout = box.timeout;
    runEach(io.buffers, [&](std::vector<at::Tensor>& one) { return box.with([&](auto& g) { return g.allreduce(one, opts); }); });
    io.copyBack();
    return info.Env().Undefined();
  });
  // allGather(group, tensor): one new tensor per rank, in rank order.
  define(env, exports, "allGather", [](const Napi::CallbackInfo& info) {
    auto& box = groupArg(info, 0);
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> inputs{tensorArg(info, 1).contiguous()};
    std::vector<std::vector<at::Tensor>> outputs(1);
    const int size = box.with([](auto& g) { return g.getSize(); });
    for (int i = 0; i < size; i++) outputs[0].push_back(at::empty_like(inputs[0]));
    c10d::AllgatherOptions opts;
    opts.timeout = box.timeout;
    box.with([&](auto& g) { return g.allgather(outputs, inputs, opts); })->wait();
    return wrapList(info.Env(), outputs[0]);
  });
  define(env, exports, "barrier", [](const Napi::CallbackInfo& info) {
    auto& box = groupArg(info, 0);
    c10d::BarrierOptions opts;
    opts.timeout = box.timeout;
    box.with([&](auto& g) { return g.barrier(opts); })->wait();
    return info.Env().Undefined();
  });
  // Drops the group now (its Gloo threads and connections); the finalizer would otherwise do it at GC.
  define(env, exports, "destroyGroup", [](const Napi::CallbackInfo& info) {
    external<GroupBox>(info, 0, "a process group")->reset();
    return info.Env().Undefined();
  });
#endif
}

}  // namespace safetune
