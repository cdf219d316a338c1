#!/usr/bin/env python3
"""Compare strata's logits with Hugging Face transformers' for the same model and tokens.

    strata export-hf CHECKPOINT --out /tmp/hf              # or any HF folder strata imported
    strata logits CHECKPOINT --tokens ids.npy --out /tmp/strata_logits.safetensors
    python bench/pytorch/compare_hf_logits.py /tmp/hf /tmp/strata_logits.safetensors

Loads the folder with transformers (float32, eager attention, the plain-PyTorch Mamba path),
runs the input_ids stored in the logits file and prints the max absolute and relative
difference. Exits 1 when the max absolute difference exceeds --atol (default 1e-4).
Needs torch and transformers (bench only; strata itself never imports Python).
"""
import argparse
import sys

import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("hf_folder")
    parser.add_argument("strata_logits", help="output of `strata logits` (tensors input_ids and logits)")
    parser.add_argument("--atol", type=float, default=1e-4)
    args = parser.parse_args()

    stored = load_file(args.strata_logits)
    ids, strata_logits = stored["input_ids"], stored["logits"].float()
    config = AutoConfig.from_pretrained(args.hf_folder)
    if getattr(config, "model_type", "") == "jamba":
        config.use_mamba_kernels = False
    model = AutoModelForCausalLM.from_pretrained(
        args.hf_folder, config=config, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        hf_logits = model(ids, use_cache=False).logits.float()
    diff = (hf_logits - strata_logits).abs()
    rel = diff / hf_logits.abs().clamp_min(1e-6)
    print(f"{config.architectures[0]}: logits {tuple(hf_logits.shape)}, max |diff| {diff.max().item():.3e}, "
          f"max rel {rel.max().item():.3e}, logit std {hf_logits.std().item():.3f}")
    return 0 if diff.max().item() <= args.atol else 1


if __name__ == "__main__":
    sys.exit(main())
