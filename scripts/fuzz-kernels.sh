#!/usr/bin/env bash
# Builds fuzz/kernels_sanitized.cc with the CPU training kernels under AddressSanitizer and UndefinedBehaviorSanitizer
# against the located libtorch, and runs it: `npm run fuzz:kernels -- [COUNT] [SEED]` (default 400 cases each, seed 1).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/fuzz-kernels
mkdir -p "$out"
read -r -a includes <<<"$(node scripts/libtorch.js --include-dirs)"
lib_dir=$(node scripts/libtorch.js --lib-dir)
abi=$(node scripts/libtorch.js --abi)
flags=(-std=c++17 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -D_GLIBCXX_USE_CXX11_ABI="$abi" -Inative)
for dir in "${includes[@]}"; do flags+=(-isystem "$dir"); done
echo "fuzz-kernels: building $out/kernels_sanitized (about a minute)"
g++ "${flags[@]}" fuzz/kernels_sanitized.cc native/models/layers/depthwise_conv_cpu.cc \
  native/models/layers/batch_norm_act_cpu.cc -o "$out/kernels_sanitized" \
  -L"$lib_dir" -Wl,-rpath,"$lib_dir" -ltorch -ltorch_cpu -lc10
# libtorch itself is not instrumented: its allocations are not leaks of ours.
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$out/kernels_sanitized" "$@"
