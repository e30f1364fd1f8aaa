#include "core/npy.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/memory.hpp"
#include "core/types.hpp"

namespace tconv {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw Error(path + ": " + why);
}

// Value of `key` in the header dict, e.g. 'descr': '<f4' -> "'<f4'".
std::string dict_value(const std::string& header, const std::string& key,
                       const std::string& path) {
  const std::string quoted = "'" + key + "'";
  size_t at = header.find(quoted);
  if (at == std::string::npos) fail(path, "npy header has no " + quoted + " entry");
  at = header.find(':', at + quoted.size());
  if (at == std::string::npos) fail(path, "malformed npy header near " + quoted);
  ++at;
  while (at < header.size() && header[at] == ' ') ++at;
  size_t end = at;
  if (end < header.size() && header[end] == '(') {
    end = header.find(')', end);
    if (end == std::string::npos) fail(path, "malformed shape in npy header");
    ++end;
  } else if (end < header.size() && header[end] == '\'') {
    end = header.find('\'', end + 1);
    if (end == std::string::npos) fail(path, "malformed string in npy header");
    ++end;
  } else {
    while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  }
  return header.substr(at, end - at);
}

std::vector<int64_t> parse_shape(const std::string& text, const std::string& path) {
  // text is "(a, b, c)" or "(a,)" or "()".
  std::vector<int64_t> shape;
  std::string inner = text.substr(1, text.size() - 2);
  std::stringstream ss(inner);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t b = item.find_first_not_of(' ');
    if (b == std::string::npos) continue;  // trailing comma of a 1-tuple
    size_t e = item.find_last_not_of(' ');
    std::string num = item.substr(b, e - b + 1);
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos)
      fail(path, "malformed shape " + text + " in npy header");
    if (num.size() > 12) fail(path, "dimension " + num + " too large in npy header");
    shape.push_back(std::stoll(num));
  }
  return shape;
}

}  // namespace

int64_t NpyArray::elems() const {
  int64_t e = 1;
  for (int64_t d : shape) e *= d;
  return e;
}

NpyArray read_npy(std::istream& f, uint64_t size, const std::string& path) {
  // Every length below is compared with what the file holds before anything is sized from it:
  // a header is outside input, and a few bytes must never make us allocate gigabytes.
  char magic[8];
  if (size < 8 || !f.read(magic, 8)) fail(path, "too short to be an npy file");
  if (std::memcmp(magic, "\x93NUMPY", 6) != 0) fail(path, "not an npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  uint64_t header_len = 0, prefix = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!f.read(reinterpret_cast<char*>(b), 2)) fail(path, "truncated npy header");
    header_len = b[0] | (b[1] << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!f.read(reinterpret_cast<char*>(b), 4)) fail(path, "truncated npy header");
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (uint64_t(b[3]) << 24);
    if (header_len > (1u << 20)) fail(path, "npy header implausibly long");
    prefix = 12;
  } else {
    fail(path, "unsupported npy format version " + std::to_string(major));
  }
  if (size < prefix || header_len > size - prefix)
    fail(path, "truncated npy header (it says " + std::to_string(header_len) + " bytes, the file holds " +
                   std::to_string(size < prefix ? 0 : size - prefix) + " after the prefix)");
  std::string header(size_t(header_len), '\0');
  if (!f.read(header.data(), std::streamsize(header_len))) fail(path, "truncated npy header");

  const std::string descr = dict_value(header, "descr", path);
  const std::string order = dict_value(header, "fortran_order", path);
  const std::string shape_text = dict_value(header, "shape", path);
  NpyArray a;
  if (descr == "'<f4'") {
    a.is_float64 = false;
  } else if (descr == "'<f8'") {
    a.is_float64 = true;
  } else {
    fail(path, "unsupported dtype " + descr + " (expected float32 '<f4' or float64 '<f8')");
  }
  if (order != "False") fail(path, "Fortran-order arrays are not supported (save in C order)");
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')')
    fail(path, "malformed shape in npy header");
  a.shape = parse_shape(shape_text, path);
  const uint64_t esize = a.is_float64 ? 8 : 4;
  const uint64_t data_bytes = size - prefix - header_len;
  // The element count, without overflow: any count past data_bytes / esize is already wrong.
  const uint64_t fits = data_bytes / esize;
  const bool empty = std::find(a.shape.begin(), a.shape.end(), int64_t(0)) != a.shape.end();
  uint64_t count = empty ? 0 : 1;
  bool too_many = false;
  double claimed = empty ? 0 : 1;  // for the message only
  for (int64_t d : a.shape) {
    if (empty) break;
    claimed *= double(d);
    if (too_many || count > fits / uint64_t(d)) too_many = true;
    else count *= uint64_t(d);
  }
  if (too_many || count * esize != data_bytes) {
    char need[64];
    std::snprintf(need, sizeof need, "%.0f", claimed * double(esize));
    fail(path, "the header's shape " + shape_text + " needs " + need + " bytes of " +
                   (a.is_float64 ? "float64" : "float32") + " data, the file holds " +
                   std::to_string(data_bytes) + (too_many || count * esize > data_bytes
                                                      ? " (data shorter than the shape says)"
                                                      : " (trailing bytes after the array data)"));
  }
  // The data is held as double: twice a float32 file's bytes.
  require_host_memory(double(count) * 8.0, path + ": the array " + shape_text);
  a.data.resize(size_t(count));
  // In chunks: no second copy of the file's bytes.
  constexpr uint64_t kChunk = 1 << 16;
  std::vector<char> raw(size_t(std::min<uint64_t>(count, kChunk) * esize));
  for (uint64_t done = 0; done < count;) {
    const uint64_t n = std::min(kChunk, count - done);
    if (!f.read(raw.data(), std::streamsize(n * esize)))
      fail(path, "data shorter than the shape in the header says (read error)");
    for (uint64_t i = 0; i < n; ++i) {
      if (a.is_float64) {
        double v;
        std::memcpy(&v, raw.data() + i * 8, 8);
        a.data[done + i] = v;
      } else {
        float v;
        std::memcpy(&v, raw.data() + i * 4, 4);
        a.data[done + i] = v;
      }
    }
    done += n;
  }
  return a;
}

NpyArray read_npy_bytes(const std::string& bytes, const std::string& name) {
  std::istringstream in(bytes);
  return read_npy(in, bytes.size(), name);
}

NpyArray read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, "cannot open file");
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail(path, "not a regular file (" + ec.message() + ")");
  return read_npy(f, uint64_t(size), path);
}

std::string read_file_text(const std::string& path, const std::string& what) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) fail(path, "cannot open " + what + " (no such file)");
  if (!std::filesystem::is_regular_file(status)) fail(path, what + " is not a regular file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail(path, "cannot read " + what + " (" + ec.message() + ")");
  require_host_memory(double(size), path + ": " + what);
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, "cannot open " + what);
  std::string text(size_t(size), '\0');
  f.read(text.data(), std::streamsize(size));
  // A file that shrank while being read.
  text.resize(size_t(f.gcount()));
  return text;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw Error(path + ": cannot open for writing");
    f.write(text.data(), std::streamsize(text.size()));
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      throw Error(path + ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot rename temporary file into place");
  }
}

void write_npy(const std::string& path, const std::vector<int64_t>& shape,
               const std::vector<double>& data, bool as_float64) {
  std::ostringstream dict;
  dict << "{'descr': '" << (as_float64 ? "<f8" : "<f4") << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) dict << shape[i] << (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
  dict << "), }";
  std::string header = dict.str();
  // Magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(char(header.size() & 0xff));
  out.push_back(char((header.size() >> 8) & 0xff));
  out += header;
  const size_t esize = as_float64 ? 8 : 4;
  size_t off = out.size();
  out.resize(off + data.size() * esize);
  for (size_t i = 0; i < data.size(); ++i) {
    if (as_float64) {
      std::memcpy(&out[off + i * 8], &data[i], 8);
    } else {
      float v = float(data[i]);
      std::memcpy(&out[off + i * 4], &v, 4);
    }
  }
  write_file_atomic(path, out);
}

}  // namespace tconv
