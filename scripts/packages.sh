# The Debian packages of the libraries strata builds against: sourced by scripts/setup
# (which installs them, with the tools and MPI) and scripts/gpu-bundle (which packs them
# for a GPU machine without internet), so the two cannot drift apart.
strata_library_packages=(
  libboost-dev           # Boost.DLL (plugins)
  libtomlplusplus-dev    # experiment files
  libcli11-dev           # the strata command line
  nlohmann-json3-dev     # metrics.jsonl and run summaries
  libopenblas-openmp-dev # sgemm/dgemm sharing OpenMP's thread pool
  libdnnl-dev            # oneDNN matmul: f32 and bf16 products on AVX-512 / AVX512-BF16 / AMX
  libhwy-dev             # Google Highway: the CPU kernels' SIMD, chosen at run time
  libxxhash-dev          # checkpoint integrity digests (XXH3)
  libpcre2-dev           # tokenizer.json pre-tokenizer patterns
  libutf8proc-dev        # tokenizer.json Unicode normalizers (NFC, NFKC, ...)
  libsentencepiece-dev   # SentencePiece tokenizer.model files
  catch2                 # tests
  libbenchmark-dev       # bench/
)
