// plan_tune against the fixture trees: which knobs a --apply would change.
// Planning only reads, so this needs no root and touches no file.
#include <gtest/gtest.h>

#include <algorithm>

#include "host/tune.hpp"
#include "rtcell/error.hpp"

using namespace rtcell;
using namespace rtcell::host;

namespace {

TuneOptions opts(const std::string& tree, const std::string& cpus) {
  TuneOptions o;
  o.root = std::string(RTCELL_FIXTURES) + "/hosts/" + tree;
  o.rt_cpus = CpuSet::parse(cpus);
  return o;
}

const TuneAction* find(const TunePlan& p, const std::string& path) {
  auto it =
      std::find_if(p.actions.begin(), p.actions.end(), [&](const TuneAction& a) { return a.path == path; });
  return it == p.actions.end() ? nullptr : &*it;
}

}  // namespace

TEST(HostTune, PlanOnStockJetson) {
  auto plan = plan_tune(opts("jetson-agx-orin-jp6-stock", "4-11"));
  auto* gov = find(plan, "/sys/devices/system/cpu/cpu4/cpufreq/scaling_governor");
  ASSERT_NE(gov, nullptr);
  EXPECT_EQ(gov->current, "schedutil");
  EXPECT_EQ(gov->target, "performance");
  EXPECT_EQ(find(plan, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
            nullptr);  // housekeeping CPU
  auto* irq = find(plan, "/proc/irq/211/smp_affinity_list");
  ASSERT_NE(irq, nullptr);
  EXPECT_EQ(irq->target, "0-3");
  EXPECT_TRUE(irq->skippable);
  EXPECT_EQ(find(plan, "/proc/irq/default_smp_affinity")->target, "f");
  EXPECT_EQ(find(plan, "/proc/sys/kernel/watchdog_cpumask")->target, "0-3");
  EXPECT_EQ(find(plan, "/proc/sys/kernel/sched_rt_runtime_us"), nullptr);  // only when asked
  EXPECT_EQ(
      plan.boot_line,
      "isolcpus=managed_irq,domain,4-11 nohz_full=4-11 rcu_nocbs=4-11 irqaffinity=0-3 kthread_cpus=0-3");
  EXPECT_TRUE(std::any_of(plan.notes.begin(), plan.notes.end(),
                          [](const std::string& n) { return n.find("nvpmodel -m 0") != std::string::npos; }));
}

// A managed IRQ (NVMe's, per debugfs) is predicted as refused by the dry
// run; --apply then skips it (tests/integration/tune_real_test.cpp).
TEST(HostTune, ManagedIrqIsPredictedAsRefused) {
  auto plan = plan_tune(opts("x86-preempt-rt-server", "2-7"));
  ASSERT_NE(find(plan, "/proc/irq/130/smp_affinity_list"), nullptr);
  EXPECT_TRUE(std::any_of(plan.notes.begin(), plan.notes.end(), [](const std::string& n) {
    return n.find("IRQ 130 is managed by its driver") != std::string::npos;
  }));
  EXPECT_FALSE(std::any_of(plan.notes.begin(), plan.notes.end(), [](const std::string& n) {
    return n.find("IRQ 120 is managed") != std::string::npos;
  }));
}

TEST(HostTune, TunedTreeNeedsNothing) {
  auto plan = plan_tune(opts("jetson-agx-orin-jp6-rt-tuned", "4-11"));
  EXPECT_TRUE(plan.actions.empty()) << plan.actions.front().path;
  EXPECT_GT(plan.already, 0);
}

TEST(HostTune, RefusesBadCpuSets) {
  EXPECT_THROW(plan_tune(opts("this-vm", "0-1")), Error);  // no housekeeping CPU
  EXPECT_THROW(plan_tune(opts("this-vm", "5")), Error);    // not online
  TuneOptions o = opts("this-vm", "1");
  o.rt_cpus = CpuSet{};
  EXPECT_THROW(plan_tune(o), Error);
}

TEST(HostTune, StateFileDefaultsUnderRoot) {
  TuneOptions o;
  o.root = "/tmp/tree";
  EXPECT_EQ(state_file_of(o), "/tmp/tree/var/lib/rtcell/tune.json");
  o.state_file = "/x.json";
  EXPECT_EQ(state_file_of(o), "/x.json");
}
