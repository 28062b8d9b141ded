#!/usr/bin/env bash
# Builds the addon with cmake-js (the main build): CPU here, CUDA when the located libtorch has CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${FOLDTORCH_BUILD_JOBS:-$(nproc)}"
# Paths relative to the checkout in ccache's hash: a fresh clone elsewhere reuses the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CMAKE_BUILD_PARALLEL_LEVEL="$jobs"
npx cmake-js build --log-level warn "$@"
