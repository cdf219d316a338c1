#!/usr/bin/env bash
# `strata run` under mpirun -np 2 as a user runs it (docs/distributed.md): rank 0 alone
# writes the run folder and prints; a resume needs the same number of ranks; a sweep spreads
# its variants over the ranks; a killed rank ends the job with the rank named; errors end
# every rank.
#   test_distributed.sh STRATA_BIN SOURCE_ROOT WORK_DIR MPIRUN
set -uo pipefail
MPIRUN=$4
source "$(dirname "$0")/cli_common.sh" "$1" "$2" "$3"
export OMP_NUM_THREADS=1
mpi=("$MPIRUN" -np 2 --oversubscribe --allow-run-as-root)

# ranks_expect NP RC NAME ARGS...: strata_expect for `mpirun -np NP strata ARGS`.
ranks_expect() {
  local ranks=$1 want=$2 name=$3
  shift 3
  LAST=$name
  echo "mpirun -np $ranks strata $*" >"$WORK/$name.cmd"
  local rc=0
  timeout 120 "$MPIRUN" -np "$ranks" --oversubscribe --allow-run-as-root "$STRATA" "$@" >"$WORK/$name.stdout" \
    2>"$WORK/$name.stderr" </dev/null || rc=$?
  [[ $rc -eq $want ]] || fail "$name: 'mpirun -np $ranks strata $*' exited $rc, expected $want"
  echo "ok: $name (exit $rc)"
}
mpi_expect() { ranks_expect 2 "$@"; }

cat >"$WORK/tiny.toml" <<'TOML'
[task]
type = "copy"
n_symbols = 8
copy_len = 8
[model]
d_model = 32
n_layers = 2
[model.mixer.C]
type = "shortconv"
[train]
steps = 20
batch_size = 8
log_every = 5
eval_every = 10
eval_batches = 2
threads = 1
checkpoint_every = 10
replica_check_every = 5
TOML

# Two ranks, one folder: one banner, one final line, each step logged once.
mpi_expect 0 run_two run "$WORK/tiny.toml" --out "$WORK/dp"
has stderr "data parallel over 2 ranks"
[[ $(grep -c "^final:" "$WORK/run_two.stdout") -eq 1 ]] || fail "run_two: expected one final line"
[[ $(grep -c '"step":20,' "$WORK/dp/metrics.jsonl") -eq 1 ]] || fail "run_two: step 20 is not logged exactly once"
grep -q '"comm_fraction"' "$WORK/dp/metrics.jsonl" || fail "run_two: no comm_fraction in the metrics"
[[ -f "$WORK/dp/final.json" && -f "$WORK/dp/report.html" ]] || fail "run_two: final.json or report.html missing"
grep -q '"data_parallel_size": 2' "$WORK/dp/checkpoint/state.json" ||
  fail "run_two: the checkpoint does not record its 2 ranks"

# A resume continues on the same number of ranks and is refused on another.
strata_expect 2 resume_alone run --resume "$WORK/dp" --set train.steps=30
has stderr "written by a job of 2 rank(s)"
has stderr "resume with mpirun -np 2"
mpi_expect 0 resume_two run --resume "$WORK/dp" --set train.steps=30
[[ $(grep -c '"step":30,' "$WORK/dp/metrics.jsonl") -eq 1 ]] || fail "resume_two: step 30 is not logged exactly once"

# The same seed and N: the same losses, bit for bit.
mpi_expect 0 run_again run "$WORK/tiny.toml" --out "$WORK/dp_again"
cmp <(grep -o '"loss":[^,]*' "$WORK/dp/metrics.jsonl" | head -4) \
    <(grep -o '"loss":[^,]*' "$WORK/dp_again/metrics.jsonl" | head -4) || fail "run_again: the losses differ from run_two's"

# Bad input on every rank: one clear error, exit 2.
mpi_expect 2 bad_key run "$WORK/tiny.toml" --set train.no_such_key=1 --out "$WORK/bad"
has stderr "no_such_key"

# A single run takes every rank; asking for another number is refused.
mpi_expect 2 wrong_ranks run "$WORK/tiny.toml" --set train.ranks_per_run=3 --out "$WORK/wrong_ranks"
has stderr "ranks_per_run"
has stderr "mpirun -np 3"

# A sweep spreads its variants over the ranks (one each); rank 0 writes the summary once.
mpi_expect 0 sweep run "$WORK/tiny.toml" --sweep model.d_model=16,32 --out "$WORK/sweep"
has stderr "2 variants"
has stderr "over 2 ranks"
has stderr "[rank 1]"
[[ $(grep -c ",ok," "$WORK/sweep/summary.csv") -eq 2 ]] || fail "sweep: summary.csv does not list two finished variants"
for v in "$WORK"/sweep/*/; do [[ -f "$v/final.json" ]] || fail "sweep: no final.json in $v"; done
! grep -q '"comm_fraction"' "$WORK"/sweep/*/metrics.jsonl || fail "sweep: a one-rank variant logged communication"
# ranks_per_run = 2: each variant data parallel on both ranks, one after the other.
mpi_expect 0 sweep_groups run "$WORK/tiny.toml" --sweep model.d_model=16,32 --set train.ranks_per_run=2 \
  --out "$WORK/sweep_groups"
[[ $(grep -c ",ok," "$WORK/sweep_groups/summary.csv") -eq 2 ]] || fail "sweep_groups: two variants expected"
for v in "$WORK"/sweep_groups/*/; do
  grep -q '"comm_fraction"' "$v/metrics.jsonl" || fail "sweep_groups: $v did not train on two ranks"
done

# Expert parallel: each rank holds half the experts; the checkpoint holds them all, so one
# process evaluates it, and the run resumes on two ranks.
cat >"$WORK/ep.toml" <<'TOML'
[task]
type = "copy"
n_symbols = 8
copy_len = 8
[model]
d_model = 32
n_layers = 2
[model.mixer.A]
type = "attention"
[model.ffn.E]
type = "moe"
n_experts = 4
top_k = 2
d_ff = 32
expert_parallel = 2
balance = [{ type = "switch_aux", alpha = 0.01, scope = "global" }]
[train]
steps = 20
batch_size = 8
log_every = 10
eval_every = 10
eval_batches = 2
threads = 1
checkpoint_every = 10
TOML
mpi_expect 0 ep_run run "$WORK/ep.toml" --out "$WORK/ep"
grep -q '"metric.layers.0.ffn.expert_rank_load.1"' "$WORK/ep/metrics.jsonl" || fail "ep_run: no per-rank expert load"
grep -q '"metric.layers.0.ffn.expert_exchange_mib"' "$WORK/ep/metrics.jsonl" || fail "ep_run: no exchange volume"
strata_expect 0 ep_eval eval "$WORK/ep/checkpoint"
mpi_expect 0 ep_resume run --resume "$WORK/ep" --set train.steps=30
[[ $(grep -c '"step":30,' "$WORK/ep/metrics.jsonl") -eq 1 ]] || fail "ep_resume: step 30 is not logged exactly once"
# Without mpirun the same file trains with every expert in the one process; both runs report
# the whole model's size.
strata_expect 0 ep_alone run "$WORK/ep.toml" --set train.steps=2 --out "$WORK/ep_alone"
[[ $(grep -o '"parameters": [0-9]*' "$WORK/ep/final.json") == $(grep -o '"parameters": [0-9]*' "$WORK/ep_alone/final.json") ]] ||
  fail "ep_alone: the sharded run reports another parameter count than the whole model"
# Three ranks cannot be cut into expert groups of two.
ranks_expect 3 2 ep_three run "$WORK/ep.toml" --out "$WORK/ep_three"
has stderr "does not divide the job's 3 ranks"

# A rank killed mid-run ends the job, and mpirun names it.
sed -e 's/^steps = 20/steps = 100000/' -e 's/^checkpoint_every = 10/checkpoint_every = 0/' "$WORK/tiny.toml" >"$WORK/long.toml"
LAST=killed
echo "mpirun -np 2 (rank 1 killed after 3 s) strata run long.toml" >"$WORK/killed.cmd"
rc=0
timeout 120 "${mpi[@]}" bash -c 'if [[ $OMPI_COMM_WORLD_RANK == 1 ]]; then (sleep 3; kill -9 $$) & fi; exec "$0" "$@"' \
  "$STRATA" run "$WORK/long.toml" --out "$WORK/killed_run" >"$WORK/killed.stdout" 2>"$WORK/killed.stderr" </dev/null || rc=$?
[[ $rc -ne 0 && $rc -ne 124 ]] || fail "killed: mpirun exited $rc (0: the job went on; 124: it hung)"
grep -qiE "rank 1|process rank 1" "$WORK/killed.stderr" "$WORK/killed.stdout" || fail "killed: no message names rank 1"
echo "ok: killed (exit $rc)"

# SIGUSR1 to mpirun (which forwards it; SIGTERM would end the job without a checkpoint):
# every rank stops after the same step, rank 0 writes the checkpoint, exit 138; it resumes.
LAST=usr1
echo "mpirun -np 2 strata run long.toml, then kill -USR1 mpirun" >"$WORK/usr1.cmd"
"${mpi[@]}" "$STRATA" run "$WORK/long.toml" --out "$WORK/usr1" >"$WORK/usr1.stdout" 2>"$WORK/usr1.stderr" </dev/null &
job=$!
(sleep 100 && kill -9 "$job") >/dev/null 2>&1 &  # never hang; no pipe of ctest's held
watchdog=$!
for _ in $(seq 200); do grep -q '"step"' "$WORK/usr1/metrics.jsonl" 2>/dev/null && break; sleep 0.1; done
kill -USR1 "$job"
rc=0
wait "$job" || rc=$?
pkill -P "$watchdog" sleep 2>/dev/null
[[ $rc -eq 138 ]] || fail "usr1: mpirun exited $rc, expected 138"
has stdout "interrupted at step"
stopped=$(grep -o '"step": [0-9]*' "$WORK/usr1/checkpoint/state.json" | grep -o '[0-9]*$')
[[ -n "$stopped" && "$stopped" -gt 0 ]] || fail "usr1: no checkpoint"
echo "ok: usr1 (exit $rc, checkpoint at step $stopped)"
mpi_expect 0 usr1_resume run --resume "$WORK/usr1" --set train.steps=$((stopped + 5))
[[ $(grep -c "\"step\":$((stopped + 5))," "$WORK/usr1/metrics.jsonl") -eq 1 ]] || fail "usr1_resume: the last step is not logged once"

echo "all distributed command-line checks passed"
