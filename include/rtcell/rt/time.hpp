// timespec arithmetic for absolute-time periodic loops. Header-only, noexcept,
// allocation-free: usable on the hot path.
#pragma once

#include <time.h>

#include <cerrno>
#include <cstdint>

namespace rtcell::rt {

inline constexpr int64_t kNsPerSec = 1'000'000'000;

inline int64_t to_ns(const timespec& ts) noexcept {
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

inline timespec from_ns(int64_t ns) noexcept {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / kNsPerSec);
  ts.tv_nsec = static_cast<long>(ns % kNsPerSec);
  return ts;
}

inline int64_t now_ns(clockid_t clock = CLOCK_MONOTONIC) noexcept {
  timespec ts;
  clock_gettime(clock, &ts);
  return to_ns(ts);
}

// Sleeps until the absolute time `ns` on CLOCK_MONOTONIC; restarts on EINTR
// unless *stop becomes true. Returns 0 or the clock_nanosleep error.
inline int sleep_until_ns(int64_t ns, const volatile bool* stop = nullptr) noexcept {
  timespec ts = from_ns(ns);
  for (;;) {
    int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    if (r != EINTR || (stop && *stop)) return r;
  }
}

}  // namespace rtcell::rt
