// Models made by the transformers library (tests/fixtures/hf, made by its
// make_fixtures.py): after import-hf, strata's logits equal transformers' within 1e-4 for
// Llama (sharded), Mixtral, Mamba and Jamba, and decoding the imported model token by token
// gives the same logits as its forward.
#include <filesystem>
#include <string>

#include "catch.h"
#include "helpers.h"
#include "jamba/hybrid_registry.h"
#include "plugin_registry.h"
#include "strata/autograd.h"
#include "strata/checkpoint.h"
#include "strata/hf.h"
#include "strata/ops.h"
#include "strata/safetensors.h"

using namespace strata;
namespace fs = std::filesystem;

TEST_CASE("hf fixtures: imported models reproduce transformers' logits", "[hf][fixtures]") {
  for (const char* name : {"llama", "mixtral", "mamba", "jamba"}) {
    INFO(name);
    const fs::path folder = fs::path(STRATA_HF_FIXTURES_DIR) / name;
    const fs::path out = test::fresh_temp_dir("hf_fixture", name);
    import_hf(folder, out, test::hybrid_registry(), test::hermetic_options());
    LoadedCheckpoint c = load_checkpoint(out, test::hermetic_options(), test::hybrid_registry());
    const safetensors::Reader expected(folder / "expected.safetensors");
    const Tensor ids = expected.load("input_ids");
    const Tensor want = expected.load("logits");
    autograd::NoGradGuard no_grad;
    c.model->train(false);
    StepContext ctx(false);
    const Tensor logits = c.model->forward(ids, ctx);
    STRATA_REQUIRE_CLOSE(logits, want, 1e-4, 0);

    // Decoding through the layers' caches: the prompt's first 5 tokens, then one at a time.
    DecodeState state = c.model->make_decode_state(ids.size(0));
    std::vector<Tensor> pieces{c.model->forward_step(ids.slice(1, 0, 5), state, ctx)};
    for (std::int64_t t = 5; t < ids.size(1); ++t) pieces.push_back(c.model->forward_step(ids.slice(1, t, t + 1), state, ctx));
    STRATA_REQUIRE_CLOSE(concat(pieces, 1), logits, 1e-4, 0);
  }
}
