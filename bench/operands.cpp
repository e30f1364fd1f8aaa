// Conversion happens on the host (bench/convert.hpp), then one synchronous copy per tensor: the
// operands are set up once per row, outside any timed region, so simplicity wins over speed.
#include "bench/operands.hpp"

#include "bench/convert.hpp"
#include "kernels/common/cuda_check.hpp"

namespace tconv {

namespace {
size_t elem_bytes(const Config& cfg) { return storage_bytes(cfg.dtype); }
}  // namespace

size_t DeviceOperands::bytes_needed(const Problem& p, const Config& cfg) {
  return elem_bytes(cfg) *
         size_t(p.x_elems() + p.w_elems() + p.bias_elems() + p.y_elems());
}

DeviceOperands::DeviceOperands(const Problem& p, const Config& cfg) : p_(p), cfg_(cfg) {
  const size_t eb = elem_bytes(cfg);
  x_.resize(eb * size_t(p.x_elems()));
  w_.resize(eb * size_t(p.w_elems()));
  if (p.has_bias) bias_.resize(eb * size_t(p.c_out));
  y_.resize(eb * size_t(p.y_elems()));
}

void DeviceOperands::upload(const double* x, const double* w, const double* bias) {
  if (!x || !w) throw Error("DeviceOperands::upload: x and w are required");
  const DType t = cfg_.dtype;
  std::vector<double> xh, wh;
  const double* xs = x;
  const double* ws = w;
  if (cfg_.layout == Layout::nhwc) {
    xh = convert::nchw_to_nhwc(x, p_.n, p_.c_in, p_.h_in, p_.w_in);
    wh = convert::nchw_to_nhwc(w, p_.c_in, p_.c_out_per_group(), p_.k_h, p_.k_w);
    xs = xh.data();
    ws = wh.data();
  }
  const auto xb = convert::to_storage(t, xs, size_t(p_.x_elems()));
  const auto wb = convert::to_storage(t, ws, size_t(p_.w_elems()));
  TCONV_CUDA_CHECK(cudaMemcpy(x_.get(), xb.data(), xb.size(), cudaMemcpyHostToDevice));
  TCONV_CUDA_CHECK(cudaMemcpy(w_.get(), wb.data(), wb.size(), cudaMemcpyHostToDevice));
  if (p_.has_bias) {
    if (bias) {
      const auto bb = convert::to_storage(t, bias, size_t(p_.c_out));
      TCONV_CUDA_CHECK(cudaMemcpy(bias_.get(), bb.data(), bb.size(), cudaMemcpyHostToDevice));
    } else {
      TCONV_CUDA_CHECK(cudaMemset(bias_.get(), 0, bias_.bytes()));
    }
  }
  // Host-to-device copies from pageable memory may return before the DMA lands, and the
  // implementations run on a non-blocking stream that does not order after the legacy stream.
  TCONV_CUDA_CHECK(cudaDeviceSynchronize());
}

void DeviceOperands::poison_y(cudaStream_t stream) {
  if (stream) {
    TCONV_CUDA_CHECK(cudaMemsetAsync(y_.get(), 0xFF, y_.bytes(), stream));
    TCONV_CUDA_CHECK(cudaStreamSynchronize(stream));
  } else {
    TCONV_CUDA_CHECK(cudaMemset(y_.get(), 0xFF, y_.bytes()));
    TCONV_CUDA_CHECK(cudaDeviceSynchronize());
  }
}

std::vector<unsigned char> DeviceOperands::download_y_raw() const {
  TCONV_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<unsigned char> raw(y_.bytes());
  TCONV_CUDA_CHECK(cudaMemcpy(raw.data(), y_.get(), raw.size(), cudaMemcpyDeviceToHost));
  return raw;
}

std::vector<double> DeviceOperands::download_y() const { return decode_y(download_y_raw()); }

std::vector<double> DeviceOperands::decode_y(const std::vector<unsigned char>& raw) const {
  if (raw.size() != y_.bytes()) throw Error("DeviceOperands::decode_y: wrong byte count");
  auto y = convert::from_storage(cfg_.dtype, raw.data(), size_t(p_.y_elems()));
  if (cfg_.layout == Layout::nhwc) y = convert::nhwc_to_nchw(y.data(), p_.n, p_.c_out, p_.h_out(), p_.w_out());
  return y;
}

Tensors DeviceOperands::tensors() const {
  Tensors t;
  t.x = x_.get();
  t.w = w_.get();
  t.bias = p_.has_bias ? bias_.get() : nullptr;
  t.y = y_.get();
  return t;
}

}  // namespace tconv
