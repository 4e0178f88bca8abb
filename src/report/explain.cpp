#include "report/explain.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace rtcell::report {

namespace {

// A silence this long before the timer IRQ is worth naming: ordinary timer
// IRQ latency on this VM is 5-25 us with the events still arriving around it.
constexpr int64_t kSilentNoteNs = 50'000;

// Trace times are good to 1 us: print us with one decimal only for the exact parts.
std::string us(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f us", static_cast<double>(ns) / 1000.0);
  return buf;
}

std::string who(const trace::Part& p) {
  return p.name + ":" + std::to_string(p.pid) + " (" + trace::describe_prio(p.prio) + ")";
}

std::string part_phrase(const trace::Part& p, const trace::Spike& s) {
  switch (p.kind) {
    case trace::PartKind::TimerIrqLatency:
      return "timer IRQ " + us(p.duration_ns) + " late" +
             (s.silent_ns >= kSilentNoteNs
                  ? " (no event on CPU " + std::to_string(s.marker.cpu) + " for " + us(s.silent_ns) +
                        " after the deadline: IRQs off or a stalled vCPU, not distinguishable on this kernel)"
                  : std::string());
    case trace::PartKind::TimerSlack:
      return "timer armed " + us(p.duration_ns) + " after the deadline (slack)";
    case trace::PartKind::Irq:
      return "IRQ " + p.name + " " + us(p.duration_ns);
    case trace::PartKind::Softirq:
      return "softirq " + p.name + " " + us(p.duration_ns);
    case trace::PartKind::Thread:
      if (p.role == trace::Role::Idle) return "idle " + us(p.duration_ns);
      if (p.role == trace::Role::Self)
        return std::string(p.before_sleep ? "the thread itself, not yet asleep, " : "the thread itself ") +
               us(p.duration_ns);
      return who(p) + " ran " + us(p.duration_ns) + (p.before_sleep ? " before the thread slept" : "") +
             (p.role == trace::Role::HigherOrEqual ? " first (higher/equal priority)"
              : p.role == trace::Role::Blocking    ? " (blocking, not yet preempted)"
                                                   : " (lower priority)");
    case trace::PartKind::ReturnToUser:
      return "switch to user " + us(p.duration_ns);
  }
  return "";
}

}  // namespace

std::string spike_verdict(const trace::Spike& s, size_t index) {
  const auto& m = s.marker;
  std::string out = "spike " + std::to_string(index + 1) + ": thread " + std::to_string(m.thread) + " tid " +
                    std::to_string(m.tid) + " CPU " + std::to_string(m.cpu) + ": " + us(m.latency_ns);
  if (s.status != trace::Status::Explained) return out + ": not explained: " + s.reason;
  // The biggest parts first, those of at least the resolution.
  std::vector<const trace::Part*> parts;
  for (const auto& p : s.parts)
    if (p.duration_ns >= s.resolution_ns || p.kind == trace::PartKind::TimerIrqLatency) parts.push_back(&p);
  std::stable_sort(parts.begin(), parts.end(), [](const trace::Part* a, const trace::Part* b) {
    return a->duration_ns > b->duration_ns;
  });
  out += " =";
  for (size_t i = 0; i < parts.size() && i < 4; ++i) out += (i ? "; " : " ") + part_phrase(*parts[i], s);
  if (s.armed_late) out += "; the deadline passed before the thread armed its timer";
  if (s.switch_untraced)
    out +=
        "; no sched_switch onto the thread was recorded (this kernel traces none out of idle): its first "
        "event stands for it";
  out += "; running when the timer fired: " + s.running_comm + ":" + std::to_string(s.running_pid);
  if (s.running_prio != trace::kUnknownPrio) out += " (" + trace::describe_prio(s.running_prio) + ")";
  if (s.idle_state >= 0) out += ", idle state " + std::to_string(s.idle_state);
  return out;
}

std::string timerlat_line(const trace::Spike& s) {
  const auto& t = s.timerlat;
  if (!t.ran) return {};
  std::string out = "timerlat: ";
  if (t.nearest.seq < 0) {
    out += "no timerlat sample on CPU " + std::to_string(s.marker.cpu) + " in the capture";
  } else {
    out += "its sample #" + std::to_string(t.nearest.seq) + " on CPU " + std::to_string(s.marker.cpu) + " (" +
           us(t.nearest_distance_ns) + (t.nearest.irq_ts_ns >= s.marker.expected_ns ? " after" : " before") +
           " the deadline): IRQ latency " + us(t.nearest.irq_latency_ns) + ", thread latency " +
           (t.nearest.thread_latency_ns >= 0 ? us(t.nearest.thread_latency_ns) : std::string("not recorded"));
  }
  if (t.noise.empty()) {
    out += "; no osnoise noise event in the spike";
  } else {
    out += "; osnoise in the spike:";
    for (size_t i = 0; i < t.noise.size(); ++i) {
      const auto& n = t.noise[i];
      out +=
          (i == 0 ? " " : ", ") + n.kind + (n.source.empty() ? "" : " " + n.source) + " " + us(n.duration_ns);
    }
  }
  return out;
}

std::string explain_text(const trace::Explanation& e) {
  std::string out;
  if (e.markers == 0) return "no spike marker in the capture: no sample crossed the trace threshold\n";
  for (size_t i = 0; i < e.spikes.size(); ++i) {
    const auto& s = e.spikes[i];
    out += spike_verdict(s, i) + "\n";
    if (const std::string tl = timerlat_line(s); !tl.empty()) out += "  " + tl + "\n";
    if (s.status != trace::Status::Explained) continue;
    for (const auto& p : s.parts) {
      char line[64];
      std::snprintf(line, sizeof line, "  %10s  %-18s ", us(p.duration_ns).c_str(), trace::to_string(p.kind));
      out += line;
      if (p.kind == trace::PartKind::Thread)
        out += who(p) + " " + trace::to_string(p.role);
      else
        out += p.name;
      if (p.count > 1) out += " (x" + std::to_string(p.count) + ")";
      out += "\n";
    }
    out += "  " + std::string(10 - std::min<size_t>(10, us(s.sum_ns).size()), ' ') + us(s.sum_ns) +
           "  sum (measured " + us(s.marker.latency_ns) + "; parts good to " + us(s.resolution_ns) + ")\n";
  }
  if (e.not_kept > 0)
    out += std::to_string(e.not_kept) + " smaller marked spikes not shown (--trace-keep keeps the worst)\n";
  if (e.lost_events > 0) out += "warning: " + std::to_string(e.lost_events) + " events lost in the capture\n";
  if (e.lost_uncounted) out += "warning: events lost in the capture that the kernel did not count\n";
  return out;
}

nlohmann::json explain_json(const trace::Explanation& e) {
  nlohmann::json spikes = nlohmann::json::array();
  for (size_t i = 0; i < e.spikes.size(); ++i) {
    const auto& s = e.spikes[i];
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& p : s.parts) {
      nlohmann::json j = {{"kind", trace::to_string(p.kind)},
                          {"name", p.name},
                          {"duration_ns", p.duration_ns},
                          {"count", p.count}};
      if (p.kind == trace::PartKind::Thread) {
        j["pid"] = p.pid;
        j["prio"] = p.prio == trace::kUnknownPrio ? nlohmann::json(nullptr) : nlohmann::json(p.prio);
        j["policy"] = trace::describe_prio(p.prio);
        j["role"] = trace::to_string(p.role);
      }
      j["before_sleep"] = p.before_sleep;
      parts.push_back(j);
    }
    nlohmann::json js = {{"thread", s.marker.thread},
                         {"tid", s.marker.tid},
                         {"cpu", s.marker.cpu},
                         {"latency_ns", s.marker.latency_ns},
                         {"expected_ns", s.marker.expected_ns},
                         {"wake_ns", s.marker.wake_ns},
                         {"status", trace::to_string(s.status)},
                         {"reason", s.reason},
                         {"lost_events", s.lost_events},
                         {"parts", parts},
                         {"sum_ns", s.sum_ns},
                         {"resolution_ns", s.resolution_ns},
                         {"verdict", spike_verdict(s, i)}};
    if (s.status == trace::Status::Explained) {
      js["timer"] = {{"expires_ns", s.timer_expires_ns},     {"expire_entry_now_ns", s.timer_now_ns},
                     {"switch_ts_ns", s.switch_ts_ns},       {"armed_late", s.armed_late},
                     {"switch_untraced", s.switch_untraced}, {"silent_ns", s.silent_ns}};
      js["thread_prio"] = s.thread_prio;
      js["running_at_expiry"] = {
          {"comm", s.running_comm},
          {"pid", s.running_pid},
          {"prio",
           s.running_prio == trace::kUnknownPrio ? nlohmann::json(nullptr) : nlohmann::json(s.running_prio)},
          {"idle_state", s.idle_state}};
    }
    if (s.timerlat.ran) {
      const auto& t = s.timerlat;
      nlohmann::json noise = nlohmann::json::array();
      for (const auto& n : t.noise)
        noise.push_back({{"kind", n.kind},
                         {"source", n.source},
                         {"end_ns", n.end_ts_ns},
                         {"duration_ns", n.duration_ns}});
      nlohmann::json nearest = nullptr;
      if (t.nearest.seq >= 0)
        nearest = {{"seq", t.nearest.seq},
                   {"irq_ts_ns", t.nearest.irq_ts_ns},
                   {"irq_latency_ns", t.nearest.irq_latency_ns},
                   {"thread_ts_ns", t.nearest.thread_ts_ns},
                   {"thread_latency_ns", t.nearest.thread_latency_ns >= 0
                                             ? nlohmann::json(t.nearest.thread_latency_ns)
                                             : nlohmann::json(nullptr)},
                   {"distance_ns", t.nearest_distance_ns}};
      js["timerlat"] = {{"nearest", nearest}, {"noise", noise}, {"text", timerlat_line(s)}};
    }
    spikes.push_back(js);
  }
  return {{"schema", "rtcell.explain/1"},       {"markers", e.markers},   {"lost_events", e.lost_events},
          {"ring_overwritten", e.overwritten},  {"not_kept", e.not_kept}, {"tracer", e.tracer},
          {"timerlat", e.tracer == "timerlat"}, {"spikes", spikes}};
}

}  // namespace rtcell::report
