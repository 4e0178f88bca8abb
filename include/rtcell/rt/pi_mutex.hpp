// A mutex for RT code: priority inheritance plus robustness.
//
// Priority inheritance (PTHREAD_PRIO_INHERIT, a kernel rt_mutex behind
// FUTEX_LOCK_PI) lifts the owner to the priority of the highest waiter, so a
// medium-priority thread cannot keep a high-priority one waiting by starving
// the low-priority owner (seeds/002: "use sleeping locks with priority
// inheritance"; tests/integration/rt_priority_inversion_test.cpp shows both
// cases on the real scheduler). std::mutex has no inheritance.
//
// Robustness (PTHREAD_MUTEX_ROBUST): if the owner dies holding the lock (a
// thread exits, or with process_shared a process crashes), the next locker
// gets the lock with EOWNERDEAD instead of hanging forever. lock_robust()
// hands that fact to the caller, who repairs the protected data and calls
// mark_consistent(); lock() (for std::lock_guard / std::unique_lock) marks it
// consistent itself and counts the event in owner_died_count().
//
// The fast paths are one atomic in user space; a contended lock or unlock is
// one futex syscall (that is how inheritance reaches the scheduler).
// Construction may throw rtcell::Error; nothing else throws except lock() on
// a mutex made unrecoverable by an earlier unrepaired owner death.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>

namespace rtcell::rt {

class PiMutex {
 public:
  enum class Sharing { Private, Shared };  // Shared = PTHREAD_PROCESS_SHARED (placed in shared memory)
  enum class LockStatus {
    Ok,
    OwnerDied,       // locked, but the previous owner died holding it: repair, then mark_consistent()
    NotRecoverable,  // not locked: an earlier owner death was never marked consistent
  };

  explicit PiMutex(Sharing sharing = Sharing::Private);
  ~PiMutex();
  PiMutex(const PiMutex&) = delete;
  PiMutex& operator=(const PiMutex&) = delete;

  // BasicLockable / Lockable, for std::lock_guard and std::unique_lock.
  void lock();
  bool try_lock() noexcept;
  void unlock() noexcept;

  // The status-returning form, never throws.
  [[nodiscard]] LockStatus lock_robust() noexcept;
  // After OwnerDied: declare the protected data repaired. Without it, the next
  // unlock() makes the mutex permanently NotRecoverable (POSIX robust semantics).
  void mark_consistent() noexcept;

  // How many times lock() recovered from a dead owner.
  uint64_t owner_died_count() const noexcept { return owner_died_.load(std::memory_order_relaxed); }

  pthread_mutex_t* native_handle() noexcept { return &m_; }

 private:
  pthread_mutex_t m_;
  std::atomic<uint64_t> owner_died_{0};
};

}  // namespace rtcell::rt
