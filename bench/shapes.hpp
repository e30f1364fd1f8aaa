// Problem shapes: the built-in suites (bench/suites.cpp, the only place their data lives) and
// user shapes from --shape specs and --shapes-file CSV files. Pure C++.
//
// Shape spec: comma-separated key=value, e.g.
//   n=1,c_in=16,h_in=32,w_in=32,c_out=8,k=4,stride=2,pad=1,out_pad=1,dil=1,groups=1,bias=1,name=foo
// Required: c_in, h_in, w_in (or l), c_out, k. Defaults: n=1, stride=1, pad=0, out_pad=0, dil=1,
// groups=1, bias=0, count=1, name=<index>. k, stride, pad, out_pad and dil take one value for both
// dimensions or H:W (k=3:5). bias is 0 or 1. count (an integer >= 1) is how many layers of a
// model share this shape (scripts/shapes_from_onnx.py writes it); it changes nothing that runs,
// it is carried into the results CSV's `count` column for weighting model totals. Names use
// letters, digits, '_', '-', '.'.
// Begin/end padding (ONNX's pads, TensorFlow's 'same'; core/problem.hpp): pad_end=E (N or H:W)
// makes pad the begin and pad_end the end padding per axis (E < 0 adds outputs at the end);
// out_pad cannot be given with it. format_shape_spec writes pad_end only for a problem outside
// PyTorch's form, so PyTorch-form specs are unchanged.
// 1-D (PyTorch's ConvTranspose1d): l=L instead of h_in and w_in gives H = 1, W = L, and k,
// stride, pad, out_pad and dil (one value each, no H:W) apply to W only; H's are 1, 1, 0, 0, 1.
// The problem is the 2-D one with H = 1, so results keep h_in = 1.
// Unknown or repeated keys, bad numbers and invalid problems are errors (tconv::Error).
// A shapes file is a CSV whose header names the same keys (any order, any subset that includes
// the required ones); an empty cell means the default; blank lines and lines starting with '#'
// are skipped.
#pragma once

#include <string>
#include <vector>

#include "core/problem.hpp"

namespace tconv {

struct Shape {
  std::string suite;  // built-in suite name, or "user"
  std::string name;
  Problem problem;
  int64_t count = 1;  // layers of a model with this shape (key `count`); built-in shapes: 1
};

struct Suite {
  std::string name;
  std::string description;
  std::vector<Shape> shapes;
};

// Every built-in suite, in the order "all" runs them.
const std::vector<Suite>& builtin_suites();
// Shapes of the named suites in order ("all" = every suite, duplicates dropped).
// Throws tconv::Error naming the known suites for an unknown name.
std::vector<Shape> select_suites(const std::vector<std::string>& names);

// One spec; default_name is used when the spec has no name=. Suite "user".
Shape parse_shape_spec(const std::string& spec, const std::string& default_name);
// The text of a shapes file; `source` (the path) goes into error messages. Default names are
// "<first_index>", "<first_index+1>", ...
std::vector<Shape> parse_shapes_csv(const std::string& text, const std::string& source,
                                    int first_index = 1);
std::vector<Shape> read_shapes_file(const std::string& path, int first_index = 1);

// The spec that parse_shape_spec turns back into this problem (without name).
std::string format_shape_spec(const Problem& p);

}  // namespace tconv
