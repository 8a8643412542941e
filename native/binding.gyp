{
  "targets": [
    {
      "target_name": "safetune_torch",
      "sources": [
        "src/common.cc",
        "src/creation.cc",
        "src/ops.cc",
        "src/autograd.cc",
        "src/runtime.cc",
        "src/distributed.cc",
        "src/checkpoint.cc",
        "src/quantized.cc",
        "src/chunkedLogProbs.cc",
        "src/decode.cc",
        "src/cpuAllocator.cc",
        "src/addon.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node -p \"process.env.SAFETUNE_TORCH_INCLUDES || ''\")"
      ],
      "defines": [
        "NAPI_EXPERIMENTAL",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_GLIBCXX_USE_CXX11_ABI=<!(node -p \"process.env.SAFETUNE_TORCH_CXX11_ABI || '1'\")",
        "SAFETUNE_WITH_CUDA=<!(node -p \"process.env.SAFETUNE_TORCH_CUDA || '0'\")",
        "<!@(node -p \"process.env.SAFETUNE_C10D_DEFINES || 'SAFETUNE_WITH_C10D=0 SAFETUNE_WITH_NCCL=0'\")"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=<!(node -p \"process.env.SAFETUNE_CXX_STD || 'c++17'\")", "-O2", "-fexceptions", "-frtti", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": [
        "<!@(node -p \"process.env.SAFETUNE_TORCH_LINK || '-ltorch -ltorch_cpu -lc10'\")"
      ]
    }
  ]
}
