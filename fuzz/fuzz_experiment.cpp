// The experiment loader with its overrides and sweeps: the input is a TOML experiment,
// optionally followed by a line "%%" and one argument per line, "set KEY=VALUE" (--set) or
// "sweep KEY=V1,V2" (--sweep). Everything up to a built model's first allocation runs:
// parsing, validation of every key, the sweep's axes and its first variant.
#include <algorithm>
#include <sstream>
#include <vector>

#include "fuzz_support.h"
#include "strata/sweep.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find("\n%%\n");
  const std::string toml = input.substr(0, split);
  ExperimentOptions options = fuzz::hermetic_options();
  std::vector<std::string> sweeps;
  if (split != std::string::npos) {
    std::istringstream lines(input.substr(split + 4));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("set ", 0) == 0) options.overrides.push_back(line.substr(4));
      if (line.rfind("sweep ", 0) == 0) sweeps.push_back(line.substr(6));
    }
  }
  ComponentRegistry& registry = fuzz::registry();
  fuzz::expect_strata_errors_only([&] {
    const Experiment e = Experiment::from_string(toml, "fuzz.toml", options, registry);
    (void)e.resolved_toml();
  });
  fuzz::expect_strata_errors_only([&] {
    const auto file = fuzz::write_scratch("experiment.toml", toml);
    std::vector<SweepAxis> axes = read_sweep_axes(file);
    for (const std::string& s : sweeps) axes.push_back(parse_sweep_argument(s));
    std::size_t combinations = 1;
    for (const SweepAxis& a : axes)
      if ((combinations *= std::max<std::size_t>(a.values.size(), 1)) > 256) break;
    if (axes.empty() || combinations > 256) return;  // a grid's size is the user's choice, not a bug
    const std::vector<SweepVariant> variants = expand_sweep(axes);
    (void)load_sweep_variant(file, options, variants.front(), axes, registry);
  });
  return 0;
}
