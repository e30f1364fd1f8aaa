#include "bench/contract.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "bench/csv.hpp"
#include "bench/tolerance.hpp"
#include "core/problem.hpp"
#include "kernels/common/implementation.hpp"
#include "results_csv_doc.hpp"  // generated from docs/results-csv.md (bench/CMakeLists.txt)

namespace tconv {
namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> table_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '|') {
      cells.push_back(trim(cell));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}

// The shortest decimal that reads back as the same double.
std::string json_number(double v) {
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace

std::map<std::string, std::string> documented_column_meanings() {
  std::map<std::string, std::string> out;
  std::istringstream in(kResultsCsvDoc);
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.rfind("|", 0) != 0) {
      in_table = false;
      continue;
    }
    const std::vector<std::string> cells = table_cells(line);
    if (cells.size() < 2) continue;
    if (cells[0] == "column" && cells[1] == "meaning") {
      in_table = true;
      continue;
    }
    if (!in_table || cells[0].rfind("---", 0) == 0) continue;
    std::istringstream names(cells[0]);
    std::string name;
    while (std::getline(names, name, ',')) {
      name = trim(name);
      if (name.size() > 2 && name.front() == '`' && name.back() == '`')
        name = name.substr(1, name.size() - 2);
      if (!name.empty()) out[name] = cells[1];
    }
  }
  return out;
}

std::string contract_json() {
  const std::map<std::string, std::string> meanings = documented_column_meanings();
  const std::vector<std::string>& contract = csv_contract_columns();
  std::ostringstream js;
  js << "{\n  \"schema\": 1,\n  \"document\": \"docs/results-csv.md\",\n  \"columns\": [\n";
  const std::vector<std::string> all = csv_columns();
  for (size_t i = 0; i < all.size(); ++i) {
    const auto it = meanings.find(all[i]);
    if (it == meanings.end())
      throw Error("column '" + all[i] + "' has no meaning in docs/results-csv.md");
    js << "    {\"name\": " << json_string(all[i])
       << ", \"contract\": " << (i < contract.size() ? "true" : "false")
       << ", \"meaning\": " << json_string(it->second) << "}" << (i + 1 < all.size() ? "," : "")
       << "\n";
  }
  js << "  ],\n  \"accuracy\": {\n"
     << "    \"rel_l2_bound\": \"min(cap, base + per_sqrt_k * sqrt(K))\",\n"
     << "    \"reduction_length\": \"K = (c_in / groups) * max_taps(k_h, stride_h, dil_h) * "
        "max_taps(k_w, stride_w, dil_w); max_taps(k, s, d): the most taps t in [0, k) with "
        "t*d mod s equal to one residue\",\n"
     << "    \"dtypes\": {";
  const DType dtypes[] = {DType::fp32, DType::tf32, DType::fp16, DType::bf16};
  for (size_t i = 0; i < 4; ++i) {
    const DTypeBound b = dtype_bound(dtypes[i]);
    js << (i ? "," : "") << "\n      " << json_string(to_string(dtypes[i]))
       << ": {\"base\": " << json_number(b.base)
       << ", \"per_sqrt_k\": " << json_number(b.per_sqrt_k) << ", \"cap\": " << json_number(b.cap)
       << "}";
  }
  js << "\n    },\n"
     << "    \"pointwise_factor\": " << json_number(kPointwiseFactor) << ",\n"
     << "    \"pointwise\": \"max_abs_err <= pointwise_factor * rel_l2 bound * max|ref|\",\n"
     << "    \"reduced_precision_factor\": " << json_number(kReducedPrecisionFactor) << ",\n"
     << "    \"reduced\": \"beyond the bounds and within reduced_precision_factor times both: "
        "status passed, accuracy reduced; beyond that: incorrect\",\n"
     << "    \"nonfinite\": \"NaN or Inf anywhere in the output: incorrect\"\n"
     << "  },\n";
  // The registry's default-choice rows (Implementation::default_choice), for the report's
  // default-against-best table: the scripts take these names from here, not from a list.
  js << "  \"default_choice_impls\": [";
  bool first = true;
  for (const auto& impl : create_all_implementations())
    if (impl->default_choice()) {
      js << (first ? "" : ", ") << json_string(impl->name());
      first = false;
    }
  js << "]\n}\n";
  return js.str();
}

}  // namespace tconv
