// The admitted parameters of the cell this process runs in: what `rtcell
// admit` decided, handed to the code that runs the tasks, so that code and
// manifest cannot drift apart.
//
// `rtcell run -f FILE CELL` (and create -f, and rtcell-runtime with the
// rtcell.io/manifest annotation) puts the cell's tasks, as admitted, into
// the environment variable RTCELL_TASKS (docs/manifest.md, "Admitted
// parameters in the cell"), version 1:
//
//   {"version": 1, "cell": "control", "admitted": true, "hz": 250,
//    "tasks": [{"name": "loop", "policy": "fifo", "priority": 80, "cpu": 1,
//               "period_ns": 1000000, "wcet_ns": 150000,
//               "deadline_ns": 1000000, "response_ns": 150000}]}
//
// A SCHED_DEADLINE task carries "runtime_ns", "dl_deadline_ns" and
// "dl_period_ns" (the reservation the admission derived) instead of a
// priority. "admitted" is false under --no-admit: the declaration as
// written, with no priority or CPU the analysis would have assigned.
//
//   auto t = rt::admitted_task("loop");       // one line if it is not there
//   rt::PeriodicTask task(t.task_config(), callback);
//   task.start(t.thread_config());            // its policy and CPU
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtcell/rt/periodic_task.hpp"
#include "rtcell/rt/sched.hpp"

namespace rtcell::rt {

inline constexpr int kCellTasksVersion = 1;
inline constexpr const char* kCellTasksEnv = "RTCELL_TASKS";

struct AdmittedTask {
  std::string cell;
  std::string name;
  bool admitted = false;         // false: declared only (--no-admit)
  std::optional<Policy> policy;  // nullopt: the cell's own (no priority declared or assigned)
  std::optional<int> cpu;        // the CPU the analysis placed it on
  int64_t period_ns = 0;
  int64_t wcet_ns = 0;
  int64_t deadline_ns = 0;             // relative
  std::optional<int64_t> response_ns;  // worst-case response time (fixed priority)

  // Period and deadline for the loop; the rest of the defaults stay.
  PeriodicTaskConfig task_config() const;
  // Policy and CPU for start(); what is unset keeps the caller's.
  TaskThreadConfig thread_config() const;
};

// Every task of RTCELL_TASKS-formatted `json`. Throws rtcell::Error (Usage)
// with one line: not JSON, another version, a missing or bad field.
std::vector<AdmittedTask> parse_admitted_tasks(std::string_view json);

// Task `name` of `json`. Throws Usage naming the tasks there when it is
// missing.
AdmittedTask admitted_task(std::string_view name, std::string_view json);

// Task `name` of the cell this process runs in (RTCELL_TASKS). Throws
// Usage when the variable is unset ("not in a cell started from a
// manifest: rtcell run -f FILE CELL") or the name is missing.
AdmittedTask admitted_task(std::string_view name);

// True when RTCELL_TASKS is set (the process runs in a manifest's cell).
bool in_admitted_cell();

}  // namespace rtcell::rt
