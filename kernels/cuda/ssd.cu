// Mamba-2's SSD scan through the selective scan's kernels (see ssd.h): the arguments mapped
// onto the selective scan's (x as u, dt as delta, channels H * P) under the SSD layout
// (head_dim P, groups G, a scalar A per head).
#include <cstdint>
#include <string>

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
// after them).
template <class T>
SelectiveScanArgs<T> scan_args(const SsdArgs<T>& s) {
  SelectiveScanArgs<T> a;
  a.batch = s.batch, a.seq_len = s.seq_len, a.channels = s.heads * s.head_dim, a.d_state = s.d_state;
  a.u = s.x, a.delta = s.dt, a.A = s.A, a.B = s.B, a.C = s.C;
  a.initial_state = s.initial_state, a.seq_start = s.seq_start;
  a.y = s.y, a.final_state = s.final_state, a.checkpoints = s.chunk_states;
  a.dy = s.dy, a.dfinal_state = s.dfinal_state;
  a.du = s.dx, a.ddelta = s.ddt, a.dA = s.dA, a.dB = s.dB, a.dC = s.dC, a.dinitial_state = s.dinitial_state;
  a.workspace = s.workspace;
  return a;
}

}  // namespace

std::int64_t ssd_checkpoints_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads, std::int64_t head_dim,
                                  std::int64_t d_state) {
  return selective_scan_checkpoint_size_cuda(batch, seq_len, heads * head_dim, d_state);
}

std::int64_t ssd_bwd_workspace_elements(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                        std::int64_t head_dim, std::int64_t groups, std::int64_t d_state) {
  return selective_scan_bwd_workspace_size_cuda(batch, seq_len, heads * head_dim, d_state,
                                                ssd_layout(head_dim, groups));
}

template <class T>
std::string ssd_fwd_cuda(const SsdArgs<T>& a, int device) {
  if (auto e = ssd_unsupported(a); !e.empty()) return e;
  return diagonal_scan_fwd_cuda(scan_args(a), ssd_layout(a.head_dim, a.groups), device);
}

template <class T>
std::string ssd_bwd_cuda(const SsdArgs<T>& a, int device) {
  if (auto e = ssd_unsupported(a); !e.empty()) return e;
  if (!a.workspace || (a.seq_len > 0 && !a.chunk_states))
    return "ssd_bwd_cuda needs the forward's chunk_states and a workspace";
  return diagonal_scan_bwd_cuda(scan_args(a), ssd_layout(a.head_dim, a.groups), device);
}

template std::string ssd_fwd_cuda<float>(const SsdArgs<float>&, int);
template std::string ssd_fwd_cuda<double>(const SsdArgs<double>&, int);
template std::string ssd_bwd_cuda<float>(const SsdArgs<float>&, int);
template std::string ssd_bwd_cuda<double>(const SsdArgs<double>&, int);

}  // namespace strata::kernels::cuda
