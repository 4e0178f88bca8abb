// Comparing two bench runs row by row: the answer to "did the RT kernel / the
// tuning / the new sandbox make latency better or worse?". The verdict uses
// percentiles (p99 and p99.9), not the maximum: a single maximum is one
// sample and moves by chance between identical runs; the percentiles of a
// several-second run are stable enough to call a regression.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "report/bench_model.hpp"

namespace rtcell::report {

struct CompareOptions {
  double tolerance = 0.10;      // B may be this fraction worse than A
  int64_t min_delta_ns = 1000;  // and differences below this (one histogram bucket) never count
};

struct RowComparison {
  std::string id;
  std::string label;
  std::optional<Summary> a, b;  // nullopt when the row has no figures in that run
  bool regressed = false;
  bool improved = false;
  std::string note;  // "missing in B", "partial in A", the failing metric...
};

struct Comparison {
  std::vector<RowComparison> rows;
  bool regressed = false;  // any row regressed
  int compared = 0;        // rows with figures on both sides
};

Comparison compare_runs(const BenchRun& a, const BenchRun& b, const CompareOptions& opt = {});
std::string render_comparison(const Comparison& c, const BenchRun& a, const BenchRun& b,
                              const CompareOptions& opt);
nlohmann::json comparison_to_json(const Comparison& c, const BenchRun& a, const BenchRun& b,
                                  const CompareOptions& opt);

}  // namespace rtcell::report
