// rtcell's supervisor: enforcement of an admitted cell where the kernel
// does not cap it (docs/enforcement.md).
//
// On cgroup v1 with RT group scheduling the kernel throttles a cell's RT
// tasks at its cpu.rt_runtime_us. On cgroup v2 (mainline has no RT
// bandwidth control there), or with RT group scheduling compiled out or
// disabled at boot (rt_group_sched=0), nothing does: a runaway SCHED_FIFO
// task keeps its CPU from everyone else. The supervisor watches, on every
// CPU of the cell, the CPU time its threads spent in SCHED_FIFO/RR
// (/proc/TID/schedstat and /proc/TID/stat, the threads listed by the
// cell's cgroup) against the most the admitted tasks can ask for in the
// same window (analysis::max_demand), and acts when it is exceeded: the
// tasks ran past their WCETs or more often than declared.
//
// It is detection with a bounded delay, not a cap: the overrun is seen at
// the first sample after it happened (every `sample_ns`), and the action
// (demote, freeze, kill) lands a few hundred microseconds later; until
// then the runaway runs. The supervisor thread runs at SCHED_FIFO above
// the cell's tasks and, where the host has CPUs outside the cell, on those.
//
// Split in two: OverrunMeter decides from samples (pure, unit-tested);
// Supervisor samples the kernel and acts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cell/state.hpp"
#include "rtcell/analysis/enforce.hpp"
#include "rtcell/cpuset.hpp"

namespace rtcell::cell {

struct SuperviseSpec {
  analysis::OverrunAction action = analysis::OverrunAction::Demote;
  std::vector<analysis::DemandTask> tasks;
  CpuSet cpus;                     // the cell's CPUs
  int64_t grace_ns = 200'000'000;  // after start: the command's own set-up (exec, loading) is not judged
  int64_t sample_ns = 0;           // derived by supervise_spec()
  int windows = 0;                 // samples kept: the longest window judged is windows × sample_ns
  int priority = 0;                // SCHED_FIFO priority of the supervisor thread; 0: leave it
  // Lines to show once: what the supervisor can and cannot see.
  std::vector<std::string> notes;
};

// The spec for `tasks` on `cpus`: samples at half the shortest period or
// deadline (at least every 2 ms, at most every 50 ms) and judges windows
// long enough for a thread that spins without end to exceed the tasks'
// demand on its CPU; a CPU whose tasks leave it less than 2% idle cannot
// tell a runaway from its own tasks by CPU time (a note says so).
// `max_priority`: the highest priority among the tasks.
SuperviseSpec supervise_spec(analysis::OverrunAction action, std::vector<analysis::DemandTask> tasks,
                             const CpuSet& cpus, int max_priority, int64_t grace_ns);

struct Overrun {
  int cpu = -1;
  int64_t window_ns = 0;   // the window judged
  int64_t used_ns = 0;     // RT CPU time of the cell on `cpu` in it
  int64_t allowed_ns = 0;  // max_demand of the tasks there
  int64_t since_ns = 0;    // the sample before: the overrun happened after it
  int64_t seen_ns = 0;     // the sample that saw it
};

// Cumulative RT CPU time per CPU at time t, in; the first overrun found,
// out. Samples before start + grace are not judged (the first one after
// begins the windows).
class OverrunMeter {
 public:
  OverrunMeter(const SuperviseSpec& spec, int64_t start_ns);
  std::optional<Overrun> feed(int64_t t_ns, const std::vector<int64_t>& usage_by_cpu);
  // Forget the windows (after an action: the next overrun is a new one).
  void restart() { ring_.clear(); }

 private:
  struct Sample {
    int64_t t = 0;
    std::vector<int64_t> usage;
  };
  const SuperviseSpec& spec_;
  int64_t judge_from_ = 0;
  std::vector<Sample> ring_;  // oldest first, at most spec_.windows + 1
};

// What the supervisor did about one overrun.
struct OverrunEvent {
  Overrun overrun;
  analysis::OverrunAction action = analysis::OverrunAction::Warn;
  std::string done;         // "demoted loop:1234 to SCHED_OTHER", "froze the cell", ...
  int64_t action_ns = 0;    // from the sample that saw the overrun to the action's end
  int64_t reaction_ns = 0;  // from the sample before it (the overrun happened after) to the action's end
  bool failed = false;      // the action could not be done (`done` says why)
};

// Watches cell `id` of `reg` from a thread of this process until
// destroyed. `on_event` runs on that thread.
class Supervisor {
 public:
  Supervisor(const Registry& reg, const std::string& id, SuperviseSpec spec,
             std::function<void(const OverrunEvent&)> on_event);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Overruns seen (acted upon or, for warn after the first per CPU, only
  // counted) and samples taken so far.
  int overruns() const;
  int64_t samples() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A one-line description for notes: "demote (every 2 ms; a runaway is
// seen within ...)".
std::string describe(const SuperviseSpec& s);

// The spec as JSON and back, for a supervisor in a process of its own (a
// `create -f` or OCI cell: rtcell's __supervise verb). Throws rtcell::Error
// (Usage) naming the field on malformed input.
std::string supervise_spec_json(const SuperviseSpec& s);
SuperviseSpec supervise_spec_from_json(const std::string& text);

}  // namespace rtcell::cell
