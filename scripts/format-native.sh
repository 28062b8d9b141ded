#!/usr/bin/env bash
# clang-format over native/ (.clang-format at the root): rewrites the files, or with --check lists those that differ
# and fails. Debian's clang-format 14 is the reference (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format-native: no clang-format (Debian: apt-get install clang-format)" >&2; exit 1; }
mapfile -t files < <(git ls-files -- 'native/*.h' 'native/*.cc' 'native/*.c')
if [ "${1:-}" = --check ]; then
  clang-format --dry-run --Werror "${files[@]}"
else
  clang-format -i "${files[@]}"
fi
