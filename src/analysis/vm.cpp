// Compositional VM admission: guest level by budget.hpp, host level by the
// exact EDF utilization test. The theory and its citations are at the top of
// include/rtcell/analysis/vm.hpp and in docs/hypervisor.md.
#include "rtcell/analysis/vm.hpp"

#include <algorithm>
#include <map>

#include "rtcell/analysis/fp.hpp"

namespace rtcell::analysis {

namespace {

constexpr Time kMicro = 1000;

// The guest tasks as the analysis needs them: FP without priorities gets
// deadline-monotonic ones (optimal for constrained deadlines, Leung &
// Whitehead 1982).
std::vector<Task> with_priorities(std::vector<Task> tasks, LocalScheduler sched) {
  if (sched != LocalScheduler::FixedPriority) return tasks;
  bool all_set =
      std::all_of(tasks.begin(), tasks.end(), [](const Task& t) { return t.priority.has_value(); });
  if (all_set) return tasks;
  std::vector<int> prio = deadline_monotonic(tasks);
  for (size_t i = 0; i < tasks.size(); ++i) tasks[i].priority = prio[i];
  return tasks;
}

// The least whole-µs budget for `tasks` on Γ(Π, Θ); 0 with no tasks;
// nullopt when even Θ = Π fails. The same search as budget.hpp's
// min_budget (schedulability is monotone in Θ: sbf is non-decreasing in Θ
// for a fixed Π, Shin & Lee 2003, Eq. (1)), with the exact test of
// schedulable_on, but over whole µs: the answer is min_budget's rounded up,
// and the search never tries budgets a hair above the utilization, where
// the EDF test's horizon (and its cost) grows without bound.
std::optional<Time> vcpu_budget(const std::vector<Task>& tasks, LocalScheduler sched, Time period) {
  if (tasks.empty()) return Time{0};
  auto ok = [&](Time us) {
    return schedulable_on(tasks, sched, Supply::periodic(period, std::min(us * kMicro, period)));
  };
  Time hi = ceil_div(period, kMicro);  // Θ = Π (the last µs may be partial)
  if (!ok(hi)) return std::nullopt;
  Time lo = 0;  // fails (no budget, no service)
  while (hi - lo > 1) {
    Time mid = lo + (hi - lo) / 2;
    (ok(mid) ? hi : lo) = mid;
  }
  return std::min(hi * kMicro, period);
}

// The servers placed on one pCPU, as tasks (C = Θ, T = D = Π), so that
// compare_utilization sums Θ/Π exactly.
using Placement = std::map<int, std::vector<Task>>;

bool fits(const Placement& placed, int cpu, Time period, Time budget) {
  std::vector<Task> servers;
  if (auto it = placed.find(cpu); it != placed.end()) servers = it->second;
  Task s;
  s.period = period;
  s.deadline = period;
  s.wcet = budget;
  servers.push_back(s);
  Compare c = compare_utilization(servers, Ratio{1, 1});
  return c == Compare::Less || c == Compare::Equal;
}

}  // namespace

Time default_vcpu_period(const std::vector<Task>& tasks) {
  Time shortest = kInfinity;
  for (const auto& t : tasks) shortest = std::min({shortest, t.period, t.deadline});
  if (shortest == kInfinity) return 10'000'000;  // no tasks: 10 ms, Xen's RTDS default period
  return std::max(kMicro, shortest / 2 / kMicro * kMicro);
}

VmAdmitResult admit_vms(const std::vector<VmSpec>& vms) {
  VmAdmitResult r;
  Placement placed;                               // admitted VMs' servers per pCPU
  std::map<int, std::vector<std::string>> names;  // and their "vm/N" labels
  for (const auto& vm : vms) {
    VmVerdict v;
    v.name = vm.name;
    Placement trial = placed;
    std::vector<std::pair<int, std::string>> labels;
    for (size_t i = 0; i < vm.vcpus.size(); ++i) {
      const VcpuSpec& spec = vm.vcpus[i];
      VcpuVerdict vc;
      vc.index = static_cast<int>(i);
      std::vector<Task> tasks = with_priorities(spec.tasks, vm.scheduler);
      vc.period = spec.period.value_or(vm.period.value_or(default_vcpu_period(tasks)));
      std::optional<Time> theta = vcpu_budget(tasks, vm.scheduler, vc.period);
      std::string label = vm.name + "/" + std::to_string(i);
      if (!theta) {
        vc.schedulable = false;
        v.admitted = false;
        v.problems.push_back("vCPU " + std::to_string(i) +
                             ": its tasks miss deadlines even with the whole period (" +
                             std::to_string(vc.period / kMicro) +
                             " us) as budget; move a task to another vCPU or shorten the vCPU period");
        v.vcpus.push_back(vc);
        continue;
      }
      vc.budget = *theta;
      for (int cpu : spec.pcpus.cpus()) {
        if (fits(trial, cpu, vc.period, vc.budget)) {
          vc.pcpu = cpu;
          break;
        }
      }
      if (vc.pcpu < 0) {
        v.admitted = false;
        v.problems.push_back("vCPU " + std::to_string(i) + ": budget " + std::to_string(vc.budget / kMicro) +
                             " us per " + std::to_string(vc.period / kMicro) + " us fits on none of pCPUs " +
                             spec.pcpus.to_string() +
                             " (EDF bandwidth there would exceed 1); give it another pCPU");
      } else {
        Task s;
        s.name = label;
        s.period = vc.period;
        s.deadline = vc.period;
        s.wcet = vc.budget;
        trial[vc.pcpu].push_back(s);
        labels.emplace_back(vc.pcpu, label);
      }
      v.vcpus.push_back(vc);
    }
    if (v.admitted) {
      placed = std::move(trial);
      for (auto& [cpu, label] : labels) names[cpu].push_back(label);
    } else {
      r.admitted = false;
    }
    r.vms.push_back(std::move(v));
  }
  for (const auto& [cpu, servers] : placed) {
    PcpuLoad l;
    l.cpu = cpu;
    for (const auto& s : servers) l.bandwidth += utilization(s).to_double();
    l.vcpus = names[cpu];
    r.pcpus.push_back(std::move(l));
  }
  return r;
}

}  // namespace rtcell::analysis
