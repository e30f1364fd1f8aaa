// The seam between our kernels and what runs them. Every kernel reaches the hardware through the
// names below and nothing else decides between the GPU and the CPU runtime: under nvcc they are
// the device backend (kernels/common/seam_device.cuh: inline PTX, <<<>>>), compiled by a plain
// C++ compiler they are the CPU runtime's backend (cpu_cuda/seam_cpu.hpp), which runs the same
// kernel with the same grid, block and shared memory on the CPU, checks every access (memcheck,
// racecheck) and counts it for the profiler. So what the CPU tests check is what the GPU gets.
//
// In namespace tconv::TCONV_KERNEL_NS::seam, TCONV_KERNEL_NS being an inline namespace whose name
// differs between the two builds, so that the CPU build of a kernel template can never be merged
// by the linker with the GPU build's host stub of the same name:
//   launch(kernel, grid, block, smem, stream, args...)  the launch, with a launch check after it
//   memset_async(p, value, bytes, stream)
//   grid_cap()                 the most blocks a grid-stride grid dimension may have (0: no cap);
//                              the CPU tests cap it to run each loop's later passes
//   ldg<T>(p)                  read-only global load of a scalar or an 8/16-byte vector
//   lds<V>(p), sts<V>(p, v)    aligned shared-memory load and store of a 4/8/16-byte V
//   ldsm_x4(d, row), ldsm_x4_trans(d, row)   ldmatrix.x4 (.trans) of 16-bit elements
//   mma_sync<T>(c0..c3, a, b)  one warp's mma.sync: m16n8k8 tf32 (T = float), m16n8k16 f16/bf16
//   round_tf32(v)              fp32 -> tf32, round to nearest, ties away (cvt.rna.tf32.f32)
//   global_timer_ns()          the %globaltimer register (the stream-hold kernel's time-out)
// Plus, in the global namespace as CUDA spells them: threadIdx, blockIdx, blockDim, gridDim,
// __syncthreads, __syncwarp, atomicAdd, __shared__, __global__, __device__.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "core/hd.hpp"

#if defined(__CUDACC__)
#include "kernels/common/seam_device.cuh"
#else
#include "cpu_cuda/seam_cpu.hpp"
#endif
