// The simulator (src/sim, docs/hypervisor.md "Simulator"): the RTDS
// cross-check of the VM admission, partitioned isolation, determinism, bad
// input, and the research survey's claims about Xen credit and I/O.
// Everything is simulated time, so every comparison is exact unless a
// tolerance is stated next to it.
#include "report/sim.hpp"

#include <gtest/gtest.h>

#include <random>

#include "manifest/manifest.hpp"
#include "rtcell/analysis/vm.hpp"
#include "sim/sim.hpp"
#include "unit/error_helpers.hpp"

namespace {

using rtcell::CpuSet;
using rtcell::analysis::LocalScheduler;
using rtcell::analysis::Task;
using rtcell::analysis::Time;
using namespace rtcell::sim;

constexpr Time kUs = 1'000;
constexpr Time kMs = 1'000'000;

Task task(const std::string& name, Time period, Time wcet, Time deadline = 0) {
  Task t;
  t.name = name;
  t.period = period;
  t.wcet = wcet;
  t.deadline = deadline > 0 ? deadline : period;
  return t;
}

SimVcpu vcpu(const std::string& cpus, std::vector<Task> tasks, Time period = 0, Time budget = 0) {
  SimVcpu v;
  v.pcpus = CpuSet::parse(cpus);
  v.period = period;
  v.budget = budget;
  for (auto& t : tasks) v.tasks.push_back(SimTask{std::move(t), 0, 0});
  return v;
}

SimVm vm(const std::string& name, std::vector<SimVcpu> vcpus,
         LocalScheduler s = LocalScheduler::FixedPriority) {
  SimVm m;
  m.name = name;
  m.scheduler = s;
  m.vcpus = std::move(vcpus);
  return m;
}

int64_t misses_of(const SimResult& r, const std::string& vm_name) {
  int64_t n = 0;
  for (const auto& t : r.tasks)
    if (t.vm == vm_name) n += t.misses;
  return n;
}

const TaskResult& task_of(const SimResult& r, const std::string& name) {
  for (const auto& t : r.tasks)
    if (t.name == name) return t;
  ADD_FAILURE() << "no task " << name;
  return r.tasks.front();
}

// Admitted VMs, as `rtcell sim` builds them: admission, then the servers
// it derived, pinned where it placed them.
std::vector<SimVm> admitted(const std::vector<rtcell::analysis::VmSpec>& specs, Time shrink = 0) {
  const auto verdict = rtcell::analysis::admit_vms(specs);
  EXPECT_TRUE(verdict.admitted);
  return from_admission(specs, verdict, shrink, true);
}

// ---- RTDS against the admission ---------------------------------------

const char* kExample = R"(version: 1
vms:
  - name: motor
    memory: 64
    sched: fp
    period: 500us
    vcpus: ["1"]
    tasks:
      - {name: current, period: 1ms, wcet: 100us, vcpu: 0}
      - {name: speed, period: 5ms, wcet: 600us, vcpu: 0}
  - name: vision
    memory: 128
    sched: edf
    vcpus:
      - cpus: "1-2"
      - {cpus: "2", period: 2ms}
    tasks:
      - {name: capture, period: 10ms, wcet: 2ms, vcpu: 0}
      - {name: detect, period: 20ms, wcet: 5ms, deadline: 15ms, vcpu: 1}
      - {name: track, period: 5ms, wcet: 1ms, vcpu: 1}
)";

TEST(SimRtds, AdmittedManifestMeetsEveryDeadlineUnderBothServerKinds) {
  const auto m = rtcell::manifest::parse(kExample, "example.yaml");
  const auto vms = admitted(rtcell::manifest::to_vm_specs(m));
  for (ServerKind kind : {ServerKind::Deferrable, ServerKind::Periodic}) {
    SimOptions opt;
    opt.duration = 400 * kMs;  // 20 hyperperiods of the 20 ms task set
    opt.server = kind;
    const auto r = simulate(vms, opt);
    EXPECT_EQ(r.total_misses(), 0) << rtcell::report::sim_text(r);
    for (const auto& v : r.vcpus) EXPECT_LE(v.worst_gap, 2 * (v.period - v.budget)) << v.vm << "/" << v.vcpu;
  }
}

// Random task sets from a fixed seed: every admitted set meets every
// deadline over 10 hyperperiods (periods from {5, 10, 20, 40} ms, so the
// default server periods, half the shortest task period, divide 40 ms).
TEST(SimRtds, RandomAdmittedSetsNeverMiss) {
  std::mt19937_64 rng(17);
  const Time periods[] = {5 * kMs, 10 * kMs, 20 * kMs, 40 * kMs};
  int simulated = 0;
  for (int round = 0; round < 40; ++round) {
    std::vector<rtcell::analysis::VmSpec> specs;
    const int nvm = 2 + static_cast<int>(rng() % 3);
    for (int v = 0; v < nvm; ++v) {
      rtcell::analysis::VmSpec s;
      s.name = "vm" + std::to_string(v);
      s.scheduler = rng() % 2 ? LocalScheduler::Edf : LocalScheduler::FixedPriority;
      const int ncpu = 1 + static_cast<int>(rng() % 2);
      for (int c = 0; c < ncpu; ++c) {
        rtcell::analysis::VcpuSpec vc;
        vc.pcpus = CpuSet::parse("0-1");
        const int ntask = 1 + static_cast<int>(rng() % 3);
        for (int k = 0; k < ntask; ++k) {
          const Time p = periods[rng() % 4];
          const Time c_ns = std::max<Time>(kUs, (p / 100) * static_cast<Time>(2 + rng() % 12));  // 2..13 %
          vc.tasks.push_back(task("t" + std::to_string(v) + std::to_string(c) + std::to_string(k), p, c_ns));
        }
        s.vcpus.push_back(std::move(vc));
      }
      specs.push_back(std::move(s));
    }
    // Keep the VMs the admission admits, as `rtcell emit` would.
    const auto verdict = rtcell::analysis::admit_vms(specs);
    std::vector<rtcell::analysis::VmSpec> kept;
    for (size_t i = 0; i < specs.size(); ++i)
      if (verdict.vms[i].admitted) kept.push_back(specs[i]);
    if (kept.empty()) continue;
    const auto vms = admitted(kept);
    for (ServerKind kind : {ServerKind::Deferrable, ServerKind::Periodic}) {
      SimOptions opt;
      opt.duration = 400 * kMs;
      opt.server = kind;
      const auto r = simulate(vms, opt);
      EXPECT_EQ(r.total_misses(), 0) << "round " << round << "\n" << rtcell::report::sim_text(r);
    }
    ++simulated;
  }
  EXPECT_GE(simulated, 30) << "too few admitted sets to mean anything";
}

// The critical set: one task (T 20 ms, C 2 ms, D 14 ms) on a vCPU with
// Π = 10 ms. sbf(14 ms) = 2Θ − 6 ms (Shin & Lee 2003, Eq. (1)), so the
// admission derives Θ = 4 ms. A second vCPU on the same pCPU takes the rest
// (Π − Θ); with equal deadlines the one running keeps the pCPU, so the
// first vCPU runs at the start of one period and at the end of the next:
// the blackout 2(Π − Θ) = 12 ms of the periodic resource model. The task
// released at its start finishes exactly at its deadline with Θ, and 1 µs
// late with Θ − 1 µs.
struct Critical {
  Time theta = 0;
  SimResult r;
};

Critical run_critical(Time shrink) {
  rtcell::analysis::VmSpec s;
  s.name = "a";
  s.period = 10 * kMs;
  rtcell::analysis::VcpuSpec vc;
  vc.pcpus = CpuSet::parse("0");
  vc.tasks.push_back(task("tau", 20 * kMs, 2 * kMs, 14 * kMs));
  s.vcpus.push_back(vc);
  auto vms = admitted({s}, shrink);
  const Time theta = vms[0].vcpus[0].budget;
  vms[0].vcpus[0].tasks[0].phase = theta;  // released when the blackout starts
  vms.push_back(vm("filler", {vcpu("0", {task("hog", 10 * kMs, 10 * kMs)}, 10 * kMs, 10 * kMs - theta)}));
  SimOptions opt;
  opt.duration = 200 * kMs;
  opt.server = ServerKind::Periodic;  // the supply the model assumes
  opt.on_miss = MissPolicy::Drop;     // the filler is overloaded on purpose
  return {theta + shrink, simulate(vms, opt)};
}

TEST(SimRtds, CriticalSetMeetsDeadlinesWithAdmittedBudgetAndMissesWithOneMicrosecondLess) {
  const auto ok = run_critical(0);
  ASSERT_EQ(ok.theta, 4 * kMs) << "the admission's Θ changed; recompute the critical set";
  EXPECT_EQ(misses_of(ok.r, "a"), 0) << rtcell::report::sim_text(ok.r);
  EXPECT_EQ(task_of(ok.r, "tau").response.max, 14 * kMs);  // exactly the deadline
  // The observed worst service gap is the model's 2(Π − Θ).
  EXPECT_EQ(ok.r.vcpus[0].worst_gap, 2 * (10 * kMs - 4 * kMs));

  const auto short_budget = run_critical(kUs);
  // Every job is released at a blackout's start, so every job misses (and
  // is dropped at its deadline).
  EXPECT_GT(misses_of(short_budget.r, "a"), 0) << rtcell::report::sim_text(short_budget.r);
  EXPECT_EQ(task_of(short_budget.r, "tau").misses, task_of(short_budget.r, "tau").jobs);
}

// RT-Xen 2.0 (Xi et al., EMSOFT 2014): global EDF at the VMM meets more
// workloads than the compositional analysis admits. Three VMs, one vCPU
// each, one task (10 ms, 5 ms) on pCPUs 0-1: Π = 5 ms, Θ = 3.334 ms
// (bandwidth 0.667), so only two fit, and the third is rejected; simulated
// with the same budgets under global EDF over both pCPUs (--affinity pool),
// no job misses, with either server kind.
TEST(SimRtds, GlobalEdfMeetsASetTheCompositionalAnalysisRejects) {
  std::vector<rtcell::analysis::VmSpec> specs;
  for (int v = 0; v < 3; ++v) {
    rtcell::analysis::VmSpec s;
    s.name = "vm" + std::to_string(v);
    rtcell::analysis::VcpuSpec c;
    c.pcpus = CpuSet::parse("0-1");
    c.tasks.push_back(task("t", 10 * kMs, 5 * kMs));
    s.vcpus.push_back(c);
    specs.push_back(s);
  }
  const auto verdict = rtcell::analysis::admit_vms(specs);
  ASSERT_FALSE(verdict.vms[2].admitted);
  ASSERT_EQ(verdict.vms[2].vcpus[0].budget, 3334 * kUs);
  const auto vms = from_admission(specs, verdict, 0, false);
  for (ServerKind kind : {ServerKind::Deferrable, ServerKind::Periodic}) {
    SimOptions opt;
    opt.duration = 1000 * kMs;
    opt.server = kind;
    const auto r = simulate(vms, opt);
    EXPECT_EQ(r.total_misses(), 0) << rtcell::report::sim_text(r);
  }
}

// RT-Xen (Xi et al., EMSOFT 2011): for soft real-time guests under
// overload, a deferrable server misses fewer deadlines than a periodic one,
// which burns its budget while its guest idles. Three VMs on one pCPU,
// servers (10 ms, 3.333 ms), each guest two tasks with release jitter up to
// 19 ms (sporadic arrivals): (20 ms, L/2) and (30 ms, L/2) for L = 4, 6,
// 8 ms, late jobs dropped. Measured miss ratios deferrable/periodic: 0.13/
// 0.24, 0.21/0.32, 0.62/0.72 (seed 5). Asserted: deferrable strictly fewer
// misses at every load.
TEST(SimRtds, DeferrableServerMissesLessThanPeriodicWhenOverloaded) {
  for (Time load : {4 * kMs, 6 * kMs, 8 * kMs}) {
    std::vector<SimVm> vms;
    for (int v = 0; v < 3; ++v) {
      auto a = task("a", 20 * kMs, load / 2);
      a.jitter = 19 * kMs;
      auto b = task("b", 30 * kMs, load / 2);
      b.jitter = 19 * kMs;
      vms.push_back(vm("vm" + std::to_string(v), {vcpu("0", {a, b}, 10 * kMs, 3333 * kUs)}));
    }
    int64_t misses[2] = {0, 0};
    for (ServerKind kind : {ServerKind::Deferrable, ServerKind::Periodic}) {
      SimOptions opt;
      opt.duration = 10'000 * kMs;
      opt.on_miss = MissPolicy::Drop;
      opt.server = kind;
      opt.seed = 5;
      misses[kind == ServerKind::Periodic ? 1 : 0] = simulate(vms, opt).total_misses();
    }
    EXPECT_LT(misses[0], misses[1]) << "load " << load;
    EXPECT_GT(misses[0], 0) << "load " << load << " is not an overload";
  }
}

// ---- partitioned ---------------------------------------------------------

TEST(SimPartitioned, AnOverloadedVmDoesNotChangeAnotherVmsTimes) {
  const SimVm a = vm("a", {vcpu("0", {task("x", 5 * kMs, 2 * kMs), task("y", 7 * kMs, 3 * kMs)}),
                           vcpu("1", {task("z", 3 * kMs, 1 * kMs)})});
  const SimVm hog =
      vm("hog", {vcpu("2", {task("h", 1 * kMs, 2 * kMs)}), vcpu("3", {task("g", 2 * kMs, 2 * kMs)})});
  SimOptions opt;
  opt.scheduler = HostScheduler::Partitioned;
  opt.duration = 1000 * kMs;
  opt.on_miss = MissPolicy::Drop;
  const auto alone = simulate({a}, opt);
  const auto shared = simulate({a, hog}, opt);
  EXPECT_GT(misses_of(shared, "hog"), 0);
  EXPECT_EQ(misses_of(shared, "a"), 0);
  for (size_t i = 0; i < alone.tasks.size(); ++i) {
    EXPECT_EQ(alone.tasks[i].jobs, shared.tasks[i].jobs);
    EXPECT_EQ(alone.tasks[i].response.max, shared.tasks[i].response.max) << alone.tasks[i].name;
    EXPECT_EQ(alone.tasks[i].response.avg, shared.tasks[i].response.avg) << alone.tasks[i].name;
  }
}

// ---- determinism -----------------------------------------------------------

std::vector<SimVm> jittery() {
  auto t1 = task("a", 10 * kMs, 3 * kMs);
  t1.jitter = 2 * kMs;
  auto t2 = task("b", 15 * kMs, 4 * kMs);
  t2.jitter = 3 * kMs;
  return {vm("j", {vcpu("0", {t1, t2})}), vm("k", {vcpu("0", {task("c", 20 * kMs, 5 * kMs)})})};
}

TEST(SimDeterminism, SameSeedGivesIdenticalJsonAndAnotherSeedDiffers) {
  for (HostScheduler s : {HostScheduler::Credit, HostScheduler::Rtds}) {
    auto vms = jittery();
    for (auto& m : vms) m.vcpus[0].period = 5 * kMs, m.vcpus[0].budget = 2500 * kUs;
    SimOptions opt;
    opt.scheduler = s;
    opt.duration = 2000 * kMs;
    opt.on_miss = MissPolicy::Drop;
    opt.seed = 42;
    const auto a = rtcell::report::sim_json(simulate(vms, opt)).dump();
    const auto b = rtcell::report::sim_json(simulate(vms, opt)).dump();
    EXPECT_EQ(a, b);
    opt.seed = 43;
    EXPECT_NE(a, rtcell::report::sim_json(simulate(vms, opt)).dump()) << "the seed does not reach the jitter";
  }
}

// ---- bad input --------------------------------------------------------------

TEST(SimBadInput, RefusedBeforeStartingWithOneLine) {
  using rtcell::ErrorKind;
  using rtcell::test::kind_of;
  using rtcell::test::message_of;
  SimOptions opt;
  opt.scheduler = HostScheduler::Credit;
  const auto zero = vm("z", {vcpu("0", {task("p0", 0, 1 * kMs, 1 * kMs)})});
  EXPECT_EQ(kind_of([&] { simulate({zero}, opt); }), ErrorKind::Usage);
  EXPECT_NE(message_of([&] { simulate({zero}, opt); }).find("period 0"), std::string::npos);

  // 1.5 CPUs of work on one CPU, late jobs kept: the backlog would grow
  // without bound.
  const auto over = vm("o", {vcpu("0", {task("a", 10 * kMs, 8 * kMs), task("b", 10 * kMs, 7 * kMs)})});
  const auto msg = message_of([&] { simulate({over}, opt); });
  EXPECT_NE(msg.find("--on-miss drop"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  opt.on_miss = MissPolicy::Drop;
  EXPECT_GT(simulate({over}, opt).total_misses(), 0);

  opt.scheduler = HostScheduler::Partitioned;
  const auto b = vm("b", {vcpu("0", {task("c", 10 * kMs, 1 * kMs)})});
  EXPECT_NE(message_of([&] { simulate({b, b}, opt); }).find("no physical CPU of its own"), std::string::npos);

  opt.scheduler = HostScheduler::Rtds;  // no budget: not admitted
  EXPECT_NE(message_of([&] { simulate({b}, opt); }).find("0 < budget <= period"), std::string::npos);

  auto io = b;
  io.vcpus[0].tasks[0].io = 1;
  opt.scheduler = HostScheduler::Credit;
  EXPECT_NE(message_of([&] { simulate({io}, opt); }).find("--driver"), std::string::npos);
}

}  // namespace

namespace {

// ---- Xen credit and the driver domain (the research survey's claims) ----

// One pCPU: a driver domain (dom0) serving every I/O request for 100 µs of
// its CPU time, and guests. `driver_hog`: dom0 also runs a CPU-bound task,
// so it spends its credit and is OVER at most accountings.
struct CreditCase {
  bool driver_hog = false;
  int io_guests = 1;    // guests whose jobs end with an I/O request (10 ms, 1.5 ms)
  int hog_guests = 0;   // CPU-bound guests (never block, so never BOOSTed)
  int busy_guests = 0;  // guests with 7 ms of work every 30 ms: UNDER, not CPU-bound
  bool boost = true;
};

SimResult run_credit(const CreditCase& c) {
  std::vector<SimVm> vms;
  SimVm dom0 = vm("dom0", {vcpu("0", {})});
  dom0.driver = true;
  if (c.driver_hog) dom0.vcpus[0].tasks.push_back(SimTask{task("spin", 10 * kMs, 10 * kMs), 0, 0});
  vms.push_back(dom0);
  for (int i = 0; i < c.io_guests; ++i) {
    SimVm g =
        vm("io" + std::to_string(i), {vcpu("0", {task("req" + std::to_string(i), 10 * kMs, 1500 * kUs)})});
    g.vcpus[0].tasks[0].io = 1;
    vms.push_back(g);
  }
  for (int i = 0; i < c.hog_guests; ++i)
    vms.push_back(vm("hog" + std::to_string(i), {vcpu("0", {task("spin", 10 * kMs, 10 * kMs)})}));
  for (int i = 0; i < c.busy_guests; ++i) {
    SimVm b = vm("busy" + std::to_string(i), {vcpu("0", {task("work", 100 * kMs, 20 * kMs)})});
    b.weight = 1024;  // a share (40 %) above its load (20 %): UNDER even in its 20 ms bursts
    vms.push_back(b);
  }
  SimOptions opt;
  opt.scheduler = HostScheduler::Credit;
  opt.duration = 3000 * kMs;
  opt.on_miss = MissPolicy::Drop;
  opt.credit_boost = c.boost;
  return simulate(vms, opt);
}

// Claim 1 (the survey): a driver domain that spent its credit (OVER) waits
// behind every UNDER vCPU and, among the OVER ones, for its turn of 30 ms
// slices, so every guest's I/O waits; an UNDER driver is BOOSTed when a
// request wakes it and preempts after the 1 ms rate limit. Measured: mean
// latency 19.3 ms (OVER) against 0.20 ms (UNDER); asserted with a wide
// margin, at least 20x. With UNDER competitors that block (busy guests):
// 10.4 ms against 3.0 ms; asserted at least 2x.
TEST(SimCredit, OverDriverDomainDelaysEveryGuestsIo) {
  const auto under = run_credit({false, 1, 3, 0, true});
  const auto over = run_credit({true, 1, 3, 0, true});
  ASSERT_GT(under.io.count, 250);  // ~300 requests in 3 s
  ASSERT_GT(over.io.count, 250);
  EXPECT_GE(over.io.avg, 20 * under.io.avg) << over.io.avg << " vs " << under.io.avg;
  EXPECT_GE(over.io.p99, 30 * kMs);  // a full slice of another domain at least
  const auto under_busy = run_credit({false, 1, 0, 2, true});
  const auto over_busy = run_credit({true, 1, 0, 2, true});
  EXPECT_GE(over_busy.io.avg, 2 * under_busy.io.avg) << over_busy.io.avg << " vs " << under_busy.io.avg;
}

// Claim 2: BOOST removes the delay while few domains do I/O and loses it
// when all do ("when every domain is boosted, none is"). Measured mean
// latencies: one I/O guest among CPU hogs 0.20 ms with BOOST, 0.40 ms
// without; four I/O guests 2.5 ms with BOOST and 2.5 ms without.
// Asserted: BOOST at least 1.5x better with one I/O guest; four I/O guests
// at least 5x worse than one; BOOST then gains under 10 %.
TEST(SimCredit, BoostHelpsWhileFewDomainsDoIoAndNotWhenAllDo) {
  const auto few = run_credit({false, 1, 3, 0, true});
  const auto few_no_boost = run_credit({false, 1, 3, 0, false});
  const auto all = run_credit({false, 4, 0, 0, true});
  const auto all_no_boost = run_credit({false, 4, 0, 0, false});
  ASSERT_GT(all.io.count, 1000);
  EXPECT_GE(2 * few_no_boost.io.avg, 3 * few.io.avg) << few_no_boost.io.avg << " vs " << few.io.avg;
  EXPECT_GE(all.io.avg, 5 * few.io.avg) << all.io.avg << " vs " << few.io.avg;
  EXPECT_GE(10 * all.io.avg, 9 * all_no_boost.io.avg) << all.io.avg << " vs " << all_no_boost.io.avg;
}

}  // namespace
