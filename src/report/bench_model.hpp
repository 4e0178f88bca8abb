// The plain result structs every renderer and the history store work on.
//
// A bench run is a list of rows; each row holds one parsed `rtcell latency`
// JSON document (schema "rtcell.latency/1") per repeat and a summary of
// medians across repeats. report/ knows nothing of cells or load generators:
// benchrun/ fills these structs, report/ only reads, renders and stores them.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtcell::report {

inline constexpr std::string_view kBenchSchema = "rtcell.bench/1";

// One thread's (or the total's) figures from a latency run. Times in ns.
struct LatencyStats {
  int thread = -1;  // -1 for the total
  int tid = 0;
  int cpu = -1;
  std::string policy;
  int64_t interval_ns = 0;
  uint64_t samples = 0;
  int64_t min_ns = 0;
  double avg_ns = 0;
  int64_t max_ns = 0;
  std::map<std::string, int64_t> percentiles;  // "p50", "p90", "p99", "p99.9", "p99.99"
  std::vector<std::string> percentiles_in_overflow;
  int64_t bucket_ns = 1000;
  std::vector<uint64_t> counts;  // histogram buckets of bucket_ns each
  uint64_t overflow_count = 0;
  bool overflow_truncated = false;
  std::vector<std::pair<uint64_t, int64_t>> overflow_samples;  // (index, ns)

  // The named percentile, or nullopt when the document lacks it.
  std::optional<int64_t> percentile(const std::string& name) const;
};

// One `rtcell latency --json` document.
struct LatencyRun {
  nlohmann::json config = nlohmann::json::object();
  nlohmann::json host = nlohmann::json::object();
  std::vector<LatencyStats> threads;
  LatencyStats total;
  std::string stopped_by;     // "duration", "loops", "signal", "breaktrace"
  nlohmann::json breaktrace;  // null or an object
  // bench --trace: null, or {"dir": the capture, "spikes": [{"latency_ns",
  // "verdict"}, ...] (its explain.json's, worst first), "note": why none}.
  nlohmann::json trace;
};

// Parses a latency JSON document; throws rtcell::Error (Usage) naming what is
// wrong when it is not one.
LatencyRun parse_latency_json(std::string_view text);
LatencyRun latency_from_json(const nlohmann::json& j);
nlohmann::json latency_to_json(const LatencyRun& run);

// The figures of Table 3, medians across repeats.
struct Summary {
  uint64_t samples = 0;  // summed over repeats
  int64_t min_ns = 0;
  double avg_ns = 0;
  int64_t p50_ns = 0;
  int64_t p99_ns = 0;
  int64_t p999_ns = 0;
  int64_t max_ns = 0;
};

enum class RowStatus { Ok, Partial, Skipped, Failed };
std::string to_string(RowStatus s);
RowStatus parse_row_status(std::string_view s);

struct RowResult {
  std::string id;     // "native-load"
  std::string label;  // "native, load"
  std::string kind;   // "native", "cell", "cell-netns", "podman", "crun"
  bool load = false;
  std::string baseline;  // id of the native row it is compared with; "" for native rows
  RowStatus status = RowStatus::Skipped;
  std::string reason;   // why skipped/failed/partial
  std::string command;  // what ran, for the record
  std::vector<LatencyRun> repeats;
  std::optional<Summary> summary;  // set when at least one repeat has samples
};

struct BenchRun {
  int64_t id = 0;  // history id; 0 when not stored
  std::string rtcell_version;
  std::string started_at;   // ISO 8601 UTC
  std::string finished_at;  // ISO 8601 UTC
  bool partial = false;
  std::string interrupted_by;  // "SIGINT"... when partial
  nlohmann::json config = nlohmann::json::object();
  nlohmann::json host = nlohmann::json::object();
  nlohmann::json checks;    // `rtcell check --json` output, or null
  std::string checks_note;  // why there are no checks
  std::vector<RowResult> rows;

  const RowResult* find_row(std::string_view id) const;
};

// Medians across the repeats that have samples; nullopt when none has.
std::optional<Summary> summarize(const std::vector<LatencyRun>& repeats);

// The median of values (mean of the middle two for an even count).
double median(std::vector<double> values);

// One histogram per CPU, summed over repeats: what the OSADL-style plot draws.
struct CpuSeries {
  int cpu = -1;  // -1: all CPUs
  int64_t bucket_ns = 1000;
  std::vector<uint64_t> counts;
  uint64_t overflow_count = 0;
  int64_t max_ns = 0;
};
std::vector<CpuSeries> per_cpu_series(const RowResult& row);
CpuSeries total_series(const RowResult& row);

nlohmann::json bench_to_json(const BenchRun& run);
BenchRun bench_from_json(const nlohmann::json& j);
BenchRun parse_bench_json(std::string_view text);

}  // namespace rtcell::report
