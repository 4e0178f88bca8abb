// The sporadic task model every analysis here takes: a task releases jobs at
// least `period` apart, each job runs at most `wcet` and must finish within
// `deadline` of its (nominal) release. `jitter` is the release jitter J
// (a job may become ready up to J after its nominal release, Audsley et al.
// 1993), `blocking` the longest time B one job can wait for lower-priority
// tasks holding locks it takes: under a ceiling protocol the longest such
// critical section, under priority inheritance (Linux PI futexes) the sum
// over its locks (Sha, Rajkumar & Lehoczky 1990). For EDF, lower priority
// means a longer relative deadline.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rtcell/analysis/time.hpp"

namespace rtcell::analysis {

struct Task {
  std::string name;
  Time period = 0;    // T > 0
  Time wcet = 0;      // C > 0
  Time deadline = 0;  // D > 0, relative; may be < T (constrained) or > T (arbitrary)
  Time jitter = 0;    // J >= 0
  Time blocking = 0;  // B >= 0
  // Fixed-priority level, larger = more urgent (as SCHED_FIFO). Unset: the
  // caller assigns one (deadline-monotonic or Audsley).
  std::optional<int> priority;
};

// Utilization C/T as an exact ratio.
inline Ratio utilization(const Task& t) {
  return Ratio{t.wcet, t.period};
}

// Sum of utilizations compared with num/den exactly when the fixed-point sum
// (2^-64 resolution, rounded both ways) cannot decide, by the exact rational
// sum over lcm of periods; Unknown only if that would overflow 64 bits.
enum class Compare { Less, Equal, Greater, Unknown };
Compare compare_utilization(std::span<const Task> tasks, Ratio bound);

// Sum of utilizations for printing only (never for a verdict).
double utilization_double(std::span<const Task> tasks);

}  // namespace rtcell::analysis
