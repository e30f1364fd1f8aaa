// The harness's reference for problems too large for the CPU: a plain fp64 gather on the GPU,
// one thread per output element, written for obviousness rather than speed. tests/ cross-check
// it against the CPU references. All pointers are device pointers to double, NCHW.
#pragma once

#include "core/problem.hpp"

namespace tconv {

class Context;

void reference_gpu_fp64(Context& ctx, const Problem& p, const double* x, const double* w,
                        const double* bias, double* y);

}  // namespace tconv
