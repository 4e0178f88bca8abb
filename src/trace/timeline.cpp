#include "trace/timeline.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rtcell::trace {

namespace {

struct Open {
  SpanKind kind;
  int64_t start;
  std::string label;
};

struct LaneBuilder {
  Lane lane;
  std::string task;  // "comm:pid" running now
  int pid = -1;
  int64_t task_since = 0;
  std::vector<Open> stack;  // IRQ/softirq nesting
  bool started = false;

  void close_task(int64_t t, int measured_pid) {
    if (started && t > task_since)
      lane.spans.push_back({SpanKind::Task, task_since, t, task, pid, pid == measured_pid});
  }
  void pop(SpanKind kind, int64_t t) {
    for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
      if (it->kind != kind) continue;
      const int64_t start = std::max(it->start, lane_start);
      if (t >= start) lane.spans.push_back({kind, start, t, it->label, -1, false});
      stack.erase(std::next(it).base(), stack.end());
      return;
    }
    // An exit whose entry came before the window: the span starts with it.
    if (t >= lane_start)
      lane.spans.push_back({kind, lane_start, t, kind == SpanKind::Irq ? "irq" : "softirq", -1, false});
  }
  int64_t lane_start = 0;
};

std::string who(const std::string& comm, int pid) {
  return comm + ":" + std::to_string(pid);
}

}  // namespace

const char* to_string(SpanKind k) noexcept {
  switch (k) {
    case SpanKind::Task:
      return "task";
    case SpanKind::Irq:
      return "irq";
    case SpanKind::Softirq:
      return "softirq";
  }
  return "?";
}

Timeline spike_timeline(const ParsedTrace& trace, const Spike& spike) {
  Timeline tl;
  const SpikeMarker& m = spike.marker;
  const int64_t deadline = m.expected_ns;
  const int64_t woke = std::max(m.wake_ns, deadline);
  const int64_t span = woke - deadline;
  tl.start_ns = deadline - std::max<int64_t>(10'000, span / 5);
  tl.end_ns = woke + std::max<int64_t>(10'000, span / 10);
  const auto& ev = trace.events;

  std::map<int, LaneBuilder> lanes;
  // Who ran on each CPU when the window opened: the last switch before it.
  for (const auto& e : ev) {
    if (e.kind == Kind::Lost) continue;
    if (e.ts_ns >= tl.start_ns) break;
    if (e.kind != Kind::Switch) continue;
    LaneBuilder& b = lanes[e.cpu];
    b.task = who(e.b_comm, e.b_pid);
    b.pid = e.b_pid;
    b.started = true;
  }
  for (auto& [cpu, b] : lanes) {
    b.lane.cpu = cpu;
    b.task_since = tl.start_ns;
    b.lane_start = tl.start_ns;
  }
  int64_t woken_at = -1;
  for (const auto& e : ev) {
    if (e.kind == Kind::Lost || e.ts_ns < tl.start_ns || e.ts_ns > tl.end_ns) continue;
    LaneBuilder& b = lanes[e.cpu];
    if (!b.started) {
      // First event of a CPU with no switch before the window: its current task.
      b.lane.cpu = e.cpu;
      b.lane_start = tl.start_ns;
      b.task = who(e.comm, e.pid);
      b.pid = e.pid;
      b.task_since = tl.start_ns;
      b.started = true;
    }
    switch (e.kind) {
      case Kind::Switch:
        b.close_task(e.ts_ns, m.tid);
        b.task = who(e.b_comm, e.b_pid);
        b.pid = e.b_pid;
        b.task_since = e.ts_ns;
        b.stack.clear();
        if (e.b_pid == m.tid && e.ts_ns == spike.switch_ts_ns)
          tl.marks.push_back({e.ts_ns, e.cpu, "switch-in"});
        break;
      case Kind::IrqEntry:
        b.stack.push_back(
            {SpanKind::Irq, e.ts_ns, e.label.empty() ? "irq " + std::to_string(e.count) : e.label});
        break;
      case Kind::VectorEntry:
        b.stack.push_back({SpanKind::Irq, e.ts_ns, e.label});
        break;
      case Kind::SoftirqEntry:
        b.stack.push_back({SpanKind::Softirq, e.ts_ns, e.label});
        break;
      case Kind::IrqExit:
      case Kind::VectorExit:
        b.pop(SpanKind::Irq, e.ts_ns);
        break;
      case Kind::SoftirqExit:
        b.pop(SpanKind::Softirq, e.ts_ns);
        break;
      case Kind::Waking:
        if (e.b_pid == m.tid && woken_at < 0 && e.ts_ns >= deadline - spike.resolution_ns) {
          woken_at = e.ts_ns;
          tl.marks.push_back({e.ts_ns, e.cpu, "wake-up"});
        }
        break;
      case Kind::HrtimerExpireEntry:
        if (e.now_ns == spike.timer_now_ns && spike.timer_now_ns != 0)
          tl.marks.push_back({e.ts_ns, e.cpu, "timer IRQ"});
        break;
      default:
        break;
    }
  }
  for (auto& [cpu, b] : lanes) {
    if (!b.started) continue;
    b.close_task(tl.end_ns, m.tid);
    for (auto it = b.stack.rbegin(); it != b.stack.rend(); ++it)
      b.lane.spans.push_back({it->kind, std::max(it->start, tl.start_ns), tl.end_ns, it->label, -1, false});
    // Tasks first, then IRQs over them, each in time order: the draw order.
    std::stable_sort(b.lane.spans.begin(), b.lane.spans.end(), [](const Span& x, const Span& y) {
      if ((x.kind == SpanKind::Task) != (y.kind == SpanKind::Task)) return x.kind == SpanKind::Task;
      return x.start_ns < y.start_ns;
    });
    tl.lanes.push_back(std::move(b.lane));
  }
  tl.marks.push_back({deadline, m.cpu, "expiry"});
  if (m.wake_ns > 0) tl.marks.push_back({m.wake_ns, m.cpu, "clock_gettime"});
  std::stable_sort(tl.marks.begin(), tl.marks.end(),
                   [](const Mark& a, const Mark& b) { return a.ts_ns < b.ts_ns; });
  return tl;
}

}  // namespace rtcell::trace
