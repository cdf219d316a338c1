#!/usr/bin/env python3
"""strata's fused selective scan against the plain PyTorch reference scan, side by side.

    bench/pytorch/compare_scan.py                      # B=1 T=512 D=768 N=16, all cores
    bench/pytorch/compare_scan.py --threads 1 --rounds 5 --shape 1,2048,1536,16

The reference is the scan as mamba_ssm's selective_scan_ref computes it, which is what
Hugging Face's Mamba runs on a CPU: exp(delta A) and delta B u materialised as
[B, D, T, N], then a Python loop over time with whole-tensor operations, differentiated
by autograd. strata's side is bench_scan_op: the selective_scan op with its autograd
backward. Both take delta_softplus, delta_bias, D and z, as the Mamba mixer does.
Rounds alternate strata (its own process) and PyTorch, with the same thread count on
both sides; the ratio is strata's speed over PyTorch's per round, median [min, max].
The issue 9 target is forward + backward >= 20x the reference. The reference's backward
costs O(T^2) (each step's index op writes a whole [B, D, T, N] gradient), so the script
also times the same loop over unbound steps, a stronger PyTorch baseline.

Writes compare_scan.json and compare_scan.md to --out. Needs torch (bench only).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def reference_scan(u, delta, A, B, C, D, z, delta_bias, unbind=False):
    """u, delta, z: [B, D, T]; A: [D, N]; B, C: [B, N, T]; D, delta_bias: [D] -> [B, D, T].

    unbind=False indexes step t out of the [B, D, T, N] tensors as the reference does; the
    backward of each index op then writes a whole [B, D, T, N] gradient, so the backward
    costs O(T^2). unbind=True takes all steps as views at once (one backward for all): the
    same arithmetic without that cost, a stronger PyTorch baseline.
    """
    import torch
    dt = torch.nn.functional.softplus(delta + delta_bias[:, None])
    decay = torch.exp(torch.einsum("bdt,dn->bdtn", dt, A))   # [B, D, T, N]
    drive = torch.einsum("bdt,bnt,bdt->bdtn", dt, B, u)      # [B, D, T, N]
    state = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])  # [B, D, N]
    steps = u.shape[2]

    def per_step(x):  # [B, ..., T, ...] -> T tensors
        return x.unbind(2) if unbind else [x[:, :, t] for t in range(steps)]

    decay_t, drive_t, C_t = per_step(decay), per_step(drive), per_step(C)
    outputs = []
    for t in range(steps):
        state = decay_t[t] * state + drive_t[t]
        outputs.append(torch.einsum("bdn,bn->bd", state, C_t[t]))
    y = torch.stack(outputs, dim=2) + u * D[:, None]
    return y * torch.nn.functional.silu(z)


def torch_side(shape, repeats: int, threads: int, unbind: bool) -> dict:
    import torch
    torch.set_num_threads(threads)
    b, t, d, n = shape
    g = torch.Generator().manual_seed(7)
    inputs = {
        "u": torch.randn(b, d, t, generator=g), "delta": torch.randn(b, d, t, generator=g) - 3.0,
        "A": -torch.arange(1, n + 1, dtype=torch.float32).repeat(d, 1), "B": torch.randn(b, n, t, generator=g),
        "C": torch.randn(b, n, t, generator=g), "D": torch.ones(d), "z": torch.randn(b, d, t, generator=g),
        "delta_bias": 0.5 * torch.randn(d, generator=g)}
    for v in inputs.values():
        v.requires_grad_(True)
    dy = torch.randn(b, d, t, generator=g)
    forward, both = [], []
    for r in range(repeats + 1):
        with torch.no_grad():
            start = time.perf_counter()
            reference_scan(**inputs, unbind=unbind)
            if r:
                forward.append((time.perf_counter() - start) * 1000.0)
        start = time.perf_counter()
        reference_scan(**inputs, unbind=unbind).backward(dy)
        if r:
            both.append((time.perf_counter() - start) * 1000.0)
        for v in inputs.values():
            v.grad = None
    updates = b * t * d * n
    fwd, fb = statistics.median(forward), statistics.median(both)
    return {"framework": "pytorch", "variant": "unbind" if unbind else "reference", "torch": torch.__version__, "threads": torch.get_num_threads(),
            "forward_ms": fwd, "forward_backward_ms": fb, "forward_updates_per_s": updates / (fwd / 1000.0),
            "forward_backward_updates_per_s": updates / (fb / 1000.0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", default="1,512,768,16", help="B,T,D,N")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per round and side (median)")
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--worker", choices=["reference", "unbind"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    shape = [int(x) for x in args.shape.split(",")]
    if args.worker:
        print(json.dumps(torch_side(shape, args.repeats, args.threads, args.worker == "unbind")))
        return 0

    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = str(args.threads)

    def side(cmd):
        result = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"{cmd} failed:\n{result.stderr}")
        return json.loads(result.stdout)

    b, t, d, n = shape
    runs = {"strata": [], "reference": [], "unbind": []}
    for r in range(args.rounds):
        runs["strata"].append(side([str(Path(args.build) / "bench" / "bench_scan_op"), "--batch", str(b), "--seq-len",
                                    str(t), "--channels", str(d), "--states", str(n), "--repeats", str(args.repeats),
                                    "--threads", str(args.threads)]))
        for variant in ("reference", "unbind"):
            runs[variant].append(side([sys.executable, __file__, "--worker", variant, "--shape", args.shape,
                                       "--threads", str(args.threads), "--repeats", str(args.repeats)]))
        print(f"round {r + 1}: forward+backward strata {runs['strata'][-1]['forward_backward_ms']:.1f} ms, PyTorch "
              f"reference {runs['reference'][-1]['forward_backward_ms']:.1f} ms, "
              f"unbind {runs['unbind'][-1]['forward_backward_ms']:.1f} ms", file=sys.stderr)

    def ratios(variant, key):  # strata's speed over PyTorch's, per round
        v = [p[key] / s[key] for s, p in zip(runs["strata"], runs[variant])]
        return {"median": statistics.median(v), "min": min(v), "max": max(v)}

    def med(variant, key):
        return statistics.median(x[key] for x in runs[variant])

    summary = {"shape": shape, "threads": args.threads, "rounds": args.rounds, "torch": runs["reference"][0]["torch"],
               "ratios": {v: {k: ratios(v, k + "_ms") for k in ("forward", "forward_backward")}
                          for v in ("reference", "unbind")},
               "runs": runs}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare_scan.json").write_text(json.dumps(summary, indent=1) + "\n")
    md = [f"Selective scan B={b} T={t} D={d} N={n}, {args.threads} threads, {args.rounds} rounds, PyTorch "
          f"{summary['torch']}", "",
          "| | strata (fused op) | PyTorch reference scan | strata / reference | PyTorch, unbound steps | "
          "strata / unbound |", "|---|---|---|---|---|---|"]
    for key, label in (("forward", "forward"), ("forward_backward", "forward + backward")):
        row = f"| {label} | {med('strata', key + '_ms'):.1f} ms, {med('strata', key + '_updates_per_s') / 1e9:.2f} G/s"
        for variant in ("reference", "unbind"):
            r = summary["ratios"][variant][key]
            row += (f" | {med(variant, key + '_ms'):.1f} ms | **{r['median']:.1f}x** [{r['min']:.1f}, {r['max']:.1f}]")
        md.append(row + " |")
    (out / "compare_scan.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
