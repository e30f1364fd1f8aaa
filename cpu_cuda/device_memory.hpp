// "Device" memory of the CPU runtime: what a test hands a kernel as a global-memory buffer. Each
// allocation is registered with its exact size, 256-byte aligned (as cudaMalloc's), and sits
// between unregistered guard bytes, so the profiler's memcheck (profiler.hpp) sees an access one
// element past the end as outside every live allocation rather than inside a heap neighbour.
#pragma once

#include <cstddef>
#include <new>
#include <string>
#include <vector>

namespace cpu_cuda {

void* device_malloc(size_t bytes);
void device_free(void* p) noexcept;
// Names a live allocation for reports ("x", "w", "y", ...); p must be its start.
void name_allocation(const void* p, const std::string& name);

template <typename T>
struct DeviceAllocator {
  using value_type = T;
  DeviceAllocator() = default;
  template <typename U>
  DeviceAllocator(const DeviceAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(device_malloc(n * sizeof(T))); }
  void deallocate(T* p, size_t) noexcept { device_free(p); }
  template <typename U>
  bool operator==(const DeviceAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const DeviceAllocator<U>&) const { return false; }
};

// A std::vector in device memory: the tests' buffers. Assignable from a host vector (a copy).
template <typename T>
class DeviceVec : public std::vector<T, DeviceAllocator<T>> {
  using Base = std::vector<T, DeviceAllocator<T>>;

 public:
  using Base::Base;
  DeviceVec() = default;
  explicit DeviceVec(const std::vector<T>& v) : Base(v.begin(), v.end()) {}
  DeviceVec& operator=(const std::vector<T>& v) {
    this->assign(v.begin(), v.end());
    return *this;
  }
};

template <typename T>
DeviceVec<T> to_device(const std::vector<T>& v, const std::string& name = "") {
  DeviceVec<T> d(v.begin(), v.end());
  if (!name.empty() && !d.empty()) name_allocation(d.data(), name);
  return d;
}

template <typename T>
DeviceVec<T> device_vec(size_t n, const T& value, const std::string& name = "") {
  DeviceVec<T> d(n, value);
  if (!name.empty() && !d.empty()) name_allocation(d.data(), name);
  return d;
}

}  // namespace cpu_cuda
