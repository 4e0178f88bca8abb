// Reads an ftrace `trace` file (the text the kernel prints for an instance)
// into events. Pure: text in, structs out (STYLE.md habit 7).
//
// Why text and not libtraceevent: Debian 12's libtraceevent/libtracefs were
// not installed on the build hosts when this was written, and the text form
// is what a user can send and read. The line format is stable since 3.x:
//   <comm>-<pid> [<cpu>] <flags> <sec>.<usec>: <event>: <fields>
// (kernel/trace/trace_output.c, trace_print_context), with <fields> the
// event's print fmt. The cost is resolution: a "mono" clock prints
// microseconds, so trace timestamps are good to 1 us; the hrtimer fields
// (expires=, now=) are nanoseconds and stay exact.
#pragma once

#include <string_view>

#include "trace/event.hpp"

namespace rtcell::trace {

ParsedTrace parse_trace_text(std::string_view text);

// The CPU and time of one event line, without parsing its event: what the
// drain reader (window_keeper.hpp) needs of every line it reads. false for
// a line that is not an event line (a header, a LOST line, garbage).
bool event_line_time(std::string_view line, int& cpu, int64_t& ts_ns);
// true for a "CPU:N [LOST M EVENTS]" or "CPU:N [LOST EVENTS]" line, with N in cpu.
bool lost_line_cpu(std::string_view line, int& cpu);

// The measuring thread's marker (see measure/latency.cpp):
//   "rtcell-spike thread=T tid=P cpu=C expected=E wake=W latency=L"
struct SpikeMarker {
  int thread = 0;
  int tid = 0;
  int cpu = -1;
  int64_t expected_ns = 0;
  int64_t wake_ns = 0;
  int64_t latency_ns = 0;
};
// nullopt-like: returns false when `text` is not an rtcell marker.
bool parse_spike_marker(std::string_view text, SpikeMarker& out);

}  // namespace rtcell::trace
