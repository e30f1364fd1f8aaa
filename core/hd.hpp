// TCONV_HD marks functions that both the CUDA kernels and the CPU tests call, so that the index
// arithmetic the GPU runs is the same code the CPU tests check against the references.
#pragma once

#if defined(__CUDACC__)
#define TCONV_HD __host__ __device__ __forceinline__
#else
#define TCONV_HD inline
#endif
