// Causal attention, flash (tiled, online softmax) vs naive (materialised scores), at
// B = 1, 8 heads, head_dim 64 and T = 512 ... 16384: time and FLOP rate of the forward
// and of forward + backward, each next to a cblas_sgemm of 1024^3 run in the same
// process (the FLOP/s ratio is the summary's figure), and the peak memory each path
// allocates beyond its inputs.
//
// FLOPs follow FlashAttention's benchmark convention (Dao-AILab/flash-attention,
// benchmarks/benchmark_flash_attention.py): forward 4 B T^2 H d, halved for causal
// masking; backward 2.5x the forward.
#include <cblas.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "strata/allocator.h"
#include "strata/autograd.h"
#include "strata/ops.h"

using namespace strata;

namespace {

constexpr std::int64_t kBatch = 1, kHeads = 8, kHeadDim = 64;
const std::vector<std::int64_t> kLengths = {512, 1024, 2048, 4096, 8192, 16384};

struct Inputs {
  Tensor q, k, v, dout;
};

std::shared_ptr<Inputs> make_inputs(std::int64_t T) {
  Generator gen{std::uint64_t(T)};
  auto in = std::make_shared<Inputs>();
  in->q = Tensor::randn({kBatch, T, kHeads, kHeadDim}, gen).requires_grad_();
  in->k = Tensor::randn({kBatch, T, kHeads, kHeadDim}, gen).requires_grad_();
  in->v = Tensor::randn({kBatch, T, kHeads, kHeadDim}, gen).requires_grad_();
  in->dout = Tensor::randn({kBatch, T, kHeads, kHeadDim}, gen);
  return in;
}

void forward(const Inputs& in, AttentionImpl impl) {
  autograd::NoGradGuard no_grad;
  AttentionOptions o;
  o.impl = impl;
  const Tensor out = attention(in.q, in.k, in.v, o);
  bench::keep(out.raw_data());
}

void forward_backward(Inputs& in, AttentionImpl impl) {
  AttentionOptions o;
  o.impl = impl;
  attention(in.q, in.k, in.v, o).backward(in.dout);
  for (Tensor* t : {&in.q, &in.k, &in.v}) t->set_grad(Tensor());
}

// Peak bytes the call allocates beyond what was live before it.
template <class Fn>
double peak_extra_bytes(Fn&& fn) {
  Allocator& alloc = allocator_for(Device::cpu());
  const std::size_t before = alloc.stats().allocated_bytes;
  alloc.reset_peak();
  fn();
  return double(alloc.stats().peak_allocated_bytes - before);
}

// The naive path holds about three [B, H, T, T] f32 matrices at its peak (measured:
// 1.63 GB at T = 4096 with 0.54 GB per matrix); skip lengths that would need more than
// half of RAM.
bool naive_fits(std::int64_t T) {
  const double bytes = 3.5 * kBatch * kHeads * double(T) * double(T) * 4.0;
  const double ram = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  return bytes < 0.5 * ram;
}

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, bytes < 1e9 ? "%.1f MB" : "%.2f GB", bytes < 1e9 ? bytes / 1e6 : bytes / 1e9);
  return buf;
}

void print_memory_table() {
  std::printf("Peak memory allocated beyond the inputs (B=%lld, H=%lld, d=%lld, f32, causal)\n",
              (long long)kBatch, (long long)kHeads, (long long)kHeadDim);
  std::printf("%8s  %14s  %14s  %16s  %16s\n", "T", "flash fwd", "naive fwd", "flash fwd+bwd", "naive fwd+bwd");
  for (std::int64_t T : kLengths) {
    const auto in = make_inputs(T);
    std::string cells[4];
    int c = 0;
    for (bool with_backward : {false, true})
      for (AttentionImpl impl : {AttentionImpl::flash, AttentionImpl::naive}) {
        const bool skip = impl == AttentionImpl::naive && !naive_fits(T);
        cells[c++] = skip ? "(skipped)"
                          : gib(peak_extra_bytes([&] {
                              with_backward ? forward_backward(*in, impl) : forward(*in, impl);
                            }));
      }
    std::printf("%8lld  %14s  %14s  %16s  %16s\n", (long long)T, cells[0].c_str(), cells[1].c_str(), cells[2].c_str(),
                cells[3].c_str());
  }
  std::printf("\n");
}

void register_length(std::int64_t T) {
  const auto in = make_inputs(T);
  const double fwd_flops = 4.0 * kBatch * double(T) * double(T) * kHeads * kHeadDim / 2.0;
  const std::string name = "T=" + std::to_string(T);

  // The same-run sgemm reference: a 1024^3 product, BLAS-threaded.
  constexpr int n = 1024;
  Generator gen(5);
  const Tensor a = Tensor::randn({n, n}, gen), b = Tensor::randn({n, n}, gen);
  auto c = std::make_shared<Tensor>(Tensor::empty({n, n}));
  for (const char* group : {"attention forward", "attention forward+backward"})
    bench::add(
        group, "sgemm 1024^3", name, {2.0 * n * n * n, 0},
        [a, b, c] {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data<float>(), n, b.data<float>(),
                      n, 0.0f, c->data<float>(), n);
          bench::keep(c->data<float>());
        },
        /*reference=*/true);

  for (AttentionImpl impl : {AttentionImpl::flash, AttentionImpl::naive}) {
    if (impl == AttentionImpl::naive && !naive_fits(T)) continue;
    const std::string variant = impl == AttentionImpl::flash ? "flash" : "naive";
    bench::add("attention forward", variant, name, {fwd_flops, 0}, [in, impl] { forward(*in, impl); });
    bench::add("attention forward+backward", variant, name, {3.5 * fwd_flops, 0},
               [in, impl] { forward_backward(*in, impl); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  print_memory_table();
  for (std::int64_t T : kLengths) register_length(T);
  return bench::run(argc, argv, "strata bench: causal attention, flash vs naive, FLOP/s relative to sgemm");
}
