#!/usr/bin/env bash
# Builds the addon with cmake-js (the main build): CPU here, CUDA when the located libtorch has CUDA. It also runs
# from an installed package (`npx foldtorch build`), where cmake-js is a dependency hoisted above this folder.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${FOLDTORCH_BUILD_JOBS:-$(nproc)}"
# Paths relative to the checkout in ccache's hash: a fresh clone elsewhere reuses the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CMAKE_BUILD_PARALLEL_LEVEL="$jobs"
node "$(node -p "require.resolve('cmake-js/bin/cmake-js')")" build --log-level warn "$@"
# The torch this build is for, compared with the one found before each load (src/native/buildInfo.ts).
node scripts/libtorch.js --build-info >build/Release/foldtorch.json
