#!/usr/bin/env python3
"""The tokenizers strata writes into GGUF files, run by llama.cpp: for each tokenizer of
tests/fixtures/tokenizers that GGUF can carry (byte-level BPE with GPT-2's, Llama 3's or
Qwen2's split: tokenizer.ggml.model "gpt2"; SentencePiece: "llama"), a small Llama is
initialised on a text task with that tokenizer (strata init), exported (strata export-gguf),
and llama.cpp's tokenization of every text of the fixture's expected.json (with and without
BOS; special tokens in the text parsed for tokenizer.json, as `tokenizers` does, and not for
SentencePiece, as `sentencepiece` does) is compared with the ids those packages gave.

    /tmp/llamacpp/bin/python bench/llama_cpp/compare_gguf_tokenizers.py build/bin/strata

Prints, per tokenizer, how many texts llama.cpp tokenizes exactly as the reference, and the
first differences.
"""
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "tokenizers"
TEXT = ROOT / "experiments" / "labs" / "data" / "shakespeare_300k.txt"


def experiment(tokenizer):
    return f"""[task]
type = "text"
path = "{TEXT}"
tokenizer = "{tokenizer}"
seq_len = 16
[model]
d_model = 32
n_layers = 1
tie_embeddings = false
[model.mixer.attention]
type = "attention"
n_heads = 4
positions = "rope"
[model.ffn.mlp]
type = "mlp"
activation = "swiglu"
d_ff = 64
"""


def main():
    strata = sys.argv[1]
    import llama_cpp
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for name, file in (("gpt2", "tokenizer.json"), ("llama3", "tokenizer.json"), ("qwen2", "tokenizer.json"),
                           ("sentencepiece", "tokenizer.model")):
            (tmp / f"{name}.toml").write_text(experiment(FIXTURES / name / file))
            subprocess.run([strata, "init", tmp / f"{name}.toml", "--out", tmp / name], check=True,
                           capture_output=True)
            gguf = tmp / f"{name}.gguf"
            out = subprocess.run([strata, "export-gguf", tmp / name, "--out", gguf, "--type", "f32"], check=True,
                                 capture_output=True, text=True)
            llm = llama_cpp.Llama(model_path=str(gguf), vocab_only=True, verbose=False)
            rows = json.loads((FIXTURES / name / "expected.json").read_text())
            same, diffs = 0, []
            for row in rows:
                text = row["text"].encode()
                # SentencePiece never reads "<s>" in text as a control token; tokenizer.json does
                special = name != "sentencepiece"
                plain = llm.tokenize(text, add_bos=False, special=special)
                with_bos = llm.tokenize(text, add_bos=True, special=special)
                if plain == row["ids"] and with_bos == row["ids_special"]:
                    same += 1
                else:
                    diffs.append((row["text"], row["ids"], plain))
            failures += len(diffs)
            print(f"{name:14s} {out.stdout.strip().split('(')[1].split(')')[0]}: llama.cpp tokenizes "
                  f"{same}/{len(rows)} texts as the reference")
            for text, want, got in diffs[:3]:
                print(f"    {text!r}\n      reference {want}\n      llama.cpp {got}")
            llm.close()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
