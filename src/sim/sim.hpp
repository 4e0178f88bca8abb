// A deterministic discrete-event simulator of virtual machines on physical
// CPUs (`rtcell sim`, docs/hypervisor.md "Simulator").
//
// Why: the VM admission (analysis/vm.hpp) is compositional and assumes a
// periodic resource per vCPU. The simulator runs the same VMs under three
// hypervisor schedulers (Xen credit, Xen RTDS, a Jailhouse-style partition)
// and a driver-domain model of split I/O, to cross-check the analysis and to
// show the failure modes the research survey describes for credit.
//
// Exact integer time (ns); the only randomness is release jitter, drawn from
// splitmix64 seeded by SimOptions::seed, so a seed gives one result. Pure:
// no I/O, nothing printed; bad input throws rtcell::Error (Usage).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rtcell/analysis/budget.hpp"
#include "rtcell/analysis/task.hpp"
#include "rtcell/analysis/vm.hpp"
#include "rtcell/cpuset.hpp"

namespace rtcell::sim {

using analysis::Time;

enum class HostScheduler { Credit, Rtds, Partitioned };
// RTDS servers: Xen's deferrable server keeps unused budget while its vCPU
// idles (until the period ends); a periodic (polling) server burns it, which
// is the supply Shin & Lee's periodic resource model assumes.
enum class ServerKind { Deferrable, Periodic };
// keep: a late job runs to completion; drop: it is aborted at its deadline.
enum class MissPolicy { Keep, Drop };

struct SimTask {
  analysis::Task task;  // period, wcet, deadline, jitter (random in [0, J]), priority (FP)
  Time phase = 0;       // first nominal release
  int io = 0;           // I/O requests issued, one after another, when a job's computation ends;
                        // the job completes when the driver domain has served the last
};

struct SimVcpu {
  CpuSet pcpus;           // affinity
  Time period = 0;        // RTDS server Π
  Time budget = 0;        // RTDS server Θ
  Time server_phase = 0;  // RTDS: the first replenishment
  std::vector<SimTask> tasks;
};

struct SimVm {
  std::string name;
  analysis::LocalScheduler scheduler = analysis::LocalScheduler::FixedPriority;
  int weight = 256;     // credit
  int cap = 0;          // credit: % of one pCPU, 0 = none
  bool driver = false;  // its vCPU 0 serves every I/O request
  std::vector<SimVcpu> vcpus;
};

struct SimOptions {
  HostScheduler scheduler = HostScheduler::Rtds;
  Time duration = 1'000'000'000;
  uint64_t seed = 1;
  MissPolicy on_miss = MissPolicy::Keep;
  ServerKind server = ServerKind::Deferrable;
  bool extratime = false;     // RTDS: a vCPU without budget may use idle pCPU time
  Time io_service = 100'000;  // driver-domain CPU time per I/O request
  // Xen credit (sched_credit.c): CSCHED_DEFAULT_TSLICE_MS, the tick
  // (CSCHED_TICKS_PER_TSLICE = 3), sched_ratelimit_us's default.
  Time credit_tslice = 30'000'000;
  Time credit_tick = 10'000'000;
  Time credit_ratelimit = 1'000'000;
  bool credit_boost = true;
};

struct Stats {
  int64_t count = 0;
  Time min = 0, avg = 0, p99 = 0, max = 0;
};

struct TaskResult {
  std::string vm;
  int vcpu = 0;
  std::string name;
  Time deadline = 0;   // relative
  int64_t jobs = 0;    // jobs whose outcome is known (finished, dropped, or past deadline)
  int64_t misses = 0;  // finished late, dropped, or unfinished past the deadline at the end
  Stats response;      // finished jobs, release to completion (I/O included)
  Stats io;            // I/O request issue to completion
  double miss_ratio() const noexcept {
    return jobs > 0 ? static_cast<double>(misses) / static_cast<double>(jobs) : 0;
  }
};

struct VcpuResult {
  std::string vm;
  int vcpu = 0;
  Time period = 0, budget = 0;  // RTDS only
  Time service = 0;             // CPU time it ran (idle burning of a periodic server included)
  Time worst_gap = 0;           // longest time it wanted a CPU and had none
};

struct SimResult {
  HostScheduler scheduler = HostScheduler::Rtds;
  Time duration = 0;
  uint64_t seed = 0;
  std::vector<TaskResult> tasks;
  std::vector<VcpuResult> vcpus;
  Stats io;  // every I/O request
  int64_t total_misses() const noexcept;
};

// Refuses, with one line, what cannot run or would not end: no VM, a task
// with a zero period or WCET, a vCPU with no CPU, an RTDS budget of 0 or
// above its period, I/O without a driver domain, two vCPUs on one pCPU under
// the partitioned scheduler, total utilization above the physical CPUs with
// MissPolicy::Keep (the backlog would grow without bound), too many jobs.
void validate(const std::vector<SimVm>& vms, const SimOptions& opt);

// validate(), then simulate [0, duration).
SimResult simulate(const std::vector<SimVm>& vms, const SimOptions& opt);

// The VMs of the admission model with their verdict's servers: RTDS (Π, Θ)
// from `verdict` (Θ shrunk by budget_delta, ≥ 0 means smaller), hard
// affinity the admitted pCPU when `pinned` (what `rtcell emit xen` writes),
// else the vCPU's cpus list.
std::vector<SimVm> from_admission(const std::vector<analysis::VmSpec>& specs,
                                  const analysis::VmAdmitResult& verdict, Time budget_delta, bool pinned);

const char* to_string(HostScheduler s) noexcept;

}  // namespace rtcell::sim
