#!/usr/bin/env bash
# The plugin fingerprint hashes the plugin-facing headers (framework/core/include) and
# nothing else: recomputed from a copy of that folder alone, it equals the build's; a
# comment added to a copied application header changes nothing, and one added to a copied
# core header changes the hash.
# Usage: test_fingerprint.sh SOURCE_ROOT BUILD_FINGERPRINT_HEADER WORK_DIR VERSION CUDA
set -euo pipefail
src=$1
built=$2
work=$3
version=$4
cuda=$5
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
cp -r "$src/framework/core/include" "$work/core"
hash_of() {
  cmake -DHEADER_DIR="$1" -DOUTPUT="$work/out.h" -DVERSION="$version" -DCUDA="$cuda" \
    -P "$src/cmake/StrataFingerprint.cmake"
  grep '^#define STRATA_HEADERS_HASH' "$work/out.h"
}
built_hash=$(grep '^#define STRATA_HEADERS_HASH' "$built")
[ "$(hash_of "$work/core")" = "$built_hash" ] || fail "the build's fingerprint is not the hash of framework/core/include alone"
echo "// a comment" >>"$work/core/strata/tensor.h"
[ "$(hash_of "$work/core")" != "$built_hash" ] || fail "a changed core header left the fingerprint unchanged"
for h in "$src"/framework/app/include/strata/*.h; do
  [ ! -e "$src/framework/core/include/strata/$(basename "$h")" ] || fail "$(basename "$h") is both a core and an application header"
done
echo "ok: the fingerprint covers the plugin-facing headers only"
