// Fixture plugins for the loader tests: one source, one library per variant, each
// selected by a FIXTURE_<VARIANT> definition (tests/CMakeLists.txt). Every variant but
// `ok` is broken in exactly one way the loader must reject with its own message. The
// descriptor variants also have a static initializer that would abort the process: the
// loader must refuse them from the file alone, before loading (and so running) them.
#include <strata/ops.h>
#include <strata/plugin.h>

#include <atomic>

namespace {

using namespace strata;

std::atomic<int> live_mixers{0};

// y = x * scale, scale: [D]; counts live instances so the test can see that the
// plugin-defined destructor runs (with the library still mapped) after the registry is gone.
class FixtureMixer : public Mixer {
 public:
  FixtureMixer(std::int64_t d_model, DType dtype) {
    scale_ = register_parameter("scale", Tensor::full({d_model}, 2.0, dtype));
    ++live_mixers;
  }
  ~FixtureMixer() override { --live_mixers; }
  Tensor forward(const Tensor& x, StepContext&) override { return mul(x, scale_); }

 private:
  Tensor scale_;
};

[[maybe_unused]] std::unique_ptr<FixtureMixer> make_mixer(const Config&, const BuildContext& ctx) {
  return std::make_unique<FixtureMixer>(ctx.dims.d_model, ctx.dtype);
}

[[maybe_unused]] void register_mixer(PluginRegistrar& r) {
  r.add<FixtureMixer>("fixture_mixer", "multiplies by a learned scale", ConfigSchema{}, &make_mixer);
}

[[maybe_unused]] void register_then_fail(PluginRegistrar& r) {
  r.add<FixtureMixer>("fixture_never_registered", "staged, then the registration fails", ConfigSchema{}, &make_mixer);
  throw ValueError("fixture cannot find its lookup table");
}

[[maybe_unused]] void register_builtin_name(PluginRegistrar& r) {
  r.add<FixtureMixer>("fixture_other", "fine", ConfigSchema{}, &make_mixer);
  struct FakeFfn : Ffn {
    Tensor forward(const Tensor& x, StepContext&) override { return x; }
  };
  r.add<FakeFfn>("mlp", "clashes with the built-in ffn", ConfigSchema{},
                 [](const Config&, const BuildContext&) { return std::make_unique<FakeFfn>(); });
}

[[maybe_unused]] void register_other_component(PluginRegistrar& r) {
  r.add<FixtureMixer>("fixture_mixer_2", "a different component", ConfigSchema{}, &make_mixer);
}

[[maybe_unused]] int entry_ok(PluginRegistrar* r, char* error, std::size_t size) noexcept {
  return detail::run_registration(register_mixer, r, error, size);
}

}  // namespace

// Lets the test count live FixtureMixer objects (default visibility, found with dlsym).
extern "C" __attribute__((visibility("default"))) int strata_fixture_live_mixers() { return live_mixers.load(); }

#if defined(FIXTURE_BAD_MAGIC) || defined(FIXTURE_ABI_MAJOR) || defined(FIXTURE_ABI_MINOR_NEWER) || \
    defined(FIXTURE_FINGERPRINT)
#include <cstdlib>
namespace {
// Runs if the library is ever loaded: proves the loader refuses these from the file alone.
[[maybe_unused]] const int abort_if_loaded = (std::abort(), 0);
}  // namespace
#endif

#if defined(FIXTURE_OK)
STRATA_PLUGIN("fixture_ok", "1.2.3", register_mixer)

#elif defined(FIXTURE_NOT_PLUGIN)
// A shared library with no strata symbols at all.

#elif defined(FIXTURE_NO_ENTRY)
STRATA_PLUGIN_DESCRIPTOR(descriptor, kPluginMagic, kPluginAbiMajor, kPluginAbiMinor, STRATA_BUILD_FINGERPRINT,
                         "fixture", "0.0.1");
BOOST_DLL_ALIAS(descriptor, strata_plugin_descriptor)

#elif defined(FIXTURE_BAD_MAGIC)
STRATA_PLUGIN_DESCRIPTOR(descriptor, 0x12345678u, kPluginAbiMajor, kPluginAbiMinor, STRATA_BUILD_FINGERPRINT, "fixture",
                         "0.0.1");
STRATA_PLUGIN_EXPORT(descriptor, entry_ok)

#elif defined(FIXTURE_ABI_MAJOR)
STRATA_PLUGIN_DESCRIPTOR(descriptor, kPluginMagic, kPluginAbiMajor + 1, 0, STRATA_BUILD_FINGERPRINT, "fixture",
                         "0.0.1");
STRATA_PLUGIN_EXPORT(descriptor, entry_ok)

#elif defined(FIXTURE_ABI_MINOR_NEWER)
STRATA_PLUGIN_DESCRIPTOR(descriptor, kPluginMagic, kPluginAbiMajor, kPluginAbiMinor + 1, STRATA_BUILD_FINGERPRINT,
                         "fixture", "0.0.1");
STRATA_PLUGIN_EXPORT(descriptor, entry_ok)

#elif defined(FIXTURE_FINGERPRINT)
STRATA_PLUGIN_DESCRIPTOR(descriptor, kPluginMagic, kPluginAbiMajor, kPluginAbiMinor,
                         "strata-0.0.1;gcc-9;libstdc++-9;c++201703L;nocuda;headers-0", "fixture", "0.0.1");
STRATA_PLUGIN_EXPORT(descriptor, entry_ok)

#elif defined(FIXTURE_MISMATCHED_EXPORT)
// The section says one thing, the exported alias points at another descriptor.
STRATA_PLUGIN_DESCRIPTOR(descriptor, kPluginMagic, kPluginAbiMajor, kPluginAbiMinor, STRATA_BUILD_FINGERPRINT,
                         "fixture_mismatch", "0.0.1");
namespace {
const PluginDescriptor other{
    kPluginMagic,   kPluginAbiMajor, kPluginAbiMinor, sizeof(PluginDescriptor), STRATA_BUILD_FINGERPRINT,
    "someone_else", "0.0.1"};
}
STRATA_PLUGIN_EXPORT(other, entry_ok)

#elif defined(FIXTURE_REGISTRATION_FAILS)
STRATA_PLUGIN("fixture_fails", "1.0.0", register_then_fail)

#elif defined(FIXTURE_DUPLICATE_BUILTIN)
STRATA_PLUGIN("fixture_builtin_clash", "1.0.0", register_builtin_name)

#elif defined(FIXTURE_DUPLICATE_COMPONENT)
STRATA_PLUGIN("fixture_component_clash", "1.0.0", register_mixer)  // fixture_mixer again

#elif defined(FIXTURE_SAME_PLUGIN_NAME)
STRATA_PLUGIN("fixture_ok", "9.9.9", register_other_component)  // the plugin name of `ok`

#else
#error "define one FIXTURE_<VARIANT>"
#endif
