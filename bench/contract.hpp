// The results CSV's contract as data: `tconv_bench --print-contract` prints it as JSON, and the
// scripts (scripts/tconv_results.py, scripts/peer_pytorch.py) read it instead of keeping copies.
// The columns come from the writer (bench/csv.hpp), their meanings from docs/results-csv.md
// (compiled in), the accuracy policy from bench/tolerance.hpp, so nothing here is a second copy.
#pragma once

#include <map>
#include <string>

namespace tconv {

// Every column docs/results-csv.md's "column | meaning" tables describe, with its meaning
// (markdown as written there). A table row naming several columns gives each the same meaning.
std::map<std::string, std::string> documented_column_meanings();

// The JSON document: {"schema", "document", "columns": [{"name", "contract", "meaning"}...],
// "accuracy": {...}}. Throws tconv::Error when a column the writer writes has no meaning in the
// document (a column added without its documentation).
std::string contract_json();

}  // namespace tconv
