// The CUDA emulator itself (fake_cuda/): what the kernel tests rely on it to show. The
// kernels are selftest/emu_selftest.cu, translated by prepare.cmake as kernels/cuda is.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "emu_test.h"
#include "selftest/emu_selftest.h"

namespace st = emu_selftest;

static bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_CASE("emulator: a __shared__ variable is one object per block, shared by its threads", "[emulator]") {
  for (int threads : {32, 100, 1024}) {
    INFO(threads << " threads");
    std::vector<double> out;
    REQUIRE(st::shared_per_block(3, threads, out) == "");
    for (int b = 0; b < 3; ++b)
      for (int t = 0; t < threads; ++t) CHECK(out[std::size_t(b * threads + t)] == 1000.0 * b);
  }
}

TEST_CASE("emulator: shared memory starts poisoned (NaN), so unwritten reads show", "[emulator]") {
  std::vector<double> out;
  REQUIRE(st::shared_unwritten(64, out) == "");
  for (double v : out) CHECK(std::isnan(v));
}

TEST_CASE("emulator: a missing __syncthreads reads unwritten shared memory", "[emulator]") {
  // threads run to their next barrier one at a time, in a shuffled order: a thread that
  // runs before its neighbour reads the neighbour's cell before it is written
  std::vector<double> out;
  REQUIRE(st::missing_barrier(256, out) == "");
  int poisoned = 0;
  for (double v : out) poisoned += std::isnan(v);
  CHECK(poisoned > 0);
}

TEST_CASE("emulator: divergent barriers are reported as a deadlock", "[emulator]") {
  const std::string divergent = st::divergent_barrier(64);
  CHECK(contains(divergent, "deadlock"));
  CHECK(contains(divergent, "divergent_barrier_kernel"));
  CHECK(contains(st::return_before_barrier(64), "deadlock"));
  // the error was taken by the wrapper: the next launch is fine
  std::vector<double> out;
  CHECK(st::shared_unwritten(32, out) == "");
}

TEST_CASE("emulator: warp shuffles with every variant and width", "[emulator]") {
  for (int threads : {32, 64, 96}) {
    INFO(threads << " threads");
    std::vector<long long> out;
    REQUIRE(st::shuffles(threads, out) == "");
    for (int t = 0; t < threads; ++t) {
      const int lane = t % 32, warp = t - lane;
      auto from = [](int source) { return 100LL * source + 7; };
      INFO("thread " << t);
      CHECK(out[std::size_t(0 * threads + t)] == from(warp + (lane ^ 1)));
      CHECK(out[std::size_t(1 * threads + t)] == from(warp + (lane ^ 16)));
      CHECK(out[std::size_t(2 * threads + t)] == from(warp + 5));
      CHECK(out[std::size_t(3 * threads + t)] == from(lane + 3 < 32 ? t + 3 : t));
      CHECK(out[std::size_t(4 * threads + t)] == from(lane >= 2 ? t - 2 : t));
      CHECK(out[std::size_t(5 * threads + t)] == from(warp + (lane ^ 2)));
      CHECK(out[std::size_t(6 * threads + t)] == from(warp + lane / 16 * 16 + 3));
      CHECK(out[std::size_t(7 * threads + t)] == from(lane % 4 + 1 < 4 ? t + 1 : t));
    }
  }
  // a partial last warp (48 threads) shuffles among its 16 lanes
  std::vector<long long> out;
  REQUIRE(st::shuffles(48, out) == "");
  CHECK(out[std::size_t(0 * 48 + 33)] == 100LL * 32 + 7);
}

TEST_CASE("emulator: lanes of a warp in different shuffles are an error", "[emulator]") {
  CHECK(contains(st::divergent_shuffle(), "different warp operations"));
}

TEST_CASE("emulator: warp votes and __syncthreads_count", "[emulator]") {
  const int threads = 96;
  std::vector<unsigned> out;
  REQUIRE(st::votes(threads, out) == "");
  for (int t = 0; t < threads; ++t) {
    INFO("thread " << t);
    unsigned ballot = 0;
    for (int l = 0; l < 32; ++l)
      if ((t - t % 32 + l) % 3 == 0) ballot |= 1u << l;
    CHECK(out[std::size_t(t)] == ballot);
    CHECK(out[std::size_t(threads + t)] == unsigned(t / 32 == 1));  // lane 40 is in warp 1
    CHECK(out[std::size_t(2 * threads + t)] == 1u);
    CHECK(out[std::size_t(3 * threads + t)] == 20u);  // t % 5 == 0 for 20 of 96
    CHECK(out[std::size_t(4 * threads + t)] == 7u);
  }
}

TEST_CASE("emulator: atomicAdd from every thread of several blocks", "[emulator]") {
  unsigned long long count = 0;
  double sum = 0;
  REQUIRE(st::atomics(5, 256, &count, &sum) == "");
  CHECK(count == 5 * 256);
  CHECK(sum == 5 * 255 * 256 / 2);
}

TEST_CASE("emulator: 2-d and 3-d blocks, warps across y and z", "[emulator]") {
  for (auto [x, y, z] : {std::tuple{32u, 16u, 1u}, std::tuple{8u, 4u, 3u}, std::tuple{1u, 1u, 64u}}) {
    INFO("block " << x << " x " << y << " x " << z);
    std::vector<long long> out;
    REQUIRE(st::block_shape(x, y, z, out) == "");
    for (unsigned k = 0; k < z; ++k)
      for (unsigned j = 0; j < y; ++j)
        for (unsigned i = 0; i < x; ++i) {
          const unsigned linear = i + x * (j + y * k);
          CHECK(out[2 * linear] == i + 1000LL * j + 1000000LL * k);
          CHECK(out[2 * linear + 1] == (linear / 32) * 32);
        }
  }
}

TEST_CASE("emulator: launch configurations a GPU refuses are errors", "[emulator]") {
  CHECK(contains(st::too_many_threads(), "invalid configuration"));
  CHECK(contains(st::over_launch_bounds(), "__launch_bounds__"));
  std::vector<double> out;
  CHECK(contains(st::dynamic_shared(64 * 1024, 0, out), "dynamic shared memory"));
  CHECK(contains(st::dynamic_shared(100 * 1024, 100 * 1024, out), "99 KiB"));
  CHECK(contains(st::static_shared_over_48k(), "48 KiB"));
  // allowed: 64 KiB after opting in, each block its own dynamic shared memory
  REQUIRE(st::dynamic_shared(64 * 1024, 64 * 1024, out) == "");
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < 64; ++t) CHECK(out[std::size_t(b * 64 + t)] == b + 0.5);
}

TEST_CASE("emulator: a clamped grid makes grid-stride loops take several items", "[emulator]") {
  std::vector<std::int64_t> out;
  emu::ScopedGridLimit limit(3);
  const auto blocks = emu::stats().blocks;
  REQUIRE(st::grid_stride(10000, out) == "");
  CHECK(emu::stats().blocks - blocks == 3);
  for (std::int64_t i = 0; i < 10000; ++i) CHECK(out[std::size_t(i)] == i);
}
