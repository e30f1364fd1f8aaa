// Index arithmetic shared by the GPU kernels and the CPU tests: one dimension of a transposed
// convolution at a time. The relation everything derives from:
//     o = i*stride - pad + k*dil        (output o receives input i through tap k)
// Everything is __host__ __device__ so tests/test_index_math.cpp checks the very functions the
// kernels run against the fp64 references. Sizes fit int32 (Problem::validate guarantees it).
#pragma once

#include "core/hd.hpp"
#include "core/problem.hpp"

namespace tconv::idx {

TCONV_HD int min_int(int a, int b) { return a < b ? a : b; }
TCONV_HD int max_int(int a, int b) { return a > b ? a : b; }

TCONV_HD int gcd(int a, int b) {
  while (b != 0) {
    const int t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Floor division for a possibly negative numerator and positive divisor.
TCONV_HD int floor_div(int a, int b) { return (a >= 0) ? a / b : -((-a + b - 1) / b); }
TCONV_HD int ceil_div(int a, int b) { return -floor_div(-a, b); }

// One dimension of the problem.
struct Dim {
  int in, out, k, stride, pad, dil;
};
TCONV_HD Dim dim_h(const Problem& p) {
  return {int(p.h_in), int(p.h_out()), int(p.k_h), int(p.stride_h), int(p.pad_h), int(p.dil_h)};
}
TCONV_HD Dim dim_w(const Problem& p) {
  return {int(p.w_in), int(p.w_out()), int(p.k_w), int(p.stride_w), int(p.pad_w), int(p.dil_w)};
}

// Taps ky = first + t*step, t in [0, count), are those that reach output o from an input
// i = (o + pad - ky*dil) / stride inside [0, in). Taps reaching o satisfy ky*dil = o+pad (mod
// stride); they repeat every stride/gcd(stride, dil).
struct TapRange {
  int first, step, count;
};

// Smallest tap in [0, step) with tap*dil = r (mod stride), or -1 if there is none.
TCONV_HD int first_tap_of_residue(int r, int stride, int dil, int step) {
  for (int t = 0; t < step; ++t)
    if (int((static_cast<long long>(t) * dil) % stride) == r) return t;  // t*dil may pass int32
  return -1;
}

TCONV_HD TapRange taps_for_output(int o, const Dim& d) {
  const int step = d.stride / gcd(d.stride, d.dil);
  const int r = (o + d.pad) % d.stride;  // o + pad >= 0
  const int t0 = first_tap_of_residue(r, d.stride, d.dil, step);
  TapRange tr{0, step, 0};
  if (t0 < 0) return tr;
  // i >= 0      <=>  ky <= (o+pad)/dil
  // i <= in-1   <=>  ky >= (o+pad-(in-1)*stride)/dil
  const int hi = min_int(d.k - 1, floor_div(o + d.pad, d.dil));
  const int lo = max_int(0, ceil_div(o + d.pad - (d.in - 1) * d.stride, d.dil));
  // First tap >= lo congruent to t0 mod step.
  const int first = t0 + ceil_div(max_int(lo - t0, 0), step) * step;
  tr.first = first;
  tr.count = first <= hi ? (hi - first) / step + 1 : 0;
  return tr;
}

// Input index of tap ky for output o (only meaningful for a tap from taps_for_output).
TCONV_HD int input_of_tap(int o, int ky, const Dim& d) { return (o + d.pad - ky * d.dil) / d.stride; }

// ---- Phase decomposition -----------------------------------------------------------------
// Outputs with the same (o + pad) mod stride form a phase r. Within a phase, o = first + q*stride
// and every tap of the phase reads input i = q + offset(tap): a stride-1 convolution with the
// phase's sub-kernel, so no inserted zero is ever multiplied.

TCONV_HD int phase_first_output(int r, const Dim& d) {
  return ((r - d.pad) % d.stride + d.stride) % d.stride;
}
TCONV_HD int phase_output_count(int r, const Dim& d) {
  const int first = phase_first_output(r, d);
  return first < d.out ? (d.out - 1 - first) / d.stride + 1 : 0;
}
// Taps of phase r: tap = phase_tap_first + t*phase_tap_step, t < phase_tap_count.
TCONV_HD int phase_tap_step(const Dim& d) { return d.stride / gcd(d.stride, d.dil); }
TCONV_HD int phase_tap_first(int r, const Dim& d) {
  return first_tap_of_residue(r, d.stride, d.dil, phase_tap_step(d));
}
TCONV_HD int phase_tap_count(int r, const Dim& d) {
  const int t0 = phase_tap_first(r, d);
  if (t0 < 0 || t0 >= d.k) return 0;
  return (d.k - 1 - t0) / phase_tap_step(d) + 1;
}
// Largest tap count over all phases: the sub-kernel extent to size tiles for.
TCONV_HD int phase_max_taps(const Dim& d) { return (d.k + phase_tap_step(d) - 1) / phase_tap_step(d); }
// For output q of phase r, tap `tap` reads input q + phase_input_offset(r, tap). The division is
// exact: first + pad = tap*dil (mod stride).
TCONV_HD int phase_input_offset(int r, int tap, const Dim& d) {
  return (phase_first_output(r, d) + d.pad - tap * d.dil) / d.stride;
}

// ---- Zero insertion ----------------------------------------------------------------------
// The zero-inserted, padded image has out + dil*(k-1) positions; input i sits at lead + i*stride
// (lead = dil*(k-1) - pad; when negative the leading rows are cropped).
TCONV_HD int zero_insert_lead(const Dim& d) { return d.dil * (d.k - 1) - d.pad; }
TCONV_HD int zero_insert_size(const Dim& d) { return d.out + d.dil * (d.k - 1); }
// The input at zero-inserted position z, or -1 for an inserted or padding zero.
TCONV_HD int zero_insert_source(int z, const Dim& d) {
  const int rel = z - zero_insert_lead(d);
  if (rel < 0 || rel % d.stride != 0) return -1;
  const int i = rel / d.stride;
  return i < d.in ? i : -1;
}

// ---- GEMM + col2im -----------------------------------------------------------------------
// For one group, col = W_g^T * X_g with W_g the (C_in/g) x (C_out/g * k_h * k_w) slice of the
// weight (row-major as stored) and X_g the (C_in/g) x (H_in*W_in) slice of x: col has rows
// (co_local, ky, kx) and columns (iy, ix). col2im gathers each output from its taps.
TCONV_HD int col_row(int co_local, int ky, int kx, int k_h, int k_w) {
  return (co_local * k_h + ky) * k_w + kx;
}
TCONV_HD int col_col(int iy, int ix, int w_in) { return iy * w_in + ix; }

// ---- Explicit C --------------------------------------------------------------------------
// The output coordinate that input i feeds through tap k, or -1 where it falls outside [0, out):
// one nonzero of C per (input pixel, tap) that lands.
TCONV_HD int output_of_tap(int i, int k, const Dim& d) {
  const int o = i * d.stride - d.pad + k * d.dil;
  return (o >= 0 && o < d.out) ? o : -1;
}

}  // namespace tconv::idx
