// NumPy .npy files (format 1.0, 2.0 and 3.0), float32 and float64, C order, little-endian:
// the exchange format of `tconv run`. Values always come in and go out as double.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tconv {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<double> data;
  bool is_float64 = false;  // the file's dtype: '<f8' when true, '<f4' otherwise

  int64_t elems() const;
};

// Throws tconv::Error with one line naming the file and what is wrong with it.
NpyArray read_npy(const std::string& path);
// Writes to a temporary file beside `path` and renames it, so a failure never leaves a half file.
void write_npy(const std::string& path, const std::vector<int64_t>& shape,
               const std::vector<double>& data, bool as_float64);

// Writes `text` to path atomically (temporary file, then rename). Throws tconv::Error.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace tconv
