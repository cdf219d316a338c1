// The plugin loader against real shared libraries: a good plugin, one fixture per
// rejection (tests/plugins/fixture_plugin.cpp), lifetimes, and the search path.
#include <dlfcn.h>
#include <elf.h>
#include <stdlib.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "catch.h"
#include "strata/ops.h"
#include "strata/plugin.h"
#include "strata/plugin_loader.h"
#include "strata/testing/component_check.h"
#include "helpers.h"
#include "plugin_registry.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const std::string& variant) {
  return fs::path(STRATA_FIXTURE_DIR) / ("strata_plugin_fixture_" + variant + ".so");
}

// Loads `variant` into a registry with the built-ins; returns the PluginError message.
std::string rejection(const std::string& variant, ComponentRegistry* registry_in = nullptr) {
  ComponentRegistry local;
  ComponentRegistry& registry = registry_in ? *registry_in : local;
  if (!registry_in) register_builtin_components(registry);
  try {
    load_plugin(registry, fixture(variant));
  } catch (const PluginError& e) {
    return e.what();
  }
  FAIL("fixture " << variant << " was accepted");
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A fresh, empty folder under the system temp dir.
fs::path scratch_folder(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("strata_test_plugins_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

}  // namespace

TEST_CASE("plugin loader: a good plugin registers its components with its origin", "[plugins]") {
  ComponentRegistry registry;
  register_builtin_components(registry);
  const PluginInfo info = load_plugin(registry, fixture("ok"));
  CHECK(info.name == "fixture_ok");
  CHECK(info.version == "1.2.3");
  CHECK(info.abi_major == kPluginAbiMajor);
  REQUIRE(registry.find(ComponentKind::mixer, "fixture_mixer") != nullptr);
  CHECK(registry.origin_of(ComponentKind::mixer, "fixture_mixer").path == fs::canonical(fixture("ok")).string());
  CHECK(registry.origin_of(ComponentKind::ffn, "mlp").path == "(built in)");
  REQUIRE(registry.plugins().size() == 1);
}

TEST_CASE("plugin loader: the example plugin passes its conformance checks when loaded", "[plugins]") {
  ComponentRegistry registry;
  register_builtin_components(registry);
  load_plugin(registry, STRATA_EXAMPLE_PLUGIN);
  REQUIRE(registry.find(ComponentKind::mixer, "shortconv") != nullptr);
  const auto report = testing::check_component(registry, ComponentKind::mixer,
                                               testing::component_config(registry, ComponentKind::mixer, "shortconv"));
  INFO(report.to_string());
  CHECK(report.passed());
}

TEST_CASE("plugin loader: the example plugin's fused kernel is in the backend table and equals the composed path",
          "[plugins][backend]") {
  ComponentRegistry registry;
  test::add_builtins_and_plugins(registry, {STRATA_EXAMPLE_PLUGIN});
  const backend::OpEntry* op = backend::find_op("example.gated_short_conv");
  REQUIRE(op != nullptr);
  // a CPU kernel, and a CUDA kernel where strata (and so the plugin) is built with CUDA
  const std::size_t kernels = built_with_cuda() ? 2 : 1;
  REQUIRE(op->kernels().size() == kernels);
  for (const auto& kernel : op->kernels()) CHECK(kernel.backend == "example");
  CHECK(op->kernels()[0].device == DeviceType::cpu);
  if (kernels == 2) CHECK(op->kernels()[1].device == DeviceType::cuda);
  CHECK(backend::find_op("example.gated_short_conv_backward") != nullptr);
  load_plugin(registry, STRATA_EXAMPLE_PLUGIN);  // loading it again registers nothing twice
  CHECK(op->kernels().size() == kernels);

  for (const char* gate : {"gate=true", "gate=false"}) {
    INFO(gate);
    Generator g1(5), g2(5), data(6);
    const auto fused = test::make_component<Mixer>(registry, ComponentKind::mixer, "shortconv",
                                                   {gate, "kernel_size=3", "bias=true", "fused=true"},
                                                   test::layer_context(registry, g1, 6, DType::f64));
    const auto composed = test::make_component<Mixer>(registry, ComponentKind::mixer, "shortconv",
                                                      {gate, "kernel_size=3", "bias=true", "fused=false"},
                                                      test::layer_context(registry, g2, 6, DType::f64));
    Tensor u = Tensor::randn({2, 9, 6}, data, DType::f64).requires_grad_();
    StepContext ctx;
    const Tensor a = fused->forward(u, ctx), b = composed->forward(u, ctx);
    STRATA_REQUIRE_CLOSE(a, b, 1e-12, 1e-12);
    sum(square(a)).backward();
    const Tensor da = u.grad().clone();
    u.set_grad(Tensor());
    sum(square(b)).backward();
    STRATA_REQUIRE_CLOSE(da, u.grad(), 1e-12, 1e-12);
  }
}

TEST_CASE("plugin search: defaults, STRATA_PLUGIN_PATH and explicit paths, in order", "[plugins]") {
  const fs::path a = scratch_folder("a"), b = scratch_folder("b");
  fs::copy_file(fixture("ok"), a / "strata_plugin_fixture_ok.so");
  fs::copy_file(fixture("not_plugin"), b / "not_a_plugin_name.so");  // ignored: not strata_plugin_*.so
  fs::copy_file(fixture("duplicate_component"), b / "strata_plugin_clash.so");
  SECTION("environment folder then explicit folder: the second registers a clashing name") {
    setenv("STRATA_PLUGIN_PATH", a.c_str(), 1);
    ComponentRegistry registry;
    PluginSearch search;
    search.use_defaults = false;
    search.extra = {b};
    CHECK_THROWS_WITH(load_plugins(registry, search),
                      Catch::Contains("duplicate component name") && Catch::Contains("strata_plugin_clash.so"));
  }
  SECTION("environment off: only the explicit folders") {
    ComponentRegistry registry;
    PluginSearch search;
    search.use_defaults = false;
    search.use_environment = false;
    search.extra = {a, a / "strata_plugin_fixture_ok.so"};  // the same file twice loads once
    const auto loaded = load_plugins(registry, search);
    REQUIRE(loaded.size() == 1);
    CHECK(loaded[0].name == "fixture_ok");
  }
  SECTION("a named path that does not exist is an error") {
    ComponentRegistry registry;
    PluginSearch search;
    search.use_defaults = false;
    search.use_environment = false;
    search.extra = {a / "missing"};
    CHECK_THROWS_WITH(load_plugins(registry, search), Catch::Contains("plugin path not found"));
  }
  SECTION("the default folders hold the build's plugins") {
    ComponentRegistry registry;
    PluginSearch search;
    search.use_environment = false;
    load_plugins(registry, search);
    CHECK(registry.find(ComponentKind::mixer, "shortconv") != nullptr);
  }
  unsetenv("STRATA_PLUGIN_PATH");
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST_CASE("plugin loader: a file that is not a shared library is rejected before loading", "[plugins]") {
  const fs::path dir = scratch_folder("text");
  const fs::path file = dir / "strata_plugin_text.so";
  std::ofstream(file) << "this is not an ELF file\n";
  ComponentRegistry registry;
  try {
    load_plugin(registry, file);
    FAIL("accepted a text file");
  } catch (const PluginError& e) {
    const std::string m = e.what();
    CHECK(contains(m, "not a strata plugin"));
    CHECK(contains(m, file.string()));
    CHECK(contains(m, "hint:"));
  }
  fs::remove_all(dir);
}

TEST_CASE("plugin loader: a malformed ELF file is an error, not a crash", "[plugins]") {
  // A copy of a good plugin whose section names all point far outside the name table.
  const fs::path dir = scratch_folder("malformed");
  const fs::path file = dir / "strata_plugin_malformed.so";
  std::ifstream in(fixture("ok"), std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Elf64_Ehdr header;
  std::memcpy(&header, bytes.data(), sizeof header);
  for (std::uint64_t i = 0; i < header.e_shnum; ++i) {
    const std::uint32_t bad_name = 0xFFFFFFF0u;
    std::memcpy(bytes.data() + header.e_shoff + i * sizeof(Elf64_Shdr) + offsetof(Elf64_Shdr, sh_name), &bad_name,
                sizeof bad_name);
  }
  std::ofstream(file, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  ComponentRegistry registry;
  CHECK_THROWS_WITH(load_plugin(registry, file),
                    Catch::Contains("not a strata plugin") && Catch::Contains("malformed ELF file"));
  // Truncated to its first kilobyte.
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(bytes.data(), 1024);
  CHECK_THROWS_WITH(load_plugin(registry, file), Catch::Contains("not a strata plugin"));
  fs::remove_all(dir);
}

TEST_CASE("plugin loader: a shared library without strata symbols is not a plugin", "[plugins]") {
  const std::string m = rejection("not_plugin");
  CHECK(contains(m, "not a strata plugin"));
  CHECK(contains(m, "strata_plugin_descriptor"));
  CHECK(contains(m, fixture("not_plugin").filename().string()));
}

TEST_CASE("plugin loader: a descriptor without an entry point is rejected", "[plugins]") {
  const std::string m = rejection("no_entry");
  CHECK(contains(m, "missing entry point"));
  CHECK(contains(m, "strata_plugin_register"));
}

// The magic, ABI and fingerprint fixtures abort in a static initializer if they are ever
// loaded: these tests pass only if the loader refuses them from the file alone.
TEST_CASE("plugin loader: wrong magic is rejected with both values", "[plugins]") {
  const std::string m = rejection("bad_magic");
  CHECK(contains(m, "wrong magic"));
  CHECK(contains(m, "0x12345678"));
  CHECK(contains(m, "0x53545241"));
}

TEST_CASE("plugin loader: another ABI major is rejected with both versions", "[plugins]") {
  const std::string m = rejection("abi_major");
  CHECK(contains(m, "incompatible plugin ABI"));
  CHECK(contains(m, "plugin ABI " + std::to_string(kPluginAbiMajor + 1) + ".0"));
  CHECK(contains(m, "host ABI " + std::to_string(kPluginAbiMajor) + "." + std::to_string(kPluginAbiMinor)));
}

TEST_CASE("plugin loader: a plugin built for a newer ABI minor is rejected", "[plugins]") {
  const std::string m = rejection("abi_minor_newer");
  CHECK(contains(m, "needs a newer strata"));
}

TEST_CASE("plugin loader: a fingerprint mismatch shows both fingerprints", "[plugins]") {
  const std::string m = rejection("fingerprint");
  CHECK(contains(m, "build fingerprint mismatch"));
  CHECK(contains(m, "plugin: strata-0.0.1;gcc-9"));
  CHECK(contains(m, std::string("host:   ") + host_build_fingerprint()));
  CHECK(contains(m, "rebuild"));
}

TEST_CASE("plugin loader: an exported descriptor that differs from the file's section is rejected", "[plugins]") {
  const std::string m = rejection("mismatched_export");
  CHECK(contains(m, "inconsistent plugin"));
  CHECK(contains(m, ".strata_plugin section"));
}

TEST_CASE("plugin loader: a failing registration registers nothing and reports the plugin's message", "[plugins]") {
  ComponentRegistry registry;
  register_builtin_components(registry);
  const std::string m = rejection("registration_fails", &registry);
  CHECK(contains(m, "registration failed in plugin 'fixture_fails'"));
  CHECK(contains(m, "fixture cannot find its lookup table"));
  CHECK(registry.find(ComponentKind::mixer, "fixture_never_registered") == nullptr);
  CHECK(registry.plugins().empty());
}

TEST_CASE("plugin loader: a component name clash is rejected and nothing of the plugin is kept", "[plugins]") {
  SECTION("with a built-in") {
    ComponentRegistry registry;
    register_builtin_components(registry);
    const std::string m = rejection("duplicate_builtin", &registry);
    CHECK(contains(m, "duplicate component name"));
    CHECK(contains(m, "ffn 'mlp'"));
    CHECK(contains(m, "(built in)"));
    CHECK(registry.find(ComponentKind::mixer, "fixture_other") == nullptr);  // all or nothing
    CHECK(registry.origin_of(ComponentKind::ffn, "mlp").path == "(built in)");
  }
  SECTION("with another plugin") {
    ComponentRegistry registry;
    load_plugin(registry, fixture("ok"));
    const std::string m = rejection("duplicate_component", &registry);
    CHECK(contains(m, "mixer 'fixture_mixer'"));
    CHECK(contains(m, "fixture_ok"));
    CHECK(contains(m, fixture("duplicate_component").filename().string()));
    CHECK(registry.plugins().size() == 1);
  }
}

TEST_CASE("plugin loader: the same plugin name from two files is rejected naming both", "[plugins]") {
  ComponentRegistry registry;
  load_plugin(registry, fixture("ok"));
  const std::string m = rejection("same_plugin_name", &registry);
  CHECK(contains(m, "plugin 'fixture_ok' is found twice"));
  CHECK(contains(m, fixture("ok").filename().string()));
  CHECK(contains(m, fixture("same_plugin_name").filename().string()));
  CHECK(registry.find(ComponentKind::mixer, "fixture_mixer_2") == nullptr);
}

TEST_CASE("plugin loader: an identical copy of a loaded plugin in another folder counts once", "[plugins]") {
  // A copied build tree: its program's plugin folder and its library's hold the same files.
  const fs::path a = fs::temp_directory_path() / "strata_test_copy_a", b = fs::temp_directory_path() / "strata_test_copy_b";
  fs::remove_all(a);
  fs::remove_all(b);
  fs::create_directories(a);
  fs::create_directories(b);
  fs::copy_file(fixture("ok"), a / fixture("ok").filename());
  fs::copy_file(fixture("ok"), b / fixture("ok").filename());
  ComponentRegistry registry;
  const std::vector<PluginInfo> loaded = load_plugins(registry, PluginSearch{false, false, {a, b}});
  CHECK(registry.plugins().size() == 1);
  CHECK(registry.find(ComponentKind::mixer, "fixture_mixer") != nullptr);
  CHECK(loaded.size() == 2);  // both files answer for the one plugin
  // A different file under the same plugin name is still refused, naming both.
  fs::copy_file(fixture("same_plugin_name"), b / "strata_plugin_zz_other.so");
  ComponentRegistry again;
  CHECK_THROWS_WITH(load_plugins(again, PluginSearch{false, false, {a, b}}), Catch::Contains("is found twice"));
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST_CASE("plugin loader: a missing file is its own error", "[plugins]") {
  ComponentRegistry registry;
  CHECK_THROWS_WITH(load_plugin(registry, "/nonexistent/strata_plugin_x.so"),
                    Catch::Contains("plugin file not found: /nonexistent/strata_plugin_x.so"));
}

TEST_CASE("plugin loader: an object outlives the registry that loaded its plugin", "[plugins]") {
  std::shared_ptr<Mixer> mixer;
  void* handle = nullptr;
  int (*live)() = nullptr;
  {
    ComponentRegistry registry;
    load_plugin(registry, fixture("ok"));
    handle = dlopen(fs::canonical(fixture("ok")).c_str(), RTLD_NOW | RTLD_NOLOAD);
    REQUIRE(handle != nullptr);
    live = reinterpret_cast<int (*)()>(dlsym(handle, "strata_fixture_live_mixers"));
    REQUIRE(live != nullptr);
    Generator gen(0);
    BuildContext ctx;
    ctx.dims.d_model = 3;
    ctx.gen = &gen;
    mixer = registry.create<Mixer>(testing::component_config(registry, ComponentKind::mixer, "fixture_mixer"), ctx);
  }
  // The registry (and its handle on the library) is gone; the object still works.
  CHECK(live() == 1);
  StepContext ctx;
  const Tensor y = mixer->forward(Tensor::ones({1, 2, 3}), ctx);
  CHECK(y.to_vector<float>() == std::vector<float>(6, 2.0f));
  mixer.reset();  // runs the plugin's destructor through the host-side deleter
  CHECK(live() == 0);
  dlclose(handle);
}
