// A plugin's own CUDA kernels under the emulator: plugins/example/gated_conv_cuda.cu (the
// fused gated short convolution) against its CPU twin, gated_conv_cpu.cpp.
//
// Shapes: one element; the plugin's conformance shape; more channels than a
// parameter-gradient block's 32 lanes; an empty sequence (dpadded and the parameter
// gradients are then zeros); and a grid clamped to one block, so that every grid-stride
// loop and the tile loop take several items.
#include <cstdint>
#include <vector>

#include "emu_test.h"
#include "gated_conv_kernels.h"

using namespace emu_test;
namespace ex = example_plugin;

static const Covers covers{"gated_conv_cuda.cu"};

namespace {

struct ConvShape {
  std::int64_t B, T, E, K;
};

template <class T>
void check_gated_conv(ConvShape s, bool gated) {
  INFO(type_name(T()) << " gated_short_conv B " << s.B << " T " << s.T << " E " << s.E << " K " << s.K
                      << (gated ? " with gate" : " without gate"));
  Random rng(std::uint64_t(s.B * 1000 + s.T * 100 + s.E * 10 + s.K + (gated ? 1 : 0)));
  const std::int64_t P = s.T + s.K - 1;
  const std::vector<T> padded = cast<T>(rng.normal(sz(s.B * P * s.E)));
  const std::vector<T> weight = cast<T>(rng.normal(sz(s.E * s.K)));
  const std::vector<T> bias = cast<T>(rng.normal(sz(s.E)));
  const std::vector<T> gate = cast<T>(rng.normal(sz(s.B * s.T * s.E), 2.0));
  const std::vector<T> dy = cast<T>(rng.normal(sz(s.B * s.T * s.E)));

  // the CPU reference
  std::vector<T> y(sz(s.B * s.T * s.E)), dpadded(padded.size()), dweight(weight.size()), dbias(bias.size()),
      dgate(gate.size());
  ex::GatedConvArgs<T> c{.batch = s.B, .seq_len = s.T, .channels = s.E, .kernel_size = s.K};
  c.padded = padded.data(), c.weight = weight.data(), c.bias = bias.data(), c.gate = gated ? gate.data() : nullptr;
  c.y = y.data(), c.dy = dy.data(), c.dpadded = dpadded.data(), c.dweight = dweight.data(), c.dbias = dbias.data();
  c.dgate = gated ? dgate.data() : nullptr;
  ex::gated_conv_fwd_cpu(c);
  ex::gated_conv_bwd_cpu(c);

  // the emulated GPU
  Buffer<T> pd(padded), wd(weight), bd(bias), gd(gate), dyd(dy), yd(y.size()), dpd(padded.size()),
      dwd(weight.size()), dbd(bias.size()), dgd(gate.size()), dconv(y.size());
  ex::GatedConvArgs<T> a = c;
  a.padded = pd.data(), a.weight = wd.data(), a.bias = bd.data(), a.gate = gated ? gd.data() : nullptr;
  a.y = yd.data(), a.dy = dyd.data(), a.dpadded = dpd.data(), a.dweight = dwd.data(), a.dbias = dbd.data();
  a.dgate = gated ? dgd.data() : nullptr, a.dconv = gated ? dconv.data() : nullptr;
  REQUIRE(ex::gated_conv_fwd_cuda(a, 0) == "");
  EMU_CHECK_CLOSE(yd, y, kTol<T>);
  REQUIRE(ex::gated_conv_bwd_cuda(a, 0) == "");
  EMU_CHECK_CLOSE(dpd, dpadded, kTol<T>);
  EMU_CHECK_CLOSE(dwd, dweight, kTol<T>);
  EMU_CHECK_CLOSE(dbd, dbias, kTol<T>);
  if (gated) EMU_CHECK_CLOSE(dgd, dgate, kTol<T>);
}

const std::vector<ConvShape> kConvShapes = {{1, 1, 1, 1}, {2, 11, 19, 4}, {3, 7, 70, 3}, {2, 0, 5, 4}, {1, 40, 33, 1}};

}  // namespace

TEST_CASE("example plugin: gated_short_conv forward and backward, with and without gate", "[plugin][conv]") {
  for (const ConvShape& s : kConvShapes)
    for (bool gated : {true, false}) {
      check_gated_conv<float>(s, gated);
      check_gated_conv<double>(s, gated);
    }
  emu::ScopedGridLimit limit(1);
  check_gated_conv<double>({3, 9, 40, 4}, true);
}

TEST_CASE("example plugin: a gated backward without its workspace is refused", "[plugin][conv]") {
  Buffer<double> x(5 * 2), w(2 * 3), b(2), g(3 * 2), dy(3 * 2), dx(5 * 2), dw(6), db(2), dg(6);
  ex::GatedConvArgs<double> a{.batch = 1, .seq_len = 3, .channels = 2, .kernel_size = 3};
  a.padded = x.data(), a.weight = w.data(), a.bias = b.data(), a.gate = g.data(), a.dy = dy.data();
  a.dpadded = dx.data(), a.dweight = dw.data(), a.dbias = db.data(), a.dgate = dg.data();
  CHECK(ex::gated_conv_bwd_cuda(a, 0).find("dconv workspace") != std::string::npos);
}
