#pragma once
// Host entry points of emu_selftest.cu: small kernels that check the CUDA emulator itself
// (test_emulator.cpp). Plain C++, as the kernels/cuda headers. Each returns "" or the
// launch's error text.
#include <cstdint>
#include <string>
#include <vector>

namespace emu_selftest {

// out[b * threads + t] = what thread t of block b read back from its block's shared memory
// after every thread wrote (b, t) there: one object per block, shared by its threads.
std::string shared_per_block(int blocks, int threads, std::vector<double>& out);
// out[t] = a shared element read before any thread wrote it (NaN: shared memory starts
// poisoned).
std::string shared_unwritten(int threads, std::vector<double>& out);
// Thread t writes s[t] and reads s[(t + 1) % n] without __syncthreads in between (a missing
// barrier): some thread reads a poisoned element under the emulator's schedules.
std::string missing_barrier(int threads, std::vector<double>& out);
// __syncthreads reached by only some threads, or after some returned: deadlocks.
std::string divergent_barrier(int threads);
std::string return_before_barrier(int threads);
// Each shuffle variant with each width, over a block of `threads` (a multiple of 32 or not);
// out[k * threads + t] = the value thread t received in variant k (see the .cu).
std::string shuffles(int threads, std::vector<long long>& out);
// Lanes of one warp in different shuffles: an error.
std::string divergent_shuffle();
// __ballot_sync / __any_sync / __all_sync / __syncthreads_count: out per thread.
std::string votes(int threads, std::vector<unsigned>& out);
// atomicAdd of 1 by every thread of `blocks` blocks into one counter, and of the thread
// index into a double.
std::string atomics(int blocks, int threads, unsigned long long* count, double* sum);
// Block shape (x, y, z): out[linear] = x + 1000 y + 1000000 z of each thread, and its
// warp's lane 0 linear index through a shuffle (warps span y and z).
std::string block_shape(unsigned x, unsigned y, unsigned z, std::vector<long long>& out);
// Launch configurations the GPU refuses: block over 1024 threads, more threads than
// __launch_bounds__, dynamic shared memory over 48 KiB without opting in and over 99 KiB
// after, static shared memory over 48 KiB.
std::string too_many_threads();
std::string over_launch_bounds();
std::string dynamic_shared(std::size_t bytes, int opt_in, std::vector<double>& out);
std::string static_shared_over_48k();
// A grid-stride loop over n items: out[i] = i.
std::string grid_stride(std::int64_t n, std::vector<std::int64_t>& out);

}  // namespace emu_selftest
