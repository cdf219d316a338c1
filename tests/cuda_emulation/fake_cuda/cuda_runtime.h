#pragma once
// A CUDA emulator on the CPU, for testing kernels/cuda/*.cu where there is no GPU (CI).
//
// tests/cuda_emulation/prepare.cmake turns each kernels/cuda/X.cu (and .cuh) into plain C++:
// launches `k<<<grid, block, smem>>>(args)` become emu::launch(...) calls and `__shared__`
// declarations become references to per-block storage. The result compiles with g++ against
// this header (first on the include path, in place of the CUDA toolkit's) and
// fake_cuda/emu_runtime.cpp, and the tests call the kernels' host wrappers with host
// pointers: device memory is host memory here.
//
// How a launch runs: blocks one after another, in a shuffled order; the threads of a block
// as fibers (ucontext) on one OS thread, each running until it reaches a barrier
// (__syncthreads, __syncwarp, a warp shuffle or vote) or returns. A barrier releases its
// threads once all the threads it waits for have arrived; the released threads run in a
// shuffled order, either after the threads already waiting to run (breadth first: the
// block advances in rounds) or before them (depth first: one warp races through its
// shuffles to the next __syncthreads while other warps have not moved). Consecutive blocks
// alternate between the two. Every order is drawn from a fixed seed, so a test sees the
// same schedule on every run (STRATA_EMU_SEED and STRATA_EMU_SCHEDULE change it: see
// emu_runtime.cpp). Shuffles exchange values through a per-warp, double-buffered slot array
// at a warp barrier. Shared memory is one object per declaration and block, filled with
// 0xff bytes (NaN in f32/f64) when the block starts, so a read of shared memory no thread
// wrote poisons the result. emu_control.h lets tests clamp the grid (grid-stride loops then
// take several items per thread) and read counters.
//
// What this checks: indexing and tiling (every output against the CPU kernel, on shapes
// that hit tile edges, partial warps and several blocks), barrier placement (a missing
// __syncthreads lets some schedule read shared memory before it is written, or after the
// next phase overwrote it), barrier divergence (threads waiting at different barriers, or
// at a barrier some threads never reach, is a deadlock reported as the launch's error),
// shuffle misuse (lanes of one warp in different warp operations, a partial mask), shared
// memory per block, launch configurations (block and grid limits, __launch_bounds__,
// 48 KiB of static shared memory, dynamic shared memory over 48 KiB only after
// cudaFuncSetAttribute and never over the 99 KiB of sm_120/121, the smallest opt-in limit
// of the architectures built) and the host wrappers' error paths.
//
// What it cannot check: the GPU memory model (threads of a block never run truly
// concurrently here, so a race between two threads between barriers, or a warp relying on
// implicit lockstep without __syncwarp, goes unnoticed, as do races between blocks: use
// compute-sanitizer racecheck on a GPU), out-of-bounds global accesses beyond what the
// tests' guard elements catch (build with -fsanitize=address to check them), occupancy,
// register limits, the per-architecture shared-memory sizes beyond the limits above,
// performance, the device's math library (expf, log, sin differ from glibc in the last
// bits; FMA contraction by nvcc), and cuBLAS (gemm.cpp).
//
// Rules the kernels must follow for the translation (prepare.cmake fails loudly otherwise):
// one variable per `__shared__` declaration, without initialiser, inside a function
// (`__shared__ T name[dims];`, `extern __shared__ __align__(n) T name[];`); a launch
// names its kernel as `name` or `name<args>` (qualified names allowed), and a launch with
// dynamic shared memory names it with all template arguments (its address is taken for
// cudaFuncSetAttribute); no inline PTX, __constant__ / __managed__ memory, textures,
// cooperative groups, or launches from device code. Every thread of a block reaches each
// __syncthreads (one that returned before a barrier the others wait at is a deadlock
// here), and every lane of a warp each full-mask shuffle. A kernel's __launch_bounds__ is
// checked where the file that defines it launches it. Device code sees __CUDA_ARCH__ 800
// (emu_kernel_prelude.h).
#include <math.h>  // libstdc++'s math.h brings the float overloads (exp(float), ...) into the global namespace, as CUDA

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

// ---- qualifiers --------------------------------------------------------------------------

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __grid_constant__
// prepare.cmake rewrites every __shared__ declaration; one left over fails to compile here.
#define __shared__ emu_shared_declaration_not_translated_by_prepare_cmake
#define __constant__ emu_constant_memory_is_not_emulated
#define __managed__ emu_managed_memory_is_not_emulated

// ---- built-in types and variables --------------------------------------------------------

struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};
struct alignas(8) int2 {
  int x, y;
};
struct alignas(8) uint2 {
  unsigned x, y;
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(16) double2 {
  double x, y;
};
struct alignas(16) longlong2 {
  long long x, y;
};
struct alignas(16) ulonglong2 {
  unsigned long long x, y;
};
inline constexpr int2 make_int2(int x, int y) { return {x, y}; }
inline constexpr uint2 make_uint2(unsigned x, unsigned y) { return {x, y}; }
inline constexpr float2 make_float2(float x, float y) { return {x, y}; }
inline constexpr int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline constexpr uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline constexpr float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline constexpr double2 make_double2(double x, double y) { return {x, y}; }

// Set by the emulator for the thread (fiber) running: each block runs on one OS thread.
inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;
inline constexpr int warpSize = 32;

// ---- runtime API (host) ------------------------------------------------------------------

enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevice = 101,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
  cudaErrorUnknown = 999,
};
typedef enum cudaError cudaError_t;
struct CUstream_st;
typedef CUstream_st* cudaStream_t;
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
  cudaFuncAttributePreferredSharedMemoryCarveout = 9,
};
enum cudaDeviceAttr {
  cudaDevAttrIntegrated = 18,
};

namespace emu {
// The sticky-until-read error of the emulated device (cudaGetLastError clears it).
cudaError_t set_error(cudaError_t e, const char* detail);
cudaError_t take_error();
cudaError_t peek_error();
const char* error_string(cudaError_t e);
void set_function_attribute(const void* function, cudaFuncAttribute attribute, int value, cudaError_t* result);
}  // namespace emu

inline const char* cudaGetErrorString(cudaError_t e) { return emu::error_string(e); }
inline const char* cudaGetErrorName(cudaError_t e) { return emu::error_string(e); }
inline cudaError_t cudaGetLastError() { return emu::take_error(); }
inline cudaError_t cudaPeekAtLastError() { return emu::peek_error(); }
// One emulated device, index 0: a wrapper that passes another device fails as on a machine
// with one GPU.
inline cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : emu::set_error(cudaErrorInvalidDevice, "cudaSetDevice: the emulator has device 0 only");
}
inline cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
inline cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
inline cudaError_t cudaDeviceSynchronize() { return emu::peek_error(); }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return emu::peek_error(); }
cudaError_t cudaMalloc(void** ptr, std::size_t bytes);
cudaError_t cudaFree(void* ptr);
// The emulated device's memory: STRATA_EMU_DEVICE_MIB MiB (default 81920, an 80 GB GPU),
// less what cudaMalloc holds; cudaMalloc fails beyond it. STRATA_EMU_INTEGRATED=1 makes it
// an integrated GPU that shares the host's memory (GB10, the DGX Spark).
cudaError_t cudaMemGetInfo(std::size_t* free, std::size_t* total);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attribute, int device);
// Copies run at once (the emulator has no streams); overlapping ranges are an error, as
// their result on a GPU is undefined.
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                                   cudaStream_t = nullptr) {
  return cudaMemcpy(dst, src, bytes, kind);
}
// Between devices: the emulator has one device, so both are device 0.
inline cudaError_t cudaMemcpyPeer(void* dst, int, const void* src, int, std::size_t bytes) {
  return cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice);
}
inline cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes) {
  if (bytes) std::memset(ptr, value, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t = nullptr) {
  return cudaMemset(ptr, value, bytes);
}
template <class F>
cudaError_t cudaFuncSetAttribute(F* function, cudaFuncAttribute attribute, int value) {
  cudaError_t result = cudaSuccess;
  emu::set_function_attribute(reinterpret_cast<const void*>(function), attribute, value, &result);
  return result;
}

// ---- the emulator's entry points (used by translated code and the device functions) ------

namespace emu {

// The smallest opt-in dynamic shared memory of the architectures built (sm_120/121: 99 KiB;
// sm_80 163 KiB, sm_90/100 227 KiB); static shared memory is limited to 48 KiB everywhere.
inline constexpr std::size_t kMaxSharedOptIn = 99 * 1024;
inline constexpr std::size_t kMaxStaticShared = 48 * 1024;

// A launch `kernel<<<grid, block, dynamic_shared, stream>>>`, with what the translation
// knows about it (name, place, __launch_bounds__, address for cudaFuncSetAttribute).
struct Config {
  dim3 grid, block;
  std::size_t dynamic_shared = 0;
  cudaStream_t stream = nullptr;
  const char* kernel = "kernel";
  const char* file = "";
  int line = 0;
  unsigned max_threads = 0;  // __launch_bounds__, 0: none
  const void* function = nullptr;

  Config(dim3 g, dim3 b, std::size_t smem = 0, cudaStream_t s = nullptr)
      : grid(g), block(b), dynamic_shared(smem), stream(s) {}
  Config& at(const char* name, const char* f, int l) {
    kernel = name, file = f, line = l;
    return *this;
  }
  Config& bounds(unsigned threads) {
    max_threads = threads;
    return *this;
  }
  Config& address(const void* f) {
    function = f;
    return *this;
  }
};

// Runs body(context) in every thread of every block of the grid (see the top of this file).
void run_grid(const Config& config, void (*body)(void*), void* context);

// The translation of `kernel<<<config>>>(args...)`: the arguments are evaluated once, on
// the host, and every thread calls the kernel with copies of them.
template <class Kernel, class... Args>
void launch(const Config& config, Kernel&& kernel, Args&&... args) {
  using Values = std::tuple<std::decay_t<Args>...>;
  Values values(std::forward<Args>(args)...);
  struct Context {
    std::remove_reference_t<Kernel>* kernel;
    Values* values;
  } context{&kernel, &values};
  run_grid(
      config, [](void* p) {
        auto* c = static_cast<Context*>(p);
        std::apply(*c->kernel, *c->values);
      },
      &context);
}

// The translation of `__shared__ T name;`: `site` is a static object of the declaration
// (one per template instantiation), so every thread of a block gets the same object and
// each block its own, filled with 0xff.
struct SharedSite {
  const char* name;
};
void* shared_object(const SharedSite& site, std::size_t bytes, std::size_t alignment);
template <class T, std::size_t Alignment = 1>
T& shared(const SharedSite& site) {
  static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>,
                "__shared__ variables have no constructors or destructors");
  constexpr std::size_t alignment = Alignment > alignof(T) ? Alignment : alignof(T);
  return *static_cast<T*>(shared_object(site, sizeof(T), alignment));
}
// The translation of `extern __shared__ T name[];`: the block's dynamic shared memory.
void* dynamic_shared_memory(std::size_t alignment);
template <class T, std::size_t Alignment = 1>
T* dynamic_shared() {
  constexpr std::size_t alignment = Alignment > alignof(T) ? Alignment : alignof(T);
  return static_cast<T*>(dynamic_shared_memory(alignment));
}

// Barriers and warp exchanges of the running thread.
enum class WarpOp : unsigned char { sync, shfl, shfl_xor, shfl_up, shfl_down, vote };
void block_barrier();
int block_barrier_count(int predicate);  // __syncthreads_count
// Stores `bytes` bytes of `value` in this lane's slot, waits for the warp (all lanes must
// make the same `op` on `bytes`, with a mask naming every lane of the warp) and returns the
// warp's slots: lane l's value at slots + 16 l.
const unsigned char* warp_exchange(unsigned mask, WarpOp op, const void* value, std::size_t bytes);
int lane_id();
unsigned warp_lanes_mask();  // the lanes of this thread's warp that exist

template <class T>
T shuffle(unsigned mask, WarpOp op, T v, int arg, int width) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 16, "shuffles move up to 16 bytes");
  const unsigned char* slots = warp_exchange(mask, op, &v, sizeof(T));
  const int lane = lane_id();
  const int segment = lane / width * width;  // this lane's group of `width` lanes
  int source = lane;
  switch (op) {
    case WarpOp::shfl:
      source = segment + (arg & (width - 1));
      break;
    case WarpOp::shfl_xor:  // may read earlier groups, not later ones
      source = (lane ^ arg) < segment + width ? lane ^ arg : lane;
      break;
    case WarpOp::shfl_up:
      source = lane - arg >= segment ? lane - arg : lane;
      break;
    case WarpOp::shfl_down:
      source = lane + arg < segment + width ? lane + arg : lane;
      break;
    default:
      break;
  }
  if (source < 0 || source >= 32 || !(warp_lanes_mask() >> source & 1u)) source = lane;
  T out;
  std::memcpy(&out, slots + 16 * source, sizeof(T));
  return out;
}

}  // namespace emu

// ---- device functions --------------------------------------------------------------------

inline void __syncthreads() { emu::block_barrier(); }
inline int __syncthreads_count(int predicate) { return emu::block_barrier_count(predicate != 0); }
inline int __syncthreads_and(int predicate) {
  return emu::block_barrier_count(predicate != 0) == int(blockDim.x * blockDim.y * blockDim.z);
}
inline int __syncthreads_or(int predicate) { return emu::block_barrier_count(predicate != 0) != 0; }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  const int none = 0;
  emu::warp_exchange(mask, emu::WarpOp::sync, &none, sizeof none);
}
inline unsigned __activemask() { return emu::warp_lanes_mask(); }

template <class T>
T __shfl_sync(unsigned mask, T v, int src_lane, int width = warpSize) {
  return emu::shuffle(mask, emu::WarpOp::shfl, v, src_lane, width);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = warpSize) {
  return emu::shuffle(mask, emu::WarpOp::shfl_xor, v, lane_mask, width);
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
  return emu::shuffle(mask, emu::WarpOp::shfl_up, v, int(delta), width);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
  return emu::shuffle(mask, emu::WarpOp::shfl_down, v, int(delta), width);
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  const int p = predicate != 0;
  const unsigned char* slots = emu::warp_exchange(mask, emu::WarpOp::vote, &p, sizeof p);
  unsigned bits = 0;
  for (int l = 0; l < 32; ++l) {
    int v = 0;
    std::memcpy(&v, slots + 16 * l, sizeof v);
    if ((mask >> l & 1u) && (emu::warp_lanes_mask() >> l & 1u) && v) bits |= 1u << l;
  }
  return bits;
}
inline int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }
inline int __all_sync(unsigned mask, int predicate) {
  return __ballot_sync(mask, predicate) == (mask & emu::warp_lanes_mask());
}

inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

// Atomics: blocks run one at a time here, but std::atomic_ref keeps them atomic anyway.
template <class T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}
template <class T>
T atomicSub(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_sub(value);
}
template <class T>
T atomicExch(T* address, T value) {
  return std::atomic_ref<T>(*address).exchange(value);
}
template <class T>
T atomicCAS(T* address, T compare, T value) {
  std::atomic_ref<T>(*address).compare_exchange_strong(compare, value);
  return compare;
}
// Stores `value` where `replaces(value, old)`; returns the old value.
template <class T, class Replaces>
T atomic_replace_if(T* address, T value, Replaces replaces) {
  std::atomic_ref<T> ref(*address);
  T old = ref.load();
  while (replaces(value, old) && !ref.compare_exchange_weak(old, value)) {
  }
  return old;
}
template <class T>
T atomicMax(T* address, T value) {
  return atomic_replace_if(address, value, [](T v, T old) { return old < v; });
}
template <class T>
T atomicMin(T* address, T value) {
  return atomic_replace_if(address, value, [](T v, T old) { return v < old; });
}

template <class T>
T __ldg(const T* p) {
  return *p;
}

// Arithmetic with explicit rounding. The product and the sum are each rounded to the
// type (the volatile keeps the host compiler from contracting them into an FMA).
inline float __fmul_rn(float a, float b) {
  volatile float r = a * b;
  return r;
}
inline double __dmul_rn(double a, double b) {
  volatile double r = a * b;
  return r;
}
inline float __fadd_rn(float a, float b) {
  volatile float r = a + b;
  return r;
}
inline double __dadd_rn(double a, double b) {
  volatile double r = a + b;
  return r;
}
inline float __fsub_rn(float a, float b) {
  volatile float r = a - b;
  return r;
}
inline double __dsub_rn(double a, double b) {
  volatile double r = a - b;
  return r;
}
inline float __fdiv_rn(float a, float b) { return a / b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline double __drcp_rn(double a) { return 1.0 / a; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
// The fast approximations: the accurate functions here.
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float exp10f(float x) { return std::pow(10.0f, x); }
inline void sincos(float x, float* s, float* c) {
  *s = std::sin(x);
  *c = std::cos(x);
}
inline void sincospi(double x, double* s, double* c) {
  *s = std::sin(x * 3.14159265358979323846);
  *c = std::cos(x * 3.14159265358979323846);
}

// Integer intrinsics.
inline unsigned __umulhi(unsigned a, unsigned b) { return unsigned((std::uint64_t(a) * b) >> 32); }
inline int __mulhi(int a, int b) { return int((std::int64_t(a) * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  __extension__ typedef unsigned __int128 uint128;
  return static_cast<unsigned long long>((uint128(a) * uint128(b)) >> 64);
}
inline long long __mul64hi(long long a, long long b) {
  __extension__ typedef __int128 int128;
  return static_cast<long long>((int128(a) * int128(b)) >> 64);
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(unsigned(x)); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline int __float_as_int(float x) {
  int r;
  std::memcpy(&r, &x, sizeof r);
  return r;
}
inline float __int_as_float(int x) {
  float r;
  std::memcpy(&r, &x, sizeof r);
  return r;
}
inline unsigned __float_as_uint(float x) { return unsigned(__float_as_int(x)); }
inline float __uint_as_float(unsigned x) { return __int_as_float(int(x)); }
inline long long __double_as_longlong(double x) {
  long long r;
  std::memcpy(&r, &x, sizeof r);
  return r;
}
inline double __longlong_as_double(long long x) {
  double r;
  std::memcpy(&r, &x, sizeof r);
  return r;
}

// min / max of device code: CUDA overloads them for every arithmetic type (fmin / fmax for
// floating point: a NaN operand yields the other one).
template <class A, class B, std::enable_if_t<std::is_arithmetic_v<A> && std::is_arithmetic_v<B>, int> = 0>
inline std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<C>)
    return std::fmin(C(a), C(b));
  else
    return C(b) < C(a) ? C(b) : C(a);
}
template <class A, class B, std::enable_if_t<std::is_arithmetic_v<A> && std::is_arithmetic_v<B>, int> = 0>
inline std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<C>)
    return std::fmax(C(a), C(b));
  else
    return C(a) < C(b) ? C(b) : C(a);
}
