#include "measure/signal_wait.hpp"

#include <pthread.h>

#include <cerrno>

#include "rtcell/rt/time.hpp"

namespace rtcell::measure {

namespace {

extern "C" void ignore_signal(int) {}

}  // namespace

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
  struct sigaction sa {};
  sa.sa_handler = ignore_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

StopSignals::~StopSignals() {
  // Drain what arrived after the last wait(), so unblocking does not deliver
  // a late Ctrl-C with its default action (death) during clean-up.
  const timespec zero{0, 0};
  while (sigtimedwait(&set_, nullptr, &zero) > 0) {
  }
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

int StopSignals::wait(int64_t timeout_ns) noexcept {
  const timespec ts = rt::from_ns(timeout_ns < 0 ? 0 : timeout_ns);
  for (;;) {
    int sig = sigtimedwait(&set_, nullptr, &ts);
    if (sig > 0) return sig;
    if (errno != EINTR) return 0;  // EAGAIN: timed out
  }
}

}  // namespace rtcell::measure
