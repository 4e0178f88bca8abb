// VM admission (analysis/vm.hpp): per vCPU the least whole-µs budget of a
// periodic resource, per pCPU the exact EDF bandwidth test, first fit.
#include <gtest/gtest.h>

#include "rtcell/analysis/vm.hpp"

using namespace rtcell;
using namespace rtcell::analysis;

namespace {

constexpr Time kUs = 1000;
constexpr Time kMs = 1'000'000;

Task task(const char* name, Time period, Time wcet, std::optional<int> prio = std::nullopt) {
  Task t;
  t.name = name;
  t.period = period;
  t.deadline = period;
  t.wcet = wcet;
  t.priority = prio;
  return t;
}

VmSpec vm(const char* name, LocalScheduler s, std::vector<VcpuSpec> vcpus) {
  VmSpec v;
  v.name = name;
  v.scheduler = s;
  v.vcpus = std::move(vcpus);
  return v;
}

VcpuSpec vcpu(const char* cpus, std::vector<Task> tasks, std::optional<Time> period = std::nullopt) {
  VcpuSpec c;
  c.pcpus = CpuSet::parse(cpus);
  c.tasks = std::move(tasks);
  c.period = period;
  return c;
}

}  // namespace

TEST(VmAdmission, BudgetIsTheLeastWholeMicrosecondThatSchedules) {
  for (auto sched : {LocalScheduler::FixedPriority, LocalScheduler::Edf}) {
    std::vector<Task> tasks{task("a", 1 * kMs, 150 * kUs), task("b", 5 * kMs, 700 * kUs)};
    auto r = admit_vms({vm("g", sched, {vcpu("2", tasks, 400 * kUs)})});
    ASSERT_TRUE(r.admitted);
    const VcpuVerdict& c = r.vms[0].vcpus[0];
    EXPECT_EQ(c.period, 400 * kUs);
    EXPECT_EQ(c.budget % kUs, 0);
    EXPECT_EQ(c.gap(), 2 * (c.period - c.budget));
    // The exact test agrees: Θ schedules, Θ − 1 µs does not.
    std::vector<Task> prio = tasks;
    prio[0].priority = 2;
    prio[1].priority = 1;
    EXPECT_TRUE(schedulable_on(prio, sched, Supply::periodic(c.period, c.budget)));
    EXPECT_FALSE(schedulable_on(prio, sched, Supply::periodic(c.period, c.budget - kUs)));
    // And it is budget.hpp's exact least budget rounded up to the µs.
    auto exact = min_budget(prio, sched, c.period);
    ASSERT_TRUE(exact);
    EXPECT_EQ(c.budget, ceil_div(*exact, kUs) * kUs);
  }
}

TEST(VmAdmission, DefaultPeriodIsHalfTheShortestRoundedDownToMicroseconds) {
  EXPECT_EQ(default_vcpu_period({task("a", 1 * kMs, 1), task("b", 3 * kMs, 1)}), 500 * kUs);
  EXPECT_EQ(default_vcpu_period({task("a", 3'333'333, 1)}), 1666 * kUs);
  EXPECT_EQ(default_vcpu_period({task("a", 1500, 1)}), 1 * kUs);  // never below 1 µs
  Task d = task("d", 10 * kMs, 1);
  d.deadline = 2 * kMs;  // a shorter deadline counts
  EXPECT_EQ(default_vcpu_period({d}), 1 * kMs);
  auto r = admit_vms({vm("g", LocalScheduler::Edf, {vcpu("0", {task("a", 2 * kMs, 100 * kUs)})})});
  EXPECT_EQ(r.vms[0].vcpus[0].period, 1 * kMs);
}

TEST(VmAdmission, FullBandwidthFitsExactlyAndNothingMore) {
  // C = T = Π: the vCPU needs the whole pCPU (Θ = Π), Σ = 1 exactly.
  auto full = vm("full", LocalScheduler::Edf, {vcpu("1", {task("a", 1 * kMs, 1 * kMs)}, 1 * kMs)});
  auto more = vm("more", LocalScheduler::Edf, {vcpu("1", {task("b", 10 * kMs, 10 * kUs)})});
  auto r = admit_vms({full, more});
  EXPECT_FALSE(r.admitted);
  EXPECT_TRUE(r.vms[0].admitted);
  EXPECT_EQ(r.vms[0].vcpus[0].budget, 1 * kMs);
  EXPECT_EQ(r.vms[0].vcpus[0].gap(), 0);
  EXPECT_FALSE(r.vms[1].admitted);
  ASSERT_EQ(r.vms[1].problems.size(), 1u);
  EXPECT_NE(r.vms[1].problems[0].find("fits on none of pCPUs 1"), std::string::npos) << r.vms[1].problems[0];
  ASSERT_EQ(r.pcpus.size(), 1u);  // only the admitted VM's load
  EXPECT_EQ(r.pcpus[0].cpu, 1);
  EXPECT_DOUBLE_EQ(r.pcpus[0].bandwidth, 1.0);
  EXPECT_EQ(r.pcpus[0].vcpus, std::vector<std::string>{"full/0"});
}

TEST(VmAdmission, FirstFitMovesToTheNextListedCpu) {
  auto big = vm("big", LocalScheduler::Edf, {vcpu("2", {task("a", 1 * kMs, 600 * kUs)}, 1 * kMs)});
  auto second = vm("second", LocalScheduler::Edf, {vcpu("2-3", {task("b", 1 * kMs, 600 * kUs)}, 1 * kMs)});
  auto r = admit_vms({big, second});
  ASSERT_TRUE(r.admitted);
  EXPECT_EQ(r.vms[0].vcpus[0].pcpu, 2);
  EXPECT_EQ(r.vms[1].vcpus[0].pcpu, 3);
  ASSERT_EQ(r.pcpus.size(), 2u);
}

TEST(VmAdmission, ARejectedVmLeavesNoLoadBehind) {
  // vCPU 0 fits on CPU 0, vCPU 1 cannot be scheduled at all: the VM is
  // rejected and CPU 0 stays free for the next VM.
  auto bad = vm("bad", LocalScheduler::FixedPriority,
                {vcpu("0", {task("a", 1 * kMs, 900 * kUs)}, 1 * kMs),
                 vcpu("1", {task("x", 1 * kMs, 800 * kUs), task("y", 1 * kMs, 800 * kUs)})});
  auto good =
      vm("good", LocalScheduler::FixedPriority, {vcpu("0", {task("b", 1 * kMs, 900 * kUs)}, 1 * kMs)});
  auto r = admit_vms({bad, good});
  EXPECT_FALSE(r.admitted);
  EXPECT_FALSE(r.vms[0].admitted);
  EXPECT_FALSE(r.vms[0].vcpus[1].schedulable);
  EXPECT_TRUE(r.vms[1].admitted);
  ASSERT_EQ(r.pcpus.size(), 1u);
  EXPECT_EQ(r.pcpus[0].vcpus, std::vector<std::string>{"good/0"});
}

TEST(VmAdmission, ExplicitPrioritiesAreKept) {
  // Rate-monotonic order admits; the reverse order needs more budget.
  std::vector<Task> rm{task("fast", 1 * kMs, 200 * kUs, 2), task("slow", 10 * kMs, 4 * kMs, 1)};
  std::vector<Task> rev{task("fast", 1 * kMs, 200 * kUs, 1), task("slow", 10 * kMs, 4 * kMs, 2)};
  auto a = admit_vms({vm("rm", LocalScheduler::FixedPriority, {vcpu("0", rm, 500 * kUs)})});
  auto b = admit_vms({vm("rev", LocalScheduler::FixedPriority, {vcpu("0", rev, 500 * kUs)})});
  ASSERT_TRUE(a.admitted);
  EXPECT_TRUE(!b.admitted || b.vms[0].vcpus[0].budget > a.vms[0].vcpus[0].budget);
}
