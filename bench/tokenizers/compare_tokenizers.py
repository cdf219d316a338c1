#!/usr/bin/env python3
"""strata's tokenizers against the reference packages on whole corpora, side by side:
each tokenizer of tests/fixtures/tokenizers encodes (1) the 300 KB Shakespeare file of the
labs and (2) a multilingual corpus (the fixture texts repeated to ~300 KB), with
`strata tokenize --file` and with the `tokenizers` / `sentencepiece` package in this
process. The ids must be identical; the encoding throughput of each is printed (best of 5,
the text encoded as one string, one thread each).

    /tmp/hfvenv/bin/python bench/tokenizers/compare_tokenizers.py build/bin/strata
"""
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "tokenizers"


def reference(name):
    if name == "sentencepiece":
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=str(FIXTURES / name / "tokenizer.model"))
        return lambda text: sp.encode(text)
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(FIXTURES / name / "tokenizer.json"))
    return lambda text: tok.encode(text, add_special_tokens=False).ids


def best_of(n, f):
    best, out = float("inf"), None
    for _ in range(n):
        start = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - start)
    return best, out


def main():
    strata = sys.argv[1]
    texts = [r["text"] for r in json.loads((FIXTURES / "qwen2" / "expected.json").read_text())]
    multilingual = "\n".join(texts)
    corpora = {"shakespeare": (ROOT / "experiments/labs/data/shakespeare_300k.txt").read_text(encoding="utf-8"),
               "multilingual": multilingual * (300_000 // len(multilingual.encode()) + 1)}
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for corpus, text in corpora.items():
            path = pathlib.Path(tmp) / f"{corpus}.txt"
            path.write_text(text, encoding="utf-8")
            mb = len(text.encode()) / 1e6
            for name in ("gpt2", "llama3", "qwen2", "llama2", "metaspace", "sentencepiece"):
                ref_seconds, ref_ids = best_of(5, lambda: reference(name)(text))
                times = []
                for _ in range(5):
                    run = subprocess.run([strata, "tokenize", FIXTURES / name, "--file", path], check=True,
                                         capture_output=True, text=True)
                    times.append(float(re.search(r"in ([0-9.]+) ms", run.stderr).group(1)) / 1e3)
                ours = [int(i) for i in run.stdout.split()]
                same = ours == ref_ids
                failed |= not same
                ours_seconds = min(times)
                print(f"{corpus:12s} {name:13s} {len(ref_ids):7d} ids {'equal' if same else 'DIFFER'}  "
                      f"strata {mb / ours_seconds:6.1f} MB/s  reference {mb / ref_seconds:6.1f} MB/s  "
                      f"ratio {ref_seconds / ours_seconds:4.2f}x", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
