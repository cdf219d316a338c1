// Selective scan (f32): the fused kernel's forward and backward in state updates per
// second (B T D N / time) at Mamba's shape B = 4, T = 2048, D = 1536, N = 16, against
//   - a plain scan in the style of mamba_ssm's selective_scan_ref (the CPU fallback
//     Hugging Face uses): exp(delta A) and delta B u materialised as [B, D, T, N], then a
//     loop over time with whole-array operations over (b, d, n), threaded and with a
//     vectorised exp as PyTorch's would be;
//   - the fused forward itself, as the denominator of the backward (target: backward
//     time <= 3x forward, i.e. ratio >= 0.33);
// and per-token cost over T = 256 ... 16384 at constant B T = 16384 (target: flat within
// 15% of T = 256). The kernels are called directly, with delta_softplus, delta_bias, D
// and z on, as the Mamba mixer calls them.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/selective_scan.h"
#include "kernels/cpu/vec_math.h"
#include "strata/ops.h"

using namespace strata;
namespace cpu = strata::kernels::cpu;

namespace {

constexpr std::int64_t kChannels = 1536, kStates = 16;

struct Problem {
  std::int64_t B, T, D, N;
  Tensor u, delta, A, Bm, Cm, Dskip, z, bias, y, final_state, checkpoints;
  Tensor dy, du, ddelta, dA, dB, dC, dD, dz, dbias, workspace;

  Problem(std::int64_t batch, std::int64_t len) : B(batch), T(len), D(kChannels), N(kStates) {
    Generator gen{std::uint64_t(len)};
    u = Tensor::randn({B, T, D}, gen);
    delta = add(Tensor::randn({B, T, D}, gen), -3.0);
    // Mamba's initialisation: A[d, n] = -(n + 1).
    std::vector<float> a(D * N);
    for (std::int64_t i = 0; i < D * N; ++i) a[i] = -float(i % N + 1);
    A = Tensor::from_vector(a, {D, N});
    Bm = Tensor::randn({B, T, N}, gen);
    Cm = Tensor::randn({B, T, N}, gen);
    Dskip = Tensor::ones({D});
    z = Tensor::randn({B, T, D}, gen);
    bias = mul(Tensor::randn({D}, gen), 0.5);
    y = Tensor::empty({B, T, D});
    final_state = Tensor::empty({B, D, N});
    checkpoints = Tensor::empty({cpu::selective_scan_checkpoint_size(B, T, D, N)});
    dy = Tensor::randn({B, T, D}, gen);
    for (Tensor* t : {&du, &ddelta, &dz}) *t = Tensor::empty({B, T, D});
    for (Tensor* t : {&dB, &dC}) *t = Tensor::empty({B, T, N});
    dA = Tensor::empty({D, N});
    dD = Tensor::empty({D});
    dbias = Tensor::empty({D});
    workspace = Tensor::empty({cpu::selective_scan_bwd_workspace_size(B, T, D, N)});
    forward();  // the backward needs the checkpoints
  }

  double updates() const { return double(B) * double(T) * double(D) * double(N); }

  cpu::SelectiveScanArgs<float> args() {
    cpu::SelectiveScanArgs<float> a;
    a.batch = B, a.seq_len = T, a.channels = D, a.d_state = N;
    a.u = u.data<float>(), a.delta = delta.data<float>(), a.A = A.data<float>();
    a.B = Bm.data<float>(), a.C = Cm.data<float>(), a.D = Dskip.data<float>(), a.z = z.data<float>();
    a.delta_bias = bias.data<float>(), a.delta_softplus = true;
    a.y = y.data<float>(), a.final_state = final_state.data<float>(), a.checkpoints = checkpoints.data<float>();
    return a;
  }

  void forward() { cpu::selective_scan_fwd_cpu(args()); }

  void backward() {
    cpu::SelectiveScanArgs<float> a = args();
    a.dy = dy.data<float>(), a.du = du.data<float>(), a.ddelta = ddelta.data<float>(), a.dA = dA.data<float>();
    a.dB = dB.data<float>(), a.dC = dC.data<float>(), a.dD = dD.data<float>(), a.dz = dz.data<float>();
    a.ddelta_bias = dbias.data<float>(), a.workspace = workspace.data<float>();
    cpu::selective_scan_bwd_cpu(a);
  }
};

// The reference implementation's fallback, op by op: delta = softplus(delta + bias);
// deltaA = exp(delta A), deltaB_u = delta B u, both [B, D, T, N]; then for each t:
// h = deltaA[:, :, t] h + deltaB_u[:, :, t]; y[:, :, t] = sum_n h C[:, t]. Each
// "op" is a threaded loop over the whole array, as a framework's elementwise op would be.
struct PlainScan {
  Problem& p;
  std::vector<float> dt, deltaA, deltaBu, h;

  explicit PlainScan(Problem& problem)
      : p(problem), dt(p.B * p.T * p.D), deltaA(p.B * p.D * p.T * p.N), deltaBu(deltaA.size()), h(p.B * p.D * p.N) {}

  void run() {
    const std::int64_t B = p.B, T = p.T, D = p.D, N = p.N;
    const float *u = p.u.data<float>(), *delta = p.delta.data<float>(), *A = p.A.data<float>();
    const float *Bm = p.Bm.data<float>(), *Cm = p.Cm.data<float>(), *bias = p.bias.data<float>();
    const float *Dskip = p.Dskip.data<float>(), *z = p.z.data<float>();
    float* y = p.y.data<float>();
    cpu::parallel_rows(B * T, D, [&](std::int64_t r) {
      for (std::int64_t d = 0; d < D; ++d) {
        const float x = delta[r * D + d] + bias[d];
        dt[r * D + d] = x > 20.0f ? x : std::log1p(cpu::vec::exp_scalar(x));
      }
    });
    cpu::parallel_rows(B * D, T * N, [&](std::int64_t bd) {
      const std::int64_t b = bd / D, d = bd % D;
      float* da = deltaA.data() + bd * T * N;
      float* dbu = deltaBu.data() + bd * T * N;
      for (std::int64_t t = 0; t < T; ++t) {
        const float s = dt[(b * T + t) * D + d];
        for (std::int64_t n = 0; n < N; ++n) da[t * N + n] = s * A[d * N + n];
        cpu::vec::exp(da + t * N, da + t * N, N);
        const float su = s * u[(b * T + t) * D + d];
        for (std::int64_t n = 0; n < N; ++n) dbu[t * N + n] = su * Bm[(b * T + t) * N + n];
      }
    });
    std::fill(h.begin(), h.end(), 0.0f);
    for (std::int64_t t = 0; t < T; ++t) {
      cpu::parallel_rows(B * D, N, [&](std::int64_t bd) {
        const std::int64_t b = bd / D, d = bd % D;
        float* hs = h.data() + bd * N;
        const float* da = deltaA.data() + (bd * T + t) * N;
        const float* dbu = deltaBu.data() + (bd * T + t) * N;
        float acc = 0;
        for (std::int64_t n = 0; n < N; ++n) {
          hs[n] = da[n] * hs[n] + dbu[n];
          acc += hs[n] * Cm[(b * T + t) * N + n];
        }
        const std::int64_t i = (b * T + t) * D + d;
        y[i] = acc;
      });
    }
    cpu::parallel_rows(B * T, D, [&](std::int64_t r) {
      for (std::int64_t d = 0; d < D; ++d) {
        const std::int64_t i = r * D + d;
        y[i] = (y[i] + Dskip[d] * u[i]) * z[i] * cpu::vec::sigmoid_scalar(z[i]);
      }
    });
    bench::keep(y);
  }
};

void register_mamba_shape() {
  auto p = std::make_shared<Problem>(4, 2048);
  auto plain = std::make_shared<PlainScan>(*p);
  const std::string name = "B=4 T=2048 D=1536 N=16";
  const bench::Work work{0, 0, p->updates()};
  bench::add("scan forward", "plain step-by-step", name, work, [plain] { plain->run(); }, /*reference=*/true);
  bench::add("scan forward", "fused", name, work, [p] { p->forward(); });
  bench::add("scan backward vs forward", "fused forward", name, work, [p] { p->forward(); }, /*reference=*/true);
  bench::add("scan backward vs forward", "fused backward", name, work, [p] { p->backward(); });
}

void register_length_sweep() {
  constexpr std::int64_t kTokens = 16384;
  for (std::int64_t T : {256, 1024, 4096, 16384}) {
    auto p = std::make_shared<Problem>(kTokens / T, T);
    const std::string variant = "T=" + std::to_string(T) + " B=" + std::to_string(kTokens / T);
    const bench::Work work{0, 0, p->updates()};
    const bool reference = T == 256;
    bench::add("scan forward per token", variant, "B*T=16384 D=1536 N=16", work, [p] { p->forward(); }, reference);
    bench::add("scan forward+backward per token", variant, "B*T=16384 D=1536 N=16", work,
               [p] { p->forward(), p->backward(); }, reference);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_mamba_shape();
  register_length_sweep();
  return bench::run(argc, argv, "strata bench: selective scan (f32), state updates per second");
}
