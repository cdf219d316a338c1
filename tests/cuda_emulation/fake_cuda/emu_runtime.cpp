// The CUDA emulator's scheduler (see cuda_runtime.h): a grid's blocks one after another,
// a block's threads as fibers on the calling OS thread, switched at barriers.
//
// Environment (for exploring a failure; the defaults are what the tests run):
//   STRATA_EMU_SEED=n        seed of the block and thread orders (default 0x5eed)
//   STRATA_EMU_SCHEDULE=s    random (default), forward or reverse: the order of the blocks
//                            and of the threads a barrier releases
//   STRATA_EMU_STACK_KB=n    each fiber's stack (default 256)
//   STRATA_EMU_DEVICE_MIB=n  the emulated device's memory (default 81920 MiB)
//   STRATA_EMU_INTEGRATED=1  an integrated GPU sharing the host's memory (GB10)
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "cuda_runtime.h"
#include "emu_control.h"

#if defined(__SANITIZE_ADDRESS__)
#define STRATA_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STRATA_EMU_ASAN 1
#endif
#endif
#if defined(STRATA_EMU_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

namespace emu {

namespace {

// ---- errors -------------------------------------------------------------------------------

cudaError_t last_error = cudaSuccess;
std::string last_detail;

const char* error_name(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    default: return "unknown error";
  }
}

// ---- settings -----------------------------------------------------------------------------

enum class Schedule { random, forward, reverse };

struct Settings {
  std::uint64_t seed = 0x5eed;
  Schedule schedule = Schedule::random;
  std::size_t stack_bytes = 256 * 1024;
};

Settings& settings() {
  static Settings s = [] {
    Settings r;
    if (const char* v = std::getenv("STRATA_EMU_SEED")) r.seed = std::strtoull(v, nullptr, 0);
    if (const char* v = std::getenv("STRATA_EMU_SCHEDULE")) {
      const std::string name = v;
      r.schedule = name == "forward" ? Schedule::forward : name == "reverse" ? Schedule::reverse : Schedule::random;
    }
    if (const char* v = std::getenv("STRATA_EMU_STACK_KB")) r.stack_bytes = std::size_t(std::strtoull(v, nullptr, 0)) * 1024;
    return r;
  }();
  return s;
}

struct Rng {  // splitmix64
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
};

template <class T>
void order(std::vector<T>& items, Rng& rng) {
  switch (settings().schedule) {
    case Schedule::forward:
      break;
    case Schedule::reverse:
      std::reverse(items.begin(), items.end());
      break;
    case Schedule::random:
      for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.next() % i]);
      break;
  }
}

// ---- fibers -------------------------------------------------------------------------------

enum class Wait : unsigned char { running, block, warp, done };

// A thread of the running block. Fibers are pooled per OS thread and reused by the next
// block: each keeps its mmap'ed stack (with a guard page below it, so that an overflow
// faults instead of corrupting a neighbour) and its ucontext, initialised once by
// getcontext (a copied ucontext would point at the original's floating-point state).
struct Fiber {
  ucontext_t context;
  unsigned char* stack_base = nullptr;  // the guard page, then stack_bytes of stack
  std::size_t stack_bytes = 0;
  uint3 index;
  int linear = 0, warp = 0, lane = 0;
  Wait wait = Wait::running;
  WarpOp op = WarpOp::sync;  // at a warp barrier: the operation and its size
  std::size_t op_bytes = 0;

  static std::size_t page() { return std::size_t(sysconf(_SC_PAGESIZE)); }
  unsigned char* stack_bottom() const { return stack_base + page(); }
};

std::unique_ptr<Fiber> make_fiber(std::size_t bytes) {
  const std::size_t page = Fiber::page();
  bytes = (bytes + page - 1) / page * page;
  void* p = mmap(nullptr, bytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "cuda emulator: cannot map a fiber stack: %s\n", std::strerror(errno));
    std::abort();
  }
  mprotect(p, page, PROT_NONE);
  auto f = std::make_unique<Fiber>();
  f->stack_base = static_cast<unsigned char*>(p);
  f->stack_bytes = bytes;
  getcontext(&f->context);
  return f;
}

thread_local std::vector<std::unique_ptr<Fiber>> fiber_pool;

// ---- the running block --------------------------------------------------------------------

struct WarpState {
  unsigned lanes_mask = 0;  // lanes that exist
  int lanes = 0;
  int waiting = 0;
  unsigned generation = 0;
  WarpOp op = WarpOp::sync;
  std::size_t op_bytes = 0;
  alignas(16) unsigned char slots[2][32][16];  // by generation parity: see warp_exchange
};

struct SharedObject {
  const SharedSite* site;
  std::size_t bytes;
  unsigned char* data;
  std::size_t alignment;
};

struct Block {
  const Config* config = nullptr;
  void (*body)(void*) = nullptr;
  void* context = nullptr;
  uint3 index;
  int threads = 0;
  std::vector<Fiber*> fibers;  // from fiber_pool
  std::vector<WarpState> warps;
  int block_waiting = 0, done = 0;
  unsigned block_generation = 0;
  int counts[2] = {0, 0};  // __syncthreads_count, by generation parity
  std::vector<SharedObject> shared;
  std::size_t static_bytes = 0;
  unsigned char* dynamic = nullptr;
  std::string failure;  // set: the block stops, the launch fails with this text
  ucontext_t scheduler;
#if defined(STRATA_EMU_ASAN)
  const void* scheduler_bottom = nullptr;
  std::size_t scheduler_size = 0;
#endif
};

thread_local Block* current_block = nullptr;
thread_local Fiber* current_fiber = nullptr;

void free_aligned(unsigned char* p, std::size_t alignment) { ::operator delete[](p, std::align_val_t(alignment)); }
unsigned char* new_aligned(std::size_t bytes, std::size_t alignment) {
  auto* p = static_cast<unsigned char*>(::operator new[](bytes ? bytes : 1, std::align_val_t(alignment)));
  std::memset(p, 0xff, bytes ? bytes : 1);  // NaN in f32 and f64: unwritten reads show
  return p;
}

[[noreturn]] void fatal(const char* what) {
  std::fprintf(stderr, "cuda emulator: %s\n", what);
  std::abort();
}
[[noreturn]] void fatal_outside_kernel(const char* what) {
  std::fprintf(stderr, "cuda emulator: %s used outside a kernel\n", what);
  std::abort();
}

std::string describe_block(const Block& b) {
  char text[256];
  std::snprintf(text, sizeof text, "%s (launched at %s:%d), block (%u, %u, %u)", b.config->kernel, b.config->file,
                b.config->line, b.index.x, b.index.y, b.index.z);
  return text;
}

// Back to the scheduler; returns when the fiber is released.
void yield(Fiber& f) {
  Block& b = *current_block;
#if defined(STRATA_EMU_ASAN)
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, b.scheduler_bottom, b.scheduler_size);
#endif
  swapcontext(&f.context, &b.scheduler);
#if defined(STRATA_EMU_ASAN)
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

void fiber_entry() {
#if defined(STRATA_EMU_ASAN)
  {
    Block& b = *current_block;
    __sanitizer_finish_switch_fiber(nullptr, &b.scheduler_bottom, &b.scheduler_size);
  }
#endif
  Block& b = *current_block;
  b.body(b.context);
  Fiber& f = *current_fiber;
  f.wait = Wait::done;
#if defined(STRATA_EMU_ASAN)
  __sanitizer_start_switch_fiber(nullptr, b.scheduler_bottom, b.scheduler_size);
#endif
  setcontext(&b.scheduler);  // never returns; the fiber's stack is reused
}

void fail(Block& b, const std::string& why) {
  if (b.failure.empty()) b.failure = describe_block(b) + ": " + why;
}

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::sync: return "__syncwarp";
    case WarpOp::shfl: return "__shfl_sync";
    case WarpOp::shfl_xor: return "__shfl_xor_sync";
    case WarpOp::shfl_up: return "__shfl_up_sync";
    case WarpOp::shfl_down: return "__shfl_down_sync";
    case WarpOp::vote: return "a warp vote";
  }
  return "?";
}

// What every unfinished thread waits for, for the deadlock report.
std::string waiting_summary(const Block& b) {
  int at_block = 0, exited = 0;
  std::map<int, int> at_warp;  // warp -> lanes waiting
  for (const Fiber* f : b.fibers) {
    if (f->wait == Wait::block) ++at_block;
    if (f->wait == Wait::done) ++exited;
    if (f->wait == Wait::warp) ++at_warp[f->warp];
  }
  std::string s = std::to_string(at_block) + " of " + std::to_string(b.threads) + " threads wait at __syncthreads, " +
                  std::to_string(exited) + " have returned";
  for (const auto& [warp, n] : at_warp)
    s += ", " + std::to_string(n) + " of the " + std::to_string(b.warps[std::size_t(warp)].lanes) + " lanes of warp " +
         std::to_string(warp) + " wait at " + op_name(b.warps[std::size_t(warp)].op);
  return s;
}

void run_block(Block& b, Rng& rng, bool depth_first) {
  const Config& c = *b.config;
  const dim3 block = c.block;
  b.threads = int(block.x * block.y * block.z);
  const int warps = (b.threads + 31) / 32;
  b.warps.assign(std::size_t(warps), WarpState{});
  for (int w = 0; w < warps; ++w) {
    const int lanes = std::min(32, b.threads - 32 * w);
    b.warps[std::size_t(w)].lanes = lanes;
    b.warps[std::size_t(w)].lanes_mask = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1u;
  }
  b.dynamic = new_aligned(c.dynamic_shared, 128);
  while (fiber_pool.size() < std::size_t(b.threads)) fiber_pool.push_back(make_fiber(settings().stack_bytes));
  b.fibers.resize(std::size_t(b.threads));
  for (int t = 0; t < b.threads; ++t) {
    Fiber& f = *fiber_pool[std::size_t(t)];
    b.fibers[std::size_t(t)] = &f;
    f.linear = t;
    f.index = uint3{unsigned(t) % block.x, unsigned(t) / block.x % block.y, unsigned(t) / (block.x * block.y)};
    f.warp = t / 32;
    f.lane = t % 32;
    f.wait = Wait::running;
    f.context.uc_stack.ss_sp = f.stack_bottom();
    f.context.uc_stack.ss_size = f.stack_bytes;
    f.context.uc_link = nullptr;
    makecontext(&f.context, fiber_entry, 0);
  }
  // The threads ready to run. Breadth first: released threads queue behind the others, so
  // the block moves in rounds (every thread reaches a barrier before any goes on). Depth
  // first: released threads run next, so a warp races through its shuffles to the next
  // __syncthreads while other warps have not run (a write of the next phase then lands
  // before a read of this one that a missing barrier left unordered).
  std::deque<Fiber*> ready;
  std::vector<Fiber*> released;
  {
    std::vector<Fiber*> all(b.fibers);
    order(all, rng);
    ready.assign(all.begin(), all.end());
  }
  current_block = &b;
  while (!ready.empty() && b.failure.empty()) {
    Fiber* f = ready.front();
    ready.pop_front();
    current_fiber = f;
    threadIdx = f->index;
    f->wait = Wait::running;
#if defined(STRATA_EMU_ASAN)
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, f->stack_bottom(), f->stack_bytes);
#endif
    swapcontext(&b.scheduler, &f->context);
#if defined(STRATA_EMU_ASAN)
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    if (!b.failure.empty()) break;
    released.clear();
    switch (f->wait) {
      case Wait::running:
        fail(b, "a thread left its fiber unexpectedly");
        break;
      case Wait::done:
        ++b.done;
        break;
      case Wait::block:
        if (++b.block_waiting == b.threads) {
          b.block_waiting = 0;
          ++b.block_generation;
          b.counts[b.block_generation & 1u] = 0;  // its previous readers all passed this barrier
          released = b.fibers;
        }
        break;
      case Wait::warp: {
        WarpState& w = b.warps[std::size_t(f->warp)];
        if (w.waiting == 0) {
          w.op = f->op;
          w.op_bytes = f->op_bytes;
        } else if (w.op != f->op || w.op_bytes != f->op_bytes) {
          fail(b, std::string("lanes of warp ") + std::to_string(f->warp) + " meet in different warp operations (" +
                      op_name(w.op) + " of " + std::to_string(w.op_bytes) + " bytes, " + op_name(f->op) + " of " +
                      std::to_string(f->op_bytes) + " bytes)");
          break;
        }
        if (++w.waiting == w.lanes) {
          w.waiting = 0;
          ++w.generation;
          for (int l = 0; l < w.lanes; ++l) released.push_back(b.fibers[std::size_t(f->warp * 32 + l)]);
        }
        break;
      }
    }
    if (released.empty()) continue;
    order(released, rng);
    if (depth_first)
      ready.insert(ready.begin(), released.begin(), released.end());
    else
      ready.insert(ready.end(), released.begin(), released.end());
  }
  if (b.failure.empty() && b.done != b.threads)
    fail(b, "deadlock: " + waiting_summary(b) +
                " (a barrier inside divergent code, or a thread returning before a barrier the others reach)");
  current_block = nullptr;
  current_fiber = nullptr;
  for (const SharedObject& o : b.shared) free_aligned(o.data, o.alignment);
  b.shared.clear();
  free_aligned(b.dynamic, 128);
  b.dynamic = nullptr;
}

std::map<const void*, int>& dynamic_limits() {
  static std::map<const void*, int> limits;
  return limits;
}

Stats counters;
unsigned grid_limit_x = 0, grid_limit_y = 0;

}  // namespace

Stats stats() { return counters; }

void set_grid_limit(unsigned x, unsigned y) {
  grid_limit_x = x;
  grid_limit_y = y;
}

void set_schedule_seed(std::uint64_t seed) { settings().seed = seed; }

int take_error_code() { return int(take_error()); }
const char* error_text(int code) { return error_string(cudaError_t(code)); }

// ---- the API the header declares ------------------------------------------------------------

cudaError_t set_error(cudaError_t e, const char* detail) {
  if (e != cudaSuccess && last_error == cudaSuccess) {
    last_error = e;
    last_detail = detail ? detail : "";
  }
  return e;
}

cudaError_t take_error() {
  const cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}

cudaError_t peek_error() { return last_error; }

const char* error_string(cudaError_t e) {
  // The text of the latest failure carries the emulator's detail (which kernel, block, why).
  static thread_local std::string text;
  text = error_name(e);
  if (e != cudaSuccess && !last_detail.empty()) text += std::string(" [cuda emulator: ") + last_detail + "]";
  return text.c_str();
}

void set_function_attribute(const void* function, cudaFuncAttribute attribute, int value, cudaError_t* result) {
  if (attribute != cudaFuncAttributeMaxDynamicSharedMemorySize) return;
  if (value < 0 || std::size_t(value) > kMaxSharedOptIn) {
    *result = set_error(cudaErrorInvalidValue, "cudaFuncSetAttribute: dynamic shared memory over the 99 KiB of sm_120/121");
    return;
  }
  dynamic_limits()[function] = value;
}

void run_grid(const Config& launched, void (*body)(void*), void* context) {
  if (current_block) fatal("a kernel launched a kernel: dynamic parallelism is not emulated");
  Config c = launched;
  if (grid_limit_x && c.grid.x > grid_limit_x) c.grid.x = grid_limit_x;
  if (grid_limit_y && c.grid.y > grid_limit_y) c.grid.y = grid_limit_y;
  const char* why = nullptr;
  cudaError_t code = cudaErrorInvalidConfiguration;
  const std::uint64_t threads = std::uint64_t(c.block.x) * c.block.y * c.block.z;
  std::size_t limit = 48 * 1024;
  if (c.function) {
    const auto it = dynamic_limits().find(c.function);
    if (it != dynamic_limits().end()) limit = std::size_t(it->second);
  }
  if (threads == 0 || threads > 1024 || c.block.x > 1024 || c.block.y > 1024 || c.block.z > 64) {
    why = "block shape outside 1..1024 threads (x, y <= 1024, z <= 64)";
  } else if (c.grid.x == 0 || c.grid.y == 0 || c.grid.z == 0 || c.grid.x > 0x7fffffffu || c.grid.y > 65535 ||
             c.grid.z > 65535) {
    why = "grid shape outside 1..2^31-1 x 1..65535 x 1..65535";
  } else if (c.max_threads && threads > c.max_threads) {
    why = "more threads per block than the kernel's __launch_bounds__";
    code = cudaErrorLaunchOutOfResources;
  } else if (c.dynamic_shared > limit) {
    why = c.dynamic_shared > 48 * 1024 && !c.function
              ? "dynamic shared memory over 48 KiB (translation: name the kernel with its template arguments so "
                "that its cudaFuncSetAttribute applies)"
              : "dynamic shared memory over the kernel's limit (48 KiB, or what cudaFuncSetAttribute allowed)";
    code = cudaErrorInvalidValue;
  }
  if (why) {
    char text[512];
    std::snprintf(text, sizeof text, "%s (launched at %s:%d) grid (%u, %u, %u) block (%u, %u, %u) %zu bytes: %s",
                  c.kernel, c.file, c.line, c.grid.x, c.grid.y, c.grid.z, c.block.x, c.block.y, c.block.z,
                  c.dynamic_shared, why);
    set_error(code, text);
    return;
  }
  if (last_error != cudaSuccess) return;  // an earlier kernel failed: the device is in error
  Rng rng{settings().seed ^ (0x9e3779b97f4a7c15ull * ++counters.launches)};
  counters.max_dynamic_shared = std::max<std::uint64_t>(counters.max_dynamic_shared, c.dynamic_shared);
  // Blocks in a shuffled order: no block may depend on another's writes within a launch.
  const std::uint64_t blocks = std::uint64_t(c.grid.x) * c.grid.y * c.grid.z;
  std::vector<std::uint64_t> block_order;
  if (blocks <= (1u << 22)) {
    block_order.resize(blocks);
    for (std::uint64_t i = 0; i < blocks; ++i) block_order[i] = i;
    order(block_order, rng);
  }
  gridDim = c.grid;
  blockDim = c.block;
  for (std::uint64_t k = 0; k < blocks; ++k) {
    const std::uint64_t i = block_order.empty() ? k : block_order[k];
    Block b;
    b.config = &c;
    b.body = body;
    b.context = context;
    b.index = uint3{unsigned(i % c.grid.x), unsigned(i / c.grid.x % c.grid.y), unsigned(i / c.grid.x / c.grid.y)};
    blockIdx = b.index;
    // both policies in every launch of two blocks or more, alternating between launches
    run_block(b, rng, (k + counters.launches) % 2 == 1);
    ++counters.blocks;
    counters.threads += std::uint64_t(b.threads);
    counters.max_static_shared = std::max<std::uint64_t>(counters.max_static_shared, b.static_bytes);
    if (!b.failure.empty()) {
      set_error(cudaErrorLaunchFailure, b.failure.c_str());
      std::fprintf(stderr, "cuda emulator: %s\n", b.failure.c_str());
      break;
    }
  }
  threadIdx = uint3{};
  blockIdx = uint3{};
}

void* shared_object(const SharedSite& site, std::size_t bytes, std::size_t alignment) {
  Block* b = current_block;
  if (!b) fatal_outside_kernel("a __shared__ declaration (file-scope __shared__ is not emulated)");
  for (const SharedObject& o : b->shared)
    if (o.site == &site) return o.data;
  b->static_bytes += bytes;
  if (b->static_bytes > kMaxStaticShared)
    fail(*b, std::string("static shared memory over 48 KiB at __shared__ ") + site.name);
  if (b->static_bytes + b->config->dynamic_shared > kMaxSharedOptIn)
    fail(*b, std::string("static and dynamic shared memory over 99 KiB at __shared__ ") + site.name);
  b->shared.push_back(SharedObject{&site, bytes, new_aligned(bytes, std::max<std::size_t>(alignment, 16)),
                                   std::max<std::size_t>(alignment, 16)});
  return b->shared.back().data;
}

void* dynamic_shared_memory(std::size_t alignment) {
  Block* b = current_block;
  if (!b) fatal_outside_kernel("extern __shared__ memory");
  if (alignment > 128) fail(*b, "extern __shared__ aligned beyond 128 bytes");
  return b->dynamic;
}

void block_barrier() {
  Fiber* f = current_fiber;
  if (!f) fatal_outside_kernel("__syncthreads");
  f->wait = Wait::block;
  yield(*f);
}

int block_barrier_count(int predicate) {
  Fiber* f = current_fiber;
  if (!f) fatal_outside_kernel("__syncthreads_count");
  Block& b = *current_block;
  const unsigned parity = b.block_generation & 1u;
  b.counts[parity] += predicate;
  block_barrier();
  return b.counts[parity];
}

// Double-buffered: a warp barrier of generation g stores into slots[g % 2]. A lane that
// leaves it reads slots[g % 2] before it can arrive at barrier g + 1, and slots[g % 2] is
// written again only by barrier g + 2, which no lane reaches before every lane has arrived
// at barrier g + 1: the reads of generation g are all done by then.
const unsigned char* warp_exchange(unsigned mask, WarpOp op, const void* value, std::size_t bytes) {
  Fiber* f = current_fiber;
  if (!f) fatal_outside_kernel(op_name(op));
  Block& b = *current_block;
  WarpState& w = b.warps[std::size_t(f->warp)];
  if ((mask & w.lanes_mask) != w.lanes_mask) {
    fail(b, std::string(op_name(op)) + " with a mask that leaves out lanes of the warp (partial masks are not emulated)");
    yield(*f);  // the scheduler stops the block
  }
  const unsigned parity = w.generation & 1u;
  std::memcpy(w.slots[parity][f->lane], value, std::min<std::size_t>(bytes, 16));
  f->wait = Wait::warp;
  f->op = op;
  f->op_bytes = bytes;
  yield(*f);
  return &w.slots[parity][0][0];
}

int lane_id() {
  if (!current_fiber) fatal_outside_kernel("a warp function");
  return current_fiber->lane;
}

unsigned warp_lanes_mask() {
  if (!current_fiber) fatal_outside_kernel("a warp function");
  return current_block->warps[std::size_t(current_fiber->warp)].lanes_mask;
}

}  // namespace emu

// ---- memory ---------------------------------------------------------------------------------

namespace {

// The emulated device's memory in use, by block.
struct DeviceMemory {
  std::mutex mutex;
  std::map<void*, std::size_t> blocks;
  std::size_t used = 0;
  std::size_t total() const {
    static const std::size_t mib = [] {
      const char* v = std::getenv("STRATA_EMU_DEVICE_MIB");
      return v && *v ? std::size_t(std::strtoull(v, nullptr, 10)) : std::size_t(81920);
    }();
    return mib << 20;
  }
};
DeviceMemory& device_memory() {
  static DeviceMemory* memory = new DeviceMemory();  // never destroyed: frees at exit still find it
  return *memory;
}

}  // namespace

cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  DeviceMemory& memory = device_memory();
  std::lock_guard lock(memory.mutex);
  *ptr = nullptr;
  if (memory.used + bytes > memory.total())
    return emu::set_error(cudaErrorMemoryAllocation, "cudaMalloc: the emulated device's memory is full");
  *ptr = ::operator new(bytes ? bytes : 1, std::align_val_t(256), std::nothrow);
  if (!*ptr) return emu::set_error(cudaErrorMemoryAllocation, "cudaMalloc");
  memory.blocks[*ptr] = bytes;
  memory.used += bytes;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  DeviceMemory& memory = device_memory();
  std::lock_guard lock(memory.mutex);
  const auto it = memory.blocks.find(ptr);
  if (it == memory.blocks.end()) return emu::set_error(cudaErrorInvalidValue, "cudaFree: not a cudaMalloc block");
  memory.used -= it->second;
  memory.blocks.erase(it);
  ::operator delete(ptr, std::align_val_t(256));
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(std::size_t* free, std::size_t* total) {
  DeviceMemory& memory = device_memory();
  std::lock_guard lock(memory.mutex);
  *total = memory.total();
  *free = *total - memory.used;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attribute, int device) {
  if (device != 0) return emu::set_error(cudaErrorInvalidDevice, "cudaDeviceGetAttribute: the emulator has device 0 only");
  if (attribute != cudaDevAttrIntegrated)
    return emu::set_error(cudaErrorInvalidValue, "cudaDeviceGetAttribute: attribute not emulated");
  const char* v = std::getenv("STRATA_EMU_INTEGRATED");
  *value = v && std::string(v) == "1" ? 1 : 0;
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind) {
  if (bytes == 0) return cudaSuccess;
  const auto d = reinterpret_cast<std::uintptr_t>(dst), s = reinterpret_cast<std::uintptr_t>(src);
  if (d < s + bytes && s < d + bytes)
    return emu::set_error(cudaErrorInvalidValue, "cudaMemcpy between overlapping ranges");
  std::memcpy(dst, src, bytes);
  return cudaSuccess;
}
