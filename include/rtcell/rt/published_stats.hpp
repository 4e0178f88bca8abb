// Per-task counters a supervisor reads without disturbing the task: one
// shared page per PeriodicTask, a file under $RTCELL_STATS_DIR named after
// the task, written by the loop with relaxed atomic stores after each cycle
// (no syscall, no lock) and read by rtcell from the host (`rtcell run`'s
// table at exit; docs/manifest.md, "Measured against admitted").
//
// rtcell sets RTCELL_STATS_DIR for a cell started from a manifest (a
// directory of the host bound into the cell); a PeriodicTask publishes when
// its config names the task (PeriodicTaskConfig::publish_name, set by
// AdmittedTask::task_config()) and the variable is set.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace rtcell::rt {

inline constexpr const char* kStatsDirEnv = "RTCELL_STATS_DIR";

// Version 2 adds the response-time histogram: kResponseBuckets buckets of
// response_bucket_ns each (the deadline / 64, at least 1 ns), so they cover
// [0, 2 x deadline) at 1/64 of the deadline; the last bucket also counts
// everything above. A version-1 page (no histogram) is still read.
struct PublishedStats {
  static constexpr uint32_t kMagic = 0x53435452;  // "RTCS"
  static constexpr uint32_t kVersion = 2;
  static constexpr int kResponseBuckets = 128;
  uint32_t magic = 0;
  uint32_t version = 0;
  char name[64] = {};
  int64_t period_ns = 0;
  int64_t deadline_ns = 0;
  std::atomic<uint64_t> cycles{0};
  std::atomic<uint64_t> misses{0};
  std::atomic<uint64_t> overruns{0};
  std::atomic<int64_t> exec_max_ns{0};
  std::atomic<int64_t> response_max_ns{0};
  std::atomic<int64_t> latency_max_ns{0};
  // Version 2.
  int64_t response_bucket_ns = 0;
  std::atomic<uint64_t> response_hist[kResponseBuckets] = {};

  // The bucket of a response time (single writer: the loop).
  int response_bucket(int64_t ns) const noexcept {
    const int64_t b = ns <= 0 ? 0 : ns / response_bucket_ns;
    return b >= kResponseBuckets ? kResponseBuckets - 1 : static_cast<int>(b);
  }
};
static_assert(sizeof(PublishedStats) <= 4096, "the published counters fit one page");
static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<int64_t>::is_always_lock_free,
              "the shared page needs lock-free 64-bit atomics");

// A plain copy of a published page, as read from its file.
struct StatsSnapshot {
  std::string name;
  int64_t period_ns = 0, deadline_ns = 0;
  uint64_t cycles = 0, misses = 0, overruns = 0;
  int64_t exec_max_ns = 0, response_max_ns = 0, latency_max_ns = 0;
  // The 99.9th percentile of the response time (nearest rank), as the upper
  // edge of its histogram bucket and never above the maximum: an upper
  // bound within deadline / 64. nullopt on a version-1 page or before the
  // first cycle.
  std::optional<int64_t> response_p999_ns;
};

// Nearest-rank q-quantile of a response histogram as published: the upper
// edge of the bucket that holds rank ceil(q x count), capped at `max_ns`
// (the last bucket, which counts everything above 2 x deadline, gives the
// maximum). nullopt when the histogram is empty.
std::optional<int64_t> histogram_quantile(const uint64_t* counts, int buckets, int64_t bucket_ns,
                                          int64_t max_ns, double q);

// Reads the page at `path`; nullopt when it is missing, short, or not a
// version-1 or version-2 page.
std::optional<StatsSnapshot> read_published_stats(const std::string& path);

}  // namespace rtcell::rt
