// Cell manifests: the YAML file that describes cells for `rtcell admit`
// (and later `rtcell run -f`, `rtcell check -f` and the emitters).
//
// parse() is pure (text in, structs out); load() adds the file read. Every
// problem is thrown as rtcell::Error (Usage) whose message starts with
// "FILE:LINE:COL: ", and an unknown key names the closest valid one. The
// schema is in docs/manifest.md; the per-cell keys mirror the flags of
// `rtcell run` so that a cell can be started from its declaration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rtcell/analysis/admission.hpp"
#include "rtcell/analysis/enforce.hpp"
#include "rtcell/analysis/vm.hpp"
#include "rtcell/cpuset.hpp"
#include "rtcell/rt/sched.hpp"

namespace rtcell::manifest {

struct Location {
  std::string file;
  int line = 0;  // 1-based
  int column = 0;
  std::string to_string() const;  // "file:line:col"
};

// The analysis's own type: one idea, one type.
using TaskPolicy = analysis::TaskPolicy;

struct TaskDecl {
  std::string name;
  int64_t period_ns = 0;
  int64_t wcet_ns = 0;
  std::optional<int64_t> deadline_ns;  // default: period
  int64_t jitter_ns = 0;
  int64_t blocking_ns = 0;
  std::optional<int> priority;       // SCHED_FIFO/RR 1..99
  std::optional<TaskPolicy> policy;  // default: from the cell's sched, else fifo
  std::optional<int> cpu;            // default: partitioned onto the cell's cpus
  int vcpu = 0;                      // VM tasks only: the vCPU that runs it
  Location where;
};

// A reservation per CPU: `runtime` every `period`, within `deadline` of the
// period's start (Easwaran et al.'s EDP; deadline = period is Shin & Lee's
// periodic resource). No runtime: `rtcell admit` derives the least one.
struct BudgetDecl {
  int64_t period_ns = 0;
  std::optional<int64_t> runtime_ns;
  std::optional<int64_t> deadline_ns;
};

enum class Net { Host, None };

// supervise: what rtcell's supervisor does when the cell's RT threads run
// longer than its tasks were admitted with (cell/supervisor.hpp): a word
// (off, warn, demote, freeze, kill) or {action: WORD, grace: TIME}.
struct SuperviseDecl {
  std::optional<analysis::OverrunAction> action;  // nullopt: off
  std::optional<int64_t> grace_ns;                // after start, not judged
};

// One entry of a cell's depends_on: another cell of the manifest that
// `rtcell up` starts first.
struct Dependency {
  std::string cell;
  Location where;
};

struct CellDecl {
  std::string name;
  Location where;
  std::optional<CpuSet> cpus;
  std::optional<std::string> mems;  // cpuset.mems list, e.g. "0"
  std::optional<uint64_t> memory;   // bytes
  std::optional<int64_t> pids_max;
  std::optional<rt::Policy> sched;  // "fifo:80", "rr:10", "deadline:RT/DL/P", "other"
  std::optional<int> rtprio;        // RLIMIT_RTPRIO grant, 1..99
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  std::optional<int64_t> rt_runtime_ns;  // cgroup v1 cpu.rt_runtime_us (bare numbers: µs)
  std::optional<int64_t> rt_period_ns;
  std::optional<uint64_t> memlock;  // bytes
  std::optional<Net> net;
  std::optional<std::string> rootfs;
  std::vector<std::string> devices;  // "/dev/video0" or "/dev/x:/dev/y:rw" as `rtcell run --device`
  std::vector<std::string> volumes;  // "SRC:DST[:ro]"
  std::vector<std::string> tmpfs;    // "/tmp" or "/tmp:size=64M"
  std::optional<std::string> workdir;
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<std::string> hostname;
  std::optional<std::string> user;     // "1000" or "1000:1000"
  std::optional<std::string> seccomp;  // "default", "none" or a profile path
  bool allow_prio_99 = false;
  std::vector<std::string> command;
  std::vector<TaskDecl> tasks;
  std::optional<BudgetDecl> budget;
  std::optional<SuperviseDecl> supervise;  // unset: the host's default (docs/enforcement.md)
  // For `rtcell up`: cells started before this one (every name is a cell of
  // the manifest, no cycle: parse() checks), and whether this cell's failure
  // (a non-zero exit, or no start) stops all the others.
  std::vector<Dependency> depends_on;
  bool required = false;

  // True when the cell runs RT work: it has tasks, or a fifo/rr/deadline
  // sched, or an rtprio grant.
  bool is_rt() const;
};

// One virtual CPU of a VM: the physical CPUs it may run on (the analysis
// pins it to one of them, first fit) and, optionally, its server period Π.
struct VcpuDecl {
  CpuSet pcpus;
  std::optional<int64_t> period_ns;  // a whole µs
  Location where;
};

// A virtual machine under a hypervisor (docs/hypervisor.md): its vCPUs as
// periodic servers, the guest's scheduler, partitioned over the vCPUs, and
// the guest's tasks (TaskDecl::vcpu says which vCPU runs each).
struct VmDecl {
  std::string name;
  Location where;
  uint64_t memory_mib = 0;
  analysis::LocalScheduler sched = analysis::LocalScheduler::FixedPriority;
  std::optional<int64_t> period_ns;   // Π of every vCPU that names none; a whole µs
  std::optional<std::string> pool;    // Xen cpupool; unset: kDefaultPool
  std::string type = "pvh";           // xl.cfg type=: pvh, pv or hvm
  std::optional<std::string> kernel;  // the guest kernel image (xl.cfg kernel=)
  std::vector<VcpuDecl> vcpus;
  std::vector<TaskDecl> tasks;
};

// The cpupool of the VMs that name none.
inline constexpr const char* kDefaultPool = "rtcell";

enum class Partition { FirstFit, WorstFit, BestFit };

struct Manifest {
  std::string file;
  std::vector<CellDecl> cells;
  std::vector<VmDecl> vms;
  Partition partition = Partition::FirstFit;
  // CONFIG_HZ of the kernel the cells are meant for: the tick at which the
  // FIFO/RR budgets must hold (docs/analysis.md). Unset: `rtcell admit`
  // uses this host's kernel config, else analysis::kDefaultHz.
  std::optional<int> hz;
};

// Parses manifest text; `filename` only names it in messages.
Manifest parse(std::string_view text, const std::string& filename = "<manifest>");
// Reads and parses `path`.
Manifest load(const std::string& path);

// The cell called `name`, or nullptr.
const CellDecl* find_cell(const Manifest& m, std::string_view name);

// The cells' indices in the order `rtcell up` starts them: each after
// every cell of its depends_on, otherwise in manifest order (Kahn's
// algorithm, taking the first ready cell each time). parse() has refused
// cycles and unknown names; a Manifest built by hand with either throws
// rtcell::Error (Usage) naming the cell.
std::vector<size_t> start_order(const Manifest& m);

// Union of the cpus of the RT cells (CellDecl::is_rt): the CPUs `rtcell
// check -f` audits for isolation.
CpuSet rt_cpus(const Manifest& m);

// The analysis model of every cell (deadline defaults to the period; the
// policy of a task defaults to the cell's sched; a cell's base priority is
// its sched priority, else rtprio, else 80).
std::vector<analysis::CellSpec> to_cell_specs(const Manifest& m);
// The analysis model of every VM: per vCPU its tasks (deadline defaults to
// the period) and period.
std::vector<analysis::VmSpec> to_vm_specs(const Manifest& m);
// The partitioning heuristic and, when the manifest names one, the tick.
analysis::AdmitOptions admit_options(const Manifest& m);

// Levenshtein distance; the closest-key suggestion uses it.
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace rtcell::manifest
