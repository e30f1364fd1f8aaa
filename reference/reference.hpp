// CPU references in double precision, each an independent formulation of the same operation so
// that they check each other. All take NCHW host arrays laid out as core/problem.hpp says; bias
// may be null (ignored unless p.has_bias). Outputs are overwritten, not accumulated into.
#pragma once

#include <vector>

#include "core/problem.hpp"

namespace tconv::ref {

// The scatter definition: every input element adds its kernel-weighted contributions.
void direct(const Problem& p, const double* x, const double* w, const double* bias, double* y);
// Threads ref::direct uses for p (1 for small problems, else up to every core); the result does
// not depend on it.
int reference_threads(const Problem& p);

// The matrix view made literal, with row vectors as in the classic presentation. C is the matrix
// of the forward convolution that maps a y-shaped image to an x-shaped one, for one batch item:
//   rows    (c_out, h_out, w_out) flattened in C order  -- the forward conv's input
//   columns (c_in,  h_in,  w_in)  flattened in C order  -- the forward conv's output
// so  x_row = y_row * C  is that convolution and the transposed convolution is  y_row = x_row * C^T.
// build_c returns C densely, row-major, (c_out*h_out*w_out) x (c_in*h_in*w_in).
std::vector<double> build_c(const Problem& p, const double* w);
void matrix(const Problem& p, const double* x, const double* w, const double* bias, double* y);

// Zero insertion: stride-1 zeros between input elements, padding dil*(k-1)-begin at the top/left
// and dil*(k-1)-end at the bottom/right (PyTorch's form: end = pad - out_pad; negative padding
// crops), then a stride-1 dilated convolution with the kernel flipped up-down and left-right and
// its channel axes swapped.
void zero_insert(const Problem& p, const double* x, const double* w, const double* bias,
                 double* y);

// The adjoint: the forward convolution with the same weights, y-shaped in, x-shaped out, no bias.
// <conv_transpose(x), y> == <x, conv_forward(y)> for every x, y.
void conv_forward(const Problem& p, const double* y, const double* w, double* x);

}  // namespace tconv::ref
