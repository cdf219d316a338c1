#!/usr/bin/env bash
# jamba_tiny (attention, Mamba, MoE) trained on a GPU and on the CPU from the same seed: the
# GPU run must reach the CPU run's accuracy (300 steps) or loss (shorter runs); its
# checkpoint must decode greedily to the same tokens on the GPU and on the CPU, and resume
# on the CPU. Exit 77 (skipped) where this strata
# has no CUDA or no GPU is visible.
# Usage: [STRATA_GPU_TEST_STEPS=N] [STRATA_GPU_TEST_SETS="key=value ..."] test_gpu_training.sh
#        STRATA_BIN SOURCE_ROOT WORK_DIR
# (the emulated GPU of tests/cuda_emulation runs a few steps of a smaller task: it is slow).
set -euo pipefail
source "$(dirname "$0")/../cli/cli_common.sh"

strata_expect 0 backends backends
if ! grep -qE '^cuda: built, [1-9]' "$WORK/backends.stdout"; then
  echo "skipped: no GPU ($(head -1 "$WORK/backends.stdout"))"
  exit 77
fi

steps=${STRATA_GPU_TEST_STEPS:-300}
sets=(--set train.steps=$steps --set train.warmup_steps=$((steps / 10)))
for kv in ${STRATA_GPU_TEST_SETS:-}; do sets+=(--set "$kv"); done
strata_expect 0 cpu_run run experiments/jamba_tiny.toml "${sets[@]}" --out "$WORK/cpu" --quiet
strata_expect 0 gpu_run run experiments/jamba_tiny.toml "${sets[@]}" --device cuda --out "$WORK/gpu" --quiet
python3 - "$WORK/cpu/final.json" "$WORK/gpu/final.json" "$steps" <<'PY' || fail "the GPU run did not train as the CPU run did"
import json, sys
cpu, gpu = (json.load(open(p)) for p in sys.argv[1:3])
steps = int(sys.argv[3])
c, g = cpu["eval"]["accuracy"], gpu["eval"]["accuracy"]
print(f"final accuracy: cpu {c:.4f}, gpu {g:.4f}; eval loss: cpu {cpu['eval']['loss']:.4f}, gpu {gpu['eval']['loss']:.4f}")
if steps >= 200:  # long enough to learn the copy task: the accuracies are comparable
    assert g >= c - 0.02, "the GPU run's accuracy is below the CPU run's"
else:  # a few steps: the same weights up to rounding, so the same eval loss
    assert abs(gpu["eval"]["loss"] - cpu["eval"]["loss"]) <= 1e-3 * cpu["eval"]["loss"], "eval losses differ"
PY
# the first logged losses agree closely (same data, same initial weights, f32 on both)
python3 - "$WORK/cpu/metrics.jsonl" "$WORK/gpu/metrics.jsonl" <<'PY' || fail "the first losses differ"
import json, sys
def losses(path):
    return [r["loss"] for r in map(json.loads, open(path)) if "loss" in r and "step" in r]
c, g = losses(sys.argv[1]), losses(sys.argv[2])
print("first losses cpu", c[:3], "gpu", g[:3])
assert abs(c[0] - g[0]) <= 1e-3 * abs(c[0]), (c[0], g[0])
PY

# device-independent checkpoints: the GPU checkpoint decodes on the CPU and on the GPU (KV
# cache and Mamba states on the device) to the same greedy tokens, and resumes on the CPU
strata_expect 0 generate_cpu generate "$WORK/gpu/checkpoint" --prompt "1 2 3 4 5 6" --max-new-tokens 8
strata_expect 0 generate_gpu generate "$WORK/gpu/checkpoint" --prompt "1 2 3 4 5 6" --max-new-tokens 8 --device cuda
cmp -s "$WORK/generate_cpu.stdout" "$WORK/generate_gpu.stdout" ||
  fail "greedy decoding on the GPU gave $(cat "$WORK/generate_gpu.stdout"), on the CPU $(cat "$WORK/generate_cpu.stdout")"
# strata eval on the GPU scores the checkpoint as on the CPU
strata_expect 0 eval_cpu eval "$WORK/gpu/checkpoint" --batches 2 --json
strata_expect 0 eval_gpu eval "$WORK/gpu/checkpoint" --batches 2 --json --device cuda
python3 - "$WORK/eval_cpu.stdout" "$WORK/eval_gpu.stdout" <<'PY' || fail "eval on the GPU differs from the CPU"
import json, sys
c, g = (json.load(open(p))[0] for p in sys.argv[1:3])
print("eval loss cpu", c["loss"], "gpu", g["loss"])
assert abs(c["loss"] - g["loss"]) <= 1e-4 * abs(c["loss"]) and c["scored_positions"] == g["scored_positions"], (c, g)
PY
python3 - "$WORK/gpu/final.json" <<'PY' || fail "the end-of-run decoding probe did not decode on the GPU"
import json, sys
decode = json.load(open(sys.argv[1]))["decode"]
assert decode["cache_bytes"] > 0 and decode["tokens_per_s"] > 0, decode
PY
strata_expect 0 resume_on_cpu run --resume "$WORK/gpu" --set train.steps=$((steps + 20)) --device cpu --quiet

# Mamba-2 (the SSD scan's CUDA kernels): a few steps on the GPU reach the CPU run's loss;
# the CPU run's checkpoint evaluates and decodes greedily on the GPU as on the CPU.
cat >"$WORK/mamba2.toml" <<'TOML'
[task]
type = "copy"
copy_len = 4
n_blanks = 4

[model]
d_model = 32
n_layers = 2

[model.mixer.M2]
type = "mamba2"
d_state = 16
head_dim = 16

[model.stack]
type = "pattern"
layout = "M"
mamba = "M2"

[train]
steps = 3
batch_size = 2
warmup_steps = 0
eval_every = 0
eval_batches = 1
TOML
strata_expect 0 mamba2_cpu run "$WORK/mamba2.toml" --out "$WORK/m2" --quiet
strata_expect 0 m2_eval_cpu eval "$WORK/m2/checkpoint" --batches 1 --json
strata_expect 0 m2_eval_gpu eval "$WORK/m2/checkpoint" --batches 1 --json --device cuda
python3 - "$WORK/m2_eval_cpu.stdout" "$WORK/m2_eval_gpu.stdout" <<'PY' || fail "Mamba-2 eval on the GPU differs from the CPU"
import json, sys
c, g = (json.load(open(p))[0]["loss"] for p in sys.argv[1:3])
print("Mamba-2 eval loss cpu", c, "gpu", g)
assert abs(c - g) <= 1e-4 * abs(c), (c, g)
PY
strata_expect 0 m2_generate_cpu generate "$WORK/m2/checkpoint" --prompt "1 2 3 4" --max-new-tokens 6
strata_expect 0 m2_generate_gpu generate "$WORK/m2/checkpoint" --prompt "1 2 3 4" --max-new-tokens 6 --device cuda
cmp -s "$WORK/m2_generate_cpu.stdout" "$WORK/m2_generate_gpu.stdout" || fail "Mamba-2 decoding on the GPU differs"
strata_expect 0 mamba2_gpu run "$WORK/mamba2.toml" --out "$WORK/m2_gpu" --device cuda --quiet
python3 - "$WORK/m2/final.json" "$WORK/m2_gpu/final.json" <<'PY' || fail "Mamba-2 trained on the GPU differs from the CPU"
import json, sys
c, g = (json.load(open(p))["eval"]["loss"] for p in sys.argv[1:3])
print("Mamba-2 eval loss after 3 steps: cpu", c, "gpu", g)
assert abs(c - g) <= 1e-3 * abs(c), (c, g)
PY
echo "ok: jamba_tiny and Mamba-2 on the GPU"
