// NumPy .npy files (format 1.0, 2.0 and 3.0), float32 and float64, C order, little-endian:
// the exchange format of `tconv run`. Values always come in and go out as double.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace tconv {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<double> data;
  bool is_float64 = false;  // the file's dtype: '<f8' when true, '<f4' otherwise

  int64_t elems() const;
};

// Throws tconv::Error with one line naming the file and what is wrong with it. The header's shape
// is compared with the file's size, and the array's host memory with what is available
// (core/memory.hpp), before anything is allocated: a header never sizes memory by itself.
NpyArray read_npy(const std::string& path);
// The same from `size` bytes of a stream (`name` goes into the errors); read_npy_bytes reads
// them from memory (the fuzz target, tests).
NpyArray read_npy(std::istream& in, uint64_t size, const std::string& name);
NpyArray read_npy_bytes(const std::string& bytes, const std::string& name);
// Writes to a temporary file beside `path` and renames it, so a failure never leaves a half file.
void write_npy(const std::string& path, const std::vector<int64_t>& shape,
               const std::vector<double>& data, bool as_float64);

// The whole of a text file the user names (a shapes file, a results CSV to resume): a regular
// file whose size fits in host memory, or one tconv::Error line naming it ("<path>: <what>:
// ..."); never a read without end (a FIFO, /dev/zero).
std::string read_file_text(const std::string& path, const std::string& what);

// Writes `text` to path atomically (temporary file, then rename). Throws tconv::Error.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace tconv
