// The example plugin's own test: loads the built plugin file as the host would and runs
// the conformance checks (f64 gradients of the input and every parameter, causality,
// decoding equals forward) on several configurations. Exit code 0 when all pass.
//
//   check_shortconv PLUGIN_FILE
#include <strata/plugin_loader.h>
#include <strata/testing/component_check.h>

#include <iostream>

int main(int argc, char** argv) {
  using namespace strata;
  if (argc != 2) {
    std::cerr << "usage: check_shortconv PLUGIN_FILE\n";
    return 2;
  }
  try {
    ComponentRegistry registry;
    register_builtin_components(registry);
    load_plugin(registry, argv[1]);
    bool all_passed = true;
    for (const std::vector<std::string>& keys : std::vector<std::vector<std::string>>{
             {}, {"kernel_size=1"}, {"kernel_size=3", "expand=2", "gate=false", "bias=true"}, {"fused=false"}}) {
      const Config config = testing::component_config(registry, ComponentKind::mixer, "shortconv", keys);
      const testing::CheckReport report = testing::check_component(registry, ComponentKind::mixer, config);
      std::cout << "shortconv";
      for (const auto& k : keys) std::cout << " " << k;
      std::cout << "\n" << report.to_string() << "\n";
      all_passed = all_passed && report.passed();
    }
    return all_passed ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
