// Compositional admission of virtual machines (docs/hypervisor.md).
//
// Two levels, each an existing exact test:
//
//  1. Guest level, per vCPU: the guest's tasks on that vCPU under its own
//     scheduler (FP or EDF, partitioned over the vCPUs) must be schedulable
//     on a periodic resource Γ(Π, Θ) (Shin & Lee 2003, "Periodic resource
//     model for compositional real-time guarantees", RTSS, Theorems 1 and 3).
//     The least Θ for the vCPU's Π is budget.hpp's min_budget (exact binary
//     search), rounded up to a whole microsecond because hypervisors take
//     budgets in µs (rounding up keeps the set schedulable: sbf is
//     non-decreasing in Θ).
//
//  2. Host level, per physical CPU: the vCPUs placed on a pCPU are
//     implicit-deadline periodic servers (period Π, budget Θ) scheduled by
//     EDF, which meets every server's budget iff Σ Θ/Π ≤ 1 (Liu & Layland
//     1973, Theorem 7; used as the host test of the periodic resource model
//     by Shin & Lee 2003, Section 5, and Easwaran, Anand & Lee 2007,
//     "Compositional analysis framework using EDP resource models", RTSS).
//     The sum is compared exactly (task.hpp's compare_utilization); an
//     undecidable sum (Unknown) is refused.
//
// Placement: a vCPU that may run on several pCPUs goes to the lowest-numbered
// one of its list where the sum stays ≤ 1 (first fit, vCPUs in manifest
// order), and is pinned there: the analysis is partitioned, so the emitted
// hard affinity is that one pCPU.
//
// Pure: no I/O, no floating point in a verdict (doubles only for printing).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rtcell/analysis/budget.hpp"
#include "rtcell/cpuset.hpp"

namespace rtcell::analysis {

// The period Π of a vCPU whose manifest names none: half the shortest period
// of its guest tasks, rounded down to a whole µs (at least 1 µs). Half: the
// worst blackout of Γ(Π, Θ) is 2(Π − Θ), so Π at most P_min/2 keeps it under
// the shortest period and the budget overhead of the PRM moderate (Shin &
// Lee 2003, Section 4.2, show the needed bandwidth falls as Π shrinks).
Time default_vcpu_period(const std::vector<Task>& tasks);

struct VcpuSpec {
  CpuSet pcpus;                // where it may run; first fit picks one
  std::optional<Time> period;  // Π; unset: the VM's, else default_vcpu_period
  std::vector<Task> tasks;     // its guest tasks (priorities set or all unset)
};

struct VmSpec {
  std::string name;
  LocalScheduler scheduler = LocalScheduler::FixedPriority;
  std::optional<Time> period;  // Π for every vCPU that names none
  std::vector<VcpuSpec> vcpus;
};

struct VcpuVerdict {
  int index = 0;
  int pcpu = -1;  // the pCPU it was placed on; -1 none fits
  Time period = 0;
  Time budget = 0;          // Θ in ns, a whole µs; 0 when no budget schedules the tasks
  bool schedulable = true;  // its tasks fit some Θ ≤ Π
  Time gap() const noexcept { return 2 * (period - budget); }  // worst service gap 2(Π − Θ)
  double bandwidth() const noexcept {                          // for printing only
    return period > 0 ? static_cast<double>(budget) / static_cast<double>(period) : 0;
  }
};

struct VmVerdict {
  std::string name;
  bool admitted = true;
  std::vector<VcpuVerdict> vcpus;
  std::vector<std::string> problems;  // one line each, when not admitted
};

struct PcpuLoad {
  int cpu = -1;
  double bandwidth = 0;            // Σ Θ/Π, for printing only
  std::vector<std::string> vcpus;  // "vm/N"
};

struct VmAdmitResult {
  bool admitted = true;
  std::vector<VmVerdict> vms;
  std::vector<PcpuLoad> pcpus;  // ascending CPU number
};

// Admits the VMs in order: a VM whose guest level fails, or one of whose
// vCPUs fits no pCPU, is not admitted and adds nothing to the host level, so
// later VMs are judged against the admitted ones only.
VmAdmitResult admit_vms(const std::vector<VmSpec>& vms);

}  // namespace rtcell::analysis
