#!/usr/bin/env python3
"""strata's ssd op against transformers' Mamba-2 CPU path, side by side.

    /tmp/hfvenv/bin/python bench/pytorch/compare_ssd.py build/bench/bench_ssd_op --threads 2
    ... --shape 1,1024,24,64,1,128 --chunk 64 --torch-chunk 256 --rounds 3

The reference is `mamba2_chunk_scan` of transformers' modeling_mamba2 (the chunked
plain-PyTorch SSD that Mamba2Mixer.torch_forward runs without mamba_ssm's kernels): the
same inputs (x [B, T, H, P], dt after softplus, A [H], B and C [B, T, G, N], an initial
state), forward and forward + backward through autograd. Rounds alternate strata (its own
process) and PyTorch with the same thread count; the ratio is PyTorch's time over strata's
per round, median [min, max]. The issue 23 target is forward + backward >= 5x.
"""
import argparse
import json
import statistics
import subprocess
import time


def torch_times(shape, chunk, threads, repeats):
    import torch
    from transformers.models.mamba2.modeling_mamba2 import mamba2_chunk_scan
    torch.set_num_threads(threads)
    B, T, H, P, G, N = shape
    g = torch.Generator().manual_seed(7)
    x = torch.randn(B, T, H, P, generator=g, requires_grad=True)
    dt = torch.exp(0.5 * torch.randn(B, T, H, generator=g) - 3.0).requires_grad_()
    A = (-torch.exp(0.5 * torch.randn(H, generator=g))).requires_grad_()
    Bm = torch.randn(B, T, G, N, generator=g, requires_grad=True)
    Cm = torch.randn(B, T, G, N, generator=g, requires_grad=True)
    h0 = torch.randn(B, H, P, N, generator=g, requires_grad=True)
    dy = torch.randn(B, T, H, P, generator=g)
    fwd, both = [], []
    for r in range(repeats + 1):
        with torch.no_grad():
            start = time.perf_counter()
            mamba2_chunk_scan(x, dt, A, Bm, Cm, chunk, initial_states=h0, return_final_states=True)
            if r:
                fwd.append(time.perf_counter() - start)
        start = time.perf_counter()
        y, _ = mamba2_chunk_scan(x, dt, A, Bm, Cm, chunk, initial_states=h0, return_final_states=True)
        y.backward(dy)
        if r:
            both.append(time.perf_counter() - start)
        for t in (x, dt, A, Bm, Cm, h0):
            t.grad = None
    return statistics.median(fwd) * 1e3, statistics.median(both) * 1e3


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bench_ssd_op")
    p.add_argument("--shape", default="1,1024,24,64,1,128", help="B,T,H,P,G,N")
    p.add_argument("--chunk", type=int, default=64, help="strata's chunk")
    p.add_argument("--torch-chunk", type=int, default=256, help="transformers' chunk_size (its default 256)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    shape = [int(v) for v in a.shape.split(",")]
    ratios_fwd, ratios_both, rows = [], [], []
    for _ in range(a.rounds):
        out = subprocess.run([a.bench_ssd_op, "--batch", str(shape[0]), "--seq-len", str(shape[1]), "--heads",
                              str(shape[2]), "--head-dim", str(shape[3]), "--groups", str(shape[4]), "--states",
                              str(shape[5]), "--chunk", str(a.chunk), "--threads", str(a.threads), "--repeats",
                              str(a.repeats)], check=True, capture_output=True, text=True)
        ours = json.loads(out.stdout)
        theirs = torch_times(shape, a.torch_chunk, a.threads, a.repeats)
        ratios_fwd.append(theirs[0] / ours["forward_ms"])
        ratios_both.append(theirs[1] / ours["forward_backward_ms"])
        rows.append((ours["forward_ms"], ours["forward_backward_ms"], *theirs))
    for r in rows:
        print(f"strata fwd {r[0]:7.1f} ms  fwd+bwd {r[1]:7.1f} ms | transformers fwd {r[2]:7.1f} ms  "
              f"fwd+bwd {r[3]:7.1f} ms")
    fmt = lambda v: f"{statistics.median(v):.2f}x [{min(v):.2f}, {max(v):.2f}]"
    print(f"shape B,T,H,P,G,N = {shape}, strata chunk {a.chunk}, transformers chunk {a.torch_chunk}, "
          f"{a.threads} threads: forward {fmt(ratios_fwd)}, forward+backward {fmt(ratios_both)}")


if __name__ == "__main__":
    main()
