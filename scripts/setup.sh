#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for safetune: libtorch (the engine), gloo's headers (to compile the
# bindings of libtorch's c10d distributed backend), OpenBLAS (fast CPU matrix products for libtorch), a C++
# toolchain for the addon, Chromium (the dashboard's browser tests), then the npm packages (which build the addon).
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends libtorch-dev libgloo-dev libopenblas0-pthread g++ make python3 chromium >/dev/null
else
  echo "safetune: not a Debian/Ubuntu system: install libtorch yourself and set LIBTORCH=/path/to/libtorch" >&2
fi
npm ci --no-fund --no-audit
