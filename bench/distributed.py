#!/usr/bin/env python3
"""Data-parallel scaling on this machine: each bench model (bench/models/*.toml, "small"
size) trained on Tiny Shakespeare by `strata run` as 1 rank x 1 thread with a batch of
2 b sequences, and by `mpirun -np 2 strata run` as 2 ranks x 1 thread with b each: the same
global batch, so the ideal is twice the tokens/s. Rounds alternate the two, and the claim is
the median of the per-round ratios.

    bench/distributed.py                        # attention, moe, mamba; 3 rounds
    bench/distributed.py --models moe --rounds 5 --steps 40
    bench/distributed.py --out bench/results    # also writes distributed.json
    bench/distributed.py --models moe --set model.ffn.moe.expert_parallel=2   # experts split over the 2 ranks

Prints, per model: tokens/s of both (training only: final.json's tokens_per_s, which leaves
out evaluation), the speed-up, the scaling efficiency (speed-up / 2), and the fraction of
the 2-rank step time rank 0 spent in communication that the backward did not hide
(metrics.jsonl's comm_fraction: starting, polling and waiting for the gradient sums,
exchanging the logged values, the replica check; waiting for the slower rank included).
Needs a build with the MPI module (scripts/setup installs Open MPI).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STRATA = ROOT / "build" / "bin" / "strata"
TEXT = ROOT / "experiments" / "labs" / "data" / "shakespeare_300k.txt"


def experiment(model: str, seq_len: int, steps: int) -> str:
    """The bench model with the text task: the file's vocab_size gives way to the task's."""
    text = (ROOT / "bench" / "models" / f"{model}.toml").read_text()
    text = re.sub(r"(?m)^vocab_size\s*=.*$", "", text)
    text = re.sub(r"(?ms)^\[train\].*?(?=^\[|\Z)", "", text)  # replaced below
    return text + f"""
[task]
type = "text"
path = "{TEXT}"
seq_len = {seq_len}

[train]
steps = {steps}
lr = 1e-3
warmup_steps = 2
eval_every = 0
eval_batches = 1
log_every = {steps}
threads = 1
replica_check_every = {steps}
"""


def run_once(file: Path, out: Path, ranks: int, batch: int, mpirun: str, overrides: list) -> dict:
    command = [str(STRATA), "run", str(file), "--quiet", "--out", str(out), "--overwrite",
               "--set", f"train.batch_size={batch}", *[a for o in overrides for a in ("--set", o)]]
    if ranks > 1:
        command = [mpirun, "-np", str(ranks), "--bind-to", "core", "--allow-run-as-root", "-x", "OMP_NUM_THREADS=1",
                   *command]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"distributed.py: {' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    final = json.loads((out / "final.json").read_text())
    comm = None
    for line in (out / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if "comm_fraction" in record:
            comm = record["comm_fraction"]
    return {"tokens_per_s": final["tokens_per_s"], "comm_fraction": comm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="attention,moe,mamba")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30, help="training steps per run (the first few are warm-up)")
    parser.add_argument("--batch", type=int, default=8, help="sequences per rank (1 rank trains 2 x this)")
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--mpirun", default="mpirun")
    parser.add_argument("--out", type=Path, help="folder for distributed.json")
    parser.add_argument("--set", action="append", default=[], dest="overrides",
                        help="a config override for both runs (repeatable); expert_parallel affects only the 2-rank one")
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory(prefix="strata-dp-bench-") as work:
        work = Path(work)
        for model in args.models.split(","):
            file = work / f"{model}.toml"
            file.write_text(experiment(model, args.seq_len, args.steps))
            one, two, ratios, comm = [], [], [], []
            for r in range(args.rounds):
                a = run_once(file, work / "one", 1, 2 * args.batch, args.mpirun, args.overrides)
                b = run_once(file, work / "two", 2, args.batch, args.mpirun, args.overrides)
                one.append(a["tokens_per_s"])
                two.append(b["tokens_per_s"])
                ratios.append(b["tokens_per_s"] / a["tokens_per_s"])
                comm.append(b["comm_fraction"])
                print(f"{model} round {r + 1}: 1 rank {a['tokens_per_s']:.0f} tok/s, 2 ranks {b['tokens_per_s']:.0f} "
                      f"tok/s (x{ratios[-1]:.2f}), comm {b['comm_fraction']:.3f}", file=sys.stderr)
            speedup = statistics.median(ratios)
            results.append({"model": model, "global_batch": 2 * args.batch, "seq_len": args.seq_len,
                            "one_rank_tokens_per_s": statistics.median(one),
                            "two_ranks_tokens_per_s": statistics.median(two), "speedup": speedup,
                            "speedup_range": [min(ratios), max(ratios)], "efficiency": speedup / 2,
                            "comm_fraction": statistics.median(comm)})
    print("| model | 1 rank x 1 thread (tok/s) | 2 ranks x 1 thread (tok/s) | speed-up [range] | efficiency | "
          "comm fraction |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['model']} | {r['one_rank_tokens_per_s']:.0f} | {r['two_ranks_tokens_per_s']:.0f} | "
              f"{r['speedup']:.2f} [{r['speedup_range'][0]:.2f}, {r['speedup_range'][1]:.2f}] | "
              f"{r['efficiency']:.0%} | {r['comm_fraction']:.3f} |")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "distributed.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
