// The spike window as lanes, for the SVG timeline of the HTML report
// (report/timeline.hpp draws it): one lane per CPU that recorded an event
// in the window, each a sequence of spans (which task ran, which IRQ or
// softirq interrupted it), plus the instants the explanation is built on:
// the timer's expiry, its handler, the wake-up, the switch onto the thread,
// and the thread's own clock_gettime. Pure: events in, spans out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace/event.hpp"
#include "trace/explain.hpp"

namespace rtcell::trace {

enum class SpanKind { Task, Irq, Softirq };
const char* to_string(SpanKind k) noexcept;

struct Span {
  SpanKind kind = SpanKind::Task;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  std::string label;      // "comm:pid" for a task, the handler or softirq name otherwise
  int pid = -1;           // Task only
  bool measured = false;  // the measuring thread itself
};

struct Lane {
  int cpu = 0;
  std::vector<Span> spans;  // in time order; IRQ/softirq spans lie over task spans
};

struct Mark {
  int64_t ts_ns = 0;
  int cpu = 0;
  std::string label;  // "expiry", "timer IRQ", "wake-up", "switch-in", "clock_gettime"
};

struct Timeline {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  std::vector<Lane> lanes;  // by CPU number
  std::vector<Mark> marks;  // in time order
};

// The window around one explained spike: from a little before the deadline
// to a little after the thread woke. Empty lanes when the trace has nothing there.
Timeline spike_timeline(const ParsedTrace& trace, const Spike& spike);

}  // namespace rtcell::trace
