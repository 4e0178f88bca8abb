#include "trace/explain.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace rtcell::trace {

namespace {

constexpr int64_t kIdleExit = 4294967295;  // cpu_idle state=(u32)-1: leaving idle

struct Frame {
  PartKind kind;
  std::string name;
};

struct Task {
  std::string comm;
  int pid = 0;
  int prio = kUnknownPrio;
};

// The IRQ/softirq nesting on one CPU, replayed from its events.
class CpuContext {
 public:
  void apply(const Event& e) {
    switch (e.kind) {
      case Kind::IrqEntry:
        stack_.push_back({PartKind::Irq, e.label.empty() ? "irq " + std::to_string(e.count) : e.label});
        break;
      case Kind::VectorEntry:
        stack_.push_back({PartKind::Irq, e.label});
        break;
      case Kind::SoftirqEntry:
        stack_.push_back({PartKind::Softirq, e.label});
        break;
      case Kind::IrqExit:
      case Kind::VectorExit:
        pop(PartKind::Irq);
        break;
      case Kind::SoftirqExit:
        pop(PartKind::Softirq);
        break;
      case Kind::Switch:
        // A switch happens in task context: whatever we think is open was
        // left unmatched by a lost or disabled event.
        stack_.clear();
        current_ = Task{e.b_comm, e.b_pid, e.b_prio};
        break;
      default:
        break;
    }
  }
  void set_current(Task t) { current_ = std::move(t); }
  const Task& current() const { return current_; }
  std::vector<Frame>& stack() { return stack_; }

 private:
  void pop(PartKind kind) {
    // Pop the innermost frame of that kind (an exit whose entry we did not
    // see, because it came before the replay started, pops nothing).
    for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) {
      if (it->kind == kind) {
        stack_.erase(std::next(it).base(), stack_.end());
        return;
      }
    }
  }
  std::vector<Frame> stack_;
  Task current_;
};

void add_part(std::vector<Part>& parts, const Part& p) {
  for (auto& q : parts) {
    if (q.kind == p.kind && q.name == p.name && q.pid == p.pid) {
      q.duration_ns += p.duration_ns;
      q.count += p.count;
      if (q.prio == kUnknownPrio) q.prio = p.prio;
      return;
    }
  }
  parts.push_back(p);
}

bool timer_matches(const Event& e, const SpikeMarker& m) {
  return e.kind == Kind::HrtimerStart && e.pid == m.tid &&
         (e.softexpires_ns == m.expected_ns || e.expires_ns == m.expected_ns);
}

// Replays `cpu` from its last context switch before `limit`, so we know
// which task ran and which IRQ/softirq was open just before ev[limit].
CpuContext replay_to(const std::vector<Event>& ev, int cpu, size_t limit) {
  CpuContext ctx;
  size_t ri = limit;
  for (size_t i = limit; i-- > 0;) {
    if (ev[i].cpu == cpu && ev[i].kind == Kind::Switch) {
      ri = i;
      break;
    }
  }
  if (ri == limit) {
    for (size_t i = limit; i < ev.size(); ++i) {
      if (ev[i].cpu == cpu && ev[i].kind != Kind::Lost) {
        ctx.set_current(Task{ev[i].comm, ev[i].pid, kUnknownPrio});
        break;
      }
    }
    ri = 0;
  }
  for (size_t i = ri; i < limit; ++i)
    if (ev[i].cpu == cpu) ctx.apply(ev[i]);
  return ctx;
}

// Attributes every instant of [t0, t1] on `cpu` to the innermost open IRQ or
// softirq, else to the running task, walking ev[from..to) and applying them.
void sweep(const std::vector<Event>& ev, int cpu, size_t from, size_t to, int64_t t0, int64_t t1,
           CpuContext& ctx, std::vector<Part>& parts, std::vector<Task>& seen) {
  int64_t t = t0;
  auto attribute = [&](int64_t until) {
    until = std::min(until, t1);
    if (until <= t) return;
    Part p;
    p.duration_ns = until - t;
    p.count = 1;
    if (!ctx.stack().empty()) {
      p.kind = ctx.stack().back().kind;
      p.name = ctx.stack().back().name;
    } else {
      p.kind = PartKind::Thread;
      p.name = ctx.current().comm;
      p.pid = ctx.current().pid;
      p.prio = ctx.current().prio;
    }
    add_part(parts, p);
    t = until;
  };
  for (size_t i = from; i < to; ++i) {
    const Event& e = ev[i];
    if (e.cpu != cpu || e.kind == Kind::Lost) continue;
    attribute(e.ts_ns);
    if (e.kind == Kind::Switch) seen.push_back(Task{e.a_comm, e.a_pid, e.a_prio});
    ctx.apply(e);
  }
  attribute(t1);
}

// The priority any event of the capture shows for `pid` (the task may have
// started running before the capture did).
int prio_in_trace(const std::vector<Event>& ev, int pid) {
  for (const auto& e : ev) {
    if (e.kind == Kind::Switch && e.a_pid == pid) return e.a_prio;
    if ((e.kind == Kind::Switch || e.kind == Kind::Waking || e.kind == Kind::Wakeup) && e.b_pid == pid)
      return e.b_prio;
  }
  return kUnknownPrio;
}

void classify(std::vector<Part>& parts, const std::vector<Task>& seen, const Spike& s,
              const std::vector<Event>& ev) {
  for (auto& p : parts) {
    if (p.kind != PartKind::Thread) continue;
    if (p.prio == kUnknownPrio) {
      for (const auto& k : seen)
        if (k.pid == p.pid) p.prio = k.prio;
      if (p.pid == s.running_pid && p.prio == kUnknownPrio) p.prio = s.running_prio;
      if (p.pid == s.marker.tid && p.prio == kUnknownPrio) p.prio = s.thread_prio;
      if (p.prio == kUnknownPrio) p.prio = prio_in_trace(ev, p.pid);
    }
    if (p.pid == s.marker.tid)
      p.role = Role::Self;
    else if (p.pid == 0)
      p.role = Role::Idle;
    else if (p.prio != kUnknownPrio && p.prio <= s.thread_prio)
      p.role = Role::HigherOrEqual;
    else if (p.pid == s.running_pid)
      p.role = Role::Blocking;
    else
      p.role = Role::Lower;
  }
}

void explain_one(const std::vector<Event>& ev, size_t mi, Spike& s) {
  const SpikeMarker& m = s.marker;
  // 1. The thread's own timer: the last hrtimer_start it made for this deadline.
  size_t si = mi;
  for (size_t i = mi; i-- > 0;) {
    if (timer_matches(ev[i], m)) {
      si = i;
      break;
    }
  }
  if (si == mi) {
    s.reason =
        "the thread's hrtimer_start for this deadline is not in the buffer (overwritten, lost, or the "
        "timer:hrtimer_start event is missing)";
    return;
  }
  s.timer_expires_ns = ev[si].expires_ns;
  // 2. Its expiry.
  size_t xi = mi;
  for (size_t i = si + 1; i < mi; ++i) {
    if (ev[i].kind == Kind::HrtimerExpireEntry && ev[i].timer == ev[si].timer) {
      xi = i;
      break;
    }
  }
  if (xi == mi) {
    s.reason = "no hrtimer_expire_entry for the thread's timer before the marker";
    return;
  }
  const int cpu = ev[xi].cpu;
  s.timer_now_ns = ev[xi].now_ns;
  // Lost events on that CPU anywhere from the timer's start to the marker: do
  // not guess. A "[LOST EVENTS]" line (kLostUncounted) is a loss all the same.
  bool lost = false;
  for (size_t i = si; i < mi; ++i) {
    if (ev[i].kind == Kind::Lost && (ev[i].cpu == cpu || ev[i].cpu == ev[si].cpu)) {
      lost = true;
      if (ev[i].count > 0) s.lost_events += ev[i].count;
    }
  }
  if (lost) {
    s.status = Status::LostEvents;
    s.reason =
        (s.lost_events > 0 ? std::to_string(s.lost_events) + " events" : std::string("events (uncounted)")) +
        " lost on CPU " + std::to_string(cpu) +
        " in the window; a bigger buffer (or fewer events) is needed to explain this spike";
    return;
  }
  // 3. The switch onto the thread; none when the thread was still running
  // when its timer fired (it armed the timer after the deadline had passed).
  size_t wi = mi;
  for (size_t i = xi + 1; i < mi; ++i) {
    if (ev[i].kind == Kind::Switch && ev[i].cpu == cpu && ev[i].b_pid == m.tid) {
      wi = i;
      s.thread_prio = ev[i].b_prio;
      break;
    }
  }
  const bool self_wake = wi == mi && ev[xi].pid == m.tid;
  // Some kernels record no sched_switch out of the idle task (seen on this
  // development VM's 6.18 kernel, CPU 1: no `prev_comm=swapper` at all):
  // then the thread's first event on the CPU after its timer is where it
  // started to run, and the spike says so.
  if (wi == mi && !self_wake) {
    for (size_t i = xi + 1; i <= mi; ++i) {
      if (ev[i].cpu == cpu && ev[i].pid == m.tid) {
        wi = i;
        s.switch_untraced = true;
        for (size_t j = xi; j-- > 0;) {
          if (ev[j].kind == Kind::Switch && ev[j].a_pid == m.tid) {
            s.thread_prio = ev[j].a_prio;
            break;
          }
        }
        break;
      }
    }
  }
  if (wi == mi && !self_wake && !s.switch_untraced) {
    s.reason =
        "no sched_switch onto the thread on CPU " + std::to_string(cpu) + " between its timer and the marker";
    return;
  }
  if (self_wake) {
    for (size_t i = si; i-- > 0;) {
      if (ev[i].kind == Kind::Switch && ev[i].b_pid == m.tid) {
        s.thread_prio = ev[i].b_prio;
        break;
      }
    }
  }
  s.armed_late = ev[si].ts_ns > s.timer_expires_ns;
  // An untraced switch is no later than the thread's own clock read.
  const int64_t end =
      self_wake
          ? m.wake_ns
          : std::max(s.switch_untraced ? std::min(ev[wi].ts_ns, m.wake_ns) : ev[wi].ts_ns, s.timer_now_ns);
  s.switch_ts_ns = self_wake ? 0 : end;

  std::vector<Task> seen;
  if (s.timer_expires_ns != m.expected_ns)
    s.parts.push_back({PartKind::TimerSlack, "timer armed for " + std::to_string(s.timer_expires_ns), 0, 0,
                       Role::None, s.timer_expires_ns - m.expected_ns, 1});
  // 4a. Armed late: the deadline passed before the thread even went to sleep;
  // what ran on its CPU from the deadline to the hrtimer_start is the cause.
  int64_t irq_from = s.timer_expires_ns;
  if (s.armed_late) {
    const int scpu = ev[si].cpu;
    size_t first = si;
    for (size_t i = si; i-- > 0;) {
      if (ev[i].cpu != scpu) continue;
      if (ev[i].ts_ns < s.timer_expires_ns) break;
      first = i;
    }
    CpuContext pre = replay_to(ev, scpu, first);
    std::vector<Part> before;
    sweep(ev, scpu, first, si, s.timer_expires_ns, ev[si].ts_ns, pre, before, seen);
    for (auto& p : before) p.before_sleep = true;
    classify(before, seen, s, ev);
    s.parts.insert(s.parts.end(), before.begin(), before.end());
    irq_from = ev[si].ts_ns;
  }
  s.parts.push_back({PartKind::TimerIrqLatency,
                     s.armed_late ? "timer IRQ latency (from arming)" : "timer IRQ latency", 0, 0, Role::None,
                     s.timer_now_ns - irq_from, 1});

  // Nothing recorded on the CPU from the deadline until the timer interrupt:
  // IRQs were off, or (on a VM) the vCPU did not run.
  for (size_t i = si + 1; i <= xi; ++i) {
    if (ev[i].cpu != cpu || ev[i].ts_ns < irq_from) continue;
    s.silent_ns = std::max<int64_t>(0, ev[i].ts_ns - irq_from);
    break;
  }

  // 4b. Who ran when the timer fired, and which IRQ/softirq was open.
  CpuContext ctx = replay_to(ev, cpu, xi);
  if (ctx.current().pid != ev[xi].pid) ctx.set_current(Task{ev[xi].comm, ev[xi].pid, kUnknownPrio});
  s.running_comm = ctx.current().comm;
  s.running_pid = ctx.current().pid;
  s.running_prio = ctx.current().prio;
  if (s.running_pid == 0) {
    for (size_t i = xi; i-- > 0;) {
      if (ev[i].cpu == cpu && ev[i].kind == Kind::CpuIdle) {
        if (ev[i].count != kIdleExit) s.idle_state = ev[i].count;
        break;
      }
    }
  }
  // The hrtimer handler runs inside the timer interrupt: the open IRQ frame
  // (x86 local_timer, arm64 arch_timer), or one we name when no IRQ event shows it.
  if (ctx.stack().empty() || ctx.stack().back().kind != PartKind::Irq)
    ctx.stack().push_back({PartKind::Irq, "hrtimer interrupt"});

  // 5. Every instant from now= to the switch onto the thread (or, when it
  // never slept, to its wake-up).
  std::vector<Part> window;
  sweep(ev, cpu, xi + 1, self_wake ? mi : wi, s.timer_now_ns, end, ctx, window, seen);
  classify(window, seen, s, ev);
  if (s.running_prio == kUnknownPrio)
    for (const auto& p : window)
      if (p.pid == s.running_pid && p.kind == PartKind::Thread) s.running_prio = p.prio;
  s.parts.insert(s.parts.end(), window.begin(), window.end());
  if (!self_wake)
    s.parts.push_back({PartKind::ReturnToUser, "switch to the thread's clock_gettime", 0, 0, Role::None,
                       m.wake_ns - end, 1});
  for (const auto& p : s.parts) s.sum_ns += p.duration_ns;
  s.status = Status::Explained;
}

// Timerlat's verdict beside rtcell's: its sample nearest to the spike's
// deadline on the same CPU, and the osnoise noise that overlapped the spike.
void attach_timerlat(const std::vector<Event>& ev, Spike& s) {
  s.timerlat.ran = true;
  const int cpu = s.marker.cpu;
  const int64_t t0 = s.marker.expected_ns;
  const int64_t t1 = s.marker.wake_ns > t0 ? s.marker.wake_ns : t0;
  int64_t best = -1;
  for (const auto& e : ev) {
    if (e.cpu != cpu) continue;
    if (e.kind == Kind::TimerlatSample && e.label == "irq") {
      const int64_t d = e.ts_ns > t0 ? e.ts_ns - t0 : t0 - e.ts_ns;
      if (best < 0 || d < best) {
        best = d;
        s.timerlat.nearest = TimerlatSample{e.b_pid, e.ts_ns, e.count, 0, -1};
      }
    } else if (e.kind == Kind::OsnoiseNoise && e.ts_ns >= t0 && e.ts_ns - e.count <= t1) {
      s.timerlat.noise.push_back(Noise{e.name, e.label, e.ts_ns, e.count});
    }
  }
  s.timerlat.nearest_distance_ns = best < 0 ? 0 : best;
  if (s.timerlat.nearest.seq < 0) return;
  // The thread sample of the same activation comes after its IRQ sample.
  for (const auto& e : ev)
    if (e.cpu == cpu && e.kind == Kind::TimerlatSample && e.label == "thread" &&
        e.b_pid == s.timerlat.nearest.seq && e.ts_ns >= s.timerlat.nearest.irq_ts_ns) {
      s.timerlat.nearest.thread_ts_ns = e.ts_ns;
      s.timerlat.nearest.thread_latency_ns = e.count;
      break;
    }
}

}  // namespace

const char* to_string(PartKind k) noexcept {
  switch (k) {
    case PartKind::TimerIrqLatency:
      return "timer_irq_latency";
    case PartKind::TimerSlack:
      return "timer_slack";
    case PartKind::Irq:
      return "irq";
    case PartKind::Softirq:
      return "softirq";
    case PartKind::Thread:
      return "thread";
    case PartKind::ReturnToUser:
      return "return_to_user";
  }
  return "?";
}

const char* to_string(Role r) noexcept {
  switch (r) {
    case Role::Blocking:
      return "blocking";
    case Role::HigherOrEqual:
      return "higher_or_equal_priority";
    case Role::Lower:
      return "lower_priority";
    case Role::Idle:
      return "idle";
    case Role::Self:
      return "measured_thread";
    case Role::None:
      break;
  }
  return "none";
}

const char* to_string(Status s) noexcept {
  switch (s) {
    case Status::Explained:
      return "explained";
    case Status::Incomplete:
      return "incomplete";
    case Status::LostEvents:
      return "lost_events";
  }
  return "?";
}

std::string describe_prio(int prio) {
  if (prio == kUnknownPrio) return "prio unknown";
  if (prio < 0) return "deadline";
  if (prio < 100) return "rt " + std::to_string(99 - prio);
  return "normal nice " + std::to_string(prio - 120);
}

Explanation explain(const ParsedTrace& trace) {
  Explanation out;
  out.tracer = trace.tracer;
  out.overwritten = trace.entries_written > trace.entries_in_buffer && trace.entries_in_buffer >= 0;
  bool us_only = true;
  for (const auto& e : trace.events) {
    if (e.kind == Kind::Lost && e.count > 0) out.lost_events += e.count;
    if (e.kind == Kind::Lost && e.count == kLostUncounted) out.lost_uncounted = true;
    if (e.kind != Kind::Lost && e.ts_ns % 1000 != 0) us_only = false;
  }
  const auto& ev = trace.events;
  for (size_t i = 0; i < ev.size(); ++i) {
    if (ev[i].kind != Kind::Marker) continue;
    Spike s;
    if (!parse_spike_marker(ev[i].label, s.marker)) continue;
    ++out.markers;
    s.marker_ts_ns = ev[i].ts_ns;
    s.resolution_ns = us_only ? 1000 : 1;
    explain_one(ev, i, s);
    if (trace.tracer == "timerlat") attach_timerlat(ev, s);
    out.spikes.push_back(std::move(s));
  }
  return out;
}

void keep_worst(Explanation& e, size_t k) {
  if (k == 0 || e.spikes.size() <= k) return;
  std::vector<size_t> order(e.spikes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Largest latency first; among equals, the earlier spike.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return e.spikes[a].marker.latency_ns > e.spikes[b].marker.latency_ns;
  });
  std::vector<bool> keep(e.spikes.size(), false);
  for (size_t i = 0; i < k; ++i) keep[order[i]] = true;
  std::vector<Spike> kept;
  kept.reserve(k);
  for (size_t i = 0; i < e.spikes.size(); ++i)
    if (keep[i]) kept.push_back(std::move(e.spikes[i]));
  e.not_kept += static_cast<int64_t>(e.spikes.size() - kept.size());
  e.spikes = std::move(kept);
}

}  // namespace rtcell::trace
