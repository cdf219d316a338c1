// strata import-hf / export-hf: Hugging Face model folders <-> strata checkpoints; export-gguf
// for llama.cpp.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/token_input.h"
#include "strata/gguf.h"
#include "strata/hf.h"

namespace strata::cli {

int import_hf_command(const HfOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  if (options.explain) {
    load_experiment_plugins(options.common.experiment_options(), registry);
    std::string architecture;
    const std::vector<HfKeyUse> uses =
        explain_hf_config(std::filesystem::path(options.source) / "config.json", registry, &architecture);
    std::size_t width = 0;
    for (const HfKeyUse& u : uses) width = std::max(width, u.key.size());
    std::cout << architecture << ": every config.json key, as the import treats it\n";
    for (const HfKeyUse& u : uses)
      std::cout << "  " << u.key << std::string(width - u.key.size() + 2, ' ')
                << (u.read ? std::string("read") : "irrelevant: " + u.why) << "\n";
    return kOk;
  }
  if (options.out.empty())
    throw UsageError("import-hf needs --out CHECKPOINT_FOLDER", "or --explain to see how each config.json key is read");
  const HfImportResult r = import_hf(options.source, options.out, registry, options.common.experiment_options());
  std::cout << "imported " << r.architecture << ": " << r.parameters << " parameters in " << r.tensors
            << " tensors -> " << options.out << " (experiment.toml, model.safetensors";
  for (const std::string& name : r.tokenizers) std::cout << ", " << name;
  std::cout << ")\n";
  for (const std::string& why : r.tokenizer_refusals)
    std::cerr << "warning: tokenizer not copied (generate --text will need --tokenizer): " << why << "\n";
  return kOk;
}

int export_hf_command(const HfOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  const std::string architecture = export_hf(options.source, options.out, registry, options.common.experiment_options(),
                                                options.checks);
  std::cout << "exported " << architecture << " -> " << options.out << " (config.json, model.safetensors)\n";
  return kOk;
}

int export_gguf_command(const GgufOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  const GgufExportResult r = export_gguf(options.checkpoint, options.out, parse_gguf_type(options.type), registry,
                                         options.common.experiment_options(), options.checks);
  std::cout << "exported " << r.hf_architecture << " as llama.cpp's " << r.architecture << " (" << options.type << ", "
            << r.tensors << " tensors, " << r.bytes << " bytes, tokenizer " << r.tokenizer << ") -> " << options.out
            << "\n";
  if (!r.tokenizer_note.empty()) std::cerr << "warning: no tokenizer in the GGUF file: " << r.tokenizer_note << "\n";
  return kOk;
}

}  // namespace strata::cli
