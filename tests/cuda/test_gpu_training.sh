#!/usr/bin/env bash
# jamba_tiny (attention, Mamba, MoE) trained on a GPU and on the CPU from the same seed (then
# Mamba-2 and Gated DeltaNet models for a few steps, below): the
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
# same_training LABEL CPU_RUN GPU_RUN ACCURACY_DROP LOSS_RTOL: after 200+ steps (the copy task
# learnt) the GPU's accuracy is at most ACCURACY_DROP below the CPU's; after a few steps
# (the same weights up to rounding) their eval losses agree within LOSS_RTOL.
same_training() {
  python3 - "$@" "$steps" <<'PY'
import json, sys
label, cpu, gpu = sys.argv[1], *(json.load(open(p + "/final.json"))["eval"] for p in sys.argv[2:4])
drop, rtol, steps = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
print(f"{label}: accuracy cpu {cpu['accuracy']:.4f} gpu {gpu['accuracy']:.4f}; "
      f"eval loss cpu {cpu['loss']:.4f} gpu {gpu['loss']:.4f}")
if steps >= 200:
    assert gpu["accuracy"] >= cpu["accuracy"] - drop, "the GPU run's accuracy is below the CPU run's"
else:
    assert abs(gpu["loss"] - cpu["loss"]) <= rtol * cpu["loss"], "eval losses differ"
PY
}

strata_expect 0 cpu_run run experiments/jamba_tiny.toml "${sets[@]}" --out "$WORK/cpu" --quiet
strata_expect 0 gpu_run run experiments/jamba_tiny.toml "${sets[@]}" --device cuda --out "$WORK/gpu" --quiet
same_training f32 "$WORK/cpu" "$WORK/gpu" 0.02 1e-3 || fail "the GPU run did not train as the CPU run did"
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

# bf16 mixed precision on the GPU (cuBLAS bf16 products; where the build has cuDNN, bf16
# attention too, which the CPU keeps in f32): the run reaches the CPU's bf16 run within
# bf16 accuracy
bf16=(--set train.precision=bf16)
strata_expect 0 bf16_cpu run experiments/jamba_tiny.toml "${sets[@]}" "${bf16[@]}" --out "$WORK/bf16_cpu" --quiet
strata_expect 0 bf16_gpu run experiments/jamba_tiny.toml "${sets[@]}" "${bf16[@]}" --device cuda \
  --out "$WORK/bf16_gpu" --quiet
same_training bf16 "$WORK/bf16_cpu" "$WORK/bf16_gpu" 0.05 2e-2 || fail "bf16 training on the GPU differs"

# Mamba-2 (the SSD scan's CUDA kernels) and Gated DeltaNet (the gated delta rule's): a few
# steps on the GPU reach the CPU run's loss; the CPU run's checkpoint evaluates and decodes
# greedily on the GPU as on the CPU.
recurrent_model() {  # NAME MIXER_TABLE: a 2-layer copy-task model of that mixer
  cat >"$WORK/$1.toml" <<TOML
[task]
type = "copy"
copy_len = 4
n_blanks = 4

[model]
d_model = 32
n_layers = 2

[model.mixer.R]
$2

[model.stack]
type = "pattern"
layout = "M"
mamba = "R"

[train]
steps = 3
batch_size = 2
warmup_steps = 0
eval_every = 0
eval_batches = 1
TOML
}
recurrent_model mamba2 $'type = "mamba2"\nd_state = 16\nhead_dim = 16'
recurrent_model gdn $'type = "gated_deltanet"\nkey_heads = 1\nvalue_heads = 2\nkey_head_dim = 16\nvalue_head_dim = 8'
for m in mamba2 gdn; do
  strata_expect 0 ${m}_cpu run "$WORK/$m.toml" --out "$WORK/${m}_cpu" --quiet
  strata_expect 0 ${m}_gpu run "$WORK/$m.toml" --out "$WORK/${m}_gpu" --device cuda --quiet
  strata_expect 0 ${m}_eval_cpu eval "$WORK/${m}_cpu/checkpoint" --batches 1 --json
  strata_expect 0 ${m}_eval_gpu eval "$WORK/${m}_cpu/checkpoint" --batches 1 --json --device cuda
  python3 - "$m" "$WORK/${m}_cpu/final.json" "$WORK/${m}_gpu/final.json" "$WORK/${m}_eval_cpu.stdout" \
    "$WORK/${m}_eval_gpu.stdout" <<'PY' || fail "$m on the GPU differs from the CPU"
import json, sys
m = sys.argv[1]
trained = [json.load(open(p))["eval"]["loss"] for p in sys.argv[2:4]]
scored = [json.load(open(p))[0]["loss"] for p in sys.argv[4:6]]
print(m, "eval loss after 3 steps: cpu %.7f gpu %.7f; the CPU checkpoint evaluated: cpu %.7f gpu %.7f"
      % (*trained, *scored))
assert abs(trained[0] - trained[1]) <= 1e-3 * abs(trained[0]), trained
assert abs(scored[0] - scored[1]) <= 1e-4 * abs(scored[0]), scored
PY
  strata_expect 0 ${m}_generate_cpu generate "$WORK/${m}_cpu/checkpoint" --prompt "1 2 3 4" --max-new-tokens 6
  strata_expect 0 ${m}_generate_gpu generate "$WORK/${m}_cpu/checkpoint" --prompt "1 2 3 4" --max-new-tokens 6 \
    --device cuda
  cmp -s "$WORK/${m}_generate_cpu.stdout" "$WORK/${m}_generate_gpu.stdout" || fail "$m decoding on the GPU differs"
done
# strata check --device: every built-in mixer and ffn (and the example plugin's fused
# shortconv, whose own CUDA kernel the emulated GPU cannot run: it links the real CUDA
# runtime) equals the CPU in f64, forward, gradients and decoding
components=(attention mamba mamba2 gated_deltanet moe mlp)
[[ -n "${STRATA_GPU_EMULATED:-}" ]] || components+=(shortconv)
for c in "${components[@]}"; do
  strata_expect 0 check_$c check $c --device cuda
  has stdout "PASS on cuda:0 (f64): equals the CPU"
done
echo "ok: jamba_tiny (f32 and bf16), Mamba-2 and Gated DeltaNet on the GPU; components equal the CPU there"
