#pragma once
// What the emulation tests control and observe in the CUDA emulator (emu_runtime.cpp),
// without including the fake CUDA headers.
#include <cstdint>

namespace emu {

// Launches, blocks and threads run since the program started, and the largest dynamic and
// static shared memory a block used.
struct Stats {
  std::uint64_t launches = 0, blocks = 0, threads = 0;
  std::uint64_t max_dynamic_shared = 0, max_static_shared = 0;
};
Stats stats();

// Clamps every launch's grid to at most x (y) blocks, 0: no limit. Kernels whose
// grid-stride loops are correct give the same result with any grid, and a small one makes
// each thread take several items (which a test could otherwise only reach with grids of
// 65535 blocks).
void set_grid_limit(unsigned x, unsigned y);
struct ScopedGridLimit {
  ScopedGridLimit(unsigned x, unsigned y = 0) { set_grid_limit(x, y); }
  ~ScopedGridLimit() { set_grid_limit(0, 0); }
  ScopedGridLimit(const ScopedGridLimit&) = delete;
  ScopedGridLimit& operator=(const ScopedGridLimit&) = delete;
};

// The seed of the block and thread orders (STRATA_EMU_SEED, else a fixed default).
void set_schedule_seed(std::uint64_t seed);

// The launch error the emulator holds, cleared (what cudaGetLastError returns), and its text.
int take_error_code();
const char* error_text(int code);

}  // namespace emu
