#!/usr/bin/env bash
# The strata command line as a user runs it: help and exit codes, located config errors,
# the plugin listing, inspect, check, and a tiny training run with its run folder.
#
#   tests/cli/test_cli.sh STRATA_BIN SOURCE_ROOT WORK_DIR
#
# WORK_DIR is recreated. Stops at the first failure, printing what was expected and
# what the command printed. Exit codes (framework/cli/main.cpp): 0 ok, 1 internal
# error, 2 bad input, 3 failing checks.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"

# ---- help and command-line errors -----------------------------------------------------
strata_expect 0 help --help
has stdout "Subcommands:"
for sub in run inspect plugins check; do
  strata_expect 0 "help_$sub" "$sub" --help
  has stdout "Usage:"
done
strata_expect 2 no_subcommand
strata_expect 2 unknown_subcommand nosuch
strata_expect 2 run_without_file run
has stderr "strata run needs an experiment file (or --resume RUN_FOLDER)"
strata_expect 2 check_without_type check
strata_expect 2 check_bad_kind check shortconv --kind router
strata_expect 2 unknown_option run experiments/quickstart.toml --no-such-flag
has stderr "--no-such-flag"

# ---- the SIMD instruction set: reported, chosen with STRATA_SIMD, a bad name refused -------
strata_expect 0 backends_simd backends
has_re stdout "^cpu kernels: [A-Z0-9_]+ SIMD \(this CPU runs: .*SCALAR"
STRATA_SIMD=scalar strata_expect 0 backends_simd_scalar backends
has stdout "cpu kernels: SCALAR SIMD"
STRATA_SIMD=avx9000 strata_expect 2 backends_simd_bad backends
has stderr "STRATA_SIMD: SIMD target 'avx9000' is not available on this CPU in this build; available:"
has stderr "SCALAR (or auto)"

# ---- experiment files that cannot be used ----------------------------------------------
strata_expect 2 run_missing_file run "$WORK/missing.toml" --out "$WORK/never"
has stderr "$WORK/missing.toml"
has stderr "not found"
[[ ! -e "$WORK/never" ]] || fail "a run that could not start created its run folder"

cat >"$WORK/bad.toml" <<'EOF'
[task]
type = "copy"

[model]
d_model = 16
n_layers = 2

[model.mixer.C]
type = "shortconv"
kernel_sise = 5
EOF
strata_expect 2 run_bad_key run "$WORK/bad.toml" --out "$WORK/never"
has stderr "$WORK/bad.toml:10:1: model.mixer.C.kernel_sise: unknown key"
has stderr "did you mean 'kernel_size'?"
[[ ! -e "$WORK/never" ]] || fail "a run with a bad config created its run folder"
strata_expect 2 inspect_bad_key inspect "$WORK/bad.toml"
has stderr "$WORK/bad.toml:10:1"
strata_expect 2 run_bad_set run experiments/quickstart.toml --set train.stepz=5 --out "$WORK/never"
has stderr "--set train.stepz=5: train.stepz: unknown key"
has stderr "did you mean 'steps'?"

# ---- train.device / --device --------------------------------------------------------------
strata_expect 2 run_bad_device run experiments/quickstart.toml --device tpu --out "$WORK/never"
has stderr "train.device: unknown device 'tpu'"
has stderr "use cpu, cuda (the first GPU) or cuda:N"
[[ ! -e "$WORK/never" ]] || fail "a run with a bad device created its run folder"
strata_expect 0 backends_cuda_line backends
if grep -qE '^cuda: (not built|built, 0 device)' "$WORK/backends_cuda_line.stdout"; then
  # no GPU here: asking for one is refused before anything is written, and says why
  strata_expect 2 run_cuda_absent run experiments/quickstart.toml --device cuda:1 --out "$WORK/never"
  has stderr "train.device:"
  has_re stderr "built without CUDA|no CUDA device is visible"
  [[ ! -e "$WORK/never" ]] || fail "a run on a missing GPU created its run folder"
  strata_expect 2 sweep_cuda_absent run experiments/quickstart.toml --device cuda --sweep train.seed=0,1 --out "$WORK/never"
  has stderr "train.device:"
  [[ ! -e "$WORK/never" ]] || fail "a sweep on a missing GPU created its folder"
fi

# ---- plugins --------------------------------------------------------------------------------
strata_expect 0 plugins plugins
has stdout "example 0.1.0"
has_re stdout '^  shortconv  -- '
has stdout "kernel_size (integer, default 4, in [1, 256])"
for key in expand gate bias; do has_re stdout "^      $key \\("; done
for builtin in mlp pattern copy text; do has_re stdout "^  $builtin  -- "; done
has stdout "path (string, required)"
has_re stdout '^  JambaForCausalLM  -- stack jamba: attention \+ mamba \+ mlp \+ moe  \[jamba\]'
strata_expect 2 plugins_bad_path plugins --plugin-path /nonexistent
has stderr "/nonexistent"
# A copied build tree (bin/ and lib/ elsewhere; the program still loads the original
# library through its build RPATH): both default folders hold the same plugin files, which
# count once.
copy="$WORK/copied_tree"
rm -rf "$copy" && mkdir -p "$copy"
bin_dir=$(dirname "$STRATA")
cp -r "$bin_dir" "$copy/bin" && cp -r "$bin_dir/../lib" "$copy/lib"
"$copy/bin/$(basename "$STRATA")" plugins >"$WORK/copied_plugins.txt" 2>&1 || { cat "$WORK/copied_plugins.txt"; fail "a copied build tree cannot list its plugins"; }
grep -q "example 0.1.0" "$WORK/copied_plugins.txt" || fail "the copied tree does not list the example plugin"

# ---- inspect ---------------------------------------------------------------------------------
# The main job's experiment (scripts/run): Jamba-v0.1's layout over 8 layers.
strata_expect 0 inspect_jamba inspect experiments/jamba_tiny.toml
has_re stdout '^4 +attention \(attention\) +[0-9]+ +mlp \(mlp\)'
has_re stdout '^3 +mamba \(mamba\) +[0-9]+ +moe \(moe\)'
has_re stdout '^0 +mamba \(mamba\) +[0-9]+ +mlp \(mlp\)'

strata_expect 0 inspect inspect experiments/quickstart.toml
layers=$(grep -cE '^[0-9]+ +C \(shortconv\) +[0-9]+ +F \(mlp\) +[0-9]+ +[0-9]+$' "$WORK/inspect.stdout" || true)
[[ $layers -eq 4 ]] || fail "inspect: expected 4 layer lines 'N  C (shortconv) P  F (mlp) P A', found $layers"
has_re stdout '^0 +C \(shortconv\)'
has_re stdout '^3 +C \(shortconv\)'
has_re stdout '^ +total +[0-9]+ '
# the total is the sum of its parts
awk '$1 == "embedding" || $1 == "norms" { sum += $2 }
     $1 == "mixer" || $1 == "ffn" { sum += $5 }
     $1 == "total" { total = $2 }
     END { if (total == 0 || sum != total) { print "parts sum to " sum ", total " total; exit 1 } }' \
  "$WORK/inspect.stdout" >"$WORK/inspect.sum" || fail "inspect: $(cat "$WORK/inspect.sum")"

# --json with --context: the plan's keys, and a cache that grows with the context.
strata_expect 0 inspect_json inspect experiments/jamba_tiny.toml --json --context 1024
python3 - "$WORK/inspect_json.stdout" <<'EOF' || fail "inspect --json"
import json, sys
plan = json.load(open(sys.argv[1]))
for key in ("params_total", "params_active", "cache_bytes", "flops_per_token", "layers"):
    assert key in plan, key
assert plan["params_active"] < plan["params_total"], plan
# K and V of 2 KV heads x 16 channels, 1024 positions, 4 bytes
assert plan["mixers"]["attention"]["cache_bytes"] == 2 * 32 * 1024 * 4, plan["mixers"]
EOF
strata_expect 2 inspect_bad_dtype inspect experiments/jamba_tiny.toml --context 8 --dtype f8
# Memory plans: a named machine, a size, a sweep, and the errors.
strata_expect 0 inspect_target inspect experiments/presets/mixtral-8x7b.toml --target dgx-spark --dtype bf16 --context 4096
has stdout "memory plan: 128.00 GiB (dgx-spark)"
has_re stdout '^  total +[0-9.]+ GiB  fits$'
has_re stdout '^  longest context that fits: [0-9,]+ tokens$'
strata_expect 0 inspect_memory_json inspect experiments/jamba_tiny.toml --memory 1GiB --batch 4 --seq-len 512 --json
python3 - "$WORK/inspect_memory_json.stdout" <<'EOF' || fail "inspect --memory --json"
import json, sys
m = json.load(open(sys.argv[1]))["memory"]
assert m["budget_bytes"] == 2**30 and m["batch"] == 4 and m["seq_len"] == 512 and m["context"] == 512, m
assert m["train_fits"] and m["decode_fits"] and m["max_train_seq_len"] > 512, m
assert m["train_bytes"] == m["train_state_bytes"] + m["activation_bytes"] + m["workspace_bytes"], m
EOF
strata_expect 0 inspect_memory_sweep inspect experiments/labs/context_length.toml --memory 8GiB --seq-len 8192
has_re stdout '^mamba .* unbounded'
strata_expect 2 inspect_bad_memory inspect experiments/jamba_tiny.toml --memory 12XB
has stderr "memory size '12XB' is not a size"
strata_expect 2 inspect_bad_target inspect experiments/jamba_tiny.toml --target dgx-sparc
has stderr "known: dgx-spark"
strata_expect 2 inspect_batch_alone inspect experiments/jamba_tiny.toml --batch 4
has stderr "give --memory SIZE or --target NAME"

# ---- check -----------------------------------------------------------------------------------
strata_expect 0 check check shortconv
passes=$(grep -c '^PASS' "$WORK/check.stdout" || true)
[[ $passes -ge 3 ]] || fail "check: expected at least 3 PASS lines, found $passes"
! grep -q '^FAIL' "$WORK/check.stdout" || fail "check: a FAIL line in a passing check"
has stdout "all checks passed"
strata_expect 2 check_unknown check nosuch
has stderr '"nosuch"'
has stderr "known mixers: attention, gated_deltanet, mamba, mamba2, shortconv"

# ---- a tiny run --------------------------------------------------------------------------------
# Copy 4 symbols (alphabet 4: chance 0.25) over a gap of 4 positions; one layer's
# kernel of 5 reaches back that far. Learns to ~1.0 in 60 steps (well under a second).
cat >"$WORK/tiny.toml" <<'EOF'
[task]
type = "copy"
n_symbols = 4
copy_len = 4
n_blanks = 0

[model]
d_model = 16
n_layers = 2

[model.mixer.C]
type = "shortconv"
kernel_size = 5

[model.ffn.F]
type = "mlp"

[train]
steps = 60
batch_size = 16
lr = 1e-2
warmup_steps = 5
eval_every = 30
log_every = 10
EOF
RUN1=$WORK/run1
strata_expect 0 run1 run "$WORK/tiny.toml" --out "$RUN1"
for f in config.toml plan.txt metrics.jsonl final.json; do
  [[ -s "$RUN1/$f" ]] || fail "run1: the run folder has no (or an empty) $f"
done
has stdout "final: "
has stdout "run folder: $RUN1"

# Output that is not a terminal: plain "step N/M" lines, no progress bar.
for s in 10 20 30 40 50 60; do has_re stderr "^step $s/60 "; done
if grep -q $'\r' "$WORK/run1.stderr" "$WORK/run1.stdout"; then fail "run1: carriage returns in non-terminal output"; fi
if grep -q $'\033' "$WORK/run1.stderr" "$WORK/run1.stdout"; then fail "run1: escape codes in non-terminal output"; fi

grep -q '^# weight_decay = 0.01  # default' "$RUN1/config.toml" || fail "run1: config.toml lacks the default weight_decay (as a comment)"
grep -q '^# expand = 1  # default$' "$RUN1/config.toml" || fail "run1: config.toml lacks the plugin default expand = 1 (as a comment)"
grep -qE '^0 +C \(shortconv\)' "$RUN1/plan.txt" || fail "run1: plan.txt has no layer 0 line"

python3 - "$RUN1" <<'EOF' || fail "run1: the run folder's files are not as expected (above)"
import json, pathlib, sys, tomllib

run = pathlib.Path(sys.argv[1])
config = tomllib.loads((run / "config.toml").read_text())
assert config["train"]["steps"] == 60 and "weight_decay" not in config["train"], config["train"]  # defaults are comments
assert config["model"]["mixer"]["C"]["kernel_size"] == 5, config["model"]

lines = (run / "metrics.jsonl").read_text().splitlines()
declarations = json.loads(lines[0])  # the components' metric series, before the first record
assert set(declarations) == {"series"} and isinstance(declarations["series"], list), declarations
records = [json.loads(line) for line in lines[1:]]
assert [r["step"] for r in records] == [10, 20, 30, 40, 50, 60], [r.get("step") for r in records]
for r in records:
    assert isinstance(r, dict), r
    missing = {"step", "loss", "lr", "tokens_per_s"} - r.keys()
    assert not missing, f"step {r['step']} lacks {missing}"
assert "eval_loss" in records[2] and "eval_accuracy" in records[2], "no eval at step 30 (eval_every 30)"
last = records[-1]
assert "eval_loss" in last and "eval_accuracy" in last, f"the last line has no eval: {last}"

final = json.loads((run / "final.json").read_text())
assert final["steps"] == 60, final
assert final["chance_accuracy"] == 0.25, final
accuracy = final["eval"]["accuracy"]
assert accuracy > 0.9, f"eval accuracy {accuracy}: the tiny copy task did not learn (chance 0.25)"
assert final["eval"]["loss"] < final["initial_eval"]["loss"] / 4, final
assert abs(last["eval_accuracy"] - accuracy) < 1e-12, (last, final["eval"])
EOF
echo "ok: run1 folder (config.toml, plan.txt, metrics.jsonl, final.json; accuracy above chance)"

# The resolved config is itself a valid experiment.
strata_expect 0 inspect_resolved inspect "$RUN1/config.toml"
has_re stdout '^1 +C \(shortconv\)'

# A hybrid MoE model's log line: the per-layer values once per name, as a range over the
# layers, never one fully qualified key per layer (metrics.jsonl keeps those).
strata_expect 0 moe_console run experiments/jamba_tiny.toml --out "$WORK/moe_console" --set train.steps=4 \
  --set train.warmup_steps=0 --set train.log_every=2 --set train.eval_every=4
has_re stderr "^step 4/4  loss [0-9.]+  lr [0-9.e+-]+  tok/s [0-9]+  grad_norm [0-9.]+  switch_aux [0-9.e-]+-[0-9.e-]+  .*load_cv [0-9.e-]+"
if grep -q "layers\." "$WORK/moe_console.stderr"; then fail "moe_console: a per-layer key on the console"; fi
grep -q '"metric.layers.1.ffn.load_cv"' "$WORK/moe_console/metrics.jsonl" || fail "moe_console: metrics.jsonl lost the per-layer values"

# ---- checkpoint, generate, logits ------------------------------------------------------------
[[ -f "$RUN1/checkpoint/model.safetensors" && -f "$RUN1/checkpoint/experiment.toml" ]] ||
  fail "run1: no checkpoint folder"
strata_expect 0 generate generate "$RUN1/checkpoint" --prompt "1 2 3; 4 5 0" --max-new-tokens 5
[[ $(grep -cE '^[0-9]+( [0-9]+){4}$' "$WORK/generate.stdout") -eq 2 ]] || fail "generate: expected 2 lines of 5 ids"
has stderr "cache after"
strata_expect 0 generate_json generate "$RUN1/checkpoint" --prompt "1 2 3" --max-new-tokens 4 --temperature 0.8 \
  --top-k 5 --top-p 0.9 --seed 3 --json
python3 - "$WORK/generate_json.stdout" <<'EOF' || fail "generate --json"
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["tokens"]) == 1 and len(r["tokens"][0]) == 4, r
assert r["cache_bytes"] == sum(r["cache_bytes_by_mixer"].values()) > 0, r
EOF
strata_expect 0 logits logits "$RUN1/checkpoint" --tokens "1 2 3; 4 5 0" --out "$WORK/logits.safetensors"
python3 - "$WORK/logits.safetensors" <<'EOF' || fail "logits file"
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
assert header["logits"]["dtype"] == "F32" and header["logits"]["shape"][:2] == [2, 3], header
assert header["input_ids"]["dtype"] == "I64" and header["input_ids"]["shape"] == [2, 3], header
EOF
strata_expect 2 generate_no_prompt generate "$RUN1/checkpoint"
has stderr "needs a prompt"
strata_expect 2 generate_out_of_vocab generate "$RUN1/checkpoint" --prompt "1 999"
has stderr "token id 999 (sequence 1, position 1) is outside the vocabulary"
strata_expect 2 generate_not_checkpoint generate "$WORK" --prompt "1"
has stderr "not a checkpoint"
strata_expect 2 generate_bad_device generate "$RUN1/checkpoint" --prompt "1" --device tpu
has stderr "--device tpu: unknown device 'tpu'"
strata_expect 2 check_bad_device check mlp --device gpu
has stderr "--device gpu: unknown device 'gpu'"
strata_expect 2 eval_bad_device eval "$RUN1/checkpoint" --device cuda:x
has stderr "--device cuda:x: unknown device 'cuda:x'"
if grep -qE '^cuda: (not built|built, 0 device)' "$WORK/backends_cuda_line.stdout"; then
  strata_expect 2 generate_cuda_absent generate "$RUN1/checkpoint" --prompt "1" --device cuda
  has_re stderr "--device cuda: .*(built without CUDA|no CUDA device is visible)"
fi
strata_expect 2 logits_ragged logits "$RUN1/checkpoint" --tokens "1 2; 3" --out "$WORK/x.safetensors"
has stderr "sequence 2 has 1 ids, sequence 1 has 2"
strata_expect 2 logits_missing_file logits "$RUN1/checkpoint" --tokens ids.npy --out "$WORK/x.safetensors"
has stderr "no such file: ids.npy"
strata_expect 2 generate_text_synthetic generate "$RUN1/checkpoint" --text "hello"
has stderr "has no tokenizer: its task \"copy\" is synthetic"

# ---- text through a model's tokenizer: train, generate --text, logits --text ----------------
strata_expect 0 tokenize tokenize tests/fixtures/tokenizers/llama3 --text "Hello world" --special
python3 - "$WORK/tokenize.stdout" tests/fixtures/tokenizers/llama3/expected.json <<'EOF' || fail "tokenize ids"
import json, sys
ids = [int(i) for i in open(sys.argv[1]).read().split()]
want = next(r for r in json.load(open(sys.argv[2])) if r["text"] == "Hello world")
assert ids == want["ids_special"], (ids, want)
EOF
strata_expect 0 tokenize_decode tokenize tests/fixtures/tokenizers/llama3 --decode "$(cat "$WORK/tokenize.stdout")"
has stdout "Hello world"
strata_expect 2 tokenize_bad_id tokenize tests/fixtures/tokenizers/llama3 --decode "1 99999"
has stderr "99999"

cat >"$WORK/tokenized.toml" <<EOF
[task]
type = "text"
path = "$SRC/experiments/labs/data/shakespeare_300k.txt"
tokenizer = "$SRC/tests/fixtures/tokenizers/qwen2"
seq_len = 16
[model]
d_model = 16
n_layers = 1
[model.mixer.C]
type = "shortconv"
[model.ffn.F]
type = "mlp"
[train]
steps = 4
batch_size = 2
eval_every = 0
eval_batches = 1
EOF
strata_expect 0 tokenized_run run "$WORK/tokenized.toml" --out "$WORK/tokenized"
cmp -s "$WORK/tokenized/checkpoint/tokenizer.json" tests/fixtures/tokenizers/qwen2/tokenizer.json ||
  fail "tokenized_run: the checkpoint does not carry the task's tokenizer.json"
grep -q '"tokenizer.json"' "$WORK/tokenized/checkpoint/manifest.json" || fail "tokenized_run: manifest misses tokenizer.json"
strata_expect 0 generate_text generate "$WORK/tokenized/checkpoint" --text "First Citizen:" --max-new-tokens 6 --json
python3 - "$WORK/generate_text.stdout" <<'EOF' || fail "generate --text --json"
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["tokens"][0]) == 6 and isinstance(r["text"][0], str) and len(r["text"][0]) > 0, r
EOF
strata_expect 0 logits_text logits "$WORK/tokenized/checkpoint" --text "First Citizen: <|im_end|>" \
  --out "$WORK/text_logits.safetensors"
has stderr "input_ids [1, "
strata_expect 2 logits_text_bad_utf8 logits "$WORK/tokenized/checkpoint" --text $'caf\xe9' --out "$WORK/x.safetensors"
has stderr "--text: text is not valid UTF-8 at byte 3"
# A changed tokenizer file fails the checkpoint's manifest.
cp -r "$WORK/tokenized/checkpoint" "$WORK/tampered"
echo " " >>"$WORK/tampered/tokenizer.json"
strata_expect 2 tampered_tokenizer generate "$WORK/tampered" --text "hi"
has stderr "tokenizer.json"

printf '[model]\nd_model = 8\nvocab_size = 10\n[model.mixer.m]\ntype = "shortconv"\n' >"$WORK/model_only.toml"
strata_expect 2 run_model_only run "$WORK/model_only.toml" --out "$WORK/model_only"
has stderr "no [task] to train on"
strata_expect 0 inspect_model_only inspect "$WORK/model_only.toml"

# ---- Hugging Face interop ------------------------------------------------------------------
# A Mixtral made by transformers: import, logits for its stored prompt, export, and errors.
strata_expect 0 import_hf import-hf tests/fixtures/hf/mixtral --out "$WORK/mixtral"
has stdout "imported MixtralForCausalLM"
strata_expect 0 logits_hf logits "$WORK/mixtral" --tokens tests/fixtures/hf/mixtral/expected.safetensors \
  --out "$WORK/mixtral_logits.safetensors"
# The folder's tokenizer travels with the model, and on to the export.
cp -r tests/fixtures/hf/mixtral "$WORK/mixtral_src_tok"
cp tests/fixtures/tokenizers/gpt2/tokenizer.json "$WORK/mixtral_src_tok/"
strata_expect 0 import_hf_tokenizer import-hf "$WORK/mixtral_src_tok" --out "$WORK/mixtral_tok"
has stdout "model.safetensors, tokenizer.json)"
strata_expect 2 generate_text_wrong_tokenizer generate "$WORK/mixtral_tok" --text "hello world"
has stderr "the tokenizer gives token 258, but the model has 96 tokens"
strata_expect 0 export_hf_tokenizer export-hf "$WORK/mixtral_tok" --out "$WORK/mixtral_tok_hf"
cmp -s "$WORK/mixtral_tok_hf/tokenizer.json" tests/fixtures/tokenizers/gpt2/tokenizer.json ||
  fail "export-hf: the tokenizer.json did not travel"
# GGUF for llama.cpp (bench/llama_cpp/compare_gguf.py runs such files in llama.cpp itself).
strata_expect 0 export_gguf export-gguf "$WORK/mixtral" --out "$WORK/mixtral.gguf" --type q8_0
has stdout "exported MixtralForCausalLM as llama.cpp's llama (q8_0,"
python3 - "$WORK/mixtral.gguf" <<'EOF' || fail "export-gguf: not a GGUF v3 file"
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:4] == b"GGUF" and struct.unpack("<I", data[4:8])[0] == 3, data[:8]
EOF
strata_expect 2 export_gguf_no_counterpart export-gguf "$RUN1/checkpoint" --out "$WORK/run1.gguf"
has stderr "no Hugging Face counterpart"
[[ ! -e "$WORK/run1.gguf" ]] || fail "export_gguf_no_counterpart: wrote a file"
strata_expect 2 export_gguf_bad_type export-gguf "$WORK/mixtral" --out "$WORK/x.gguf" --type q4_k
strata_expect 0 inspect_hf inspect "$WORK/mixtral"
has_re stdout '^1 +attention \(attention\) +[0-9]+ +moe \(moe\)'
strata_expect 0 export_hf export-hf "$WORK/mixtral" --out "$WORK/mixtral_hf"
python3 - "$WORK/mixtral_hf/config.json" <<'EOF' || fail "export-hf config.json"
import json, sys
config = json.load(open(sys.argv[1]))
assert config["architectures"] == ["MixtralForCausalLM"] and config["num_local_experts"] == 4, config
EOF
# Gradients in the Hugging Face layout: one grad.<name> per exported tensor, same shape.
strata_expect 0 logits_grads logits "$WORK/mixtral" --tokens "1 2 3 4; 5 6 7 8" --grads hf \
  --out "$WORK/mixtral_grads.safetensors"
python3 - "$WORK/mixtral_grads.safetensors" "$WORK/mixtral_hf/model.safetensors" <<'EOF' || fail "logits --grads hf"
import json, struct, sys
def header(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    return {k: v for k, v in json.loads(data[8:8 + n]).items() if k != "__metadata__"}
grads, weights = header(sys.argv[1]), header(sys.argv[2])
assert grads["loss"]["shape"] == [], grads["loss"]
for name, info in weights.items():
    assert grads["grad." + name]["shape"] == info["shape"], name
assert len([k for k in grads if k.startswith("grad.")]) == len(weights)
EOF
strata_expect 2 logits_grads_one_token logits "$WORK/mixtral" --tokens "1; 2" --grads strata --out "$WORK/x.safetensors"
has stderr "at least 2 tokens"
# init: an experiment's fresh model as a checkpoint (here a small Mixtral-style one), which exports.
strata_expect 0 init init bench/models/moe.toml --out "$WORK/init_moe" --set model.d_model=32 \
  --set model.n_layers=1 --set model.ffn.moe.d_ff=16 --set model.mixer.attention.n_heads=2
strata_expect 0 init_export export-hf "$WORK/init_moe" --out "$WORK/init_moe_hf"
strata_expect 2 init_bad_key init bench/models/moe.toml --out "$WORK/init_bad" --set model.d_modle=32
has stderr "did you mean 'd_model'?"
[[ ! -e "$WORK/init_bad" ]] || fail "init_bad_key: wrote $WORK/init_bad"
strata_expect 2 import_hf_not_a_model import-hf experiments --out "$WORK/nothing"
has stderr "config.json: no such file"
[[ ! -e "$WORK/nothing" ]] || fail "import_hf_not_a_model: wrote $WORK/nothing"
# --explain: how every config.json key is treated, nothing imported.
strata_expect 0 import_hf_explain import-hf tests/fixtures/hf/rope_scaling/transformers5_yarn --explain
has stdout "LlamaForCausalLM: every config.json key, as the import treats it"
has stdout "rope_parameters.beta_fast"
has stdout "irrelevant: a special token id, for tokenizers and generation"
strata_expect 2 import_hf_no_out import-hf tests/fixtures/hf/mixtral
has stderr "import-hf needs --out CHECKPOINT_FOLDER"
strata_expect 2 export_hf_shortconv export-hf "$RUN1/checkpoint" --out "$WORK/shortconv_hf"
has stderr "has no Hugging Face counterpart"

# The control: a kernel of 1 sees no earlier token, so the same run stays near chance.
# (This is what makes "above chance" above mean something.)
strata_expect 0 run_control run "$WORK/tiny.toml" --out "$WORK/control" --quiet --set model.mixer.C.kernel_size=1
python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["eval"]["accuracy"]
assert a < 0.4, f"kernel_size 1 reached accuracy {a}: the copy task can be solved without looking back?"
' "$WORK/control/final.json" || fail "run_control: accuracy not near chance"

# --set overrides the file; the resolved config records the override.
strata_expect 0 run_set run "$WORK/tiny.toml" --out "$WORK/run2" --set train.steps=5
has_re stderr '^step 5/5 '
grep -q '^steps = 5$' "$WORK/run2/config.toml" || fail "run_set: config.toml does not have steps = 5"
python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))["steps"] == 5
records = [json.loads(l) for l in open(sys.argv[2])]
assert records[-1]["step"] == 5, records
' "$WORK/run2/final.json" "$WORK/run2/metrics.jsonl" || fail "run_set: --set train.steps=5 did not take effect"

# --quiet prints only the final line(s).
strata_expect 0 run_quiet run "$WORK/tiny.toml" --out "$WORK/run3" --quiet --set train.steps=5
if grep -q '^step ' "$WORK/run_quiet.stderr"; then fail "run_quiet: step lines with --quiet"; fi
has stdout "final: "


# ---- run tables, eval ------------------------------------------------------------------------
for f in metrics.csv report.html checkpoint/state.json checkpoint/optimizer.safetensors; do
  [[ -s "$RUN1/$f" ]] || fail "run1: the run folder has no (or an empty) $f"
done
head -1 "$RUN1/metrics.csv" | grep -q '^step,' || fail "run1: metrics.csv has no header starting with step"
[[ $(wc -l <"$RUN1/metrics.csv") -eq 7 ]] || fail "run1: metrics.csv should have a header and 6 rows"
strata_expect 0 eval eval "$RUN1/checkpoint" --batches 2
has_re stdout '^seq_len +8 +loss [0-9.]+ +accuracy [0-9.]+ \(chance 0.2500\)'
strata_expect 2 eval_no_seq_len eval "$RUN1/checkpoint" --seq-len 16
has stderr "task.seq_len"

# keep_checkpoints: the newest N snapshots stay, each a checkpoint eval can read.
strata_expect 0 run_keep run "$WORK/tiny.toml" --out "$WORK/run_keep" --quiet --set train.steps=6 \
  --set train.checkpoint_every=2 --set train.keep_checkpoints=2
[[ "$(ls "$WORK/run_keep/checkpoints")" == $'step-000004\nstep-000006' ]] ||
  fail "run_keep: checkpoints/ holds $(ls "$WORK/run_keep/checkpoints" | tr '\n' ' '), not step-000004 step-000006"
strata_expect 0 eval_snapshot eval "$WORK/run_keep/checkpoints/step-000004" --batches 1

# ---- resume: interrupted by SIGINT, continued, equal to the uninterrupted run ----------------
# A long run interrupted by SIGINT writes its checkpoint and exits 130; --resume finishes it
# with the same logged values as one run without interruption (one thread on both sides).
# The tiny run made long: 400 steps on one thread.
LONG=(--set train.steps=400 --set train.eval_every=100 --set train.log_every=20 --set train.threads=1)
strata_expect 0 run_straight run "$WORK/tiny.toml" "${LONG[@]}" --out "$WORK/straight" --quiet
"$STRATA" run "$WORK/tiny.toml" "${LONG[@]}" --out "$WORK/interrupted" >"$WORK/sigint.stdout" \
  2>"$WORK/sigint.stderr" </dev/null &
pid=$!
for _ in $(seq 1 200); do grep -q '^step ' "$WORK/sigint.stderr" 2>/dev/null && break; sleep 0.02; done
kill -INT $pid
rc=0; wait $pid || rc=$?
LAST=sigint
if [[ $rc -eq 0 ]]; then
  echo "note: the run finished before SIGINT arrived; the resume check is skipped"
else
  [[ $rc -eq 130 ]] || fail "sigint: exit code $rc, expected 130"
  has stdout "continue with: strata run --resume $WORK/interrupted"
  strata_expect 0 run_resume run --resume "$WORK/interrupted"
  python3 - "$WORK/straight/metrics.jsonl" "$WORK/interrupted/metrics.jsonl" <<'EOF' || fail "resume: metrics differ"
import json, sys
def load(path):
    rows = [json.loads(l) for l in open(path)]
    for r in rows:
        r.pop("tokens_per_s", None)
    return rows
a, b = load(sys.argv[1]), load(sys.argv[2])
assert "series" in a[0] and a[0] == b[0], "the declarations line differs"  # kept through the resume
assert [r.get("step") for r in a] == [r.get("step") for r in b], ([r.get("step") for r in a], [r.get("step") for r in b])
assert a == b, next((x, y) for x, y in zip(a, b) if x != y)
EOF
  echo "ok: resume after SIGINT equals the uninterrupted run"
fi
strata_expect 2 resume_nothing run --resume "$WORK/nothing_here"
has stderr "no checkpoint folder in it"

# ---- sweeps ------------------------------------------------------------------------------------
cp "$WORK/tiny.toml" "$WORK/sweep.toml"
printf '[sweep]\n"model.mixer.C.kernel_size" = [1, 5]\n' >>"$WORK/sweep.toml"
strata_expect 0 sweep run "$WORK/sweep.toml" --out "$WORK/sweep" --seeds 0,1 --set train.steps=30 \
  --set run.name=kernel_sweep
python3 - "$WORK/sweep/summary.csv" <<'EOF' || fail "sweep: summary.csv"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["name"] for r in rows] == ["kernel_size-1_seed-0", "kernel_size-1_seed-1", "kernel_size-5_seed-0",
                                        "kernel_size-5_seed-1"], rows
assert all(r["status"] == "ok" and r["steps"] == "30" for r in rows), rows
# The swept setting matters: a kernel of 5 sees the data, a kernel of 1 does not.
acc = {r["name"]: float(r["eval_accuracy"]) for r in rows}
assert acc["kernel_size-5_seed-0"] > acc["kernel_size-1_seed-0"] + 0.2, acc
# Full precision: the values are final.json's to the last bit; summary.md rounds them.
import json, pathlib
for r in rows:
    final = json.load(open(pathlib.Path(sys.argv[1]).parent / r["name"] / "final.json"))
    assert float(r["eval_loss"]) == final["eval"]["loss"], (r["eval_loss"], final["eval"]["loss"])
    assert float(r["train_loss"]) == final["train_loss"], (r["train_loss"], final["train_loss"])
md = (pathlib.Path(sys.argv[1]).parent / "summary.md").read_text()
# Each variant's report is titled with the variant, its settings and a link to the sweep's;
# the sweep's report with the experiment's name.
sweep = pathlib.Path(sys.argv[1]).parent
variant = (sweep / "kernel_size-5_seed-1" / "report.html").read_text()
assert "<h1>kernel_size-5_seed-1</h1>" in variant, variant[:2000]
assert '<a href="../report.html">kernel_sweep</a>: model.mixer.C.kernel_size = 5, train.seed = 1' in variant
assert "<h1>kernel_sweep</h1>" in (sweep / "report.html").read_text()
assert ("| %.4f |" % float(rows[0]["eval_loss"])) in md, md
# Over seeds: one row per variant with each metric's mean, std and 95% interval.
variants = list(csv.DictReader(open(sweep / "summary_variants.csv")))
assert [v["name"] for v in variants] == ["kernel_size=1", "kernel_size=5"], variants
for v, size in zip(variants, ["1", "5"]):
    assert v["seeds"] == "2" and v["model.mixer.C.kernel_size"] == size, v
    accs = [float(r["eval_accuracy"]) for r in rows if r["model.mixer.C.kernel_size"] == size]
    assert abs(float(v["eval_accuracy_mean"]) - sum(accs) / 2) < 1e-12, (v, accs)
    assert float(v["eval_accuracy_ci_low"]) <= float(v["eval_accuracy_mean"]) <= float(v["eval_accuracy_ci_high"]), v
assert variants[0]["eval_loss_p"] == "" and 0 <= float(variants[1]["eval_loss_p"]) <= 1, variants
assert "## Over seeds" in md, md
# The sweep report opens with the ranking, before the charts.
page = (sweep / "report.html").read_text()
assert 0 < page.index('<h2 id="ranking">') < page.index('<h2 id="curves">'), page[:3000]
EOF
[[ -f "$WORK/sweep/kernel_size-5_seed-1/checkpoint/model.safetensors" ]] || fail "sweep: a variant has no checkpoint"
python3 - "$WORK/sweep/report.html" "$RUN1/report.html" <<'EOF' || fail "reports: not well-formed HTML with inline charts"
import sys
from html.parser import HTMLParser
for path in sys.argv[1:]:
    text = open(path).read()
    assert text.startswith("<!DOCTYPE html>"), path
    assert "http://" not in text and "https://" not in text and "<script" not in text, path
    class Count(HTMLParser):
        svgs = 0
        def handle_starttag(self, tag, attrs):
            if tag == "svg": self.svgs += 1
    c = Count(); c.feed(text)
    assert c.svgs >= 3, (path, c.svgs)
EOF
# The console ends with the ranked table over seeds, which fits the terminal, and the tests.
has stdout "Each variant against kernel_size=1: Welch's t-test over the seeds"
has stdout "sweep folder: $WORK/sweep (summary.csv, summary.md, summary_variants.csv, report.html)"

# strata compare: the sweep and a run made apart from it, as one comparison.
strata_expect 0 compare compare "$WORK/sweep" "$RUN1" --out "$WORK/comparison.html"
has stdout "kernel_size=5"
has stdout "report: $WORK/comparison.html"
grep -q '<h2 id="ranking">Ranking</h2>' "$WORK/comparison.html" || fail "compare: no ranking in the HTML report"
strata_expect 2 compare_missing compare "$WORK/no_such_run"
has stderr "no_such_run: not a folder"
strata_expect 2 seeds_not_numbers run "$WORK/sweep.toml" --out "$WORK/bad_seeds" --seeds 0,x
has stderr "--seeds 0,x"
printf '[sweep]\n"model.mixer.C.kernel_sise" = [1, 5]\n' >"$WORK/bad_sweep_tail.toml"
cat "$WORK/tiny.toml" "$WORK/bad_sweep_tail.toml" >"$WORK/bad_sweep.toml"
strata_expect 2 sweep_bad_key run "$WORK/bad_sweep.toml" --out "$WORK/bad_sweep"
has stderr "bad_sweep.toml:26:1: model.mixer.C.kernel_sise: in sweep variant kernel_sise-1: unknown key"
has stderr "did you mean 'kernel_size'?"
[[ ! -e "$WORK/bad_sweep" ]] || fail "sweep_bad_key: a sweep with a bad variant created its folder"


# ---- labs: every committed lab file validates and runs (a few steps each) -------------------
for lab in experiments/labs/*.toml; do
  name=lab_$(basename "$lab" .toml)
  strata_expect 0 "$name" run "$lab" --out "$WORK/$name" --quiet --set train.steps=3 --set train.warmup_steps=0 \
    --set train.eval_every=0 --set train.log_every=1 --set train.eval_batches=1
done
strata_expect 0 lab_architectures_text run experiments/labs/architectures.toml --out "$WORK/lab_text" --quiet \
  --set 'task={ type = "text", path = "experiments/labs/data/shakespeare_300k.txt", seq_len = 32 }' \
  --set train.steps=2 --set train.warmup_steps=0 --set train.eval_every=0 --set train.eval_batches=1
strata_expect 0 inspect_sweep inspect experiments/labs/architectures.toml --context 64
has_re stdout '^mamba +3 +[0-9]+ +[0-9]+ +29184 '
strata_expect 0 profile profile experiments/labs/context_length.toml --seq-lens 16,32,64 --repeats 1 \
  --decode-tokens 2 --out "$WORK/profile"
has stdout "| attention_naive | 64 |"
has_re stdout '^\| mamba \| [0-9.-]+ \| [0-9.-]+ \| [0-9.-]+ \| 0.00 \|'   # slopes; Mamba's cache is flat
[[ -s "$WORK/profile/profile.csv" ]] || fail "profile: no profile.csv"
strata_expect 0 profile_time_limit profile experiments/labs/context_length.toml --seq-lens 16,32,64,128 \
  --repeats 1 --decode-tokens 2 --time-limit-s 0.001
has stdout "s per step > limit"
strata_expect 0 experts experts "$WORK/lab_expert_patterns" --show tokens
has_re stdout '^layer 1: token x expert'
strata_expect 2 experts_no_detail experts "$RUN1"
has stderr "detailed_telemetry = true"

echo "all CLI checks passed"
