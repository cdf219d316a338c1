#!/usr/bin/env bash
# What the command line refuses instead of accepting silently, and what it keeps
# (docs/reliability.md): damaged, relabelled, extended, mixed-up or non-finite checkpoints,
# a bad state.json, two writers on one run folder, an existing run as --out, a full disk
# (a file size limit), a model too large for memory, SIGTERM, and small command-line slips.
#
#   tests/cli/test_reliability.sh STRATA_BIN SOURCE_ROOT WORK_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/cli_common.sh"

cat >"$WORK/tiny.toml" <<'EOF'
[task]
type = "copy"
n_symbols = 6
copy_len = 4

[model]
d_model = 8
n_layers = 1

[model.mixer.C]
type = "shortconv"

[train]
steps = 10
batch_size = 8
lr = 1e-2
eval_every = 10
log_every = 5
threads = 1
checkpoint_every = 5
keep_checkpoints = 2
EOF

# A safetensors file edited by python3 (standard library only): `edit(header, data)` returns
# the new (header, data).
edit_safetensors() {
  python3 - "$1" "$2" <<'EOF'
import json, struct, sys
path, code = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header, data = json.loads(raw[8:8 + n]), bytearray(raw[8 + n:])
namespace = {"header": header, "data": data, "struct": struct}
exec(code, namespace)
header, data = namespace["header"], namespace["data"]
text = json.dumps(header).encode()
open(path, "wb").write(struct.pack("<Q", len(text)) + text + bytes(data))
EOF
}

RUN=$WORK/run
strata_expect 0 run run "$WORK/tiny.toml" --out "$RUN" --quiet
CKPT=$RUN/checkpoint
[[ -f "$CKPT/manifest.json" ]] || fail "run: the checkpoint has no manifest.json"
strata_expect 0 eval_intact eval "$CKPT" --batches 1

# ---- damaged checkpoints --------------------------------------------------------------------
fresh_copy() { rm -rf "$WORK/$1"; cp -r "$CKPT" "$WORK/$1"; echo "$WORK/$1"; }

c=$(fresh_copy flipped)
size=$(stat -c %s "$c/model.safetensors")
byte=$(od -An -tu1 -j $((size - 3)) -N1 "$c/model.safetensors" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte ^ 4) & 255)))" | dd of="$c/model.safetensors" bs=1 seek=$((size - 3)) conv=notrunc status=none
strata_expect 2 eval_flipped eval "$c" --batches 1
has stderr "is damaged"
has stderr "model.safetensors"

c=$(fresh_copy relabelled)
edit_safetensors "$c/model.safetensors" 'k = next(k for k in header if k != "__metadata__"); header[k]["dtype"] = "I32"'
strata_expect 2 eval_relabelled eval "$c" --batches 1
has stderr "does not match manifest.json"

c=$(fresh_copy trailing)
printf 'extra' >>"$c/model.safetensors"
strata_expect 2 eval_trailing eval "$c" --batches 1
has stderr "5 bytes after the last tensor's data"
strata_expect 2 eval_trailing_unverified eval "$c" --batches 1 --unverified
has stderr "5 bytes after the last tensor's data"

c=$(fresh_copy mixed)
rm "$c/model.safetensors"
cp "$RUN/checkpoints/step-000005/model.safetensors" "$c/"
strata_expect 2 eval_mixed eval "$c" --batches 1
has stderr "does not match manifest.json (step 10)"
has stderr "the file says step 5"

# NaN weights, in a file without digests (as another tool would write it): refused, and
# loaded for debugging only when asked.
c=$(fresh_copy nan)
edit_safetensors "$c/model.safetensors" '
del header["__metadata__"]["strata.xxh3"]
k = sorted(k for k in header if k != "__metadata__")[0]
begin = header[k]["data_offsets"][0]
data[begin:begin + 4] = struct.pack("<f", float("nan"))'
strata_expect 2 eval_nan_unverified_needed eval "$c" --batches 1
has stderr "does not match manifest.json"
strata_expect 2 eval_nan eval "$c" --batches 1 --unverified
has stderr "holds NaN or infinite values"
has stderr "--allow-nonfinite"
strata_expect 0 eval_nan_allowed eval "$c" --batches 1 --unverified --allow-nonfinite

c=$(fresh_copy no_manifest)
rm "$c/manifest.json"
strata_expect 2 eval_no_manifest eval "$c" --batches 1
has stderr "has no manifest.json"
strata_expect 0 eval_no_manifest_unverified eval "$c" --batches 1 --unverified

# ---- state.json ------------------------------------------------------------------------------
cp -r "$RUN" "$WORK/negative_step"
python3 - "$WORK/negative_step/checkpoint/state.json" <<'EOF'
import json, sys
state = json.load(open(sys.argv[1])); state["step"] = -4; json.dump(state, open(sys.argv[1], "w"))
EOF
before=$(sha256sum "$WORK/negative_step/metrics.jsonl")
strata_expect 2 resume_negative_step run --resume "$WORK/negative_step" --unverified --set train.steps=20
has stderr '"step" must be an integer from 0'
[[ "$(sha256sum "$WORK/negative_step/metrics.jsonl")" == "$before" ]] || fail "resume_negative_step: metrics.jsonl changed"

# ---- run folders: an existing run, a second writer, SIGTERM -----------------------------------
strata_expect 2 out_existing run "$WORK/tiny.toml" --out "$RUN" --quiet
has stderr "is not empty (it holds an earlier run or sweep)"
has stderr "--overwrite"
[[ -d "$RUN/checkpoints/step-000005" ]] || fail "out_existing: the old run lost its snapshots"
strata_expect 0 out_overwrite run "$WORK/tiny.toml" --out "$RUN" --quiet --overwrite \
  --set train.keep_checkpoints=0 --set train.checkpoint_every=0
[[ ! -e "$RUN/checkpoints" ]] || fail "out_overwrite: the old run's snapshots are still there"
strata_expect 2 resume_with_file run "$WORK/tiny.toml" --resume "$RUN"
has stderr "it does not take an experiment file"

LONG=(--set train.steps=100000 --set train.checkpoint_every=20 --set train.keep_checkpoints=0)
"$STRATA" run "$WORK/tiny.toml" "${LONG[@]}" --out "$WORK/busy" >"$WORK/first.stdout" 2>"$WORK/first.stderr" </dev/null &
pid=$!
for _ in $(seq 1 500); do [[ -f "$WORK/busy/checkpoint/manifest.json" ]] && break; sleep 0.02; done
strata_expect 2 second_writer run "$WORK/tiny.toml" --out "$WORK/busy" --overwrite
has stderr "is being written by another strata process (pid $pid"
strata_expect 2 second_resume run --resume "$WORK/busy"
has stderr "is being written by another strata process"
kill -TERM $pid
rc=0
wait $pid || rc=$?
LAST=first
[[ $rc -eq 143 ]] || fail "sigterm: exit code $rc, expected 143 (128 + SIGTERM)"
has stdout "continue with: strata run --resume $WORK/busy"
steps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["step"])' "$WORK/busy/checkpoint/state.json")
strata_expect 0 resume_after_sigterm run --resume "$WORK/busy" --quiet --set train.steps=$((steps + 5))

# ---- a full disk: here a file size limit, which fails writes the same way ---------------------
rc=0
(ulimit -f 24; exec "$STRATA" run "$WORK/tiny.toml" --out "$WORK/full" --set train.steps=2000 \
  --set train.log_every=1 --set train.checkpoint_every=0 --set train.keep_checkpoints=0 \
  >"$WORK/full.stdout" 2>"$WORK/full.stderr" </dev/null) || rc=$?
LAST=full
echo "strata run ... (ulimit -f 24)" >"$WORK/full.cmd"
[[ $rc -eq 1 ]] || fail "full: exit code $rc, expected 1"
has stderr "cannot write $WORK/full/metrics.jsonl"
has stderr "and wrote its checkpoint"
python3 - "$WORK/full" <<'EOF' || fail "full: the log or the checkpoint is not intact"
import json, pathlib, sys
run = pathlib.Path(sys.argv[1])
lines = (run / "metrics.jsonl").read_bytes().split(b"\n")
assert lines[-1] == b"", "metrics.jsonl ends inside a line"
records = [json.loads(l) for l in lines[1:-1]]
assert len(records) > 10, len(records)
state = json.load(open(run / "checkpoint" / "state.json"))
assert state["step"] >= records[-1]["step"], (state["step"], records[-1]["step"])
EOF
strata_expect 0 eval_after_full eval "$WORK/full/checkpoint" --batches 1

# ---- memory: refused before allocating --------------------------------------------------------
strata_expect 2 too_big run "$WORK/tiny.toml" --out "$WORK/too_big" --set model.d_model=32768 --set model.n_layers=64
has stderr "needs about"
has stderr "is available"
[[ ! -e "$WORK/too_big/metrics.jsonl" ]] || fail "too_big: the run started"
STRATA_MEMORY_AVAILABLE=1KiB strata_expect 2 small_budget eval "$CKPT" --batches 1
has stderr "only 1.00 KiB is available (STRATA_MEMORY_AVAILABLE)"
STRATA_MEMORY_AVAILABLE=1KiB strata_expect 0 small_budget_anyway eval "$CKPT" --batches 1 --no-memory-check

# ---- command-line slips -------------------------------------------------------------------------
strata_expect 2 stop_token_beyond generate "$CKPT" --prompt "1 2" --stop-token 99
has stderr "--stop-token 99 is not a token of this model"
echo "all reliability checks passed"
