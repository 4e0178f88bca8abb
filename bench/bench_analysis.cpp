// Speed of the admission analyses (issue 4 targets on this machine: RTA of
// 1 000 tasks < 1 ms, QPA of 1 000 tasks < 5 ms, minimum-budget search for
// 100 cells x 20 tasks < 100 ms; issue 17: VM admission of 10 VMs x 4
// vCPUs x 20 tasks < 100 ms; `rtcell sim` of 4 VMs x 2 vCPUs x 10 tasks over
// 10 simulated seconds well under a second). Never asserts a time. The anchor is one
// pass of the RTA inner sum over 1 000 tasks (1 000 ceil-divisions), run in
// the same process, so results can be read as ratios on a loaded machine.
//
// Task sets are generated deterministically (fixed LCG seed): periods
// spread over one decade (1-9 ms) or three (1 ms-9 s) on a 1 us grid, utilization 0.7 split about
// evenly, deadline-monotonic priorities, deadlines = periods (RTA) or
// 0.8-1.0 x periods (QPA, constrained).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "rtcell/analysis/budget.hpp"
#include "rtcell/analysis/edf.hpp"
#include "rtcell/analysis/fp.hpp"
#include "rtcell/analysis/vm.hpp"
#include "sim/sim.hpp"

using namespace rtcell::analysis;

namespace {

struct Lcg {
  uint64_t s;
  uint64_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return s >> 33;
  }
};

// n tasks, total utilization util_permille/1000, deadlines dl_permille of the
// period (at least), all in ns.
std::vector<Task> make_set(size_t n, int64_t util_permille, int64_t dl_min_permille, uint64_t seed,
                           int decades = 3) {
  Lcg rng{seed};
  std::vector<Task> ts(n);
  for (size_t i = 0; i < n; ++i) {
    // 1 ms · 1000^(k/1000) on a 1 us grid, via an integer table of 10 steps.
    static const int64_t kSteps[] = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89};
    int64_t decade =
        static_cast<int64_t>(rng.next() % static_cast<uint64_t>(decades));  // 1 ms, 10 ms, 100 ms
    int64_t base = 1'000'000;
    for (int64_t d = 0; d < decade; ++d) base *= 10;
    int64_t period =
        base * kSteps[rng.next() % 10] / 1000 * 1000 + static_cast<int64_t>(rng.next() % 100) * 1000;
    // Share of the utilization: (0.5 .. 1.5) / n.
    int64_t share = 500 + static_cast<int64_t>(rng.next() % 1001);
    int64_t wcet = static_cast<int64_t>(static_cast<Wide>(period) * util_permille * share / 1000 / 1000 /
                                        static_cast<int64_t>(n));
    if (wcet < 1) wcet = 1;
    int64_t dl =
        period * (dl_min_permille + static_cast<int64_t>(rng.next() % (1001 - dl_min_permille))) / 1000;
    if (dl < wcet) dl = wcet;
    ts[i] = Task{"t", period, wcet, dl, 0, 0, std::nullopt};
  }
  auto pr = deadline_monotonic(ts);
  for (size_t i = 0; i < n; ++i) ts[i].priority = pr[i];
  return ts;
}

void BM_Anchor_RtaInnerSum1000(benchmark::State& state) {
  auto ts = make_set(1000, 700, 1000, 1);
  Time w = 987'654'321;
  for (auto _ : state) {
    Time sum = 0;
    for (const auto& t : ts) sum += ceil_div(w, t.period) * t.wcet;
    benchmark::DoNotOptimize(sum);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Anchor_RtaInnerSum1000);

void BM_Rta1000(benchmark::State& state) {
  auto ts = make_set(1000, static_cast<int64_t>(state.range(0)), 1000, 2, static_cast<int>(state.range(1)));
  bool ok = false;
  for (auto _ : state) {
    auto r = fp_analysis(ts);
    ok = r.schedulable;
    benchmark::DoNotOptimize(r);
  }
  state.counters["schedulable"] = ok ? 1 : 0;
}
// Args: utilization (per mille), decades of period spread (1: 1-9 ms; 3: 1 ms-9 s).
BENCHMARK(BM_Rta1000)
    ->Args({500, 1})
    ->Args({700, 1})
    ->Args({500, 3})
    ->Args({700, 3})
    ->Unit(benchmark::kMicrosecond);

void BM_Qpa1000(benchmark::State& state) {
  auto ts = make_set(1000, static_cast<int64_t>(state.range(0)), 800, 3, static_cast<int>(state.range(1)));
  bool ok = false;
  for (auto _ : state) {
    auto r = qpa(ts);
    ok = r.schedulable;
    benchmark::DoNotOptimize(r);
  }
  state.counters["schedulable"] = ok ? 1 : 0;
}
BENCHMARK(BM_Qpa1000)
    ->Args({500, 1})
    ->Args({700, 1})
    ->Args({500, 3})
    ->Args({700, 3})
    ->Unit(benchmark::kMicrosecond);

// 100 cells of 20 tasks (U 0.5 each), least Θ for Π = 1 ms, FP and EDF.
void BM_MinBudget100x20(benchmark::State& state) {
  bool edf = state.range(0) == 1;
  std::vector<std::vector<Task>> cells;
  for (uint64_t c = 0; c < 100; ++c) cells.push_back(make_set(20, 500, 1000, 100 + c));
  int64_t found = 0;
  for (auto _ : state) {
    found = 0;
    for (const auto& ts : cells) {
      auto th = min_budget(ts, edf ? LocalScheduler::Edf : LocalScheduler::FixedPriority, 1'000'000);
      found += th ? 1 : 0;
      benchmark::DoNotOptimize(th);
    }
  }
  state.counters["cells_with_budget"] = static_cast<double>(found);
}
BENCHMARK(BM_MinBudget100x20)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Issue 17: 10 VMs x 4 vCPUs x 20 tasks (U 0.3 per vCPU, periods over three
// decades), FP (arg 0) or EDF (arg 1) guests; each vCPU's Π is the default
// (half the shortest period), its Θ the least whole µs, and the 40 servers
// are placed first fit on CPUs 0-31 under the exact EDF bandwidth test.
void BM_VmAdmission10x4x20(benchmark::State& state) {
  bool edf = state.range(0) == 1;
  std::vector<VmSpec> vms;
  for (uint64_t v = 0; v < 10; ++v) {
    VmSpec vm;
    vm.name = "vm" + std::to_string(v);
    vm.scheduler = edf ? LocalScheduler::Edf : LocalScheduler::FixedPriority;
    for (uint64_t c = 0; c < 4; ++c) {
      VcpuSpec vc;
      vc.pcpus = rtcell::CpuSet::parse("0-31");
      vc.tasks = make_set(20, 300, 1000, 1000 + v * 4 + c);
      vm.vcpus.push_back(std::move(vc));
    }
    vms.push_back(std::move(vm));
  }
  size_t admitted = 0;
  for (auto _ : state) {
    VmAdmitResult r = admit_vms(vms);
    admitted = 0;
    for (const auto& v : r.vms) admitted += v.admitted ? 1 : 0;
    benchmark::DoNotOptimize(r);
  }
  state.counters["vms_admitted"] = static_cast<double>(admitted);
}
BENCHMARK(BM_VmAdmission10x4x20)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Issue 17: simulate 4 VMs x 2 vCPUs x 10 tasks (U 0.3 per vCPU, periods
// 1-99 ms, FP guests) for 10 simulated seconds under RTDS with the admitted
// budgets on CPUs 0-3 (arg 0), credit on CPUs 0-3 (arg 1), partitioned on
// CPUs 0-7 (arg 2). Admission is outside the timed loop.
void BM_Sim4x2x10Over10s(benchmark::State& state) {
  using namespace rtcell::sim;
  const auto sched = static_cast<HostScheduler>(state.range(0) == 0   ? HostScheduler::Rtds
                                                : state.range(0) == 1 ? HostScheduler::Credit
                                                                      : HostScheduler::Partitioned);
  std::vector<VmSpec> specs;
  for (uint64_t v = 0; v < 4; ++v) {
    VmSpec vm;
    vm.name = "vm" + std::to_string(v);
    for (uint64_t c = 0; c < 2; ++c) {
      VcpuSpec vc;
      vc.pcpus = rtcell::CpuSet::parse(sched == HostScheduler::Partitioned ? "0-7" : "0-3");
      vc.tasks = make_set(10, 300, 1000, 2000 + v * 2 + c, 2);
      vm.vcpus.push_back(std::move(vc));
    }
    specs.push_back(std::move(vm));
  }
  const auto vms = from_admission(specs, admit_vms(specs), 0, sched == HostScheduler::Rtds);
  SimOptions opt;
  opt.scheduler = sched;
  opt.duration = 10'000'000'000;
  int64_t jobs = 0, misses = 0;
  for (auto _ : state) {
    SimResult r = simulate(vms, opt);
    jobs = 0;
    for (const auto& t : r.tasks) jobs += t.jobs;
    misses = r.total_misses();
    benchmark::DoNotOptimize(r);
  }
  state.counters["jobs"] = static_cast<double>(jobs);
  state.counters["misses"] = static_cast<double>(misses);
}
BENCHMARK(BM_Sim4x2x10Over10s)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace
