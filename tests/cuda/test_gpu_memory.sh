#!/usr/bin/env bash
# The memory guard on a GPU: a run or a decode that cannot fit the device's free memory is
# refused before anything is allocated or written, naming the device; on an integrated GPU
# (GB10: the host's memory is the device's) the budget is one pool, the smaller of the two
# readings. Needs a GPU whose memory the test can set: the emulated one of
# tests/cuda_emulation (STRATA_EMU_DEVICE_MIB, STRATA_EMU_INTEGRATED); exit 77 (skipped)
# elsewhere.
# Usage: test_gpu_memory.sh STRATA_BIN SOURCE_ROOT WORK_DIR
set -euo pipefail
source "$(dirname "$0")/../cli/cli_common.sh"

strata_expect 0 backends backends
if ! grep -qE '^cuda: built, [1-9]' "$WORK/backends.stdout" || [[ -z "${STRATA_EMU_DEVICE_MIB:-}" ]]; then
  echo "skipped: needs the emulated GPU (a device memory this test can set)"
  exit 77
fi

small=(--set train.steps=2 --set train.warmup_steps=0 --set train.eval_every=0 --set train.batch_size=2 --set task.copy_len=4 --set task.n_blanks=4)
# a discrete GPU of 1 MiB: jamba_tiny's step does not fit; the refusal names the device
STRATA_EMU_DEVICE_MIB=1 strata_expect 2 gpu_too_small run experiments/jamba_tiny.toml "${small[@]}" --device cuda \
  --out "$WORK/never"
has stderr "on cuda:0 needs about"
has stderr "is available (cuda:0's free memory)"
[[ ! -e "$WORK/never" ]] || fail "a refused GPU run created its run folder"
# the host's budget does not limit a discrete GPU's step, but the weights are built there first
STRATA_MEMORY_AVAILABLE=1KiB strata_expect 2 host_too_small run experiments/jamba_tiny.toml "${small[@]}" \
  --device cuda --out "$WORK/never"
has stderr "building the model on the CPU before it moves to cuda:0"
# an integrated GPU: the host's smaller reading is the pool's budget, counted once
STRATA_EMU_INTEGRATED=1 STRATA_MEMORY_AVAILABLE=1MiB strata_expect 2 pool_too_small run experiments/jamba_tiny.toml \
  "${small[@]}" --device cuda --out "$WORK/never"
has stderr "on cuda:0 needs about"
has stderr "one pool shared by cuda:0 and the CPU"
STRATA_EMU_INTEGRATED=1 strata_expect 0 pool_fits run experiments/jamba_tiny.toml "${small[@]}" --device cuda \
  --out "$WORK/run" --quiet
# decoding on the GPU is checked against the device too
STRATA_EMU_DEVICE_MIB=1 strata_expect 2 decode_too_small generate "$WORK/run/checkpoint" --prompt "1 2 3" --device cuda
has stderr "on cuda:0 needs about"
strata_expect 0 decode_fits generate "$WORK/run/checkpoint" --prompt "1 2 3" --max-new-tokens 2 --device cuda
echo "ok: the memory guard plans GPU memory"
