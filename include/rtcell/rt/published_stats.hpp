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

struct PublishedStats {
  static constexpr uint32_t kMagic = 0x53435452;  // "RTCS"
  static constexpr uint32_t kVersion = 1;
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
};
static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<int64_t>::is_always_lock_free,
              "the shared page needs lock-free 64-bit atomics");

// A plain copy of a published page, as read from its file.
struct StatsSnapshot {
  std::string name;
  int64_t period_ns = 0, deadline_ns = 0;
  uint64_t cycles = 0, misses = 0, overruns = 0;
  int64_t exec_max_ns = 0, response_max_ns = 0, latency_max_ns = 0;
};

// Reads the page at `path`; nullopt when it is missing, short, or not a
// version-1 page.
std::optional<StatsSnapshot> read_published_stats(const std::string& path);

}  // namespace rtcell::rt
