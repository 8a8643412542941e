// Gradient checkpointing: a custom autograd function that runs a JS function (one transformer layer) without
// keeping its activations, and runs it again in the backward pass to get its gradients. libtorch's C++ API has
// no torch.utils.checkpoint; this is the reentrant variant of it: the recomputed piece is differentiated with
// torch::autograd::grad inside the outer backward.
//
// The layer is JS code, so the recomputation calls back into JS: the backward pass must run on the JS thread,
// which libtorch's engine does for CPU tensors (CUDA nodes run on device threads: refused with a clear error).
// The JS side keeps the functions in a registry by id; a node that dies (its graph freed, backward done or not)
// reports its id here, and the JS side collects those ids (deadCheckpointIds) to drop its entries. No JS call
// ever happens from a destructor.
#include <ATen/core/ivalue.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/autograd.h>

#include <mutex>
#include <unordered_map>

#include "common.h"

namespace safetune {

namespace {
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The JS function that reruns a registered layer: runner(id, inputHandles) -> outputHandle. One per JS thread.
thread_local Napi::FunctionReference* runner = nullptr;
thread_local napi_env runnerEnv = nullptr;

std::mutex deadMutex;
std::unordered_map<napi_env, std::vector<int64_t>> deadIds;

// Lives in the autograd node's saved data; tells the JS side when the node is gone.
struct RegistryToken : torch::CustomClassHolder {
  int64_t id;
  napi_env env;
  RegistryToken(int64_t id, napi_env env) : id(id), env(env) {}
  ~RegistryToken() override {
    std::lock_guard<std::mutex> lock(deadMutex);
    deadIds[env].push_back(id);
  }
};

at::Tensor callRunner(napi_env rawEnv, int64_t id, const std::vector<at::Tensor>& inputs) {
  if (runner == nullptr || runnerEnv != rawEnv) {
    throw std::runtime_error(
        "gradient checkpointing: the backward pass ran off the JS thread that built the graph (CUDA tensors?); "
        "checkpointing works on the CPU only");
  }
  Napi::Env env(rawEnv);
  Napi::HandleScope scope(env);
  auto handles = Napi::Array::New(env, inputs.size());
  for (size_t i = 0; i < inputs.size(); i++) handles.Set(static_cast<uint32_t>(i), wrap(env, inputs[i]));
  auto result = runner->Call({Napi::Number::New(env, static_cast<double>(id)), handles});
  if (!isTensor(result)) throw std::runtime_error("gradient checkpointing: the layer function did not return a tensor");
  auto* box = boxOf(result, 0);
  at::Tensor out = box->tensor;
  releaseBox(env, box);
  if (!out.defined()) throw std::runtime_error("gradient checkpointing: the layer function returned a disposed tensor");
  return out;
}

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  // inputs: what the layer reads that was computed in this pass (hidden states, masks, rotary tables);
  // params: the trainable weights it uses (so that the output requires grad even when no input does).
  static at::Tensor forward(AutogradContext* ctx, int64_t id, int64_t envBits, at::TensorList inputs,
                            at::TensorList params) {
    auto env = reinterpret_cast<napi_env>(envBits);
    // Dropout (LoRA's) must draw the same mask when the layer is recomputed: the state before the layer runs.
    auto gen = at::detail::getDefaultCPUGenerator();
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      ctx->saved_data["rng"] = gen.get_state();
    }
    std::vector<at::Tensor> plain(inputs.begin(), inputs.end());
    at::Tensor out = callRunner(env, id, plain);
    std::vector<at::Tensor> saved(inputs.begin(), inputs.end());
    saved.insert(saved.end(), params.begin(), params.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["inputs"] = static_cast<int64_t>(inputs.size());
    ctx->saved_data["id"] = id;
    ctx->saved_data["env"] = envBits;
    ctx->saved_data["token"] = at::IValue::make_capsule(c10::make_intrusive<RegistryToken>(id, env));
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto nInputs = static_cast<size_t>(ctx->saved_data["inputs"].toInt());
    const auto id = ctx->saved_data["id"].toInt();
    auto env = reinterpret_cast<napi_env>(ctx->saved_data["env"].toInt());
    std::vector<at::Tensor> inputs;
    for (size_t i = 0; i < nInputs; i++) {
      auto& original = saved[i];
      auto detached = original.detach();
      if (original.requires_grad() && original.is_floating_point()) detached.requires_grad_(true);
      inputs.push_back(detached);
    }
    at::Tensor out;
    {
      at::AutoGradMode enable(true);
      auto gen = at::detail::getDefaultCPUGenerator();
      at::Tensor current;
      {
        std::lock_guard<std::mutex> lock(gen.mutex());
        current = gen.get_state();
        gen.set_state(ctx->saved_data["rng"].toTensor());
      }
      try {
        out = callRunner(env, id, inputs);
      } catch (...) {
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(current);
        throw;
      }
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(current);
    }
    variable_list result(2 + saved.size());  // id and env are not tensors: undefined gradients
    std::vector<at::Tensor> wrt;
    std::vector<size_t> slot;
    for (size_t i = 0; i < saved.size(); i++) {
      const auto& t = i < nInputs ? inputs[i] : saved[i];
      if (t.requires_grad()) {
        wrt.push_back(t);
        slot.push_back(2 + i);
      }
    }
    if (wrt.empty() || !out.requires_grad()) return result;
    auto found = torch::autograd::grad({out}, wrt, {grads[0]}, false, false, true);
    for (size_t k = 0; k < slot.size(); k++) result[slot[k]] = found[k];
    return result;
  }
};
}  // namespace

void registerCheckpoint(Napi::Env env, Napi::Object exports) {
  // setCheckpointRunner(fn): fn(id, inputHandles) -> outputHandle reruns the registered layer `id`.
  define(env, exports, "setCheckpointRunner", [](const Napi::CallbackInfo& info) {
    if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setCheckpointRunner: expected a function");
    if (runner == nullptr) {
      runner = new Napi::FunctionReference();
      info.Env().AddCleanupHook([]() {
        delete runner;
        runner = nullptr;
        runnerEnv = nullptr;
      });
    }
    *runner = Napi::Persistent(info[0].As<Napi::Function>());
    runnerEnv = info.Env();
    return info.Env().Undefined();
  });
  // checkpoint(id, inputs, params): the layer's output, computed without keeping its activations.
  define(env, exports, "checkpoint", [](const Napi::CallbackInfo& info) {
    auto id = intArg(info, 0);
    auto inputs = tensorListArg(info, 1);
    auto params = tensorListArg(info, 2);
    auto envBits = reinterpret_cast<int64_t>(static_cast<napi_env>(info.Env()));
    return wrap(info.Env(), CheckpointFunction::apply(id, envBits, at::TensorList(inputs), at::TensorList(params)));
  });
  // deadCheckpointIds(): ids whose autograd nodes are gone since the last call (their JS entries can go).
  define(env, exports, "deadCheckpointIds", [](const Napi::CallbackInfo& info) {
    std::vector<int64_t> ids;
    {
      std::lock_guard<std::mutex> lock(deadMutex);
      ids.swap(deadIds[static_cast<napi_env>(info.Env())]);
    }
    auto array = Napi::Array::New(info.Env(), ids.size());
    for (size_t i = 0; i < ids.size(); i++) array.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(ids[i])));
    return array;
  });
}

}  // namespace safetune
