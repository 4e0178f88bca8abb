#include "rtcell/rt/pi_mutex.hpp"

#include <cerrno>

#include "rtcell/error.hpp"

namespace rtcell::rt {

namespace {

// pthread_mutexattr_* return the error number instead of setting errno.
void check(int rc, const char* what) {
  if (rc == ENOTSUP)
    unsupported_error(std::string("PiMutex: ") + what +
                      " is not supported by this C library/kernel (needs futex PI: CONFIG_FUTEX_PI)");
  if (rc != 0) sys_error(std::string("PiMutex: ") + what, rc);
}

struct Attr {
  pthread_mutexattr_t a;
  Attr() { check(pthread_mutexattr_init(&a), "pthread_mutexattr_init"); }
  ~Attr() { pthread_mutexattr_destroy(&a); }
  Attr(const Attr&) = delete;
  Attr& operator=(const Attr&) = delete;
};

}  // namespace

PiMutex::PiMutex(Sharing sharing) {
  Attr attr;
  check(pthread_mutexattr_setprotocol(&attr.a, PTHREAD_PRIO_INHERIT), "PTHREAD_PRIO_INHERIT");
  check(pthread_mutexattr_setrobust(&attr.a, PTHREAD_MUTEX_ROBUST), "PTHREAD_MUTEX_ROBUST");
  if (sharing == Sharing::Shared)
    check(pthread_mutexattr_setpshared(&attr.a, PTHREAD_PROCESS_SHARED), "PTHREAD_PROCESS_SHARED");
  check(pthread_mutex_init(&m_, &attr.a), "pthread_mutex_init");
}

PiMutex::~PiMutex() {
  pthread_mutex_destroy(&m_);
}

PiMutex::LockStatus PiMutex::lock_robust() noexcept {
  const int rc = pthread_mutex_lock(&m_);
  if (rc == 0) return LockStatus::Ok;
  if (rc == EOWNERDEAD) return LockStatus::OwnerDied;
  // ENOTRECOVERABLE, or EDEADLK/EINVAL from misuse: the lock is not held.
  return LockStatus::NotRecoverable;
}

void PiMutex::lock() {
  switch (lock_robust()) {
    case LockStatus::Ok:
      return;
    case LockStatus::OwnerDied:
      owner_died_.fetch_add(1, std::memory_order_relaxed);
      mark_consistent();
      return;
    case LockStatus::NotRecoverable:
      break;
  }
  sys_error(
      "PiMutex::lock: the mutex is unrecoverable: an owner died holding it and the next owner unlocked "
      "without mark_consistent(); recreate it",
      ENOTRECOVERABLE);
}

bool PiMutex::try_lock() noexcept {
  const int rc = pthread_mutex_trylock(&m_);
  if (rc == 0) return true;
  if (rc == EOWNERDEAD) {
    owner_died_.fetch_add(1, std::memory_order_relaxed);
    mark_consistent();
    return true;
  }
  return false;
}

void PiMutex::unlock() noexcept {
  pthread_mutex_unlock(&m_);
}

void PiMutex::mark_consistent() noexcept {
  pthread_mutex_consistent(&m_);
}

}  // namespace rtcell::rt
