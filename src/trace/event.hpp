// Trace events as plain structs: what the analysis (explain.hpp) reads. The
// text parser (text_parser.hpp) makes them from an ftrace instance's `trace`
// file; tests build them from recorded fixtures. Only the events and fields
// the analysis uses are typed; everything else is Kind::Other.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rtcell::trace {

enum class Kind {
  Other,
  Switch,              // sched:sched_switch
  Waking,              // sched:sched_waking
  Wakeup,              // sched:sched_wakeup
  Migrate,             // sched:sched_migrate_task
  PiSetprio,           // sched:sched_pi_setprio
  HrtimerStart,        // timer:hrtimer_start
  HrtimerExpireEntry,  // timer:hrtimer_expire_entry
  HrtimerExpireExit,   // timer:hrtimer_expire_exit
  IrqEntry,            // irq:irq_handler_entry
  IrqExit,             // irq:irq_handler_exit
  SoftirqEntry,        // irq:softirq_entry
  SoftirqExit,         // irq:softirq_exit
  VectorEntry,         // irq_vectors:*_entry (x86)
  VectorExit,          // irq_vectors:*_exit (x86)
  CpuIdle,             // power:cpu_idle
  Marker,              // ftrace:print (trace_marker)
  TimerlatSample,      // the timerlat tracer's own entry: "#seq context irq|thread timer_latency N ns"
  OsnoiseNoise,        // osnoise:irq_noise, softirq_noise, thread_noise, nmi_noise
  Lost,                // "CPU:N [LOST n EVENTS]"; "CPU:N [LOST EVENTS]": count kLostUncounted
};

// Event::count of a "CPU:N [LOST EVENTS]" line: events were lost, the ring
// did not say how many. Never summed: explain and inversion count such a
// line as lost without a number.
inline constexpr int64_t kLostUncounted = -1;

struct Event {
  Kind kind = Kind::Other;
  int64_t ts_ns = 0;  // trace clock (the capture uses "mono": CLOCK_MONOTONIC)
  int cpu = 0;
  int pid = 0;  // the task current when the event was recorded
  std::string comm;
  // The flags column's hardirq/softirq character (trace_output.c,
  // trace_print_lat_fmt): 'h' hard IRQ, 's' softirq, 'H' hard IRQ in a
  // softirq, 'z'/'Z' NMI, '.' task context. '?' when the line has no flags.
  char irq_ctx = '?';
  std::string name;  // the event's name (sched_switch, local_timer_entry, ...)
  // Switch: prev (a_*) ==> next (b_*). Waking/Wakeup/Migrate: the woken task
  // in b_*. IrqEntry: the handler's name in label; SoftirqEntry/Exit: the
  // action (TIMER, RCU, ...). HrtimerStart/Expire*: timer (hashed address),
  // label = function. Marker: label = the text. Lost: count. PiSetprio:
  // the task in b_comm/b_pid, oldprio in a_prio, newprio in b_prio.
  // TimerlatSample: label = the context ("irq", "thread"), count = the
  // latency (ns), b_pid = the sequence number. OsnoiseNoise: name = the
  // event (irq_noise, ...), label = its source ("local_timer:236",
  // "kworker/1:1:54", "TIMER:1"; empty for nmi_noise), count = the duration
  // (ns). The event is recorded when the noise ends, so it covers
  // [ts_ns - count, ts_ns]: its start= field is the tracer's own clock
  // (trace_clock_local), not the instance's, and is not used.
  std::string a_comm;
  int a_pid = 0;
  int a_prio = 0;
  std::string a_state;
  std::string b_comm;
  int b_pid = 0;
  int b_prio = 0;
  std::string label;
  std::string timer;
  int64_t expires_ns = 0;
  int64_t softexpires_ns = 0;
  int64_t now_ns = 0;
  int64_t count = 0;  // Lost: events lost; CpuIdle: state (4294967295 = exit)
};

// True when the event was recorded in a hard IRQ, softirq or NMI (so its
// current task did not cause it).
inline bool in_interrupt(const Event& e) noexcept {
  return e.irq_ctx == 'h' || e.irq_ctx == 's' || e.irq_ctx == 'H' || e.irq_ctx == 'z' || e.irq_ctx == 'Z';
}

struct ParsedTrace {
  std::vector<Event> events;  // in file order (the trace file merges CPUs by time)
  int64_t unparsed_lines = 0;
  // "entries-in-buffer/entries-written: X/Y": Y > X when the ring overwrote
  // its oldest events.
  int64_t entries_in_buffer = -1;
  int64_t entries_written = -1;
  // The instance's tracer from the "# tracer: NAME" header ("nop", "timerlat").
  std::string tracer;
};

}  // namespace rtcell::trace
