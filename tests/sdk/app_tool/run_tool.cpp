// Trains an experiment file in a folder with strata/run.h and prints the final eval
// accuracy: the application API as an out-of-tree program uses it.
#include <strata/experiment.h>
#include <strata/run.h>
#include <strata/run_folder.h>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: run_tool EXPERIMENT.toml RUN_FOLDER\n");
    return 2;
  }
  try {
    strata::ComponentRegistry registry;
    strata::register_builtin_components(registry);
    const strata::Experiment e = strata::Experiment::load(argv[1], {}, registry);  // default plugin folders
    strata::create_run_folder(argv[2], "run_tool");
    const strata::RunOutcome o = strata::run_in_folder(e, registry, argv[2]);
    const strata::run_folder::MetricsLog log = strata::run_folder::read_metrics(argv[2]);
    std::printf("steps %lld, records %zu, eval accuracy %.3f\n", static_cast<long long>(o.summary.steps),
                log.records.size(), o.summary.final_eval.accuracy);
    return 0;
  } catch (const std::exception& err) {
    std::fprintf(stderr, "run_tool: %s\n", err.what());
    return 1;
  }
}
