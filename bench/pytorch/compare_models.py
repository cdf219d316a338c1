#!/usr/bin/env python3
"""strata against PyTorch (Hugging Face transformers) on the same models, side by side.

    bench/pytorch/compare_models.py                         # all models, both sizes
    bench/pytorch/compare_models.py --models mamba --sizes small --threads 1 --rounds 5

For each experiment file in bench/models (attention, mamba, moe, jamba) and each size:
  1. `strata init` writes the file's freshly initialised model and `strata export-hf`
     turns it into a Hugging Face folder: LlamaForCausalLM, MambaForCausalLM,
     MixtralForCausalLM or JambaForCausalLM, the classes a PyTorch user would load. On the
     CPU these run their plain-PyTorch paths (Mamba: the reference selective scan, a loop
     over time, as transformers runs it without the CUDA kernels).
  2. Numerics: `strata logits --grads hf` and the PyTorch model compute the logits, the
     next-token loss and every parameter's gradient for the same batch; the table gives the
     largest absolute difference and, per tensor, the largest difference relative to that
     tensor's largest PyTorch value.
  3. Speed: a training step (forward, loss, backward, gradient clipping, AdamW) and greedy
     decoding, strata (bench_models) and PyTorch alternating for --rounds rounds, each run
     in its own process with the same thread count set on both sides (OMP/BLAS threads and
     torch.set_num_threads). Ratios are strata / PyTorch per round: median [min, max].

Writes compare_models.json and compare_models.md to --out. Needs torch and transformers
(bench only; strata itself never imports Python).
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

# Per size: overrides of the bench/models files, and the training shape (shared with bench/run).
SIZES = json.loads((ROOT / "bench" / "models" / "sizes.json").read_text())
MODELS = ["attention", "mamba", "moe", "jamba"]
PROMPT_LEN, NEW_TOKENS = 64, 64


def overrides(model: str, size: str) -> list:
    s = list(SIZES[size]["set"])
    if "attention_heads" in SIZES[size] and model != "mamba":
        s.append(f"model.mixer.attention.n_heads={SIZES[size]['attention_heads']}")
    return s


def run(cmd, env=None) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def thread_env(threads: int) -> dict:
    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[key] = str(threads)
    return env


# ---- the PyTorch side (also run as a worker process: --worker) ---------------------------

def load_hf(folder: str, train: bool, mambapy: bool = False, attention: str = "sdpa"):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    config = AutoConfig.from_pretrained(folder)
    if mambapy:
        config.use_mambapy = True  # mamba.py's parallel scan in PyTorch instead of the reference loop
    if getattr(config, "model_type", "") == "jamba":
        config.use_mamba_kernels = False
    if train and getattr(config, "router_aux_loss_coef", 0):
        config.output_router_logits = True  # the balance loss trains with the model, as in strata
    model = AutoModelForCausalLM.from_pretrained(folder, config=config, dtype=torch.float32,
                                                 attn_implementation=attention if config.model_type != "mamba" else None)
    return model


def torch_numerics(folder: str, ids_file: str) -> dict:
    import numpy as np
    import torch
    model = load_hf(folder, train=False, attention="eager")
    model.eval()
    ids = torch.from_numpy(np.load(ids_file)).long()
    out = model(ids, labels=ids, use_cache=False)
    out.loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    return {"logits": out.logits.detach(), "loss": out.loss.detach(), "grads": grads}


def peak_rss_mib() -> float:
    """VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve (the parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def torch_speed(folder: str, batch: int, seq_len: int, steps: int, warmup: int, threads: int, lr: float,
                mambapy: bool = False) -> dict:
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = load_hf(folder, train=True, mambapy=mambapy)
    vocab = model.config.vocab_size
    try:
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, fused=True)
    except (RuntimeError, TypeError):  # older torch: no fused CPU AdamW
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    model.train()

    def step() -> float:
        ids = torch.randint(0, vocab, (batch, seq_len + 1))
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        out = model(input_ids=ids[:, :seq_len], labels=ids[:, :seq_len], use_cache=False)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return (time.perf_counter() - start) * 1000.0

    # A step of more than 20 s (Mamba's reference scan) is measured once, without warmup:
    # warming would not change it measurably and a round would take many minutes.
    first = step()
    if first > 20000:
        times = [first]
    else:
        for _ in range(warmup - 1):
            step()
        times = [step() for _ in range(steps)]
    train_ms = statistics.median(times)
    result = {"framework": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "train_step_ms": train_ms, "train_step_ms_all": times,
              "train_tokens_per_s": batch * seq_len / (train_ms / 1000.0)}

    model.eval()
    model.config.output_router_logits = False  # decoding computes no loss
    prompt = torch.randint(0, vocab, (1, PROMPT_LEN))

    def generate(new: int) -> float:
        start = time.perf_counter()
        with torch.no_grad():
            model.generate(prompt, max_new_tokens=new, min_new_tokens=new, do_sample=False, use_cache=True,
                           pad_token_id=0)
        return time.perf_counter() - start

    generate(4)  # warm
    first = statistics.median(generate(1) for _ in range(3))  # the prompt chunk and its token
    full = generate(NEW_TOKENS + 1)
    result["prefill_ms"] = first * 1000.0
    result["decode_tokens_per_s"] = NEW_TOKENS / max(full - first, 1e-9)
    result["max_rss_mib"] = peak_rss_mib()
    return result


# ---- the comparison ----------------------------------------------------------------------

def compare_numerics(strata_file: str, reference: dict) -> dict:
    from safetensors.torch import load_file
    s = load_file(strata_file)
    logits_diff = (s["logits"] - reference["logits"]).abs().max().item()
    logits_scale = reference["logits"].abs().max().item()
    worst_name, worst_rel, worst_abs, missing = "", 0.0, 0.0, []
    for name, g in reference["grads"].items():
        key = "grad." + name
        if key not in s:
            missing.append(name)
            continue
        diff = (s[key] - g).abs().max().item()
        rel = diff / max(g.abs().max().item(), 1e-30)
        worst_abs = max(worst_abs, diff)
        if rel > worst_rel:
            worst_name, worst_rel = name, rel
    return {"logits_max_abs_diff": logits_diff, "logits_max_abs": logits_scale,
            "loss_strata": s["loss"].item(), "loss_pytorch": reference["loss"].item(),
            "grad_max_abs_diff": worst_abs, "grad_worst_rel_diff": worst_rel, "grad_worst_tensor": worst_name,
            "grads_compared": len(reference["grads"]) - len(missing), "grads_missing": missing}


def ratio_summary(values: list) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--sizes", default="small,medium")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per run (after 2 untimed)")
    parser.add_argument("--build", default=str(ROOT / "build"), help="strata build folder (Release)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--skip-numerics", action="store_true")
    parser.add_argument("--worker", nargs=5, metavar=("HF_FOLDER", "BATCH", "SEQ_LEN", "STEPS", "LR"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--mambapy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        folder, batch, seq_len, steps, lr = args.worker
        print(json.dumps(torch_speed(folder, int(batch), int(seq_len), int(steps), 2, args.threads, float(lr),
                                     args.mambapy)))
        return 0
    # Mamba models are also timed with transformers' use_mambapy (mamba.py's parallel scan,
    # PyPI package mambapy) when it is installed: a stronger PyTorch baseline than the loop.
    has_mambapy = subprocess.run([sys.executable, "-c", "import mambapy"], capture_output=True).returncode == 0

    import numpy as np
    strata = Path(args.build) / "bin" / "strata"
    bench = Path(args.build) / "bench" / "bench_models"
    out = Path(args.out)
    work = out / "compare_models_work"
    work.mkdir(parents=True, exist_ok=True)
    env = thread_env(args.threads)
    rows = []
    for size in args.sizes.split(","):
        for model in args.models.split(","):
            file = ROOT / "bench" / "models" / f"{model}.toml"
            sets = [a for o in overrides(model, size) for a in ("--set", o)]
            ckpt, hf = work / f"{model}-{size}-ckpt", work / f"{model}-{size}-hf"
            run([strata, "init", file, "--out", ckpt, *sets])
            run([strata, "export-hf", ckpt, "--out", hf])
            row = {"model": model, "size": size, "threads": args.threads,
                   "batch": SIZES[size]["batch"], "seq_len": SIZES[size]["seq_len"]}
            print(f"== {model} {size}", file=sys.stderr)

            if not args.skip_numerics:
                ids_file = work / "ids.npy"
                np.save(ids_file, np.random.default_rng(0).integers(0, 1024, size=(2, 64), dtype=np.int64))
                run([strata, "logits", ckpt, "--tokens", ids_file, "--grads", "hf", "--out", work / "strata.safetensors"])
                row["numerics"] = compare_numerics(str(work / "strata.safetensors"), torch_numerics(str(hf), str(ids_file)))
                n = row["numerics"]
                print(f"   logits max |diff| {n['logits_max_abs_diff']:.2e}, loss {n['loss_strata']:.6f} vs "
                      f"{n['loss_pytorch']:.6f}, worst gradient {n['grad_worst_tensor']} rel {n['grad_worst_rel_diff']:.2e}",
                      file=sys.stderr)

            batch, seq_len = SIZES[size]["batch"], SIZES[size]["seq_len"]
            strata_runs, torch_runs, mambapy_runs = [], [], []
            for r in range(args.rounds):
                strata_runs.append(json.loads(run(
                    [bench, file, *sets, "--batch", str(batch), "--seq-len", str(seq_len), "--steps", str(args.steps),
                     "--threads", str(args.threads), "--prompt-len", str(PROMPT_LEN), "--new-tokens", str(NEW_TOKENS)],
                    env)))
                torch_runs.append(json.loads(run(
                    [sys.executable, __file__, "--threads", str(args.threads), "--worker", str(hf), str(batch),
                     str(seq_len), str(args.steps), "1e-3"], env)))
                if model == "mamba" and has_mambapy:
                    mambapy_runs.append(json.loads(run(
                        [sys.executable, __file__, "--threads", str(args.threads), "--mambapy", "--worker", str(hf),
                         str(batch), str(seq_len), str(args.steps), "1e-3"], env)))
                s, t = strata_runs[-1], torch_runs[-1]
                print(f"   round {r + 1}: train {s['train_tokens_per_s']:.0f} vs {t['train_tokens_per_s']:.0f} tokens/s, "
                      f"decode {s['decode_tokens_per_s']:.0f} vs {t['decode_tokens_per_s']:.0f} tokens/s", file=sys.stderr)
            row["strata"], row["pytorch"] = strata_runs, torch_runs
            row["train_ratio"] = ratio_summary([s["train_tokens_per_s"] / t["train_tokens_per_s"]
                                                for s, t in zip(strata_runs, torch_runs)])
            row["decode_ratio"] = ratio_summary([s["decode_tokens_per_s"] / t["decode_tokens_per_s"]
                                                 for s, t in zip(strata_runs, torch_runs)])
            if mambapy_runs:
                row["pytorch_mambapy"] = mambapy_runs
                row["train_ratio_mambapy"] = ratio_summary([s["train_tokens_per_s"] / m["train_tokens_per_s"]
                                                            for s, m in zip(strata_runs, mambapy_runs)])
            row["parameters"] = strata_runs[0]["parameters"]
            rows.append(row)

    import torch
    import transformers
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "threads": args.threads, "rounds": args.rounds,
            "torch": torch.__version__, "transformers": transformers.__version__,
            "torch_config": torch.__config__.parallel_info().splitlines()[:6]}
    (out / "compare_models.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    md = [f"strata vs PyTorch {meta['torch']} + transformers {meta['transformers']}, {args.threads} threads, "
          f"{args.rounds} rounds, {meta['date']}", "",
          "| model | size | params | batch x T | train tokens/s strata | PyTorch | **train ratio** | "
          "decode tokens/s strata | PyTorch | **decode ratio** | strata tensor peak MiB | peak RSS MiB strata / PyTorch |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        s_tps = statistics.median(r["train_tokens_per_s"] for r in row["strata"])
        t_tps = statistics.median(r["train_tokens_per_s"] for r in row["pytorch"])
        s_dec = statistics.median(r["decode_tokens_per_s"] for r in row["strata"])
        t_dec = statistics.median(r["decode_tokens_per_s"] for r in row["pytorch"])
        tr, dr = row["train_ratio"], row["decode_ratio"]
        md.append(f"| {row['model']} | {row['size']} | {row['parameters'] / 1e6:.1f} M | {row['batch']} x {row['seq_len']} | "
                  f"{s_tps:.0f} | {t_tps:.0f} | **{tr['median']:.2f}x** [{tr['min']:.2f}, {tr['max']:.2f}] | "
                  f"{s_dec:.0f} | {t_dec:.0f} | **{dr['median']:.2f}x** [{dr['min']:.2f}, {dr['max']:.2f}] | "
                  f"{row['strata'][0]['train_peak_mib']:.0f} | {row['strata'][0]['max_rss_mib']:.0f} / "
                  f"{row['pytorch'][0]['max_rss_mib']:.0f} |")
    if any("pytorch_mambapy" in row for row in rows):
        md += ["", "Mamba with transformers' `use_mambapy = True` (mamba.py's parallel scan in PyTorch):", "",
               "| size | train tokens/s strata | PyTorch + mamba.py | **train ratio** |", "|---|---|---|---|"]
        for row in rows:
            if "pytorch_mambapy" in row:
                r = row["train_ratio_mambapy"]
                md.append(f"| {row['size']} | {statistics.median(x['train_tokens_per_s'] for x in row['strata']):.0f} | "
                          f"{statistics.median(x['train_tokens_per_s'] for x in row['pytorch_mambapy']):.0f} | "
                          f"**{r['median']:.2f}x** [{r['min']:.2f}, {r['max']:.2f}] |")
    if any("numerics" in row for row in rows):
        md += ["", "| model | size | logits max abs diff (max abs logit) | loss strata / PyTorch | "
               "gradients: max abs diff | worst relative (tensor) |", "|---|---|---|---|---|---|"]
        for row in rows:
            n = row.get("numerics")
            if n:
                md.append(f"| {row['model']} | {row['size']} | {n['logits_max_abs_diff']:.1e} ({n['logits_max_abs']:.2f}) | "
                          f"{n['loss_strata']:.6f} / {n['loss_pytorch']:.6f} | {n['grad_max_abs_diff']:.1e} | "
                          f"{n['grad_worst_rel_diff']:.1e} ({n['grad_worst_tensor']}) |")
    (out / "compare_models.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
