// Priority inversion, played once, for a trace:
//   rtcell trace record --cpus 1 -o inv -- rtcell-pi-demo --mutex plain --cpu 1
//   rtcell explain --inversion inv
//
// Three SCHED_FIFO threads share one CPU (tests/integration/
// rt_priority_inversion_test.cpp tells the same story with an event log):
//   pi-low (10)    takes the lock, then (when told) wakes pi-medium and unlocks;
//   pi-medium (20) waits to be woken, then spins --spin-us of work;
//   pi-high (30)   waits for the lock.
// With a plain mutex, pi-medium preempts pi-low inside its critical
// section and pi-high waits for the whole spin: an unbounded inversion.
// With rt::PiMutex, pi-high's wait lifts pi-low to 30 (sched_pi_setprio),
// pi-medium cannot preempt it, and pi-high waits only for pi-low's unlock.
// The main thread watches from another CPU; it waits on events (futexes,
// the kernel's view of a thread's state), never on a clock.
// Prints "pi-low=TID pi-medium=TID pi-high=TID" and the order of events.
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "rtcell/rt/pi_mutex.hpp"

namespace {

struct PlainMutex {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;  // PTHREAD_PRIO_NONE
  void lock() { pthread_mutex_lock(&m); }
  void unlock() { pthread_mutex_unlock(&m); }
};

template <typename Mutex>
struct Scene {
  Mutex mutex;
  int64_t spin_ns = 0;
  std::atomic<int> low_locked{0}, medium_ready{0}, high_waiting{0}, go_low{0}, medium_go{0};
  std::atomic<pid_t> low_tid{0}, medium_tid{0}, high_tid{0};
  std::atomic<int> order_n{0};
  std::array<std::atomic<char>, 8> order{};  // L: low unlocks, H: high locked, M: medium done
  void mark(char c) { order[static_cast<size_t>(order_n.fetch_add(1))].store(c); }
};

void set(std::atomic<int>& flag) {
  flag.store(1);
  flag.notify_all();
}
void wait_set(std::atomic<int>& flag) {
  while (flag.load() == 0) flag.wait(0);
}

int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1'000'000'000LL + t.tv_nsec;
}

template <typename Mutex>
void* low_main(void* p) {
  auto* s = static_cast<Scene<Mutex>*>(p);
  pthread_setname_np(pthread_self(), "pi-low");
  s->low_tid = gettid();
  s->mutex.lock();
  set(s->low_locked);
  wait_set(s->go_low);
  set(s->medium_go);  // wakes medium on this CPU: it preempts us unless we are boosted
  s->mark('L');
  s->mutex.unlock();
  return nullptr;
}

template <typename Mutex>
void* medium_main(void* p) {
  auto* s = static_cast<Scene<Mutex>*>(p);
  pthread_setname_np(pthread_self(), "pi-medium");
  s->medium_tid = gettid();
  set(s->medium_ready);
  wait_set(s->medium_go);
  // The work that keeps low off the CPU: a fixed amount, not a synchronisation.
  const int64_t end = now_ns() + s->spin_ns;
  while (now_ns() < end) {
  }
  s->mark('M');
  return nullptr;
}

template <typename Mutex>
void* high_main(void* p) {
  auto* s = static_cast<Scene<Mutex>*>(p);
  pthread_setname_np(pthread_self(), "pi-high");
  s->high_tid = gettid();
  set(s->high_waiting);
  s->mutex.lock();
  s->mark('H');
  s->mutex.unlock();
  return nullptr;
}

// Field 3 of /proc/self/task/TID/stat: the task's state.
char task_state(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const size_t paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() ? '?' : text[paren + 2];
}

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
  const int rc = pthread_create(t, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  return rc;
}

template <typename Mutex>
int play(int cpu, int64_t spin_ns) {
  Scene<Mutex> s;
  s.spin_ns = spin_ns;
  pthread_t low, medium, high;
  int rc = spawn(&low, 10, cpu, low_main<Mutex>, &s);
  if (rc != 0) {
    std::fprintf(stderr, "rtcell-pi-demo: cannot start a SCHED_FIFO thread on CPU %d: %s (run as root)\n",
                 cpu, std::strerror(rc));
    return 3;
  }
  wait_set(s.low_locked);
  if (spawn(&medium, 20, cpu, medium_main<Mutex>, &s) != 0) return 4;
  wait_set(s.medium_ready);
  if (spawn(&high, 30, cpu, high_main<Mutex>, &s) != 0) return 4;
  wait_set(s.high_waiting);
  // High is on its way into lock(): wait until the kernel has it asleep there.
  while (task_state(s.high_tid.load()) != 'S') sched_yield();
  set(s.go_low);
  pthread_join(low, nullptr);
  pthread_join(medium, nullptr);
  pthread_join(high, nullptr);
  std::printf("pi-low=%d pi-medium=%d pi-high=%d\norder:", s.low_tid.load(), s.medium_tid.load(),
              s.high_tid.load());
  for (int i = 0; i < s.order_n.load(); ++i) std::printf(" %c", s.order[static_cast<size_t>(i)].load());
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rtcell-pi-demo: priority inversion with a plain mutex, bounded with rt::PiMutex"};
  std::string mutex = "plain";
  int cpu = -1;
  int spin_us = 2000;
  app.add_option("--mutex", mutex, "plain or pi")->check(CLI::IsMember({"plain", "pi"}));
  app.add_option("--cpu", cpu, "the CPU the three threads share (default: the last allowed one)");
  app.add_option("--spin-us", spin_us, "how long pi-medium works (default 2000)")
      ->check(CLI::Range(1, 100000));
  CLI11_PARSE(app, argc, argv);
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return 4;
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  if (cpu < 0 && !cpus.empty()) cpu = cpus.back();
  if (cpus.size() < 2 || cpu < 0 || !CPU_ISSET(cpu, &allowed)) {
    std::fprintf(
        stderr,
        "rtcell-pi-demo: needs two allowed CPUs and --cpu among them (the watcher runs on another)\n");
    return 2;
  }
  // The watcher (this thread) stays off the demo's CPU.
  CPU_CLR(cpu, &allowed);
  if (sched_setaffinity(0, sizeof allowed, &allowed) != 0) return 4;
  const int64_t spin_ns = int64_t{spin_us} * 1000;
  return mutex == "pi" ? play<rtcell::rt::PiMutex>(cpu, spin_ns) : play<PlainMutex>(cpu, spin_ns);
}
