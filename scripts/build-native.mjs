#!/usr/bin/env node
// Builds the libtorch N-API addon (native/) at install time.
// libtorch is found at $LIBTORCH (an official libtorch zip, or a PyTorch install's `torch` folder,
// CUDA builds included) or at the system location of Debian/Ubuntu's `libtorch-dev`.
// When it is missing we say so in one line and succeed, so the pure-TypeScript parts still install;
// the engine then reports the same line when it is first used.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(root, "native");
const output = join(nativeDir, "build", "Release", "safetune_torch.node");
const MISSING =
  "safetune: libtorch not found: install it with `apt-get install libtorch-dev` (Debian/Ubuntu) or set LIBTORCH=/path/to/libtorch";

function findLibtorch() {
  const env = process.env.LIBTORCH;
  if (env) {
    const libDir = join(env, "lib");
    const header = join(env, "include", "torch", "csrc", "api", "include", "torch", "torch.h");
    if (!existsSync(header))
      throw new Error(
        `LIBTORCH=${env}: expected ${header} (an unpacked libtorch or a PyTorch install's torch folder)`,
      );
    return {
      includes: [join(env, "include"), join(env, "include", "torch", "csrc", "api", "include")],
      libDir,
    };
  }
  const header = "/usr/include/torch/csrc/api/include/torch/torch.h";
  if (!existsSync(header)) return undefined;
  const arch = process.arch === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
  const libDir = [`/usr/lib/${arch}`, "/usr/lib", "/usr/local/lib"].find((d) =>
    existsSync(join(d, "libtorch_cpu.so")),
  );
  if (!libDir) return undefined;
  return { includes: ["/usr/include/torch/csrc/api/include"], libDir };
}

// libtorch builds differ in the C++ string ABI (PyTorch wheels before 2.7 use the old one): read it off libc10.
function detectCxx11Abi(libDir) {
  if (process.env.LIBTORCH_CXX11_ABI) return process.env.LIBTORCH_CXX11_ABI === "0" ? "0" : "1";
  try {
    const symbols = execFileSync("nm", ["-D", "--defined-only", join(libDir, "libc10.so")], {
      maxBuffer: 1 << 28,
    });
    return symbols.includes("__cxx11") ? "1" : "0";
  } catch {
    return "1";
  }
}

// c10d's ProcessGroupGloo is compiled into libtorch_cpu, but its header needs gloo's headers (Debian: libgloo-dev).
// Without them the addon builds without the distributed bindings, and src/distributed/ says how to get them.
function findC10d(includes) {
  const roots = [...includes.map((d) => d.replace(/\/torch\/csrc\/api\/include$/, "")), "/usr/include"];
  const hasPg = roots.some((r) =>
    existsSync(join(r, "torch", "csrc", "distributed", "c10d", "ProcessGroupGloo.hpp")),
  );
  const gloo = roots.find((r) => existsSync(join(r, "gloo", "config.h")));
  return hasPg && gloo !== undefined;
}

// The C++ standard the libtorch headers need: C++17 up to PyTorch 2.11, C++20 from 2.12 on (ATen's headers refuse
// older standards from 2.13; 2.12 already asks for it). Read off torch/version.h; C++17 when it cannot be read.
function cxxStandard(includes) {
  for (const dir of includes) {
    for (const file of [
      join(dir, "torch", "version.h"),
      join(dir, "torch", "csrc", "api", "include", "torch", "version.h"),
    ]) {
      if (!existsSync(file)) continue;
      const text = readFileSync(file, "utf8");
      const major = Number(/TORCH_VERSION_MAJOR\s+(\d+)/.exec(text)?.[1]);
      const minor = Number(/TORCH_VERSION_MINOR\s+(\d+)/.exec(text)?.[1]);
      if (Number.isFinite(major) && Number.isFinite(minor))
        return major > 2 || (major === 2 && minor >= 12) ? "c++20" : "c++17";
    }
  }
  return "c++17";
}

// A CUDA libtorch's headers include the CUDA runtime's and (for ProcessGroupNCCL) NCCL's: from CUDA_HOME or
// /usr/local/cuda, and from the nvidia-* wheels a pip-installed PyTorch sits next to (site-packages/nvidia/*/include).
function cudaIncludes(libtorchRoot) {
  const dirs = [];
  for (const home of [process.env.CUDA_HOME, process.env.CUDA_PATH, "/usr/local/cuda"]) {
    if (home && existsSync(join(home, "include", "cuda_runtime_api.h"))) {
      dirs.push(join(home, "include"));
      break;
    }
  }
  const nvidia = libtorchRoot ? join(libtorchRoot, "..", "nvidia") : undefined;
  if (nvidia && existsSync(nvidia)) {
    for (const pkg of readdirSync(nvidia)) {
      for (const sub of ["include", join("cu13", "include"), join("cu12", "include")]) {
        const dir = join(nvidia, pkg, sub);
        if (existsSync(dir)) dirs.push(dir);
      }
    }
  }
  return dirs;
}

// ProcessGroupNCCL (data parallelism across GPUs) needs its header and nccl.h.
function findNccl(includes) {
  const roots = includes.map((d) => d.replace(/\/torch\/csrc\/api\/include$/, ""));
  const hasPg = roots.some((r) =>
    existsSync(join(r, "torch", "csrc", "distributed", "c10d", "ProcessGroupNCCL.hpp")),
  );
  const hasHeader = [...includes, "/usr/include"].some((d) => existsSync(join(d, "nccl.h")));
  return hasPg && hasHeader;
}

function upToDate() {
  if (process.argv.includes("--force") || !existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  const sources = readdirSync(join(nativeDir, "src")).map((f) => join(nativeDir, "src", f));
  return [...sources, join(nativeDir, "binding.gyp")].every((f) => statSync(f).mtimeMs < built);
}

async function main() {
  let found;
  try {
    found = findLibtorch();
  } catch (err) {
    console.error(`safetune: ${err.message}`);
    process.exit(1);
  }
  if (!found) {
    console.warn(MISSING);
    return;
  }
  if (upToDate()) return;
  const cuda = existsSync(join(found.libDir, "libtorch_cuda.so"));
  // --no-as-needed keeps libtorch_cuda linked although no symbol of it is referenced: it registers the CUDA backend.
  const link = [
    `-L${found.libDir}`,
    `-Wl,-rpath,${found.libDir}`,
    ...(cuda ? ["-Wl,--no-as-needed", "-ltorch_cuda", "-Wl,--as-needed"] : []),
    "-ltorch",
    "-ltorch_cpu",
    "-lc10",
  ];
  if (cuda) found.includes.push(...cudaIncludes(process.env.LIBTORCH));
  const c10d = findC10d(found.includes);
  const nccl = cuda && c10d && findNccl(found.includes);
  const env = {
    ...process.env,
    SAFETUNE_C10D_DEFINES: [
      c10d ? "USE_C10D_GLOO SAFETUNE_WITH_C10D=1" : "SAFETUNE_WITH_C10D=0",
      nccl ? "USE_C10D_NCCL SAFETUNE_WITH_NCCL=1" : "SAFETUNE_WITH_NCCL=0",
    ].join(" "),
    SAFETUNE_CXX_STD: cxxStandard(found.includes),
    SAFETUNE_TORCH_INCLUDES: found.includes.join(" "),
    SAFETUNE_TORCH_LINK: link.join(" "),
    SAFETUNE_TORCH_CXX11_ABI: detectCxx11Abi(found.libDir),
    SAFETUNE_TORCH_CUDA: cuda ? "1" : "0",
  };
  const features = [
    cuda ? "CUDA" : undefined,
    c10d ? "c10d" : "no c10d: install libgloo-dev",
    nccl ? "NCCL" : undefined,
    env.SAFETUNE_CXX_STD,
  ].filter(Boolean);
  console.log(`safetune: building the libtorch addon against ${found.libDir} (${features.join(", ")})`);
  if (process.argv.includes("--direct")) return await buildDirect(env);
  const gyp = process.env.npm_config_node_gyp;
  const [cmd, args] = gyp ? [process.execPath, [gyp]] : ["npx", ["--yes", "node-gyp"]];
  const jobs = ["--jobs", "max"];
  // configure + build (not rebuild) so an edit recompiles only the files it touched.
  const run = (verb, extra = []) =>
    spawnSync(cmd, [...args, verb, ...extra, "--directory", nativeDir], { env, stdio: "inherit" });
  let result = run("configure");
  if (result.status === 0) result = run("build", jobs);
  if (result.status !== 0) {
    console.error("safetune: building the libtorch addon failed (see the compiler output above)");
    process.exit(1);
  }
}

// Without node-gyp (a machine with a compiler and node's headers but no npm registry): the same sources, defines
// and flags as binding.gyp, one c++ per source file in parallel, then one link.
async function buildDirect(env) {
  const gyp = JSON.parse(readFileSync(join(nativeDir, "binding.gyp"), "utf8")).targets[0];
  const nodeInclude = [resolve(dirname(process.execPath), "..", "include", "node"), "/usr/include/node"].find(
    (d) => existsSync(join(d, "node_api.h")),
  );
  if (!nodeInclude) throw new Error(`node's headers (node_api.h) not found beside ${process.execPath}`);
  const addonApi = join(root, "node_modules", "node-addon-api");
  const defines = [
    "NAPI_EXPERIMENTAL",
    "NAPI_CPP_EXCEPTIONS",
    "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
    "NODE_ADDON_API_DISABLE_DEPRECATED",
    `_GLIBCXX_USE_CXX11_ABI=${env.SAFETUNE_TORCH_CXX11_ABI}`,
    `SAFETUNE_WITH_CUDA=${env.SAFETUNE_TORCH_CUDA}`,
    ...env.SAFETUNE_C10D_DEFINES.split(" "),
  ];
  const flags = [
    `-std=${env.SAFETUNE_CXX_STD}`,
    "-O2",
    "-fPIC",
    "-fexceptions",
    "-frtti",
    "-Wno-deprecated-declarations",
    `-I${nodeInclude}`,
    `-I${addonApi}`,
    ...env.SAFETUNE_TORCH_INCLUDES.split(" ").map((d) => `-I${d}`),
    ...defines.map((d) => `-D${d}`),
  ];
  const outDir = join(nativeDir, "build", "Release");
  const objDir = join(outDir, "obj.direct");
  mkdirSync(objDir, { recursive: true });
  const cxx = process.env.CXX ?? "c++";
  const sources = gyp.sources.map((s) => join(nativeDir, s));
  const objects = sources.map((s) => join(objDir, `${basename(s, ".cc")}.o`));
  const jobs = Math.max(1, availableParallelism());
  const compile = (source, object) =>
    new Promise((done) =>
      spawn(cxx, [...flags, "-c", source, "-o", object], { stdio: "inherit" }).on("exit", done),
    );
  for (let i = 0; i < sources.length; i += jobs) {
    const codes = await Promise.all(
      sources.slice(i, i + jobs).map((source, k) => compile(source, objects[i + k])),
    );
    if (codes.some((c) => c !== 0)) {
      console.error("safetune: building the libtorch addon failed (see the compiler output above)");
      process.exit(1);
    }
  }
  const link = spawnSync(cxx, ["-shared", ...objects, "-o", output, ...env.SAFETUNE_TORCH_LINK.split(" ")], {
    stdio: "inherit",
  });
  if (link.status !== 0) {
    console.error("safetune: linking the libtorch addon failed (see the linker output above)");
    process.exit(1);
  }
}

await main();
