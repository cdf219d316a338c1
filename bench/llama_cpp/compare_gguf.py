#!/usr/bin/env python3
"""strata's GGUF export run in llama.cpp itself: every architecture of
tests/fixtures/hf/architectures is imported (strata import-hf), exported (strata export-gguf),
read back with the `gguf` package (names, shapes, types) and run by llama.cpp through
llama-cpp-python; its logits for the fixture's prompt are compared with strata's.

    python3 -m venv /tmp/llamacpp && /tmp/llamacpp/bin/pip install gguf numpy llama-cpp-python
    /tmp/llamacpp/bin/python bench/llama_cpp/compare_gguf.py build/bin/strata [--type f32] [NAME...]

Prints one line per architecture: the llama.cpp architecture, the tensors by type, and the
largest |logit difference| relative to the largest |logit|. f32 files must agree to float
rounding (< 1e-4); f16, bf16 and q8_0 round the weights (and llama.cpp's CPU kernels
round activations to q8 for q8_0 weights), so only their agreement is reported. With
--quantize-check, the q8_0 file is also compared byte for byte with llama.cpp's own
quantization of the f32 file (llama_model_quantize).
"""
import argparse
import collections
import ctypes
import json
import pathlib
import struct
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "hf" / "architectures"


def read_safetensors(path):
    data = pathlib.Path(path).read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[info["dtype"]]
        out[name] = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=dtype).reshape(info["shape"])
    return out


def llama_cpp_logits(path, ids):
    import llama_cpp
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=64, n_batch=64, n_ubatch=64, logits_all=True,
                          type_k=0, type_v=0, n_threads=2, verbose=False, seed=0)  # f32 KV cache
    llm.reset()
    llm.eval([int(i) for i in ids])
    out = np.array(llm.scores[:llm.n_tokens], dtype=np.float32).copy()
    llm.close()
    return out


def run(strata, *args):
    subprocess.run([strata, *map(str, args)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("strata")
    parser.add_argument("names", nargs="*")
    parser.add_argument("--type", default="f32", choices=["f32", "f16", "bf16", "q8_0"])
    parser.add_argument("--transformers", default="5")
    parser.add_argument("--quantize-check", action="store_true")
    args = parser.parse_args()
    import gguf
    folders = sorted(FIXTURES.glob(f"transformers{args.transformers}_*"))
    if args.names:
        folders = [f for f in folders if f.name.split("_", 1)[1] in args.names]
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for folder in folders:
            name = folder.name.split("_", 1)[1]
            ckpt, out = tmp / name, tmp / f"{name}.{args.type}.gguf"
            run(args.strata, "import-hf", folder, "--out", ckpt)
            export = subprocess.run([args.strata, "export-gguf", ckpt, "--out", out, "--type", args.type],
                                    capture_output=True, text=True)
            if export.returncode == 2:  # refused: llama.cpp cannot run it as strata does
                print(f"{name:10s} refused: {export.stderr.splitlines()[0]}", flush=True)
                continue
            export.check_returncode()
            ids = read_safetensors(folder / "expected.safetensors")["input_ids"]
            run(args.strata, "logits", ckpt, "--tokens", folder / "expected.safetensors", "--out", tmp / f"{name}.st")
            ours = read_safetensors(tmp / f"{name}.st")["logits"]
            reader = gguf.GGUFReader(str(out))
            arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
            types = collections.Counter(t.tensor_type.name for t in reader.tensors)
            diffs = []
            for b in range(ids.shape[0]):
                theirs = llama_cpp_logits(out, ids[b])
                diffs.append(np.abs(theirs - ours[b]).max() / np.abs(ours[b]).max())
            rel = max(diffs)
            worst = max(worst, rel)
            line = f"{name:10s} llama.cpp {arch:9s} {dict(types)}  max |diff| / max |logit| = {rel:.2e}"
            if args.quantize_check and args.type == "q8_0":
                import llama_cpp
                f32 = tmp / f"{name}.f32.gguf"
                run(args.strata, "export-gguf", ckpt, "--out", f32, "--type", "f32")
                theirs_q8 = tmp / f"{name}.llamacpp.q8_0.gguf"
                params = llama_cpp.llama_model_quantize_default_params()
                params.ftype = 7  # LLAMA_FTYPE_MOSTLY_Q8_0
                params.nthread = 2
                assert llama_cpp.llama_model_quantize(str(f32).encode(), str(theirs_q8).encode(),
                                                      ctypes.byref(params)) == 0
                mine = {t.name: (t.tensor_type.name, bytes(t.data)) for t in reader.tensors}
                ref = {t.name: (t.tensor_type.name, bytes(t.data)) for t in gguf.GGUFReader(str(theirs_q8)).tensors}
                same = sum(mine[k] == ref[k] for k in ref)
                line += f"  q8_0 bytes equal to llama_model_quantize: {same}/{len(ref)} tensors"
                if same != len(ref) or set(mine) != set(ref):
                    worst = float("inf")
            print(line, flush=True)
    if args.type == "f32" and worst > 1e-4:
        sys.exit(f"f32 logits differ by {worst:.2e}")
    if worst == float("inf"):
        sys.exit("q8_0 bytes differ from llama.cpp's quantization")


if __name__ == "__main__":
    main()
