// SIGINT/SIGTERM as events instead of asynchronous handlers: the calling
// thread blocks both (threads created afterwards inherit the mask, so the
// measuring threads are never interrupted), and wait() takes a pending one
// with sigtimedwait(2). The caller turns it into LatencyRun::stop() and still
// writes its results. Keep the object alive until the results are written: a
// second Ctrl-C then stays pending instead of killing a half-written report.
//
// Blocking alone is not enough: the kernel discards at once a signal whose
// disposition makes it ignored, so it never becomes pending. That is the case
// for SIG_IGN (e.g. inherited by a command backgrounded in a script) and for
// SIG_DFL in the init process of a PID namespace, which rtcell latency is
// when it runs inside a cell (kernel/signal.c, sig_task_ignored() with
// SIGNAL_UNKILLABLE). So a no-op handler is installed for the object's
// lifetime; being blocked, it never runs.
#pragma once

#include <signal.h>

#include <cstdint>

namespace rtcell::measure {

class StopSignals {
 public:
  StopSignals();   // blocks SIGINT and SIGTERM in the calling thread
  ~StopSignals();  // restores the previous mask; pending ones are dropped first
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Waits up to `timeout_ns` for SIGINT or SIGTERM; returns the signal or 0.
  int wait(int64_t timeout_ns) noexcept;

 private:
  sigset_t set_{};
  sigset_t old_{};
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace rtcell::measure
