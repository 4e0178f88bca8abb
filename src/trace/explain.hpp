// Why was a wake-up late: attributes each spike the measuring thread marked
// to what the CPU did between the thread's timer expiry and its return to
// user space. Pure: events in, explanations out (no I/O; report/explain.hpp
// renders them).
//
// The decomposition follows rtla timerlat's auto-analysis
// (tools/tracing/rtla/src/timerlat_aa.c: IRQ latency, then the interference
// of IRQs, softirqs and threads until the timerlat thread runs), but from
// plain events that every kernel has instead of the timerlat tracer:
//
//   expected expiry E (hrtimer_start's expires=, the thread's
//   clock_nanosleep deadline, CLOCK_MONOTONIC, ns)
//     | timer IRQ latency: hrtimer_expire_entry's now= minus E (exact ns)
//   hrtimer handler runs, wakes the thread (now=, N)
//     | wake-up to run: every microsecond between N and the sched_switch
//     | onto the thread belongs to exactly one of: an IRQ handler (or x86
//     | vector: local_timer, reschedule, ...), a softirq, or a task
//     | (the one running when the timer fired, or one that ran first)
//   sched_switch onto the thread (S)
//     | return to user: from S to the thread's clock_gettime (the marker's wake=)
//   wake W; the measured latency is W - E
//
// The parts add up to W - E by construction; each is good to the trace's
// timestamp resolution (1 us in the text form) except the timer IRQ latency,
// which is exact. A window with lost events on that CPU is reported as such
// and not attributed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace/event.hpp"
#include "trace/text_parser.hpp"

namespace rtcell::trace {

// A task whose priority no event in the capture shows (the kernel's own -1
// means SCHED_DEADLINE, so unknown needs a value of its own).
inline constexpr int kUnknownPrio = -1000;

enum class PartKind {
  TimerIrqLatency,  // expected expiry -> hrtimer handler
  TimerSlack,       // the timer was armed later than the loop's deadline (slack)
  Irq,              // a hard IRQ handler or x86 vector (the timer's own included)
  Softirq,
  Thread,        // a task ran on the CPU before the measured thread
  ReturnToUser,  // sched_switch onto the thread -> its clock_gettime
};
const char* to_string(PartKind k) noexcept;

// How a task that ran in the window relates to the measured thread.
enum class Role {
  None,
  Blocking,       // was running when the timer fired (and had to be preempted)
  HigherOrEqual,  // higher or equal priority: ran first by the scheduler's rule
  Lower,          // lower priority: ran although the measured thread was runnable
  Idle,           // the idle task (exit from an idle state)
  Self,           // the measured thread itself (before it slept, or after its timer fired)
};
const char* to_string(Role r) noexcept;

struct Part {
  PartKind kind = PartKind::Irq;
  std::string name;         // IRQ/vector/softirq name, or the task's comm
  int pid = 0;              // Thread only
  int prio = kUnknownPrio;  // Thread only: kernel prio (-1 deadline, 0..99 RT: 99 - rtprio, 100..139 normal)
  Role role = Role::None;
  int64_t duration_ns = 0;
  int count = 0;  // occurrences merged into this part
  // Ran between the deadline and the thread's hrtimer_start: the thread was
  // not yet asleep when its deadline passed (Spike::armed_late).
  bool before_sleep = false;
};

// The timerlat tracer's view of a spike, when it ran in the same instance
// (`latency --trace` on a kernel with CONFIG_TIMERLAT_TRACER): its own
// periodic timer and thread, not rtcell's, so it is a second opinion on the
// same CPU at the same time, not a measurement of the same wake-up.
struct TimerlatSample {
  int64_t seq = -1;                // timerlat's activation number; -1: none on this CPU
  int64_t irq_ts_ns = 0;           // when its IRQ context sample was recorded
  int64_t irq_latency_ns = -1;     // its timer IRQ latency
  int64_t thread_ts_ns = 0;        // when its thread context sample was recorded
  int64_t thread_latency_ns = -1;  // its thread latency; -1: not in the capture
};

// One osnoise noise event on the spike's CPU: it ended at end_ts_ns and
// lasted duration_ns (osnoise:irq_noise, softirq_noise, thread_noise, nmi_noise).
struct Noise {
  std::string kind;    // "irq_noise", ...
  std::string source;  // "local_timer:236", "TIMER:1", "kworker/1:1:54"; "" for nmi_noise
  int64_t end_ts_ns = 0;
  int64_t duration_ns = 0;
};

struct TimerlatView {
  bool ran = false;  // the capture's tracer was timerlat
  // The sample whose IRQ is nearest to the spike's deadline on its CPU.
  TimerlatSample nearest;
  int64_t nearest_distance_ns = 0;  // |irq_ts_ns - deadline|
  // Noise that overlapped [deadline, wake] on the spike's CPU, in order.
  std::vector<Noise> noise;
};

enum class Status { Explained, Incomplete, LostEvents };
const char* to_string(Status s) noexcept;

struct Spike {
  SpikeMarker marker;
  int64_t marker_ts_ns = 0;
  Status status = Status::Incomplete;
  std::string reason;  // why not explained (Incomplete, LostEvents)
  int64_t lost_events = 0;
  int64_t timer_expires_ns = 0;  // hrtimer_start expires=
  int64_t timer_now_ns = 0;      // hrtimer_expire_entry now=
  int64_t switch_ts_ns = 0;      // sched_switch onto the thread; 0 when it never slept
  bool armed_late = false;       // hrtimer_start came after the deadline
  bool switch_untraced = false;  // no sched_switch onto the thread: its first event stands for it
  // From the deadline (or the arming) to the first event recorded on the CPU
  // after it: with no event at all in between, IRQs were off or the vCPU was
  // not running; this kernel cannot tell which (no irqsoff tracer).
  int64_t silent_ns = 0;
  int thread_prio = 0;       // the measured thread's kernel prio
  std::string running_comm;  // the task current when the timer fired
  int running_pid = 0;
  int running_prio = kUnknownPrio;
  int64_t idle_state = -1;  // cpu_idle state the CPU was in, -1: not idle / unknown
  std::vector<Part> parts;  // in the order of the decomposition, merged by name
  int64_t sum_ns = 0;
  int64_t resolution_ns = 1000;
  TimerlatView timerlat;
};

struct Explanation {
  std::vector<Spike> spikes;
  int64_t markers = 0;
  int64_t lost_events = 0;      // over the whole capture
  bool lost_uncounted = false;  // a "[LOST EVENTS]" line: some lost, not counted
  bool overwritten = false;     // the ring dropped its oldest events
  int64_t not_kept = 0;         // marked spikes left out by keep_worst()
  std::string tracer;           // the instance's tracer ("timerlat" when it ran beside rtcell)
};

Explanation explain(const ParsedTrace& trace);

// Keeps the k spikes of the largest measured latency (all threads
// together), in capture order; counts the others in not_kept. k = 0 keeps all.
void keep_worst(Explanation& e, size_t k);
// `rtcell latency --trace-keep` and `rtcell explain --keep` default alike, so
// that explain DIR shows what latency showed.
inline constexpr uint32_t kDefaultKeep = 5;

// Kernel prio 9 -> "rt 90"; 120 -> "normal nice 0"; -1 -> "deadline";
// kUnknownPrio -> "prio unknown".
std::string describe_prio(int prio);

}  // namespace rtcell::trace
