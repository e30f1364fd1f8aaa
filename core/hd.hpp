// TCONV_HD marks functions that both the CUDA kernels and the CPU tests call, so that the index
// arithmetic the GPU runs is the same code the CPU tests check against the references.
#pragma once

#if defined(__CUDACC__)
#define TCONV_HD __host__ __device__ __forceinline__
#else
#define TCONV_HD inline
#endif

// `#pragma unroll` (and `unroll 1`) for the device compiler only: full unrolling matters there
// (register arrays indexed by loop counters); a plain C++ compiler (the CPU runtime) would warn
// about the unknown pragma.
#if defined(__CUDA_ARCH__)
#define TCONV_UNROLL _Pragma("unroll")
#define TCONV_NO_UNROLL _Pragma("unroll 1")
#else
#define TCONV_UNROLL
#define TCONV_NO_UNROLL
#endif
