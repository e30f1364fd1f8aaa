#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/npy.hpp"
#include "core/types.hpp"

namespace tconv {
namespace {

std::string tmp_path(const std::string& name) {
  return ::testing::TempDir() + "tconv_npy_" + name;
}

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

// A valid v1.0 header for `dict`, padded as NumPy does.
std::string header_v1(std::string dict) {
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(char(dict.size() & 0xff));
  out.push_back(char(dict.size() >> 8));
  return out + dict;
}

std::string floats(std::initializer_list<float> v) {
  std::string s;
  for (float f : v) s.append(reinterpret_cast<const char*>(&f), 4);
  return s;
}

TEST(Npy, RoundTripFloat32AndFloat64) {
  const std::vector<double> data = {1.5, -2.25, 3.0, 0.1, 1e-3, -7.0};
  for (bool f64 : {false, true}) {
    const std::string path = tmp_path(f64 ? "rt64.npy" : "rt32.npy");
    write_npy(path, {1, 2, 3}, data, f64);
    const NpyArray a = read_npy(path);
    EXPECT_EQ(a.is_float64, f64);
    EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2, 3}));
    ASSERT_EQ(a.data.size(), data.size());
    for (size_t i = 0; i < data.size(); ++i)
      EXPECT_EQ(a.data[i], f64 ? data[i] : double(float(data[i])));
    std::remove(path.c_str());
  }
}

TEST(Npy, ReadsOneDimensionalAndVersion2) {
  const std::string p1 = tmp_path("one_d.npy");
  write_npy(p1, {3}, {1, 2, 3}, false);
  EXPECT_EQ(read_npy(p1).shape, (std::vector<int64_t>{3}));
  // Version 2.0: 4-byte header length.
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  size_t total = 12 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict.push_back('\n');
  std::string v2("\x93NUMPY\x02\x00", 8);
  for (int i = 0; i < 4; ++i) v2.push_back(char((dict.size() >> (8 * i)) & 0xff));
  const std::string p2 = tmp_path("v2.npy");
  write_raw(p2, v2 + dict + floats({4.f, 5.f}));
  const NpyArray a = read_npy(p2);
  EXPECT_EQ(a.data, (std::vector<double>{4, 5}));
}

TEST(Npy, RejectsMalformedFiles) {
  struct Case {
    const char* name;
    std::string bytes;
    const char* message_part;
  };
  const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
  const Case cases[] = {
      {"empty", "", "too short"},
      {"bad_magic", "NOTNUMPYxxxxxxxxxxxxxxxxxx", "bad magic"},
      {"bad_version", std::string("\x93NUMPY\x09\x00\x00\x00", 10), "version"},
      {"truncated_header", header_v1(good_dict).substr(0, 30), "truncated"},
      {"int_dtype", header_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }") + floats({1, 2}), "dtype"},
      {"big_endian", header_v1("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }") + floats({1, 2}), "dtype"},
      {"fortran", header_v1("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }") + floats({1, 2}), "Fortran"},
      {"short_data", header_v1(good_dict) + floats({1, 2, 3}), "shorter"},
      {"trailing", header_v1(good_dict) + floats({1, 2, 3, 4, 5}), "trailing"},
      {"bad_shape", header_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }"), "shape"},
      {"no_shape", header_v1("{'descr': '<f4', 'fortran_order': False, }"), "shape"},
  };
  for (const Case& c : cases) {
    const std::string path = tmp_path(std::string(c.name) + ".npy");
    write_raw(path, c.bytes);
    try {
      read_npy(path);
      ADD_FAILURE() << c.name << " was accepted";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << c.name << ": " << msg;
      EXPECT_NE(msg.find(c.message_part), std::string::npos) << c.name << ": " << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
    }
    std::remove(path.c_str());
  }
  EXPECT_THROW(read_npy(tmp_path("does_not_exist.npy")), Error);
}

TEST(Npy, FailedWriteLeavesNoFile) {
  const std::string path = "/nonexistent-dir-tconv/y.npy";
  EXPECT_THROW(write_npy(path, {1}, {1.0}, false), Error);
  EXPECT_FALSE(std::ifstream(path).good());
}

}  // namespace
}  // namespace tconv
