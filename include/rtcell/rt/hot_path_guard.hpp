// Catches the two things an RT loop must not do once it runs: allocate and
// take page faults (seeds/002: "allocate memory at start-up", "minimise page
// faults"). Meant for debug builds and tests: PeriodicTask turns it on by
// default when NDEBUG is not defined.
//
// Allocations are counted per thread by rtcell's replacement of the global
// operator new/delete family and, outside sanitizer builds, by wrappers
// around malloc/calloc/realloc/posix_memalign/aligned_alloc/memalign that
// forward to glibc's __libc_* entry points (glibc 2.34 removed
// __malloc_hook). The counting costs one thread-local increment per
// allocation and is linked in only when a program uses this header's
// functions (or PeriodicTask). Under ASan/TSan the malloc wrappers are left
// out (the sanitizer owns malloc) and only operator new is counted.
//
// Page faults come from getrusage(RUSAGE_THREAD): two syscalls per guarded
// section, which is why the guard is a debug tool and not always on.
#pragma once

#include <cstdint>

namespace rtcell::rt {

// Allocations (operator new or malloc family) made by the calling thread
// since it started. Never allocates; safe on the hot path.
uint64_t thread_allocations() noexcept;
// Whether malloc/calloc/... are counted too (false in sanitizer builds).
bool malloc_counting_enabled() noexcept;

struct GuardReport {
  uint64_t allocations = 0;
  uint64_t minor_faults = 0;
  uint64_t major_faults = 0;
  bool clean() const noexcept { return allocations == 0 && minor_faults == 0 && major_faults == 0; }
};

// Measures the calling thread between construction and report(). Must be used
// on one thread.
class HotPathGuard {
 public:
  HotPathGuard() noexcept { restart(); }
  void restart() noexcept;
  GuardReport report() const noexcept;

 private:
  uint64_t allocs_ = 0;
  uint64_t minflt_ = 0;
  uint64_t majflt_ = 0;
};

#ifdef NDEBUG
inline constexpr bool kDebugBuild = false;
#else
inline constexpr bool kDebugBuild = true;
#endif

}  // namespace rtcell::rt
