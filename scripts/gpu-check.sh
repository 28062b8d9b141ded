#!/usr/bin/env bash
# Runs THERE, on the GPU machine, from the repo root with .gpu/ carried (scripts/gpu-prepare.sh made it): unpacks
# node, builds the addon against the machine's CUDA torch with all cores (plain cmake + ninja), then runs the GPU
# tests (node:test), our benchmark, timm's, and their comparison, writing logs and JSON under OUT in 8 minutes.
#
#   bash scripts/gpu-check.sh [--dry-run] [--skip-build | --build-only] [OUT]      (OUT defaults to $OUT)
#
# --dry-run runs HERE on the CPU: the same build commands against this machine's CUDA torch (into build-gpu-dry/,
# not loaded), then the tests (FOLDTORCH_GPU_TESTS_ON_CPU=1) and both benchmarks' tiny CPU configs with the
# local CPU build. --skip-build leaves the build out; --build-only stops after it (scripts/gpu-profile.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
dry=0
skip_build=0
build_only=0
out=""
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry=1 ;;
    --skip-build) skip_build=1 ;;
    --build-only) build_only=1 ;;
    -*) echo "gpu-check: unknown option $arg" >&2; exit 2 ;;
    *) out="$arg" ;;
  esac
done
out="${out:-${OUT:-}}"
[ -n "$out" ] || { echo "gpu-check: name the output folder (argument or \$OUT)" >&2; exit 2; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
exec > >(tee -a "$out/gpu-check.log") 2>&1

start=$(date +%s)
budget="${FOLDTORCH_GPU_BUDGET_S:-465}"  # 8 minutes less a margin for the transfers
failures=()
elapsed() { echo $(($(date +%s) - start)); }
stage() { echo; echo "== gpu-check [$(elapsed) s] $*"; }
# Seconds left before `deadline` (seconds from the start), at least `floor`; no deadlines in a dry run (2 cores
# build for many minutes here, ccache helps the next time).
until_deadline() {
  if [ "$dry" = 1 ]; then echo 3600; return; fi
  local left=$(($1 - $(elapsed))); [ "$left" -lt "$2" ] && left=$2; echo "$left"
}
fail() { failures+=("$1"); echo "gpu-check: FAILED: $1"; }

# ---- 1. The machine ----
stage "machine"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "mode: $([ "$dry" = 1 ] && echo "dry run (CPU)" || echo GPU)"
  echo "cores: $(nproc)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version,clocks.max.sm --format=csv
  command -v nvcc >/dev/null && nvcc --version | tail -2
  for tool in cmake ninja g++ python3; do command -v "$tool" >/dev/null && echo "$tool: $("$tool" --version 2>&1 | head -1)"; done
  python3 -c 'import torch, sys; print("python3 torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())' 2>&1
  python3 -c 'import timm; print("timm", timm.__version__)' 2>&1
} | tee "$out/machine.txt"

# ---- 2. node and the compiled JS (carried in .gpu/ where the machine has none) ----
stage "node"
if [ "$dry" = 0 ] && ! command -v node >/dev/null; then
  [ -f .gpu/node.xz ] || { echo "gpu-check: no node and no .gpu/node.xz: run scripts/gpu-prepare.sh and carry .gpu" >&2; exit 1; }
  mkdir -p .gpu/bin
  if command -v xz >/dev/null; then xz -dc .gpu/node.xz >.gpu/bin/node
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' .gpu/node.xz .gpu/bin/node
  fi
  chmod +x .gpu/bin/node
  export PATH="$root/.gpu/bin:$PATH"
fi
node --version || { echo "gpu-check: node does not run" >&2; exit 1; }
# Copies, not links: the addon loader finds the repo root from dist's real path.
[ -d dist ] || cp -a .gpu/dist dist
[ -d node_modules ] || cp -a .gpu/node_modules node_modules

# ---- 3. The addon against the machine's CUDA torch ----
if [ "$dry" = 1 ]; then
  build_dir=build-gpu-dry
  export FOLDTORCH_PYTHON="${FOLDTORCH_PYTHON:-$HOME/.cache/foldtorch/venv-cuda/bin/python}"
  arch_list="${TORCH_CUDA_ARCH_LIST:-9.0}"
else
  build_dir=build
  export FOLDTORCH_PYTHON="${FOLDTORCH_PYTHON:-$(command -v python3)}"
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' ')
  arch_list="${TORCH_CUDA_ARCH_LIST:-${cap:-9.0}}"
fi
if [ "$skip_build" = 0 ]; then
  stage "build: $build_dir, torch from $FOLDTORCH_PYTHON, TORCH_CUDA_ARCH_LIST=$arch_list, $(nproc) jobs"
  export TORCH_CUDA_ARCH_LIST="$arch_list"
  unset LIBTORCH
  command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
  # pip's cmake and ninja sit beside the python that has torch.
  py_bin="$(dirname "$("$FOLDTORCH_PYTHON" -c 'import sys; print(sys.executable)')")"
  command -v cmake >/dev/null || export PATH="$PATH:$py_bin"
  extra=()
  if [ ! -e "${CUDA_HOME:-/usr/local/cuda}/lib64/libnvrtc.so" ]; then  # a toolkit without nvrtc: pip's wheel has it
    nvrtc=$(ls "$(node scripts/libtorch.js --root)"/../nvidia/cu*/lib/libnvrtc.so.* 2>/dev/null | head -1 || true)
    [ -n "$nvrtc" ] && extra+=("-DCUDA_nvrtc_LIBRARY=$nvrtc")
  fi
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  build_left=$(until_deadline 270 60)
  if timeout "$build_left" cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" -DCUDA_TOOLKIT_ROOT_DIR="${CUDA_HOME:-/usr/local/cuda}" "${extra[@]}" \
        >"$out/build.log" 2>&1 &&
     timeout "$(until_deadline 270 30)" cmake --build "$build_dir" -j "$(nproc)" >>"$out/build.log" 2>&1; then
    addon="$root/$build_dir/Release/foldtorch.node"
    if ldd "$addon" | grep -q torch_cuda; then echo "built $addon (links libtorch_cuda) in $(elapsed) s"
    else fail "the addon does not link libtorch_cuda"; fi
    if [ "$dry" = 1 ]; then  # the CUDA build loads without a GPU too: it just sees none
      FOLDTORCH_ADDON="$addon" node -e "require('./dist/src/native/runtime').doctor().then((d) => console.log('CUDA build here: torch ' + d.torchVersion + ', builtWithCuda ' + d.builtWithCuda + ', cudaAvailable ' + d.cudaAvailable))" ||
        fail "the CUDA build does not load"
    fi
  else
    tail -n 30 "$out/build.log"
    fail "build (log: build.log)"
  fi
fi
# There the new build; in the dry run the local CPU build (build/), the tests running on the CPU.
export FOLDTORCH_ADDON="$root/build/Release/foldtorch.node"
[ "$dry" = 1 ] && export FOLDTORCH_GPU_TESTS_ON_CPU=1
[ -f "$FOLDTORCH_ADDON" ] || { fail "no addon at $FOLDTORCH_ADDON"; echo "gpu-check: nothing to run"; exit 1; }
# On the GPU machine the addon must see the card, or every test would only be skipped.
need_cuda=$([ "$dry" = 1 ] && echo 0 || echo 1)
node -e "require('./dist/src/native/runtime').doctor().then((d) => {
  console.log('doctor: torch ' + d.torchVersion + ', builtWithCuda ' + d.builtWithCuda + ', cudaAvailable ' + d.cudaAvailable + (d.cudaDevices[0] ? ', ' + d.cudaDevices[0].name : ''));
  if ($need_cuda && !(d.builtWithCuda && d.cudaAvailable)) process.exit(1);
})" || fail "doctor: the addon does not see a CUDA device"
if [ "$build_only" = 1 ]; then
  [ ${#failures[@]} -eq 0 ] && { echo "gpu-check: built in $(elapsed) s"; exit 0; }
  printf 'gpu-check: %s\n' "${failures[@]}"; exit 1
fi

# ---- 4. The GPU tests ----
stage "tests (node:test)"
if [ -d .gpu/golden ]; then export FOLDTORCH_GOLDEN="${FOLDTORCH_GOLDEN:-$root/.gpu/golden}"; fi
concurrency=$([ "$dry" = 1 ] && echo 1 || echo 3)
timeout "$(until_deadline 330 30)" node --test --test-concurrency="$concurrency" --test-timeout=180000 \
  --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap --test-reporter-destination="$out/gpu-tests.tap" \
  dist/test/gpu/*.gpu.js || fail "GPU tests (gpu-tests.tap)"

# ---- 5. Our benchmark, then timm's at the same batches and precisions, then the comparison ----
dry_flag=()
[ "$dry" = 1 ] && dry_flag=(--dry-run)
stage "benchmark: foldtorch"
ours_left=$(until_deadline 405 40)
timeout "$ours_left" node dist/bench/gpu.js "${dry_flag[@]}" --budget-s $((ours_left - 25)) --out "$out/bench-foldtorch.json" ||
  fail "foldtorch benchmark"

stage "benchmark: timm"
timm_python="${FOLDTORCH_TIMM_PYTHON:-}"
if [ -z "$timm_python" ]; then
  if [ "$dry" = 1 ]; then
    # The bench venv (CPU torch + timm), else the CUDA venv if it has timm; made when neither can import timm.
    for candidate in "$HOME/.cache/foldtorch/bench-venv/bin/python" "$HOME/.cache/foldtorch/venv-cuda/bin/python"; do
      if [ -x "$candidate" ] && "$candidate" -c 'import timm' >/dev/null 2>&1; then timm_python="$candidate"; break; fi
    done
    if [ -z "$timm_python" ] && [ ! -e "$HOME/.cache/foldtorch/bench-venv" ]; then
      python3 -m venv "$HOME/.cache/foldtorch/bench-venv" && "$HOME/.cache/foldtorch/bench-venv/bin/pip" install -q torch timm &&
        timm_python="$HOME/.cache/foldtorch/bench-venv/bin/python"
    fi
  else
    timm_python=python3
  fi
fi
if [ -f "$out/bench-foldtorch.json" ] && [ -n "$timm_python" ]; then
  timm_left=$(until_deadline "$budget" 30)
  PYTHONUNBUFFERED=1 timeout "$timm_left" "$timm_python" bench/gpu_timm.py --plan "$out/bench-foldtorch.json" \
    --out "$out/bench-timm.json" "${dry_flag[@]}" --budget-s $((timm_left - 20)) || fail "timm benchmark"
else
  fail "timm benchmark not run (no foldtorch report, or no python with timm)"
fi

stage "comparison"
if [ -f "$out/bench-foldtorch.json" ]; then
  node dist/bench/gpu.js --combine "$out/bench-foldtorch.json" "$out/bench-timm.json" --out "$out/bench-result.json" ||
    fail "comparison"
fi

# ---- 6. Summary ----
stage "summary"
if [ -f "$out/gpu-tests.tap" ]; then
  echo "node:test: $(grep -E '^# (pass|fail|skipped) ' "$out/gpu-tests.tap" | sed 's/^# //' | tr '\n' ' ')"
fi
echo "files: $(cd "$out" && ls | tr '\n' ' ')"
echo "total $(elapsed) s of the ${budget} s budget"
if [ ${#failures[@]} -gt 0 ]; then
  printf 'gpu-check: %d stage(s) failed: %s\n' "${#failures[@]}" "$(IFS=';'; echo "${failures[*]}")"
  exit 1
fi
echo "gpu-check: all stages passed"
