// Admission control for a set of cells: the one entry point `rtcell admit`
// calls. It composes the single-CPU analyses (fp.hpp, edf.hpp), the
// hierarchical budget search (budget.hpp), partitioning (partition.hpp) and
// the kernel parameters (enforce.hpp) into a verdict per cell and per task,
// and, for a rejection, the first task that misses, by how much, and the
// smallest change that would admit it. An admitted cell whose parameters the
// target host's kernel would refuse is "not enforceable", with the reasons
// (Verdict). Pure: no I/O; the target's limits come in AdmitOptions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rtcell/analysis/enforce.hpp"
#include "rtcell/analysis/partition.hpp"
#include "rtcell/cpuset.hpp"

namespace rtcell::analysis {

enum class TaskPolicy { Fifo, Rr, Deadline };

struct TaskSpec {
  Task task;  // task.priority: SCHED_FIFO/RR priority 1..99, unset = derive
  TaskPolicy policy = TaskPolicy::Fifo;
  std::optional<int> cpu;  // unset: partitioned onto the cell's CPUs
};

// A reservation per CPU of the cell: `runtime` every `period` within
// `deadline` of the period's start. Unset runtime: derive the least.
struct BudgetSpec {
  Time period = 0;
  std::optional<Time> runtime;
  std::optional<Time> deadline;
};

struct CellSpec {
  std::string name;
  CpuSet cpus;
  std::vector<TaskSpec> tasks;
  std::optional<BudgetSpec> budget;
  // Highest SCHED_FIFO priority handed out when tasks name none
  // (deadline-monotonic order downward from here).
  int base_priority = 80;
};

// The tick assumed when the target kernel's CONFIG_HZ is unknown: 100 is the
// coarsest tick of the common configurations (HZ_100/250/300/1000), and a
// coarser tick only makes the budgets derived under it safer (supply.hpp).
inline constexpr int kDefaultHz = 100;

// The target host: what its kernel accepts. Unknown, it is a default kernel
// with cgroup v1 RT group scheduling, the strictest case.
struct AdmitOptions {
  Fit fit = Fit::First;
  // /proc/sys/kernel/sched_rt_{period,runtime}_us of the target host;
  // runtime_us -1 is RUNTIME_INF (no RT throttling).
  RtBandwidth global{1'000'000, 950'000};
  // CONFIG_HZ of the target kernel: cgroup v1 charges RT group runtime at
  // the tick, so every FIFO/RR budget is derived and checked for it.
  int hz = kDefaultHz;
  std::string hz_source = "default";  // where `hz` came from, for the report
  // /proc/sys/kernel/sched_deadline_period_{min,max}_us.
  DeadlineLimits dl_limits;
  // cgroup v1 with CONFIG_RT_GROUP_SCHED: the cells' cpu.rt_* budgets are
  // written and the kernel checks their ratios (kernel/sched/rt.c).
  bool rt_groups = true;
  // Names the target host in reasons ("a default kernel", "this host", a root).
  std::string host = "a default kernel";
};

// The scheduler tick of `hz`, rounded up (HZ=300: 3 333 334 ns).
Time tick_ns(int hz);

// Admitted: the analysis admits and the kernel accepts every derived
// parameter. NotEnforceable: the analysis admits, but the target host's
// kernel would refuse a parameter as printed. Rejected: the analysis says no.
enum class Verdict { Admitted, NotEnforceable, Rejected };

struct TaskVerdict {
  std::string name;
  int cpu = -1;
  TaskPolicy policy = TaskPolicy::Fifo;
  std::optional<int> priority;  // FIFO/RR priority used by the analysis
  Time period = 0, wcet = 0, deadline = 0;
  // Worst-case response time (fixed priority only; kInfinity = unbounded);
  // for EDF the verdict is "≤ deadline" and no response time is computed.
  std::optional<Time> response;
  bool ok = true;
  double utilization = 0;  // for printing only
  std::optional<DeadlineParams> dl;
};

struct CpuVerdict {
  int cpu = -1;
  bool ok = true;
  double utilization = 0;    // for printing only
  bool liu_layland = false;  // quick sufficient tests (FP, implicit deadlines)
  bool hyperbolic = false;
  std::optional<Time> min_budget;  // least Θ for the cell's budget period
};

struct Diagnosis {
  std::string task;  // empty when the problem is not one task
  int cpu = -1;
  std::string problem;  // one line: what misses and by how much
  std::optional<Time> miss_by;
  std::optional<Time> max_wcet;    // the largest WCET of `task` that admits
  std::optional<Time> min_budget;  // the least budget runtime that admits
  std::string fix;                 // one line: the smallest change
};

struct CellVerdict {
  std::string name;
  bool admitted = true;
  LocalScheduler scheduler = LocalScheduler::FixedPriority;
  std::vector<CpuVerdict> cpus;
  std::vector<TaskVerdict> tasks;  // manifest order
  // The supply the verdict assumes: dedicated CPUs, or Ω(Π, Θ, Δ) per CPU.
  bool dedicated = true;
  Time budget_period = 0, budget_runtime = 0, budget_deadline = 0;
  // cgroup v1 cpu.rt_{period,runtime}_us for FIFO/RR cells.
  std::optional<RtBandwidth> rt;
  std::optional<BandwidthSum> dl_sum;  // SCHED_DEADLINE admission of the cell's tasks
  std::optional<Diagnosis> diagnosis;
  std::vector<std::string> notes;
  // One line per parameter the target host's kernel would refuse; non-empty
  // makes an admitted cell NotEnforceable.
  std::vector<std::string> not_enforceable;
};

struct AdmitResult {
  bool admitted = true;
  // The tick the FIFO/RR budgets hold for (AdmitOptions::hz and its source).
  int hz = kDefaultHz;
  std::string hz_source;
  std::vector<CellVerdict> cells;
  BandwidthSum rt_sum;  // the cells' rt bandwidths under the root group
  std::vector<std::string> notes;
  // Index of the first rejected cell.
  std::optional<size_t> first_rejected;
  // Index of the first cell admitted but not enforceable.
  std::optional<size_t> first_not_enforceable;
  // What the parameters were checked against (the options admit() got).
  AdmitOptions target;
};

AdmitResult admit(const std::vector<CellSpec>& cells, const AdmitOptions& opts = {});

// What still fits on one CPU next to `cells` (rtcell admit --running): the
// largest WCET, to `resolution`, of one more SCHED_FIFO task of period =
// deadline `period`, alone in a new cell pinned to `cpu` at the lowest
// priority (it takes what is left and delays no one), for which admit()
// still admits every cell as enforceable. 0: nothing fits there. Feasibility
// falls as the WCET grows, so a binary search finds it.
struct CpuRoom {
  int cpu = -1;
  Time wcet = 0;
};
CpuRoom room_on_cpu(const std::vector<CellSpec>& cells, const AdmitOptions& opts, int cpu, Time period,
                    Time resolution = 1000);

// Rejected if the analysis rejects, else NotEnforceable if a reason says so.
Verdict verdict(const CellVerdict& c);
// Rejected if any cell is, else NotEnforceable if any cell is.
Verdict verdict(const AdmitResult& r);

std::string_view to_string(TaskPolicy p);
std::string_view to_string(Verdict v);  // "admitted", "not enforceable", "rejected"

}  // namespace rtcell::analysis
