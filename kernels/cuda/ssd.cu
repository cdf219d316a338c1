// Mamba-2's SSD scan through the selective scan's kernels (see ssd.h): the arguments mapped
// onto the selective scan's (x as u, dt as delta, channels H * P), the layout (head_dim P,
// groups G, a scalar A per head), and the per-channel gradients of dt and A summed per head.
#include <cstdint>
#include <string>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/ssd.h"

namespace strata::kernels::cuda {

namespace {

// Why the kernels cannot take these shapes, or "".
template <class T>
std::string ssd_unsupported(const SsdArgs<T>& a) {
  if (a.d_state > kSsdMaxState)
    return "d_state = " + std::to_string(a.d_state) + " is above the CUDA SSD kernel's " + std::to_string(kSsdMaxState);
  if (a.groups < 1 || a.heads % a.groups != 0) return "heads must be a multiple of groups";
  return {};
}

ScanLayout ssd_layout(std::int64_t head_dim, std::int64_t groups) { return {head_dim, groups, true}; }

// The selective scan's arguments for the SSD's: no D, z, delta bias or softplus (dt comes
// after them); dt's and A's gradients are left to the caller (per channel).
template <class T>
SelectiveScanArgs<T> scan_args(const SsdArgs<T>& s) {
  SelectiveScanArgs<T> a;
  a.batch = s.batch, a.seq_len = s.seq_len, a.channels = s.heads * s.head_dim, a.d_state = s.d_state;
  a.u = s.x, a.delta = s.dt, a.A = s.A, a.B = s.B, a.C = s.C;
  a.initial_state = s.initial_state, a.seq_start = s.seq_start;
  a.y = s.y, a.final_state = s.final_state, a.checkpoints = s.chunk_states;
  a.dy = s.dy, a.dfinal_state = s.dfinal_state;
  a.du = s.dx, a.dB = s.dB, a.dC = s.dC, a.dinitial_state = s.dinitial_state;
  return a;
}

// out[r] = the sum of row r of x [R, W], in column order.
template <class T>
__global__ void sum_rows_kernel(const T* x, std::int64_t rows, std::int64_t width, T* out) {
  for (std::int64_t r = global_index(); r < rows; r += grid_size()) {
    T acc = 0;
    for (std::int64_t c = 0; c < width; ++c) acc += x[r * width + c];
    out[r] = acc;
  }
}

template <class T>
void sum_rows(const T* x, std::int64_t rows, std::int64_t width, T* out) {
  if (rows == 0) return;
  sum_rows_kernel<<<blocks_for(rows), kThreads>>>(x, rows, width, out);
}

}  // namespace

std::int64_t ssd_checkpoints_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads, std::int64_t head_dim,
                                  std::int64_t d_state) {
  return selective_scan_checkpoint_size_cuda(batch, seq_len, heads * head_dim, d_state);
}

std::int64_t ssd_bwd_workspace_elements(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                        std::int64_t head_dim, std::int64_t groups, std::int64_t d_state) {
  const std::int64_t D = heads * head_dim;
  return SelectiveScanWorkspace<float>::size(batch, seq_len, D, d_state, groups) + batch * seq_len * D + D * d_state;
}

template <class T>
std::string ssd_fwd_cuda(const SsdArgs<T>& a, int device) {
  if (auto e = ssd_unsupported(a); !e.empty()) return e;
  return diagonal_scan_fwd_cuda(scan_args(a), ssd_layout(a.head_dim, a.groups), device);
}

template <class T>
std::string ssd_bwd_cuda(const SsdArgs<T>& a, int device) {
  if (auto e = ssd_unsupported(a); !e.empty()) return e;
  if (a.seq_len > 0 && (!a.chunk_states || !a.workspace))
    return "ssd_bwd_cuda needs the forward's chunk_states and a workspace";
  const std::int64_t B = a.batch, T_ = a.seq_len, H = a.heads, P = a.head_dim, N = a.d_state, D = H * P;
  SelectiveScanArgs<T> s = scan_args(a);
  T* ddt_channels = a.workspace + SelectiveScanWorkspace<T>::size(B, T_, D, N, a.groups);  // [B, T, D]
  T* dA_channels = ddt_channels + B * T_ * D;                                             // [D, N]
  s.workspace = a.workspace, s.ddelta = ddt_channels, s.dA = a.dA ? dA_channels : nullptr;
  if (auto e = diagonal_scan_bwd_cuda(s, ssd_layout(P, a.groups), device); !e.empty()) return e;
  sum_rows(ddt_channels, B * T_ * H, P, a.ddt);  // [B, T, H, P] -> [B, T, H]
  if (a.dA) sum_rows(dA_channels, H, P * N, a.dA);  // [H, P, N] -> [H]
  return launch_status();
}

template std::string ssd_fwd_cuda<float>(const SsdArgs<float>&, int);
template std::string ssd_fwd_cuda<double>(const SsdArgs<double>&, int);
template std::string ssd_bwd_cuda<float>(const SsdArgs<float>&, int);
template std::string ssd_bwd_cuda<double>(const SsdArgs<double>&, int);

}  // namespace strata::kernels::cuda
