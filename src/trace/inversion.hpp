// Priority inversion in a capture (`rtcell explain --inversion`): a
// high-priority RT thread blocks, the thread that will release it (the
// holder) has a lower priority, and threads of a priority between the two
// run on the holder's CPU instead of it, so the high thread's wait is as
// long as they want (the unbounded inversion of Sha, Rajkumar & Lehoczky
// 1990, "Priority Inheritance Protocols", section 2). With priority
// inheritance the kernel lifts the holder to the waiter's priority
// (sched:sched_pi_setprio, kernel/locking/rtmutex.c rt_mutex_setprio), the
// middle threads cannot preempt it, and the wait is bounded by the holder's
// critical section: "boosted and bounded".
//
// A plain futex leaves no trace of who holds it, so the holder is inferred:
//   - with PI, the task that sched_pi_setprio boosted while the high thread
//     went to sleep (the event is recorded in the waiter's context);
//   - without, the task whose sched_waking ended the high thread's wait,
//     in task context (not an IRQ's: the flags column says which), when its
//     priority is lower than the high thread's.
// The middle threads are those that ran on the holder's CPU while the holder
// was preempted (switched out runnable, prev_state R) inside the high
// thread's wait, with a priority strictly between the two. Pure: events in,
// findings out; report/inversion.hpp renders them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace/event.hpp"
#include "trace/explain.hpp"

namespace rtcell::trace {

struct TaskRef {
  std::string comm;
  int pid = 0;
  int prio = kUnknownPrio;  // kernel prio: 0..99 RT (99 - rtprio), 100..139 normal
};

struct MiddleTask {
  TaskRef task;
  int64_t ran_ns = 0;  // on the holder's CPU while the holder was preempted
  int count = 0;       // separate runs
};

enum class InversionKind {
  Unbounded,       // no PI boost: middle threads delayed the holder
  BoostedBounded,  // the holder was boosted; no middle thread ran
  BoostedDelayed,  // boosted, yet a middle thread ran in the wait (before the boost)
};
const char* to_string(InversionKind k) noexcept;

struct Inversion {
  InversionKind kind = InversionKind::Unbounded;
  TaskRef high;                    // prio: the one it slept with
  TaskRef holder;                  // prio: its own, before any boost
  std::vector<MiddleTask> middle;  // in the order they first ran
  int cpu = -1;                    // the high thread's CPU when it blocked
  int holder_cpu = -1;             // where the middle threads preempted the holder; -1: never preempted
  std::string state;               // the high thread's prev_state (S, D, ...)
  int64_t blocked_ns = 0;          // high switched out
  int64_t woken_ns = 0;            // sched_waking of high; 0 when not traced
  int64_t running_ns = 0;          // high switched back in
  int64_t waited_ns = 0;           // running - blocked
  int64_t middle_ns = 0;           // sum of middle[].ran_ns
  bool boosted = false;
  int boosted_to = kUnknownPrio;  // sched_pi_setprio newprio
  int64_t boost_ns = 0;
};

struct InversionScan {
  std::vector<Inversion> inversions;  // in the order the high threads ran again
  int64_t rt_waits = 0;               // RT threads that slept and ran again
  int64_t lower_holder_waits = 0;     // of those, ended by a lower-priority thread (or boosted)
  int64_t lost_events = 0;
  int64_t dropped_waits = 0;  // open when events were lost: not judged
  bool overwritten = false;   // the ring dropped its oldest events
};

InversionScan find_inversions(const ParsedTrace& trace);

}  // namespace rtcell::trace
