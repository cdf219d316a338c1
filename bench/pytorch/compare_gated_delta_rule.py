#!/usr/bin/env python3
"""strata's gated_delta_rule op against transformers' plain-PyTorch chunked gated delta rule.

    /tmp/hfvenv/bin/python bench/pytorch/compare_gated_delta_rule.py build/bench/bench_gated_delta_rule_op \
        --threads 2 --shape 1,1024,16,128,128 --rounds 3

The reference is `torch_chunk_gated_delta_rule` of transformers' modeling_qwen3_next (what
Qwen3NextGatedDeltaNet runs without flash-linear-attention's Triton kernels): the same
inputs (unit q and k [B, T, H, K], v [B, T, H, V], g and beta [B, T, H], an initial state),
forward and forward + backward through autograd, chunk 64 on both sides unless
--strata-chunk gives strata's (its default is 32, faster on the CPU). Rounds alternate
strata (its own process) and PyTorch with the same thread count; the ratio is PyTorch's
time over strata's per round, median [min, max]. --lengths times forward + backward at
several T to show the per-token cost. The issue 24 target is forward + backward >= 5x.
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import time


def torch_times(shape, chunk, threads, repeats):
    import torch
    import torch.nn.functional as F
    from transformers.models.qwen3_next.modeling_qwen3_next import torch_chunk_gated_delta_rule
    torch.set_num_threads(threads)
    B, T, H, K, V = shape
    g = torch.Generator().manual_seed(7)
    q = F.normalize(torch.randn(B, T, H, K, generator=g), dim=-1).requires_grad_()
    k = F.normalize(torch.randn(B, T, H, K, generator=g), dim=-1).requires_grad_()
    v = torch.randn(B, T, H, V, generator=g, requires_grad=True)
    gate = (-torch.exp(0.5 * torch.randn(B, T, H, generator=g) - 2.5)).requires_grad_()
    beta = torch.sigmoid(torch.randn(B, T, H, generator=g)).requires_grad_()
    h0 = torch.randn(B, H, K, V, generator=g, requires_grad=True)
    dout = torch.randn(B, T, H, V, generator=g)

    def run():
        return torch_chunk_gated_delta_rule(q, k, v, gate, beta, chunk_size=chunk, initial_state=h0,
                                            output_final_state=True, use_qk_l2norm_in_kernel=False)

    fwd, both = [], []
    for r in range(repeats + 1):
        with torch.no_grad():
            start = time.perf_counter()
            run()
            if r:
                fwd.append(time.perf_counter() - start)
        start = time.perf_counter()
        o, _ = run()
        o.backward(dout)
        if r:
            both.append(time.perf_counter() - start)
        for t in (q, k, v, gate, beta, h0):
            t.grad = None
    return statistics.median(fwd) * 1e3, statistics.median(both) * 1e3


def strata_times(binary, shape, chunk, threads, repeats):
    B, T, H, K, V = shape
    out = subprocess.run([binary, "--batch", str(B), "--seq-len", str(T), "--heads", str(H), "--key-heads", str(H),
                          "--key-dim", str(K), "--value-dim", str(V), "--chunk", str(chunk), "--threads", str(threads),
                          "--repeats", str(repeats)], check=True, capture_output=True, text=True)
    ours = json.loads(out.stdout)
    return ours["forward_ms"], ours["forward_backward_ms"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bench_gated_delta_rule_op")
    p.add_argument("--shape", default="1,1024,16,128,128", help="B,T,H,K,V")
    p.add_argument("--chunk", type=int, default=64, help="transformers' chunk_size (its default 64)")
    p.add_argument("--strata-chunk", type=int, default=0, help="strata's chunk (default: --chunk; strata's own default is 32)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--lengths", default="", help="comma-separated T: forward + backward per token at each")
    p.add_argument("--out", help="folder for compare_gated_delta_rule.json and .md (bench/run)")
    a = p.parse_args()
    shape = [int(v) for v in a.shape.split(",")]
    ours_chunk = a.strata_chunk or a.chunk
    ratios_fwd, ratios_both, rows = [], [], []
    for _ in range(a.rounds):
        ours = strata_times(a.bench_gated_delta_rule_op, shape, ours_chunk, a.threads, a.repeats)
        theirs = torch_times(shape, a.chunk, a.threads, a.repeats)
        ratios_fwd.append(theirs[0] / ours[0])
        ratios_both.append(theirs[1] / ours[1])
        rows.append((*ours, *theirs))
    for r in rows:
        print(f"strata fwd {r[0]:8.1f} ms  fwd+bwd {r[1]:8.1f} ms | transformers fwd {r[2]:8.1f} ms  "
              f"fwd+bwd {r[3]:8.1f} ms")
    fmt = lambda v: f"{statistics.median(v):.2f}x [{min(v):.2f}, {max(v):.2f}]"
    summary = (f"shape B,T,H,K,V = {shape}, strata chunk {ours_chunk}, transformers chunk {a.chunk}, "
               f"{a.threads} threads: forward {fmt(ratios_fwd)}, "
               f"forward+backward {fmt(ratios_both)}")
    print(summary)
    lengths = []
    for T in [int(t) for t in a.lengths.split(",") if t]:
        s = [shape[0], T, *shape[2:]]
        ours = strata_times(a.bench_gated_delta_rule_op, s, ours_chunk, a.threads, a.repeats)
        theirs = torch_times(s, a.chunk, a.threads, a.repeats)
        tokens = s[0] * T
        lengths.append({"T": T, "strata_us_per_token": 1e3 * ours[1] / tokens,
                        "transformers_us_per_token": 1e3 * theirs[1] / tokens})
        print(f"T {T:6d}: forward+backward per token strata {1e3 * ours[1] / tokens:8.2f} us, "
              f"transformers {1e3 * theirs[1] / tokens:8.2f} us ({theirs[1] / ours[1]:.2f}x)")
    if a.out:
        out = pathlib.Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare_gated_delta_rule.json").write_text(json.dumps(
            {"shape": shape, "chunk": a.chunk, "strata_chunk": ours_chunk, "threads": a.threads, "rounds_ms": rows,
             "forward_ratio": statistics.median(ratios_fwd), "forward_backward_ratio": statistics.median(ratios_both),
             "lengths": lengths}, indent=1))
        (out / "compare_gated_delta_rule.md").write_text(
            "### Gated delta rule against transformers' torch_chunk_gated_delta_rule\n\n" + summary + "\n")


if __name__ == "__main__":
    main()
