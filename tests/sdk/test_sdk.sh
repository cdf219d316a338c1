#!/usr/bin/env bash
# The SDK as a plugin author uses it (docs/writing-a-plugin.md):
#   1. cmake --install the build into a prefix;
#   2. copy plugins/example, rename plugin and component, build it out of tree with
#      find_package(strata) against that prefix, and run its own conformance test;
#   3. the installed `strata` lists it and trains a model with it.
# Usage: test_sdk.sh BUILD_DIR SOURCE_ROOT WORK_DIR [extra cmake arguments for the plugin build]
set -euo pipefail
build=$1
src=$2
work=$3
shift 3
extra_cmake_args=("$@")
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log" || fail "cmake --install (see $work/install.log)"
[ -x "$prefix/bin/strata" ] || fail "no bin/strata in the install"
[ -f "$prefix/include/strata/build_fingerprint.h" ] || fail "generated fingerprint header not installed"
[ -f "$prefix/lib/cmake/strata/strataConfig.cmake" ] || fail "no CMake package config"
ls "$prefix"/lib/strata/plugins/strata_plugin_example.so >/dev/null || fail "example plugin not installed"
# The installed program uses the installed library, not the build tree's.
lib=$(ldd "$prefix/bin/strata" | awk '/libstrata_core.so/ {print $3}')
[ "$(readlink -f "$lib")" = "$(readlink -f "$prefix/lib/libstrata_core.so")" ] || fail "installed strata loads $lib, not $prefix/lib"


# 2. Copy and rename, as the guide says.
plugin=$work/myplugin
cp -r "$src/plugins/example" "$plugin"
sed -i -e 's/^set(PLUGIN_NAME example)/set(PLUGIN_NAME mine)/' "$plugin/CMakeLists.txt"
sed -i -e 's/STRATA_PLUGIN("example"/STRATA_PLUGIN("mine"/' -e 's/"shortconv"/"myconv"/g' \
       "$plugin/shortconv.cpp" "$plugin/check_shortconv.cpp"
cmake -S "$plugin" -B "$plugin/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  "${extra_cmake_args[@]}" \
  >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configuring the out-of-tree plugin"; }
cmake --build "$plugin/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "building the out-of-tree plugin"; }
[ -f "$plugin/build/strata_plugin_mine.so" ] || fail "strata_plugin_mine.so was not built"
# Only the two aliases are exported (hidden visibility).
exported=$(nm -D --defined-only "$plugin/build/strata_plugin_mine.so" | awk '{print $3}' | grep -c strata_plugin_ || true)
[ "$exported" = 2 ] || fail "expected 2 exported strata_plugin_* symbols, found $exported"
ctest --test-dir "$plugin/build" -V >"$work/ctest.log" 2>&1 || { cat "$work/ctest.log"; fail "the plugin's own test"; }
grep -q "all checks passed for mixer myconv" "$work/ctest.log" || { cat "$work/ctest.log"; fail "conformance report"; }

# 3. The installed strata finds it through --plugin-path and trains with it.
"$prefix/bin/strata" plugins --plugin-path "$plugin/build" >"$work/plugins.txt" || fail "strata plugins"
grep -q "mine 0.1.0" "$work/plugins.txt" || { cat "$work/plugins.txt"; fail "plugin 'mine' not listed"; }
grep -q "myconv" "$work/plugins.txt" || fail "component myconv not listed"
grep -q "example 0.1.0" "$work/plugins.txt" || fail "the installed example plugin is not found by default"

cat >"$work/experiment.toml" <<'TOML'
[plugins]
paths = ["myplugin/build"]   # relative to this file

[task]
type = "copy"
n_symbols = 4
copy_len = 4

[model]
d_model = 32
n_layers = 2

[model.mixer.M]
type = "myconv"
kernel_size = 5

[model.ffn.F]
type = "mlp"

[train]
steps = 150
batch_size = 16
lr = 0.01
warmup_steps = 10
eval_every = 150
log_every = 50
TOML
"$prefix/bin/strata" run "$work/experiment.toml" --out "$work/run" --quiet >"$work/run.txt" 2>&1 \
  || { cat "$work/run.txt"; fail "strata run with the out-of-tree plugin"; }
python3 - "$work/run/final.json" <<'PY' || fail "the model did not learn"
import json, sys
final = json.load(open(sys.argv[1]))
acc, chance = final["eval"]["accuracy"], final["chance_accuracy"]
print(f"eval accuracy {acc:.3f} (chance {chance:.3f})")
sys.exit(0 if acc > 3 * chance else 1)
PY
# 4. The application API: a program built against strata::app runs an experiment (the
#    installed example plugin's shortconv, found next to the installed library).
tool=$work/app_tool
cp -r "$src/tests/sdk/app_tool" "$tool"
cmake -S "$tool" -B "$tool/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  "${extra_cmake_args[@]}" >"$work/tool_configure.log" 2>&1 || { cat "$work/tool_configure.log"; fail "configuring the app tool"; }
cmake --build "$tool/build" >"$work/tool_build.log" 2>&1 || { cat "$work/tool_build.log"; fail "building the app tool"; }
sed -e 's/type = "myconv"/type = "shortconv"/' -e '/^\[plugins\]/,/^$/d' -e 's/^steps = 150/steps = 20/' \
  "$work/experiment.toml" >"$work/tool_experiment.toml"
"$tool/build/run_tool" "$work/tool_experiment.toml" "$work/tool_run" >"$work/tool_run.txt" 2>&1 ||
  { cat "$work/tool_run.txt"; fail "the app tool's run"; }
grep -q "^steps 20, records " "$work/tool_run.txt" || { cat "$work/tool_run.txt"; fail "the app tool's output"; }
[ -f "$work/tool_run/final.json" ] && [ -f "$work/tool_run/report.html" ] || fail "the app tool's run folder is incomplete"

echo "PASS: installed SDK, out-of-tree plugin built, checked, loaded and trained; an application-API program ran an experiment"
