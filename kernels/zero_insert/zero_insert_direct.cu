// zero_insert_direct: the textbook construction with our own kernels. run() first writes the
// zero-inserted, padded image z (stride-1 zeros between inputs, dil*(k-1)-pad rows/columns of
// padding, cropped where that is negative), then a direct stride-1 dilated convolution reads it
// with the flipped, channel-swapped kernel. The convolution kernel gives each block a 32x8 tile
// of output pixels for up to 8 output channels of one group; the flipped weights of a run of
// (input channel, tap) entries are staged in shared memory and broadcast to all threads.
// Memory: z, C_in*(H_out+dil_h*(k_h-1))*(W_out+dil_w*(k_w-1)) elements per batch item (the whole
// batch when it fits the memory budget, else chunks). It multiplies about stride_h*stride_w times
// the useful work (most z entries are inserted zeros), so it should never win; it is here to
// measure what zero insertion costs. Limits: nchw; fp32, fp16, bf16 storage (fp32 accumulation).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdio>

#include "kernels/common/cuda_check.hpp"
#include "kernels/common/launch.cuh"
#include "kernels/common/device_buffer.hpp"
#include "kernels/common/gpu_context.hpp"
#include "kernels/common/implementation.hpp"
#include "kernels/zero_insert/zero_insert_direct_math.hpp"

namespace tconv {
namespace {

constexpr int kTileW = 32, kTileH = 8, kConvThreads = kTileW * kTileH;
// Entries of (input channel, tap) whose weights one shared-memory chunk holds: 8 KiB at CoT = 8.
constexpr int kChunk = 256;
constexpr int kFillThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kFillThreads)
    zi_fill_kernel(Problem p, kmath::ZiGeom g, const T* __restrict__ x, T* __restrict__ z,
                   int64_t n0, int64_t total) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t src = kmath::zi_fill_source(p, g, n0, e);
    z[e] = src < 0 ? T(0.0f) : x[src];
  }
}

template <int CoT, typename T>
__global__ void __launch_bounds__(kConvThreads)
    zi_conv_kernel(Problem p, kmath::ZiGeom g, const T* __restrict__ z, const T* __restrict__ w,
                   const T* __restrict__ bias, T* __restrict__ y, int64_t n0, int64_t items) {
  __shared__ float ws[kChunk * CoT];
  const int tid = threadIdx.y * kTileW + threadIdx.x;
  const int groups = int(p.groups);
  const int64_t blocks = kmath::zi_block_count(g, groups, items, CoT, kTileW, kTileH);
  const int64_t entries = kmath::zi_entry_count(g);
  // The loop bound is the same for every thread of a block, so the __syncthreads are uniform.
  for (int64_t b = blockIdx.x; b < blocks; b += gridDim.x) {
    const kmath::ZiBlock blk = kmath::zi_block(g, groups, CoT, kTileW, kTileH, b);
    const int oy = blk.ty * kTileH + int(threadIdx.y), ox = blk.tx * kTileW + int(threadIdx.x);
    const bool active = oy < g.ho && ox < g.wo;
    float acc[CoT];
#pragma unroll
    for (int c = 0; c < CoT; ++c) acc[c] = 0.0f;
    for (int64_t e0 = 0; e0 < entries; e0 += kChunk) {
      const int ne = int(std::min<int64_t>(kChunk, entries - e0));
      __syncthreads();  // the previous chunk (or block) is done with ws
      for (int s = tid; s < ne * CoT; s += kConvThreads)
        ws[s] = kmath::zi_weight_slot<CoT, float>(g, w, blk.grp, blk.j0, e0, s);
      __syncthreads();
      if (active) kmath::zi_accumulate<CoT, float>(g, z, ws, blk.nl, blk.grp, e0, ne, oy, ox, acc);
    }
    if (active) {
#pragma unroll
      for (int c = 0; c < CoT; ++c) {
        const int j = blk.j0 + c;
        if (j >= g.cog) continue;
        const int co = blk.grp * g.cog + j;
        const float v = acc[c] + (bias ? float(bias[co]) : 0.0f);
        y[kmath::act_offset(false, n0 + blk.nl, co, oy, ox, p.c_out, g.ho, g.wo)] = T(v);
      }
    }
  }
}

template <int CoT, typename T>
void launch_conv(Context& ctx, const Problem& p, const kmath::ZiGeom& g, const T* z, const T* w,
                 const T* bias, T* y, int64_t n0, int64_t items) {
  const int64_t blocks = kmath::zi_block_count(g, int(p.groups), items, CoT, kTileW, kTileH);
  zi_conv_kernel<CoT, T><<<int(std::clamp<int64_t>(blocks, 1, int64_t(1) << 20)),
                           dim3(kTileW, kTileH), 0, ctx.stream()>>>(p, g, z, w, bias, y, n0,
                                                                   items);
  TCONV_CHECK_LAUNCH();
}

template <typename T>
void run_typed(Context& ctx, const Problem& p, const Tensors& t, T* z, int64_t chunk) {
  const kmath::ZiGeom g = kmath::zi_geom(p);
  const T* x = static_cast<const T*>(t.x);
  const T* w = static_cast<const T*>(t.w);
  const T* bias = p.has_bias ? static_cast<const T*>(t.bias) : nullptr;
  T* y = static_cast<T*>(t.y);
  const int co_tile = kmath::pick_co_tile(p);
  for (int64_t n0 = 0; n0 < p.n; n0 += chunk) {
    const int64_t items = std::min(chunk, p.n - n0);
    const int64_t zelems = items * kmath::zi_item_elems(g);
    zi_fill_kernel<T><<<grid_blocks(zelems, kFillThreads), kFillThreads, 0, ctx.stream()>>>(
        p, g, x, z, n0, zelems);
    TCONV_CHECK_LAUNCH();
    switch (co_tile) {
      case 8: launch_conv<8>(ctx, p, g, z, w, bias, y, n0, items); break;
      case 4: launch_conv<4>(ctx, p, g, z, w, bias, y, n0, items); break;
      case 2: launch_conv<2>(ctx, p, g, z, w, bias, y, n0, items); break;
      default: launch_conv<1>(ctx, p, g, z, w, bias, y, n0, items); break;
    }
  }
}

class ZeroInsertDirect : public Implementation {
 public:
  ~ZeroInsertDirect() override { release(); }
  std::string name() const override { return "zero_insert_direct"; }
  std::string summary() const override {
    return "CUDA zero insertion + direct stride-1 conv with the flipped kernel (smem weights)";
  }
  Support can_implement(const Problem&, const Config& cfg) const override {
    if (cfg.layout != Layout::nchw)
      return Support::no(std::string("layout ") + to_string(cfg.layout) +
                         " not implemented (nchw only)");
    switch (cfg.dtype) {
      case DType::fp32:
      case DType::fp16:
      case DType::bf16: return Support::yes();
      default:
        return Support::no(std::string("dtype ") + to_string(cfg.dtype) +
                           " not implemented (fp32, fp16, bf16: CUDA cores, fp32 accumulation)");
    }
  }
  void prepare(Context& ctx, const Problem& p, const Config& cfg, const Tensors&) override {
    release();
    const kmath::ZiGeom g = kmath::zi_geom(p);
    const double per_item = double(kmath::zi_item_elems(g)) * double(storage_bytes(cfg.dtype));
    const double budget = double(ctx.memory_budget());
    if (per_item > budget) {
      char msg[200];
      std::snprintf(msg, sizeof msg,
                    "zero-inserted buffer needs %.2f GiB per batch item, over the memory budget "
                    "of %.2f GiB",
                    per_item / double(1 << 30), budget / double(1 << 30));
      throw Skipped(msg);
    }
    chunk_ = std::min<int64_t>(p.n, int64_t(budget / per_item));
    z_.resize(size_t(chunk_) * size_t(kmath::zi_item_elems(g)) * storage_bytes(cfg.dtype));
    char a[200];
    std::snprintf(a, sizeof a, "z buffer %.1f MiB (%lld of %lld batch items), %dx%d tile x %d ch",
                  double(z_.bytes()) / double(1 << 20), (long long)chunk_, (long long)p.n,
                  kTileW, kTileH, kmath::pick_co_tile(p));
    algo_ = a;
  }
  size_t workspace_bytes() const override { return z_.bytes(); }
  double work_ratio(const Problem& p) const override { return kmath::zi_work_ratio(p); }
  void run(Context& ctx, const Problem& p, const Config& cfg, const Tensors& t) override {
    if (!z_.get()) throw Error("zero_insert_direct: run() before prepare()");
    switch (cfg.dtype) {
      case DType::fp32: run_typed<float>(ctx, p, t, z_.as<float>(), chunk_); break;
      case DType::fp16: run_typed<__half>(ctx, p, t, z_.as<__half>(), chunk_); break;
      case DType::bf16: run_typed<__nv_bfloat16>(ctx, p, t, z_.as<__nv_bfloat16>(), chunk_); break;
      default:
        throw Error(std::string("zero_insert_direct: dtype ") + to_string(cfg.dtype) +
                    " not implemented");
    }
  }
  std::string algo() const override { return algo_; }
  void release() override {
    z_.reset();
    chunk_ = 0;
  }

 private:
  DeviceBuffer z_;
  int64_t chunk_ = 0;
  std::string algo_;
};

}  // namespace

std::unique_ptr<Implementation> make_zero_insert_direct() {
  return std::make_unique<ZeroInsertDirect>();
}

}  // namespace tconv
