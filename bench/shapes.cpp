#include "bench/shapes.hpp"

#include <cctype>
#include <map>
#include <set>
#include <sstream>

#include "bench/csv.hpp"
#include "core/npy.hpp"
#include "core/types.hpp"

namespace tconv {

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

int64_t parse_int(const std::string& key, const std::string& text) {
  const std::string t = trim(text);
  size_t pos = 0;
  long long v = 0;
  bool ok = !t.empty();
  if (ok) {
    try {
      v = std::stoll(t, &pos, 10);
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok || pos != t.size())
    throw Error("'" + key + "=" + text + "': expected an integer");
  return v;
}

// "4" -> (4, 4); "3:5" -> (3, 5).
void parse_pair(const std::string& key, const std::string& text, int64_t* h, int64_t* w) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    *h = *w = parse_int(key, text);
  } else {
    if (text.find(':', colon + 1) != std::string::npos)
      throw Error("'" + key + "=" + text + "': expected N or H:W");
    *h = parse_int(key, text.substr(0, colon));
    *w = parse_int(key, text.substr(colon + 1));
  }
}

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

const std::set<std::string>& known_keys() {
  static const std::set<std::string> keys = {"name", "n",  "c_in",    "h_in", "w_in",
                                             "c_out", "k", "stride", "pad",  "out_pad",
                                             "dil",  "groups", "bias",   "count", "l", "pad_end"};
  return keys;
}

// Builds a shape from key -> value (values already trimmed; empty = default).
Shape build_shape(const std::vector<std::pair<std::string, std::string>>& kv,
                  const std::string& default_name) {
  std::map<std::string, std::string> seen;
  for (const auto& [key, value] : kv) {
    if (!known_keys().count(key)) {
      std::string list;
      for (const auto& k : known_keys()) list += (list.empty() ? "" : ", ") + k;
      throw Error("unknown key '" + key + "' (known: " + list + ")");
    }
    if (seen.count(key)) throw Error("key '" + key + "' given twice");
    seen[key] = value;
  }
  // An empty cell means "not given", so a shapes file may mix 1-D rows (l) and 2-D rows (h_in, w_in).
  auto given = [&](const char* key) { return seen.count(key) && !seen[key].empty(); };
  const bool one_d = given("l");
  if (one_d && (given("h_in") || given("w_in")))
    throw Error("'l' (a 1-D shape) cannot be given with 'h_in' or 'w_in'");
  for (const char* req : {"c_in", "c_out", "k"})
    if (!given(req)) throw Error(std::string("missing required key '") + req + "'");
  if (!one_d)
    for (const char* req : {"h_in", "w_in"})
      if (!given(req))
        throw Error(std::string("missing required key '") + req + "' (or 'l' for a 1-D shape)");

  if (given("pad_end") && given("out_pad"))
    throw Error("'out_pad' cannot be given with 'pad_end' (the end padding already says where the "
                "output ends: use pad_end - out_pad)");
  int64_t pad_end_h = 0, pad_end_w = 0;
  Shape s;
  s.suite = "user";
  s.name = default_name;
  Problem& p = s.problem;
  for (const auto& [key, value] : seen) {
    if (value.empty()) continue;  // default
    if (key == "name") {
      if (!valid_name(value))
        throw Error("name '" + value + "': use letters, digits, '_', '-' and '.' only");
      s.name = value;
    } else if (key == "n") {
      p.n = parse_int(key, value);
    } else if (key == "c_in") {
      p.c_in = parse_int(key, value);
    } else if (key == "h_in") {
      p.h_in = parse_int(key, value);
    } else if (key == "w_in") {
      p.w_in = parse_int(key, value);
    } else if (key == "l") {
      p.h_in = 1;
      p.w_in = parse_int(key, value);
    } else if (key == "c_out") {
      p.c_out = parse_int(key, value);
    } else if (key == "k") {
      parse_pair(key, value, &p.k_h, &p.k_w);
    } else if (key == "stride") {
      parse_pair(key, value, &p.stride_h, &p.stride_w);
    } else if (key == "pad") {
      parse_pair(key, value, &p.pad_h, &p.pad_w);
    } else if (key == "out_pad") {
      parse_pair(key, value, &p.out_pad_h, &p.out_pad_w);
    } else if (key == "pad_end") {
      parse_pair(key, value, &pad_end_h, &pad_end_w);
    } else if (key == "dil") {
      parse_pair(key, value, &p.dil_h, &p.dil_w);
    } else if (key == "groups") {
      p.groups = parse_int(key, value);
    } else if (key == "bias") {
      const int64_t b = parse_int(key, value);
      if (b != 0 && b != 1) throw Error("'bias=" + value + "': expected 0 or 1");
      p.has_bias = b == 1;
    } else if (key == "count") {
      const int64_t c = parse_int(key, value);
      if (c < 1) throw Error("'count=" + value + "': expected an integer >= 1");
      s.count = c;
    }
  }
  if (one_d) {
    // PyTorch's ConvTranspose1d is ConvTranspose2d with H = 1 and a 1-tall kernel; an H:W pair
    // would silently describe a different (2-D) layer.
    for (const char* key : {"k", "stride", "pad", "out_pad", "dil", "pad_end"})
      if (given(key) && seen[key].find(':') != std::string::npos)
        throw Error(std::string("'") + key + "=" + seen[key] + "': a 1-D shape (l=) takes one value");
    p.k_h = 1, p.stride_h = 1, p.pad_h = 0, p.out_pad_h = 0, p.dil_h = 1;
    pad_end_h = 0;
  }
  if (given("pad_end")) p.set_pads_h(p.pad_h, pad_end_h), p.set_pads_w(p.pad_w, pad_end_w);
  const std::string why = p.validate();
  if (!why.empty()) throw Error("invalid problem: " + why);
  return s;
}

}  // namespace

Shape parse_shape_spec(const std::string& spec, const std::string& default_name) {
  try {
    std::vector<std::pair<std::string, std::string>> kv;
    std::stringstream ss(spec);
    std::string item;
    if (trim(spec).empty()) throw Error("empty spec");
    while (std::getline(ss, item, ',')) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos) throw Error("'" + trim(item) + "': expected key=value");
      const std::string value = trim(item.substr(eq + 1));
      if (value.empty()) throw Error("'" + trim(item) + "': empty value");
      kv.emplace_back(trim(item.substr(0, eq)), value);
    }
    return build_shape(kv, default_name);
  } catch (const Error& e) {
    throw Error("shape '" + spec + "': " + e.what());
  }
}

std::vector<Shape> parse_shapes_csv(const std::string& text, const std::string& source,
                                    int first_index) {
  std::vector<Shape> shapes;
  std::vector<std::string> header;
  std::stringstream ss(text);
  std::string line;
  int line_no = 0;
  while (std::getline(ss, line)) {
    ++line_no;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    auto fields = csv_split(t);
    for (auto& f : fields) f = trim(f);
    const std::string where = source + ":" + std::to_string(line_no) + ": ";
    if (header.empty()) {
      header = fields;
      for (const auto& h : header)
        if (!known_keys().count(h))
          throw Error(where + "unknown column '" + h + "' in the header");
      continue;
    }
    if (fields.size() != header.size())
      throw Error(where + std::to_string(fields.size()) + " fields, the header has " +
                  std::to_string(header.size()));
    std::vector<std::pair<std::string, std::string>> kv;
    for (size_t i = 0; i < header.size(); ++i) kv.emplace_back(header[i], fields[i]);
    try {
      shapes.push_back(build_shape(kv, std::to_string(first_index + int(shapes.size()))));
    } catch (const Error& e) {
      throw Error(where + e.what());
    }
  }
  if (header.empty()) throw Error(source + ": no header line");
  return shapes;
}

std::vector<Shape> read_shapes_file(const std::string& path, int first_index) {
  auto shapes = parse_shapes_csv(read_file_text(path, "shapes file"), path, first_index);
  // An empty file is a mistake (a failed extraction, a wrong path), never a run of nothing.
  if (shapes.empty()) throw Error(path + ": no shape in the shapes file (a header line and at least one shape line are needed)");
  return shapes;
}

std::string format_shape_spec(const Problem& p) {
  auto pair = [](int64_t h, int64_t w) {
    return h == w ? std::to_string(h) : std::to_string(h) + ":" + std::to_string(w);
  };
  std::ostringstream s;
  s << "n=" << p.n << ",c_in=" << p.c_in << ",h_in=" << p.h_in << ",w_in=" << p.w_in
    << ",c_out=" << p.c_out << ",k=" << pair(p.k_h, p.k_w)
    << ",stride=" << pair(p.stride_h, p.stride_w) << ",pad=" << pair(p.pad_h, p.pad_w);
  if (!p.pytorch_pads())
    s << ",pad_end=" << pair(p.pad_end_h(), p.pad_end_w());
  else if (p.out_pad_h || p.out_pad_w)
    s << ",out_pad=" << pair(p.out_pad_h, p.out_pad_w);
  if (p.dil_h != 1 || p.dil_w != 1) s << ",dil=" << pair(p.dil_h, p.dil_w);
  if (p.groups != 1) s << ",groups=" << p.groups;
  if (p.has_bias) s << ",bias=1";
  return s.str();
}

std::vector<Shape> select_suites(const std::vector<std::string>& names) {
  std::vector<std::string> wanted;
  for (const auto& n : names) {
    if (n == "all") {
      for (const auto& s : builtin_suites()) wanted.push_back(s.name);
      continue;
    }
    bool found = false;
    for (const auto& s : builtin_suites()) found = found || s.name == n;
    if (!found) {
      std::string list;
      for (const auto& s : builtin_suites()) list += " " + s.name;
      throw Error("unknown suite '" + n + "' (known: all" + list + ")");
    }
    wanted.push_back(n);
  }
  std::vector<Shape> shapes;
  std::set<std::string> done;
  for (const auto& n : wanted) {
    if (!done.insert(n).second) continue;
    for (const auto& s : builtin_suites())
      if (s.name == n) shapes.insert(shapes.end(), s.shapes.begin(), s.shapes.end());
  }
  return shapes;
}

}  // namespace tconv
