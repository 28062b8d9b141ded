#!/usr/bin/env bash
# Builds fuzz/kernels_sanitized.cc with the CPU training kernels under AddressSanitizer and UndefinedBehaviorSanitizer
# against the located libtorch, and runs it: `npm run fuzz:kernels -- [--isa LEVEL] [COUNT] [SEED]` (default 400 cases
# each, seed 1). The kernels are compiled once per x86-64 level and the CPU picks one; --isa x86-64-v3 (AVX2) or
# --isa default (the plain loops) pins that build instead, so each level runs whatever the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
isa=clones
if [ "${1:-}" = --isa ]; then
  isa=${2:?"fuzz-kernels: --isa takes x86-64-v4, x86-64-v3 or default"}
  shift 2
fi
out=build/fuzz-kernels
mkdir -p "$out"
read -r -a includes <<<"$(node scripts/libtorch.js --include-dirs)"
lib_dir=$(node scripts/libtorch.js --lib-dir)
abi=$(node scripts/libtorch.js --abi)
flags=(-std=c++17 -O1 -g -fopenmp -fsanitize=address,undefined -fno-omit-frame-pointer -D_GLIBCXX_USE_CXX11_ABI="$abi" -Inative)
case "$isa" in
  clones) ;;
  default) flags+=("-DFOLDTORCH_ROW_KERNEL=__attribute__((optimize(\"O3\")))") ;;
  x86-64-v3 | x86-64-v4) flags+=("-DFOLDTORCH_ROW_KERNEL=__attribute__((target(\"arch=$isa\"), optimize(\"O3\")))") ;;
  *) echo "fuzz-kernels: --isa takes x86-64-v4, x86-64-v3 or default (got $isa)" >&2; exit 2 ;;
esac
for dir in "${includes[@]}"; do flags+=(-isystem "$dir"); done
echo "fuzz-kernels: building $out/kernels_sanitized, kernels: $isa (about two minutes)"
g++ "${flags[@]}" fuzz/kernels_sanitized.cc native/models/layers/depthwise_conv_cpu.cc \
  native/models/layers/batch_norm_act_cpu.cc -o "$out/kernels_sanitized" \
  -L"$lib_dir" -Wl,-rpath,"$lib_dir" -ltorch -ltorch_cpu -lc10
# libtorch itself is not instrumented: its allocations are not leaks of ours.
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$out/kernels_sanitized" "$@"
