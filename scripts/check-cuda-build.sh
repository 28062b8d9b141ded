#!/usr/bin/env bash
# Checks that the CUDA variant of the addon compiles and links (not part of every CI run). It builds against a
# CUDA torch (FOLDTORCH_PYTHON, else a venv with pip's torch==2.14.1 CUDA build, 5.5 GB, made on first use) with
# nvcc on PATH, into build-cuda/. Running it needs a GPU: see scripts/gpu-check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
cuda_env="${FOLDTORCH_CUDA_ENV:-$HOME/.cache/foldtorch/venv-cuda}"
if [ -z "${FOLDTORCH_PYTHON:-}" ]; then
  if [ ! -x "$cuda_env/bin/python" ] || ! "$cuda_env/bin/python" -c 'import torch' 2>/dev/null; then
    echo "check-cuda-build: creating $cuda_env with torch==2.14.1 (a CUDA build)"
    python3 -m venv "$cuda_env"
    "$cuda_env/bin/pip" install -q torch==2.14.1
  fi
  export FOLDTORCH_PYTHON="$cuda_env/bin/python"
fi
command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
unset LIBTORCH
node scripts/libtorch.js
[ "$(node scripts/libtorch.js --cuda)" = 1 ] || { echo "check-cuda-build: $FOLDTORCH_PYTHON has a CPU torch" >&2; exit 1; }
# A toolkit without nvrtc (this machine's is minimal): use the one pip's nvidia wheels ship.
extra=()
if [ ! -e "${CUDA_HOME:-/usr/local/cuda}/lib64/libnvrtc.so" ]; then
  nvrtc=$(ls "$(node scripts/libtorch.js --root)"/../nvidia/cu*/lib/libnvrtc.so.* 2>/dev/null | head -1 || true)
  [ -n "$nvrtc" ] && extra+=("--CDCUDA_nvrtc_LIBRARY=$nvrtc")
fi
export CMAKE_BUILD_PARALLEL_LEVEL="${FOLDTORCH_BUILD_JOBS:-$(nproc)}"
npx cmake-js build --out build-cuda --log-level warn --CDCUDA_TOOLKIT_ROOT_DIR="${CUDA_HOME:-/usr/local/cuda}" --CDCMAKE_CUDA_COMPILER="$(command -v nvcc)" "${extra[@]}"
nm -D --defined-only build-cuda/Release/foldtorch.node >/dev/null
ldd build-cuda/Release/foldtorch.node | grep -E "torch_cuda|c10_cuda" || { echo "check-cuda-build: the addon does not link libtorch_cuda" >&2; exit 1; }
# Data-parallel training on CUDA uses c10d's ProcessGroupNCCL: it must be compiled in (Gloo headers present).
# grep reads all of nm's output (no -q): an early exit would fail the pipeline on SIGPIPE under pipefail.
if nm -C build-cuda/Release/foldtorch.node | grep "c10d::ProcessGroupNCCL" >/dev/null; then
  echo "check-cuda-build: c10d ProcessGroupNCCL compiled in (data-parallel training on CUDA)"
else
  echo "check-cuda-build: ProcessGroupNCCL is not in the addon (no gloo/algorithm.h? install libgloo-dev)" >&2; exit 1
fi
echo "check-cuda-build: build-cuda/Release/foldtorch.node compiled and linked against CUDA libtorch"
