// The simulator's one loop: at each event time it (1) completes the work
// that ended, (2) releases jobs, drops late ones, replenishes RTDS budgets
// and runs the credit tick and accounting, (3) notices vCPUs that woke up,
// (4) lets the host scheduler assign vCPUs to pCPUs, then (5) advances to
// the next event (a release, a completion, a budget running out, a
// replenishment, a credit tick or accounting, a time slice or rate limit
// ending). Between two events nothing changes, so every quantity is exact.
//
// Within a vCPU the guest runs its own scheduler (FP or EDF) over the ready
// job at the head of each task's queue (a task's jobs run in order); a
// driver vCPU serves pending I/O requests first (back-end work in its
// kernel), FIFO, each for SimOptions::io_service.
//
// Xen credit (xen/common/sched/credit.c) is modelled as its csched_schedule,
// csched_tick, csched_acct and csched_vcpu_wake do, with these
// simplifications (docs/hypervisor.md): credit is burnt exactly for the time
// run (as burn_credits() does since Xen 4.2) in ns, not in sampled ticks;
// a vCPU is "active" for accounting when it ran or was runnable in the last
// accounting period; credit is clamped to ±one time slice; load balancing is
// an idle pCPU taking the best waiting vCPU it may run.
#include "sim/sim.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <string>

#include "rtcell/error.hpp"
#include "util/units.hpp"

namespace rtcell::sim {

using analysis::kInfinity;
using analysis::LocalScheduler;
using analysis::Wide;

const char* to_string(HostScheduler s) noexcept {
  switch (s) {
    case HostScheduler::Credit:
      return "credit";
    case HostScheduler::Rtds:
      return "rtds";
    case HostScheduler::Partitioned:
      return "partitioned";
  }
  return "?";
}

int64_t SimResult::total_misses() const noexcept {
  int64_t n = 0;
  for (const auto& t : tasks) n += t.misses;
  return n;
}

namespace {

// splitmix64 (Steele, Lea & Flood 2014): tiny, and the same on every target.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() noexcept {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  Time below_or_equal(Time bound) noexcept {  // uniform-ish in [0, bound]
    return bound <= 0 ? 0 : static_cast<Time>(next() % static_cast<uint64_t>(bound + 1));
  }
};

std::string vcpu_name(const SimVm& vm, size_t i) {
  return vm.name + "/" + std::to_string(i);
}

// Every pCPU some vCPU may run on, ascending.
std::vector<int> all_pcpus(const std::vector<SimVm>& vms) {
  std::vector<int> cpus;
  for (const auto& vm : vms)
    for (const auto& v : vm.vcpus) cpus.insert(cpus.end(), v.pcpus.cpus().begin(), v.pcpus.cpus().end());
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

// Partitioned: each vCPU takes the lowest pCPU of its list no earlier vCPU
// took; -1 where none is left.
std::vector<int> dedicated_pcpus(const std::vector<SimVm>& vms) {
  std::vector<int> taken;
  std::vector<int> out;
  for (const auto& vm : vms)
    for (const auto& v : vm.vcpus) {
      int got = -1;
      for (int c : v.pcpus.cpus())
        if (std::find(taken.begin(), taken.end(), c) == taken.end()) {
          got = c;
          break;
        }
      if (got >= 0) taken.push_back(got);
      out.push_back(got);
    }
  return out;
}

constexpr int64_t kMaxJobs = 50'000'000;

}  // namespace

void validate(const std::vector<SimVm>& vms, const SimOptions& opt) {
  if (vms.empty()) usage_error("the manifest has no vms: section; add VMs (docs/hypervisor.md)");
  if (opt.duration <= 0) usage_error("--duration must be above 0 (e.g. --duration 10s)");
  if (opt.io_service <= 0) usage_error("--io-service must be above 0 (e.g. 100us)");
  int drivers = 0;
  bool any_io = false;
  std::vector<analysis::Task> load;
  Wide jobs = 0;
  for (const auto& vm : vms) {
    if (vm.driver) ++drivers;
    if (vm.weight <= 0 || vm.weight > 65535) usage_error("VM " + vm.name + ": weight must be 1..65535");
    if (vm.cap < 0 || vm.cap > 100) usage_error("VM " + vm.name + ": cap must be 0..100 (% of one CPU)");
    if (vm.vcpus.empty()) usage_error("VM " + vm.name + " has no vCPU; give it vcpus:");
    for (size_t i = 0; i < vm.vcpus.size(); ++i) {
      const auto& v = vm.vcpus[i];
      const std::string where = "vCPU " + vcpu_name(vm, i);
      if (v.pcpus.empty()) usage_error(where + " may run on no physical CPU; give it cpus:");
      if (opt.scheduler == HostScheduler::Rtds) {
        if (v.period <= 0 || v.budget <= 0 || v.budget > v.period)
          usage_error(where + " has RTDS budget " + util::format_time_ns(v.budget) + " for period " +
                      util::format_time_ns(v.period) +
                      ": it needs 0 < budget <= period (was the VM admitted? is --budget-delta too large?)");
        if (v.server_phase < 0) usage_error(where + ": server phase must be >= 0");
      }
      for (const auto& st : v.tasks) {
        const auto& t = st.task;
        const std::string tw = "task " + t.name + " of " + vcpu_name(vm, i);
        if (t.period <= 0)
          usage_error(tw + " has period 0: the simulation would never end; give it a period above 0");
        if (t.wcet <= 0) usage_error(tw + " has WCET 0; give it a WCET above 0");
        if (t.deadline <= 0) usage_error(tw + " has deadline 0; give it a deadline above 0");
        if (st.phase < 0 || t.jitter < 0 || st.io < 0)
          usage_error(tw + ": phase, jitter and io must be >= 0");
        jobs += opt.duration / t.period + 1;
        load.push_back(t);
        if (st.io > 0) {
          any_io = true;
          analysis::Task io;
          io.period = t.period;
          io.wcet = analysis::sat_mul(opt.io_service, st.io);
          io.deadline = t.period;
          load.push_back(io);
        }
      }
    }
  }
  if (drivers > 1) usage_error("more than one driver domain; mark one VM with --driver");
  if (any_io && drivers == 0)
    usage_error("tasks issue I/O but no VM is the driver domain; name one with --driver VM");
  if (jobs > kMaxJobs)
    usage_error("" + std::to_string(static_cast<int64_t>(jobs)) + " jobs in " +
                util::format_time_ns(opt.duration) + " is more than " + std::to_string(kMaxJobs) +
                "; shorten --duration or lengthen the periods");
  const auto cpus = all_pcpus(vms);
  if (opt.on_miss == MissPolicy::Keep &&
      analysis::compare_utilization(load, analysis::Ratio{static_cast<Time>(cpus.size()), 1}) ==
          analysis::Compare::Greater) {
    char u[32];
    std::snprintf(u, sizeof u, "%.3f", analysis::utilization_double(load));
    usage_error(std::string("total utilization ") + u + " exceeds the " + std::to_string(cpus.size()) +
                " physical CPUs and late jobs are kept, so the backlog would grow without bound; pass "
                "--on-miss drop or lower the load");
  }
  if (opt.scheduler == HostScheduler::Partitioned) {
    const auto ded = dedicated_pcpus(vms);
    size_t k = 0;
    for (const auto& vm : vms)
      for (size_t i = 0; i < vm.vcpus.size(); ++i, ++k)
        if (ded[k] < 0)
          usage_error("vCPU " + vcpu_name(vm, i) + " has no physical CPU of its own among " +
                      vm.vcpus[i].pcpus.to_string() +
                      " (the partitioned scheduler shares none); give the VMs disjoint cpus:");
  }
}

namespace {

struct Job {
  int64_t serial = 0;
  Time release = 0, ready = 0, deadline = 0, remaining = 0;
  int io_left = 0;
  bool waiting_io = false;
  Time io_issued = 0;
};

struct TaskState {
  const SimTask* def = nullptr;
  int vcpu = 0;      // global vCPU id
  int64_t rank = 0;  // FP: larger is more urgent
  int64_t k = 0;     // next job's serial
  Time next_ready = 0;
  Time last_ready = 0;
  std::deque<Job> jobs;
  std::vector<Time> resp, io;
  int64_t counted = 0, misses = 0;
};

struct IoReq {
  int task = 0;
  int64_t serial = 0;
  Time issued = 0, remaining = 0;
};

enum class Pri { Over = 1, Under = 2, Boost = 3 };

struct VcpuState {
  int vm = 0, index = 0;
  LocalScheduler sched = LocalScheduler::FixedPriority;
  bool driver = false;
  std::vector<int> tasks;
  CpuSet aff;
  int weight = 256, cap = 0;
  // RTDS
  Time period = 0, budget = 0, left = 0, deadline = 0, next_repl = 0;
  // credit
  Time credit = 0;
  Pri pri = Pri::Under;
  bool parked = false;
  uint64_t seq = 0;
  bool ran_window = false;
  // both
  int on = -1;  // pCPU it runs on
  Time slice_start = 0;
  bool had_work = false;
  int dedicated = -1;
  std::deque<IoReq> io;
  Time service = 0, worst_gap = 0, gap_start = -1;
};

Stats stats_of(std::vector<Time> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.count = static_cast<int64_t>(v.size());
  s.min = v.front();
  s.max = v.back();
  Wide sum = 0;
  for (Time x : v) sum += x;
  s.avg = static_cast<Time>(sum / static_cast<Wide>(v.size()));
  const size_t idx = (99 * v.size() + 99) / 100;  // ceil(0.99 n), nearest-rank
  s.p99 = v[std::min(v.size(), std::max<size_t>(idx, 1)) - 1];
  return s;
}

class Simulator {
 public:
  Simulator(const std::vector<SimVm>& vms, const SimOptions& opt) : vms_(vms), opt_(opt), rng_{opt.seed} {
    cpus_ = all_pcpus(vms);
    const auto ded = dedicated_pcpus(vms);
    for (size_t m = 0; m < vms.size(); ++m)
      for (size_t i = 0; i < vms[m].vcpus.size(); ++i) {
        const auto& v = vms[m].vcpus[i];
        VcpuState s;
        s.vm = static_cast<int>(m);
        s.index = static_cast<int>(i);
        s.sched = vms[m].scheduler;
        s.driver = vms[m].driver && i == 0;
        if (s.driver) driver_ = static_cast<int>(vcpus_.size());
        s.aff = v.pcpus;
        s.weight = vms[m].weight;
        s.cap = vms[m].cap;
        s.period = v.period;
        s.budget = v.budget;
        s.next_repl = v.server_phase;
        s.deadline = v.server_phase;
        s.dedicated = ded[vcpus_.size()];
        const bool prio_set = !v.tasks.empty() && v.tasks.front().task.priority.has_value();
        for (const auto& st : v.tasks) {
          TaskState ts;
          ts.def = &st;
          ts.vcpu = static_cast<int>(vcpus_.size());
          ts.rank = prio_set ? st.task.priority.value_or(0) : -st.task.deadline;
          schedule_release(ts);
          s.tasks.push_back(static_cast<int>(tasks_.size()));
          tasks_.push_back(std::move(ts));
        }
        vcpus_.push_back(std::move(s));
      }
    run_.assign(cpus_.size(), -1);
  }

  SimResult run() {
    next_tick_ = opt_.credit_tick;
    next_acct_ = opt_.credit_tslice;
    for (;;) {
      process_events();
      wake_ups();
      decide();
      track_gaps();
      if (now_ >= opt_.duration) break;
      const Time next = std::min(next_event(), opt_.duration);
      advance(next - now_);
      now_ = next;
      complete();
    }
    return result();
  }

 private:
  // ---- guest level ----------------------------------------------------
  void schedule_release(TaskState& ts) {
    const auto& t = ts.def->task;
    const Time nominal = analysis::sat_add(ts.def->phase, analysis::sat_mul(ts.k, t.period));
    // A job never becomes ready before the previous one (release jitter
    // larger than the period would reorder them otherwise).
    ts.next_ready = std::max(analysis::sat_add(nominal, rng_.below_or_equal(t.jitter)), ts.last_ready);
  }

  void release(TaskState& ts) {
    const auto& t = ts.def->task;
    Job j;
    j.serial = ts.k;
    j.release = ts.def->phase + ts.k * t.period;
    j.ready = ts.next_ready;
    j.deadline = j.release + t.deadline;
    j.remaining = t.wcet;
    ts.jobs.push_back(j);
    ts.last_ready = ts.next_ready;
    ++ts.k;
    schedule_release(ts);
  }

  // The task whose head job the guest scheduler runs now, or -1.
  int pick_task(const VcpuState& v) const {
    int best = -1;
    for (int id : v.tasks) {
      const auto& ts = tasks_[static_cast<size_t>(id)];
      if (ts.jobs.empty()) continue;
      const Job& j = ts.jobs.front();
      if (j.waiting_io || j.ready > now_) continue;
      if (best < 0) {
        best = id;
        continue;
      }
      const auto& b = tasks_[static_cast<size_t>(best)];
      const bool better =
          v.sched == LocalScheduler::Edf ? j.deadline < b.jobs.front().deadline : ts.rank > b.rank;
      if (better) best = id;
    }
    return best;
  }

  bool has_work(const VcpuState& v) const { return !v.io.empty() || pick_task(v) >= 0; }

  void finish(TaskState& ts) {
    const Job& j = ts.jobs.front();
    ts.resp.push_back(now_ - j.release);
    ++ts.counted;
    if (now_ > j.deadline) ++ts.misses;
    ts.jobs.pop_front();
  }

  void issue_io(int task_id, Job& j) {
    j.waiting_io = true;
    j.io_issued = now_;
    vcpus_[static_cast<size_t>(driver_)].io.push_back(IoReq{task_id, j.serial, now_, opt_.io_service});
  }

  // ---- the loop's steps -----------------------------------------------
  void process_events() {
    for (size_t id = 0; id < tasks_.size(); ++id) {
      auto& ts = tasks_[id];
      while (ts.next_ready <= now_) release(ts);
      if (opt_.on_miss == MissPolicy::Drop)
        while (!ts.jobs.empty() && ts.jobs.front().deadline <= now_) {
          ++ts.counted;
          ++ts.misses;
          ts.jobs.pop_front();  // its I/O request, if any, completes for nobody
        }
    }
    if (opt_.scheduler == HostScheduler::Rtds)
      for (auto& v : vcpus_)
        while (v.next_repl <= now_) {  // unused budget is discarded
          v.left = v.budget;
          v.deadline = v.next_repl + v.period;
          v.next_repl += v.period;
        }
    if (opt_.scheduler == HostScheduler::Credit) {
      if (now_ >= next_tick_) {
        // csched_tick -> csched_vcpu_acct: a BOOSTed vCPU running at the
        // tick drops to UNDER.
        for (int id : run_)
          if (id >= 0 && vcpus_[static_cast<size_t>(id)].pri == Pri::Boost)
            vcpus_[static_cast<size_t>(id)].pri = Pri::Under;
        next_tick_ += opt_.credit_tick;
      }
      if (now_ >= next_acct_) {
        account();
        next_acct_ += opt_.credit_tslice;
      }
    }
  }

  // csched_acct: the pool's credit for one time slice, shared among the
  // active vCPUs by their domain's weight, capped; then priorities by sign.
  void account() {
    const Time tslice = opt_.credit_tslice;
    Wide weight_total = 0;
    for (auto& v : vcpus_)
      if (v.ran_window || v.had_work) weight_total += v.weight;
    const Wide total = static_cast<Wide>(tslice) * static_cast<Wide>(cpus_.size());
    for (auto& v : vcpus_) {
      if ((v.ran_window || v.had_work) && weight_total > 0) {
        Time fair = static_cast<Time>((total * v.weight + weight_total - 1) / weight_total);
        fair = std::min(fair, tslice);
        if (v.cap > 0) fair = std::min(fair, tslice * v.cap / 100);
        v.credit += fair;
      }
      v.credit = std::clamp(v.credit, -tslice, tslice);
      v.pri = v.credit < 0 ? Pri::Over : Pri::Under;
      v.parked = v.cap > 0 && v.credit < 0;
      v.ran_window = false;
    }
  }

  void wake_ups() {
    for (auto& v : vcpus_) {
      const bool hw = has_work(v);
      if (hw && !v.had_work) {
        // csched_vcpu_wake: only an UNDER vCPU that is not parked is boosted.
        if (opt_.scheduler == HostScheduler::Credit && opt_.credit_boost && v.pri == Pri::Under && !v.parked)
          v.pri = Pri::Boost;
        v.seq = ++seq_;
      }
      v.had_work = hw;
    }
  }

  void set_running(std::vector<int> next) {
    for (size_t c = 0; c < next.size(); ++c) {
      const int id = next[c];
      if (id < 0) continue;
      auto& v = vcpus_[static_cast<size_t>(id)];
      if (v.on != cpus_[c]) v.slice_start = now_;
    }
    for (auto& v : vcpus_) v.on = -1;
    for (size_t c = 0; c < next.size(); ++c)
      if (next[c] >= 0) vcpus_[static_cast<size_t>(next[c])].on = cpus_[c];
    run_ = std::move(next);
  }

  void decide() {
    switch (opt_.scheduler) {
      case HostScheduler::Partitioned:
        return decide_partitioned();
      case HostScheduler::Rtds:
        return decide_rtds();
      case HostScheduler::Credit:
        return decide_credit();
    }
  }

  size_t slot(int cpu) const {
    return static_cast<size_t>(std::lower_bound(cpus_.begin(), cpus_.end(), cpu) - cpus_.begin());
  }

  void decide_partitioned() {
    std::vector<int> next(cpus_.size(), -1);
    for (size_t id = 0; id < vcpus_.size(); ++id)
      if (vcpus_[id].had_work) next[slot(vcpus_[id].dedicated)] = static_cast<int>(id);
    set_running(std::move(next));
  }

  // Global EDF over the servers with budget (Xen rt.c runq order: earlier
  // deadline first; an equal deadline does not preempt the one running),
  // each placed on its current pCPU if free, else the lowest free one of
  // its affinity.
  void decide_rtds() {
    std::vector<int> cand;
    for (size_t id = 0; id < vcpus_.size(); ++id) {
      const auto& v = vcpus_[id];
      const bool wants = v.had_work || opt_.server == ServerKind::Periodic;
      if (wants && v.left > 0) cand.push_back(static_cast<int>(id));
    }
    std::sort(cand.begin(), cand.end(), [&](int a, int b) {
      const auto& va = vcpus_[static_cast<size_t>(a)];
      const auto& vb = vcpus_[static_cast<size_t>(b)];
      if (va.deadline != vb.deadline) return va.deadline < vb.deadline;
      if ((va.on >= 0) != (vb.on >= 0)) return va.on >= 0;
      return a < b;
    });
    std::vector<int> next(cpus_.size(), -1);
    auto place = [&](int id) {
      const auto& v = vcpus_[static_cast<size_t>(id)];
      if (v.on >= 0 && v.aff.contains(v.on) && next[slot(v.on)] < 0) {
        next[slot(v.on)] = id;
        return;
      }
      for (int c : v.aff.cpus())
        if (next[slot(c)] < 0) {
          next[slot(c)] = id;
          return;
        }
    };
    for (int id : cand) place(id);
    if (opt_.extratime)
      for (size_t id = 0; id < vcpus_.size(); ++id) {
        const auto& v = vcpus_[id];
        if (v.had_work && v.left == 0) place(static_cast<int>(id));
      }
    set_running(std::move(next));
  }

  // csched_schedule per pCPU: the running vCPU keeps the pCPU until its
  // time slice ends (then the best waiting one of at least its priority
  // takes over) or a waiting one of higher priority arrives and it has run
  // the rate limit; an idle pCPU takes the best waiting vCPU it may run
  // (priority, then FIFO within the priority).
  void decide_credit() {
    std::vector<int> next(cpus_.size(), -1);
    auto runnable = [&](const VcpuState& v) { return v.had_work && !v.parked; };
    std::vector<char> taken(vcpus_.size(), 0);
    for (size_t c = 0; c < cpus_.size(); ++c) {
      int cur = run_[c];
      if (cur >= 0 && !runnable(vcpus_[static_cast<size_t>(cur)])) cur = -1;
      if (cur >= 0) taken[static_cast<size_t>(cur)] = 1;
      int best = -1;
      for (size_t id = 0; id < vcpus_.size(); ++id) {
        const auto& v = vcpus_[id];
        if (taken[id] || !runnable(v) || !v.aff.contains(cpus_[c])) continue;
        if (v.on >= 0 && static_cast<int>(id) != cur && run_[slot(v.on)] == static_cast<int>(id) &&
            slot(v.on) > c)
          continue;  // running on a later pCPU, which decides about it
        if (best < 0) {
          best = static_cast<int>(id);
          continue;
        }
        const auto& b = vcpus_[static_cast<size_t>(best)];
        if (v.pri > b.pri || (v.pri == b.pri && v.seq < b.seq)) best = static_cast<int>(id);
      }
      if (cur < 0) {
        next[c] = best;
        if (best >= 0) taken[static_cast<size_t>(best)] = 1;
        continue;
      }
      auto& v = vcpus_[static_cast<size_t>(cur)];
      const Time ran = now_ - v.slice_start;
      bool preempt = false;
      if (best >= 0) {
        const auto& b = vcpus_[static_cast<size_t>(best)];
        if (ran >= opt_.credit_tslice)
          preempt = b.pri >= v.pri;
        else
          preempt = b.pri > v.pri && ran >= opt_.credit_ratelimit;
      }
      if (preempt) {
        v.seq = ++seq_;  // back of its priority's queue
        taken[static_cast<size_t>(cur)] = 0;
        next[c] = best;
        taken[static_cast<size_t>(best)] = 1;
      } else {
        if (ran >= opt_.credit_tslice) v.slice_start = now_;  // a new slice
        next[c] = cur;
      }
    }
    set_running(std::move(next));
  }

  void track_gaps() {
    for (auto& v : vcpus_) {
      const bool wants =
          v.had_work || (opt_.scheduler == HostScheduler::Rtds && opt_.server == ServerKind::Periodic);
      if (wants && v.on < 0) {
        if (v.gap_start < 0) v.gap_start = now_;
      } else if (v.gap_start >= 0) {
        v.worst_gap = std::max(v.worst_gap, now_ - v.gap_start);
        v.gap_start = -1;
      }
    }
  }

  Time next_event() const {
    Time t = kInfinity;
    for (const auto& ts : tasks_) {
      t = std::min(t, ts.next_ready);
      if (opt_.on_miss == MissPolicy::Drop && !ts.jobs.empty()) t = std::min(t, ts.jobs.front().deadline);
    }
    if (opt_.scheduler == HostScheduler::Rtds)
      for (const auto& v : vcpus_) t = std::min(t, v.next_repl);
    if (opt_.scheduler == HostScheduler::Credit) t = std::min({t, next_tick_, next_acct_});
    for (int id : run_) {
      if (id < 0) continue;
      const auto& v = vcpus_[static_cast<size_t>(id)];
      if (!v.io.empty()) {
        t = std::min(t, now_ + v.io.front().remaining);
      } else if (const int k = pick_task(v); k >= 0) {
        t = std::min(t, now_ + tasks_[static_cast<size_t>(k)].jobs.front().remaining);
      }
      if (opt_.scheduler == HostScheduler::Rtds && v.left > 0) t = std::min(t, now_ + v.left);
      if (opt_.scheduler == HostScheduler::Credit) {
        t = std::min(t, v.slice_start + opt_.credit_tslice);
        if (v.slice_start + opt_.credit_ratelimit > now_)
          t = std::min(t, v.slice_start + opt_.credit_ratelimit);
      }
    }
    return std::max(t, now_ + 1);
  }

  void advance(Time dt) {
    for (int id : run_) {
      if (id < 0) continue;
      auto& v = vcpus_[static_cast<size_t>(id)];
      if (!v.io.empty()) {
        v.io.front().remaining -= dt;
      } else if (const int k = pick_task(v); k >= 0) {
        tasks_[static_cast<size_t>(k)].jobs.front().remaining -= dt;
      }
      v.service += dt;
      v.left = std::max<Time>(0, v.left - dt);
      v.credit -= dt;
      v.ran_window = true;
    }
  }

  void complete() {
    for (int id : run_) {
      if (id < 0) continue;
      auto& v = vcpus_[static_cast<size_t>(id)];
      if (!v.io.empty()) {
        if (v.io.front().remaining > 0) continue;
        const IoReq r = v.io.front();
        v.io.pop_front();
        auto& ts = tasks_[static_cast<size_t>(r.task)];
        ts.io.push_back(now_ - r.issued);
        if (ts.jobs.empty() || ts.jobs.front().serial != r.serial) continue;  // dropped meanwhile
        Job& j = ts.jobs.front();
        if (--j.io_left > 0)
          issue_io(r.task, j);
        else
          finish(ts);
        continue;
      }
      // The guest's choice is the same as during the step: nothing was
      // released in between.
      for (int k : v.tasks) {
        auto& ts = tasks_[static_cast<size_t>(k)];
        if (ts.jobs.empty()) continue;
        Job& j = ts.jobs.front();
        if (j.waiting_io || j.remaining > 0 || j.ready > now_) continue;
        if (ts.def->io > 0) {
          j.io_left = ts.def->io;
          issue_io(k, j);
        } else {
          finish(ts);
        }
      }
    }
  }

  SimResult result() {
    SimResult r;
    r.scheduler = opt_.scheduler;
    r.duration = opt_.duration;
    r.seed = opt_.seed;
    std::vector<Time> all_io;
    for (auto& ts : tasks_) {
      for (const auto& j : ts.jobs)
        if (j.deadline <= now_) {
          ++ts.counted;
          ++ts.misses;
        }
      const auto& v = vcpus_[static_cast<size_t>(ts.vcpu)];
      TaskResult t;
      t.vm = vms_[static_cast<size_t>(v.vm)].name;
      t.vcpu = v.index;
      t.name = ts.def->task.name;
      t.deadline = ts.def->task.deadline;
      t.jobs = ts.counted;
      t.misses = ts.misses;
      t.response = stats_of(ts.resp);
      t.io = stats_of(ts.io);
      all_io.insert(all_io.end(), ts.io.begin(), ts.io.end());
      r.tasks.push_back(std::move(t));
    }
    for (auto& v : vcpus_) {
      if (v.gap_start >= 0) v.worst_gap = std::max(v.worst_gap, now_ - v.gap_start);
      VcpuResult x;
      x.vm = vms_[static_cast<size_t>(v.vm)].name;
      x.vcpu = v.index;
      x.period = v.period;
      x.budget = v.budget;
      x.service = v.service;
      x.worst_gap = v.worst_gap;
      r.vcpus.push_back(std::move(x));
    }
    r.io = stats_of(std::move(all_io));
    return r;
  }

  const std::vector<SimVm>& vms_;
  const SimOptions& opt_;
  SplitMix64 rng_;
  std::vector<int> cpus_;
  std::vector<VcpuState> vcpus_;
  std::vector<TaskState> tasks_;
  std::vector<int> run_;  // per slot of cpus_: the vCPU id running, -1 idle
  int driver_ = -1;
  Time now_ = 0;
  Time next_tick_ = 0, next_acct_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace

SimResult simulate(const std::vector<SimVm>& vms, const SimOptions& opt) {
  validate(vms, opt);
  return Simulator(vms, opt).run();
}

std::vector<SimVm> from_admission(const std::vector<analysis::VmSpec>& specs,
                                  const analysis::VmAdmitResult& verdict, Time budget_delta, bool pinned) {
  std::vector<SimVm> out;
  for (size_t m = 0; m < specs.size(); ++m) {
    const auto& s = specs[m];
    SimVm vm;
    vm.name = s.name;
    vm.scheduler = s.scheduler;
    for (size_t i = 0; i < s.vcpus.size(); ++i) {
      SimVcpu v;
      v.pcpus = s.vcpus[i].pcpus;
      if (m < verdict.vms.size() && i < verdict.vms[m].vcpus.size()) {
        const auto& vv = verdict.vms[m].vcpus[i];
        v.period = vv.period;
        v.budget = vv.budget - budget_delta;
        if (pinned && vv.pcpu >= 0) v.pcpus = CpuSet(std::vector<int>{vv.pcpu});
      }
      for (const auto& t : s.vcpus[i].tasks) v.tasks.push_back(SimTask{t, 0, 0});
      vm.vcpus.push_back(std::move(v));
    }
    out.push_back(std::move(vm));
  }
  return out;
}

}  // namespace rtcell::sim
