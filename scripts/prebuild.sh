#!/usr/bin/env bash
# Builds the prebuilt CPU binary (prebuilds/linux-x64/foldtorch.node) with node-gyp + prebuildify, from the same
# native/ sources as the cmake-js build, beside it the libtorch preloader and foldtorch.json (the torch it is for).
# RUNPATH is $ORIGIN only: libtorch is found at run time, wherever it is. A scratch copy, as node-gyp wipes build/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
scratch="$root/build-prebuild"
mkdir -p "$scratch"
rsync -a --delete "$root/native" "$root/scripts" "$scratch/" 2>/dev/null || { rm -rf "$scratch/native" "$scratch/scripts"; cp -r "$root/native" "$root/scripts" "$scratch/"; }
cp "$root/binding.gyp" "$root/package.json" "$root/.npmrc" "$scratch/"
ln -sfn "$root/node_modules" "$scratch/node_modules"
# Paths relative to the scratch copy in ccache's hash: rebuilds and fresh clones reuse the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$scratch}"
launcher=""
command -v ccache >/dev/null && launcher="ccache "
cd "$scratch"
CXX="${launcher}${CXX:-g++}" CC="${launcher}${CC:-gcc}" JOBS="${FOLDTORCH_BUILD_JOBS:-$(nproc)}" \
  npx prebuildify --napi --strip --target "node@$(node -p process.versions.node)" >"$scratch/prebuild.log" 2>&1 \
  || { tail -40 "$scratch/prebuild.log"; exit 1; }
mkdir -p "$root/prebuilds/linux-x64"
built=$(ls "$scratch"/prebuilds/linux-x64/*.node | head -1)
cp "$built" "$root/prebuilds/linux-x64/foldtorch.node"
# The preloader needs no libtorch and no gyp target (prebuildify keeps one .node per build).
${CC:-gcc} -shared -fPIC -O2 -DNAPI_VERSION=8 -I"$(node -p "require('node-api-headers').include_dir")" \
  "$root/native/bridge/preload.c" -o "$root/prebuilds/linux-x64/foldtorch_preload.node" -ldl
node "$root/scripts/libtorch.js" --build-info >"$root/prebuilds/linux-x64/foldtorch.json"
echo "prebuilt: prebuilds/linux-x64/foldtorch.node (from $(basename "$built"))"
