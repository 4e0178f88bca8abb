// Priority inversion, demonstrated with a plain mutex and prevented with
// rt::PiMutex, on the real scheduler.
//
// Three SCHED_FIFO threads share ONE CPU (so priorities, not parallelism,
// decide who runs); the test's own thread watches from another CPU:
//   low (10)    takes the lock, then (when told) wakes medium and unlocks;
//   medium (20) waits to be woken, then spins until the watcher stops it;
//   high (30)   waits for the lock.
// The order of events, recorded in an atomic log, is the result:
//   plain mutex: low's wake-up of medium is a local wakeup of a higher
//     priority thread, so medium preempts low right there and high gets the
//     lock only after medium finished: ... M_START M_DONE L_UNLOCKING H_LOCKED.
//   PiMutex: high's wait lifts low to 30 (visible in /proc as its effective
//     priority), medium cannot preempt it, and high gets the lock as soon as
//     low unlocks: ... L_UNLOCKING H_LOCKED M_START M_DONE.
// No sleeps and no times: every wait is on an event (futex via
// std::atomic::wait, or the kernel's view of a thread's state), and medium's
// spin ends on an event set by the watcher, so the test always terminates.
// Needs SCHED_FIFO (root or CAP_SYS_NICE) and two CPUs; skips otherwise.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "rtcell/rt/pi_mutex.hpp"
#include "sys/file.hpp"
#include "sys/syscalls.hpp"

namespace {

enum Event : int {
  kNone = 0,
  kLowLocked,
  kMediumReady,
  kHighWaiting,
  kLowWakesMedium,
  kMediumStart,
  kMediumDone,
  kLowUnlocking,
  kHighLocked,
};

const char* name(int e) {
  static const char* names[] = {"-",       "L_LOCKED", "M_READY",     "H_WAITING", "L_WAKES_M",
                                "M_START", "M_DONE",   "L_UNLOCKING", "H_LOCKED"};
  return e >= 0 && e <= kHighLocked ? names[e] : "?";
}

struct PlainMutex {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;  // PTHREAD_PRIO_NONE
  void lock() { pthread_mutex_lock(&m); }
  void unlock() { pthread_mutex_unlock(&m); }
};

// Shared state of one scenario.
template <typename Mutex>
struct Scene {
  Mutex mutex;
  std::array<std::atomic<int>, 16> log{};
  std::atomic<int> log_n{0};
  std::atomic<int> seen{0};  // bit per event, for the watcher to wait on
  std::atomic<int> go_low{0}, medium_go{0}, medium_stop{0};
  std::atomic<pid_t> low_tid{0}, high_tid{0};

  void record(Event e) {
    log[static_cast<size_t>(log_n.fetch_add(1))].store(e);
    seen.fetch_or(1 << e);
    seen.notify_all();
  }
  void wait_for(Event e) {
    for (int s = seen.load(); !(s & (1 << e)); s = seen.load()) seen.wait(s);
  }
  std::vector<int> events() const {
    std::vector<int> v;
    for (int i = 0; i < log_n.load(); ++i) v.push_back(log[static_cast<size_t>(i)].load());
    return v;
  }
};

void wait_until_set(std::atomic<int>& flag) {
  while (flag.load() == 0) flag.wait(0);
}

inline void cpu_relax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

template <typename Mutex>
void* low_main(void* p) {
  auto* s = static_cast<Scene<Mutex>*>(p);
  s->low_tid = rtcell::sys::gettid();
  s->mutex.lock();
  s->record(kLowLocked);
  wait_until_set(s->go_low);
  s->record(kLowWakesMedium);
  s->medium_go.store(1);
  s->medium_go.notify_one();  // wakes medium on this CPU: preempts us unless we are boosted
  s->record(kLowUnlocking);
  s->mutex.unlock();
  return nullptr;
}

template <typename Mutex>
void* medium_main(void* p) {
  auto* s = static_cast<Scene<Mutex>*>(p);
  s->record(kMediumReady);
  wait_until_set(s->medium_go);
  s->record(kMediumStart);
  while (s->medium_stop.load() == 0) cpu_relax();  // ended by the watcher, not by a clock
  s->record(kMediumDone);
  return nullptr;
}

template <typename Mutex>
void* high_main(void* p) {
  auto* s = static_cast<Scene<Mutex>*>(p);
  s->high_tid = rtcell::sys::gettid();
  s->record(kHighWaiting);
  s->mutex.lock();
  s->record(kHighLocked);
  s->mutex.unlock();
  return nullptr;
}

// Fields of /proc/self/task/TID/stat after the command name: [0] is the state
// (field 3), [15] the effective priority (field 18: -1 - rt_priority for RT).
std::vector<std::string> task_stat(pid_t tid) {
  auto text = rtcell::sys::try_read_file("/proc/self/task/" + std::to_string(tid) + "/stat").value_or("");
  std::vector<std::string> out;
  size_t paren = text.rfind(')');
  if (paren == std::string::npos) return out;
  std::istringstream in(text.substr(paren + 1));
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

// Creates a SCHED_FIFO thread pinned to `cpu`; returns the pthread error.
int spawn(pthread_t* t, int prio, int cpu, void* (*fn)(void*), void* arg) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
  pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
  sched_param sp{};
  sp.sched_priority = prio;
  pthread_attr_setschedparam(&attr, &sp);
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_attr_setaffinity_np(&attr, sizeof set, &set);
  int rc = pthread_create(t, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  return rc;
}

class RtPriorityInversion : public ::testing::Test {
 protected:
  void SetUp() override {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
    if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs: one for the three RT threads, one for the watcher";
    rt_cpu_ = cpus.back();
    // The watcher (this thread) stays off the RT CPU, so it runs while medium spins.
    saved_ = allowed;
    cpu_set_t watcher = allowed;
    CPU_CLR(rt_cpu_, &watcher);
    ASSERT_EQ(sched_setaffinity(0, sizeof watcher, &watcher), 0);
    restore_ = true;
    // Probe: may we create a SCHED_FIFO thread at all?
    pthread_t t;
    int rc = spawn(
        &t, 30, rt_cpu_, [](void*) -> void* { return nullptr; }, nullptr);
    if (rc == EPERM)
      GTEST_SKIP() << "cannot create SCHED_FIFO threads (EPERM): needs root or CAP_SYS_NICE and an RT "
                      "budget in this cgroup";
    ASSERT_EQ(rc, 0) << strerror(rc);
    pthread_join(t, nullptr);
  }
  void TearDown() override {
    if (restore_) sched_setaffinity(0, sizeof saved_, &saved_);
  }

  template <typename Mutex>
  std::vector<int> play(int* low_prio_while_high_waits) {
    Scene<Mutex> s;
    pthread_t low, medium, high;
    EXPECT_EQ(spawn(&low, 10, rt_cpu_, low_main<Mutex>, &s), 0);
    s.wait_for(kLowLocked);
    EXPECT_EQ(spawn(&medium, 20, rt_cpu_, medium_main<Mutex>, &s), 0);
    s.wait_for(kMediumReady);
    EXPECT_EQ(spawn(&high, 30, rt_cpu_, high_main<Mutex>, &s), 0);
    s.wait_for(kHighWaiting);
    // High is now on its way into lock(); wait until the kernel has it asleep there.
    for (;;) {
      auto st = task_stat(s.high_tid.load());
      if (!st.empty() && st[0] == "S") break;
      sched_yield();
    }
    auto low_stat = task_stat(s.low_tid.load());
    *low_prio_while_high_waits = low_stat.size() > 15 ? std::stoi(low_stat[15]) : 0;
    s.go_low.store(1);
    s.go_low.notify_one();
    s.wait_for(kMediumStart);
    s.medium_stop.store(1);
    pthread_join(low, nullptr);
    pthread_join(medium, nullptr);
    pthread_join(high, nullptr);
    return s.events();
  }

  int rt_cpu_ = 0;
  cpu_set_t saved_{};
  bool restore_ = false;
};

std::string show(const std::vector<int>& v) {
  std::string s;
  for (int e : v) s += std::string(name(e)) + " ";
  return s;
}

}  // namespace

TEST_F(RtPriorityInversion, PlainMutexLetsMediumDelayHigh) {
  int low_prio = 0;
  auto ev = play<PlainMutex>(&low_prio);
  EXPECT_EQ(low_prio, -11) << "low keeps its own priority 10 while high waits";
  const std::vector<int> want = {kLowLocked,   kMediumReady, kHighWaiting,  kLowWakesMedium,
                                 kMediumStart, kMediumDone,  kLowUnlocking, kHighLocked};
  EXPECT_EQ(ev, want) << "got:  " << show(ev) << "\nwant: " << show(want);
}

TEST_F(RtPriorityInversion, PiMutexGivesHighTheLockAsSoonAsLowReleasesIt) {
  int low_prio = 0;
  auto ev = play<rtcell::rt::PiMutex>(&low_prio);
  EXPECT_EQ(low_prio, -31) << "while high waits, low runs at high's priority 30";
  const std::vector<int> want = {kLowLocked,    kMediumReady, kHighWaiting, kLowWakesMedium,
                                 kLowUnlocking, kHighLocked,  kMediumStart, kMediumDone};
  EXPECT_EQ(ev, want) << "got:  " << show(ev) << "\nwant: " << show(want);
}
