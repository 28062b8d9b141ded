#!/usr/bin/env bash
# The package as a user gets it (issue 14): npm pack, install the tarball offline (tarball + npm cache, npm ci) into
# a fresh project with compilers and cmake hidden, libtorch moved to another folder, then predict the committed fixture
# with `npx foldtorch predict`, a plain .mjs and a .ts, each compared with fixture/expected.csv (|Δp| ≤ 1e-5).
# Run after the repository is set up (CI: .ci/run, after jest). One line per check, then
# "consumer: N passed, N failed"; the counts also go to build/consumer-results.json.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
fixture="$repo/test/consumer/fixture"
work=$(mktemp -d "${TMPDIR:-/tmp}/foldtorch-consumer-XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() {  # check NAME COMMAND...: runs it, prints ok/FAIL and the log's tail on failure
  local name=$1
  shift
  if "$@" >"$work/check.log" 2>&1; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    tail -n 25 "$work/check.log" | sed 's/^/       /'
    failed=$((failed + 1))
  fi
}
finish() {
  echo "consumer: $passed passed, $failed failed"
  mkdir -p "$repo/build"
  echo "{\"passed\": $passed, \"failed\": $failed}" >"$repo/build/consumer-results.json"
  [ "$failed" = 0 ]
  exit
}

# 1. The tarball: what a user downloads.
tarball=$(npm pack --silent --pack-destination "$work" 2>/dev/null | tail -n 1)
tar tzf "$work/$tarball" | sed 's|^package/||' | sort >"$work/contents.txt"
pack_contents() {
  local want
  for want in dist/src/index.js dist/src/index.d.ts dist/src/cli/cli.js prebuilds/linux-x64/foldtorch.node \
    prebuilds/linux-x64/foldtorch_preload.node prebuilds/linux-x64/foldtorch.json CMakeLists.txt native/addon.cc \
    native/bridge/preload.c scripts/libtorch.js scripts/build-native.sh README.md LICENSE package.json; do
    grep -qx "$want" "$work/contents.txt" || { echo "missing from the tarball: $want"; return 1; }
  done
  ! grep -E '^(test|bench|fuzz|dist/test|dist/bench|dist/fuzz|build)/|\.map$' "$work/contents.txt"
}
check "npm pack: $tarball ($(wc -l <"$work/contents.txt") files) has dist/, prebuilds/, native sources; no tests" pack_contents
runpath_is_origin() {
  readelf -d prebuilds/linux-x64/foldtorch.node | grep -E 'R(UN)?PATH'
  [ "$(readelf -d prebuilds/linux-x64/foldtorch.node | grep -cE 'R(UN)?PATH')" = 1 ] &&
    readelf -d prebuilds/linux-x64/foldtorch.node | grep -q 'RUNPATH.*\[\$ORIGIN\]'
}
check "the prebuilt's RUNPATH is \$ORIGIN only" runpath_is_origin

# 2. libtorch elsewhere: a hard-linked copy of the located torch folder (and of its venv, for FOLDTORCH_PYTHON).
torch_root=$(node scripts/libtorch.js --root)
torch_python=$(node -p "(require('./scripts/libtorch.js').locate({ light: true }) || {}).python || ''")
cp -al "$torch_root" "$work/libtorch" 2>/dev/null || cp -a "$torch_root" "$work/libtorch"
venv=""
if [ -n "$torch_python" ] && [ -f "$(dirname "$(dirname "$torch_python")")/pyvenv.cfg" ]; then
  src_venv=$(dirname "$(dirname "$torch_python")")
  cp -al "$src_venv" "$work/venv" 2>/dev/null || cp -a "$src_venv" "$work/venv"
  venv="$work/venv"
fi

# 3. A PATH with node, npm and Python but no compiler, make or cmake.
mkdir -p "$work/bin"
for tool in node npm npx python3 sh bash env dirname uname cat sed grep tar gzip rm mkdir cp ln mv chmod readlink; do
  found=$(command -v "$tool") && ln -s "$found" "$work/bin/$tool"
done
no_build_tools() {
  local tool
  for tool in gcc g++ cc c++ make cmake ninja; do
    if PATH="$work/bin" command -v "$tool"; then echo "$tool is still on PATH"; return 1; fi
  done
}
check "compilers, make and cmake hidden from PATH" no_build_tools
# The torch: LIBTORCH at the moved folder; nothing else to find (no project environment, no python3 with torch).
clean_env=(env -u FOLDTORCH_PYTHON -u FOLDTORCH_ADDON -u LIBTORCH PATH="$work/bin" FOLDTORCH_ENV="$work/no-env"
  FOLDTORCH_ART_DIR="$work/art" npm_config_update_notifier=false)
moved=("${clean_env[@]}" LIBTORCH="$work/libtorch")

# 4. Install offline into a fresh project (its lock pins this repository's versions: test/consumer/lockfile.js):
# nothing compiles (no install script, no compiler to run).
node test/consumer/lockfile.js "$work/app" "$work/$tarball"
install_offline() {
  (cd "$work/app" && "${clean_env[@]}" npm ci --offline --no-audit --no-fund) &&
    [ -f "$work/app/node_modules/foldtorch/prebuilds/linux-x64/foldtorch.node" ] &&
    [ ! -e "$work/app/node_modules/foldtorch/build" ]
}
check "npm ci --offline of the tarball into a fresh project (no build step ran)" install_offline
app() { (cd "$work/app" && "$@"); }

doctor_without_torch() {
  local out
  out=$(app "${clean_env[@]}" npx foldtorch doctor)
  local code=$?
  echo "$out"
  [ "$code" = 1 ] && grep -q 'libtorch: not found' <<<"$out" && grep -q 'npx foldtorch setup' <<<"$out"
}
check "npx foldtorch doctor without torch: exit 1, says libtorch not found and to run npx foldtorch setup" doctor_without_torch
doctor_moved() {
  local out
  out=$(app "${moved[@]}" npx foldtorch doctor) || { echo "$out"; return 1; }
  echo "$out"
  grep -q "^libtorch .* from $work/libtorch\$" <<<"$out" && grep -q '(prebuilt)$' <<<"$out" \
    && grep -Eq "^threads +intra-op ([0-9]+), inter-op [0-9]+, foldtorch's CPU kernels \1\$" <<<"$out"
}
check "npx foldtorch doctor: the prebuilt loads libtorch from the moved folder, its kernels on every intra-op thread" doctor_moved
setup_no_build() {
  local out
  out=$(app "${moved[@]}" npx foldtorch setup --no-build) || { echo "$out"; return 1; }
  echo "$out"
  grep -q 'the addon loads: nothing to build' <<<"$out"
}
check "npx foldtorch setup: torch found, the prebuilt fits, nothing built" setup_no_build
cli_predict() {
  app "${moved[@]}" npx foldtorch predict --run "$fixture/run" --data "$fixture/data" --out "$work/cli.csv" &&
    node test/consumer/compare.js "$work/cli.csv" "$fixture/expected.csv" 1e-5
}
check "npx foldtorch predict matches expected.csv (1e-5)" cli_predict

# 5. The API from the consumer's own files: a plain .mjs and a .ts (types checked, then run).
cp test/consumer/consumer.mjs test/consumer/consumer.mts test/consumer/consumer-bad.mts "$work/app/"
if [ -n "$venv" ]; then api_env=("${clean_env[@]}" FOLDTORCH_PYTHON="$venv/bin/python"); api_torch=$(cd "$work/venv" && find "$PWD" -path '*/torch/lib/libtorch_cpu.so' | head -n 1 | xargs dirname)
else api_env=("${moved[@]}"); api_torch="$work/libtorch/lib"; fi
mjs_predict() {
  app "${api_env[@]}" node consumer.mjs "$fixture/run" "$fixture/data" "$work/mjs.csv" "$fixture/expected.csv" \
    "$repo/test/consumer/compare.js" "$api_torch" &&
    node test/consumer/compare.js "$work/mjs.csv" "$fixture/expected.csv" 1e-5
}
check "consumer.mjs: import { predictRun } from 'foldtorch' matches expected.csv, libtorch from the moved folder" mjs_predict
cat >"$work/app/tsconfig.json" <<JSON
{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext", "target": "es2022", "strict": true,
  "outDir": "out", "types": ["node"], "typeRoots": ["$repo/node_modules/@types"] }, "files": ["consumer.mts"] }
JSON
echo '{ "extends": "./tsconfig.json", "compilerOptions": { "noEmit": true }, "files": ["consumer-bad.mts"] }' >"$work/app/tsconfig.bad.json"
tsc=(node "$repo/node_modules/typescript/bin/tsc")
ts_predict() {
  app "${clean_env[@]}" "${tsc[@]}" -p tsconfig.json &&
    app "${moved[@]}" node out/consumer.mjs "$fixture/run" "$fixture/data" "$work/ts.csv" &&
    node test/consumer/compare.js "$work/ts.csv" "$fixture/expected.csv" 1e-5
}
check "consumer.mts: type-checks against the package's types, compiles, runs, matches expected.csv" ts_predict
ts_rejects() {
  local out
  out=$(app "${clean_env[@]}" "${tsc[@]}" -p tsconfig.bad.json 2>&1)
  echo "$out"
  [ -z "$out" ] && return 1
  grep -q "consumer-bad.mts.*error TS2322: Type 'number' is not assignable to type 'string'" <<<"$out"
}
check "consumer-bad.mts (run: 1) fails the type check" ts_rejects

# 6. Worded errors from an installed package.
mismatch() {
  local info="$work/app/node_modules/foldtorch/prebuilds/linux-x64/foldtorch.json" out
  cp "$info" "$work/foldtorch.json.bak"
  node -e "const f=process.argv[1], j=require(f); j.torch='2.0.1'; require('fs').writeFileSync(f, JSON.stringify(j))" "$info"
  out=$(app "${moved[@]}" npx foldtorch doctor)
  local code=$?
  cp "$work/foldtorch.json.bak" "$info"
  echo "$out"
  [ "$code" = 1 ] && grep -q 'was built for torch 2.0.1 (cpu.*) but the torch found is torch 2\.' <<<"$out" &&
    grep -q 'python3 -m pip install torch==2.0.1 --index-url https://download.pytorch.org/whl/cpu' <<<"$out" &&
    ! grep -qi 'undefined symbol' <<<"$out"
}
check "a prebuilt for another torch: doctor names both torches and the pip command" mismatch
dataset_without_art() {
  local out
  out=$(app "${moved[@]}" npx foldtorch dataset emoji --out "$work/emoji" 2>&1)
  local code=$?
  echo "$out"
  [ "$code" = 1 ] && grep -q 'Run: npx foldtorch setup --art' <<<"$out" && ! grep -q 'Cannot find module' <<<"$out"
}
check "npx foldtorch dataset emoji without the artwork: names npx foldtorch setup --art" dataset_without_art
build_without_tools() {
  local out
  out=$(app "${moved[@]}" npx foldtorch build 2>&1)
  local code=$?
  echo "$out"
  [ "$code" = 1 ] && grep -q 'foldtorch build: cmake, c++, make not found on PATH' <<<"$out"
}
check "npx foldtorch build without compilers: names cmake, c++ and make" build_without_tools
finish
