#include "trace/inversion.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rtcell::trace {

namespace {

bool is_rt(int prio) {
  return prio >= 0 && prio < 100;
}
bool runnable(const std::string& state) {
  return !state.empty() && state.front() == 'R';
}

// A task that ran on a CPU from start to end (closed at its switch-out).
struct Run {
  TaskRef task;
  int cpu = 0;
  int64_t start = 0;
  int64_t end = 0;
};

// A task switched out while still runnable (preempted), until it ran again.
struct Preempted {
  int cpu = 0;
  int64_t start = 0;
  int64_t end = -1;  // -1: not yet running again
};

struct Boost {
  TaskRef holder;  // prio: before the boost (oldprio)
  int newprio = kUnknownPrio;
  int64_t ts = 0;
};

struct Wait {
  TaskRef high;
  int cpu = 0;
  std::string state;
  int64_t blocked = 0;
  int64_t woken = 0;
  std::optional<TaskRef> waker;  // a task (not an IRQ) that woke it
  std::optional<Boost> boost;
};

struct Current {
  TaskRef task;
  int64_t since = -1;
};

class Scanner {
 public:
  explicit Scanner(InversionScan& out) : out_(out) {}

  void apply(const Event& e) {
    switch (e.kind) {
      case Kind::Lost:
        lost(e);
        break;
      case Kind::Switch:
        on_switch(e);
        break;
      case Kind::Waking:
      case Kind::Wakeup:
        on_wake(e);
        break;
      case Kind::PiSetprio:
        on_setprio(e);
        break;
      default:
        break;
    }
  }

 private:
  // Events were lost: a wait open now may have lost its boost, its waker or a
  // middle thread's switch, so it is not judged (and says so in the count).
  void lost(const Event& e) {
    if (e.count > 0) out_.lost_events += e.count;  // kLostUncounted: lost, not counted
    out_.dropped_waits += static_cast<int64_t>(open_.size());
    open_.clear();
    pending_.clear();
    cur_.erase(e.cpu);
  }

  int prio_of(int pid) const {
    const auto it = prio_.find(pid);
    return it == prio_.end() ? kUnknownPrio : it->second;
  }

  void on_switch(const Event& e) {
    const int cpu = e.cpu;
    auto cit = cur_.find(cpu);
    if (cit != cur_.end() && cit->second.task.pid == e.a_pid && cit->second.since >= 0 &&
        e.ts_ns >= cit->second.since)
      // Named as it left the CPU: a thread renamed while it ran has its new name.
      runs_.push_back({{e.a_comm, e.a_pid, cit->second.task.prio}, cpu, cit->second.since, e.ts_ns});
    prio_[e.a_pid] = e.a_prio;
    prio_[e.b_pid] = e.b_prio;
    if (e.a_pid != 0) {
      if (runnable(e.a_state)) {
        preempted_[e.a_pid].push_back({cpu, e.ts_ns, -1});
      } else if (is_rt(e.a_prio)) {
        Wait w;
        w.high = {e.a_comm, e.a_pid, e.a_prio};
        w.cpu = cpu;
        w.state = e.a_state;
        w.blocked = e.ts_ns;
        // A PI boost made by this task just before it slept is what it waits on.
        if (auto p = pending_.find(e.a_pid); p != pending_.end()) {
          w.boost = p->second;
          pending_.erase(p);
        }
        open_[e.a_pid] = std::move(w);
      }
    }
    cur_[cpu] = {{e.b_comm, e.b_pid, e.b_prio}, e.ts_ns};
    if (auto p = preempted_.find(e.b_pid);
        p != preempted_.end() && !p->second.empty() && p->second.back().end < 0)
      p->second.back().end = e.ts_ns;
    if (auto w = open_.find(e.b_pid); w != open_.end()) {
      judge(w->second, e.ts_ns);
      open_.erase(w);
    }
  }

  void on_wake(const Event& e) {
    if (e.b_pid > 0 && e.b_prio != 0) prio_[e.b_pid] = e.b_prio;
    auto w = open_.find(e.b_pid);
    if (w == open_.end() || w->second.woken != 0) return;
    w->second.woken = e.ts_ns;
    if (!in_interrupt(e) && e.pid != 0 && e.pid != e.b_pid)
      w->second.waker = TaskRef{e.comm, e.pid, prio_of(e.pid)};
  }

  void on_setprio(const Event& e) {
    prio_[e.b_pid] = e.b_prio;
    if (e.b_prio >= e.a_prio) return;  // a de-boost (or no change)
    const Boost b{{e.b_comm, e.b_pid, e.a_prio}, e.b_prio, e.ts_ns};
    // rt_mutex_adjust_prio_chain runs in the new waiter's context, before it
    // sleeps; a boost further down a chain (or by an untraced waiter) goes to
    // an open wait of the same priority that has none yet.
    if (!in_interrupt(e) && e.pid != 0 && e.pid != e.b_pid) {
      pending_[e.pid] = b;
      return;
    }
    for (auto& [pid, w] : open_)
      if (!w.boost && w.high.prio == e.b_prio && pid != e.b_pid) {
        w.boost = b;
        return;
      }
  }

  // The high thread ran again at `running`: was its wait an inversion?
  void judge(const Wait& w, int64_t running) {
    ++out_.rt_waits;
    TaskRef holder;
    if (w.boost) {
      holder = w.boost->holder;
    } else if (w.waker && w.waker->prio != kUnknownPrio && w.waker->prio > w.high.prio) {
      holder = *w.waker;
    } else {
      return;
    }
    ++out_.lower_holder_waits;
    const int64_t end = w.woken != 0 ? w.woken : running;
    Inversion inv;
    inv.high = w.high;
    inv.holder = holder;
    inv.cpu = w.cpu;
    inv.state = w.state;
    inv.blocked_ns = w.blocked;
    inv.woken_ns = w.woken;
    inv.running_ns = running;
    inv.waited_ns = running - w.blocked;
    if (w.boost) {
      inv.boosted = true;
      inv.boosted_to = w.boost->newprio;
      inv.boost_ns = w.boost->ts;
    }
    collect_middle(inv, holder, end);
    if (inv.middle.empty() && !inv.boosted) return;  // waited on a lower thread, nothing in between
    inv.kind = !inv.boosted         ? InversionKind::Unbounded
               : inv.middle.empty() ? InversionKind::BoostedBounded
                                    : InversionKind::BoostedDelayed;
    out_.inversions.push_back(std::move(inv));
  }

  // Threads of a priority strictly between the holder's own and the high
  // thread's that ran where the holder was preempted, within [blocked, end].
  void collect_middle(Inversion& inv, const TaskRef& holder, int64_t end) {
    const auto p = preempted_.find(holder.pid);
    if (p == preempted_.end()) return;
    for (const Preempted& pr : p->second) {
      const int64_t a = std::max(pr.start, inv.blocked_ns);
      const int64_t b = std::min(pr.end < 0 ? end : pr.end, end);
      if (b <= a) continue;
      // Runs are in the order they ended: walk back to the first that ended before a.
      for (size_t i = runs_.size(); i-- > 0;) {
        const Run& r = runs_[i];
        if (r.end <= a) break;
        if (r.cpu != pr.cpu || r.task.pid == holder.pid || r.task.pid == inv.high.pid || r.task.pid == 0)
          continue;
        if (!(r.task.prio > inv.high.prio && r.task.prio < holder.prio)) continue;
        const int64_t ran = std::min(r.end, b) - std::max(r.start, a);
        if (ran <= 0) continue;
        if (inv.holder_cpu < 0) inv.holder_cpu = pr.cpu;
        add_middle(inv, r.task, ran);
      }
    }
    // Walking back found the runs last-first; report them first-first.
    std::reverse(inv.middle.begin(), inv.middle.end());
  }

  static void add_middle(Inversion& inv, const TaskRef& t, int64_t ran) {
    inv.middle_ns += ran;
    for (auto& m : inv.middle)
      if (m.task.pid == t.pid) {
        m.ran_ns += ran;
        ++m.count;
        return;
      }
    inv.middle.push_back({t, ran, 1});
  }

  InversionScan& out_;
  std::map<int, Current> cur_;                       // per CPU
  std::map<int, int> prio_;                          // last prio seen, per pid
  std::map<int, Wait> open_;                         // per blocked RT pid
  std::map<int, Boost> pending_;                     // per waiter pid: its boost, until it sleeps
  std::map<int, std::vector<Preempted>> preempted_;  // per pid
  std::vector<Run> runs_;
};

}  // namespace

const char* to_string(InversionKind k) noexcept {
  switch (k) {
    case InversionKind::Unbounded:
      return "inversion";
    case InversionKind::BoostedBounded:
      return "boosted_bounded";
    case InversionKind::BoostedDelayed:
      return "boosted_delayed";
  }
  return "?";
}

InversionScan find_inversions(const ParsedTrace& trace) {
  InversionScan out;
  out.overwritten = trace.entries_written > trace.entries_in_buffer && trace.entries_in_buffer >= 0;
  Scanner s(out);
  for (const auto& e : trace.events) s.apply(e);
  return out;
}

}  // namespace rtcell::trace
