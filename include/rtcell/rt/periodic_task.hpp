// rt::PeriodicTask: the periodic loop every RT application writes by hand,
// with deadline accounting built in.
//
// Each cycle sleeps with clock_nanosleep(TIMER_ABSTIME) until its release
// time (absolute, so errors never accumulate the way a relative sleep's do),
// reads the clock, runs the callback, reads the clock again, and records:
//   wake-up latency = wake - release   (what cyclictest measures)
//   execution time  = end - wake       (the observed WCET is its max)
//   a deadline miss when end > release + deadline
//   an overrun      when end > the next release (the cycle ate into the next)
// On an overrun the policy decides: Skip drops the releases already due and
// waits for the next future one (the cycle index jumps by the number skipped),
// CatchUp runs the due cycles back to back, Handler asks a callback (on the RT
// thread) which of the two to do, or to stop.
//
// Between start-up and stop the loop makes no allocation and no syscall other
// than clock_gettime (vDSO) and clock_nanosleep, and never blocks on a reader:
// statistics and histograms are published through a seqlock whose every field
// is an atomic, so a non-RT thread can read them at any time (it retries if it
// raced with a cycle's update; the RT side never waits). The one exception is
// the hot-path guard (debug builds by default): two getrusage() calls around
// the callback, to count the page faults and allocations the callback causes.
//
// Stopping: request_stop() from any thread (or from the callback); the loop
// ends at its next wake-up, i.e. within one period.
#pragma once

#include <pthread.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "rtcell/cpuset.hpp"
#include "rtcell/rt/histogram.hpp"
#include "rtcell/rt/hot_path_guard.hpp"
#include "rtcell/rt/sched.hpp"

namespace rtcell::rt {

enum class OverrunPolicy { Skip, CatchUp, Handler };
enum class OverrunAction { Skip, CatchUp, Stop };

// What the callback learns about its cycle. Times are CLOCK_MONOTONIC ns.
struct Cycle {
  uint64_t index = 0;       // release number since the first run, counting skipped releases
  int64_t release_ns = 0;   // when the cycle was due
  int64_t wake_ns = 0;      // when the thread actually woke
  int64_t deadline_ns = 0;  // absolute deadline: release + relative deadline
};

// What an overrun handler learns.
struct Overrun {
  uint64_t cycle = 0;            // index of the cycle that ran long
  int64_t end_ns = 0;            // when it ended
  int64_t next_release_ns = 0;   // the release it ran past
  uint64_t releases_passed = 0;  // releases already due at end_ns (>= 1)
};

struct PeriodicTaskConfig {
  int64_t period_ns = 1'000'000;
  // Relative deadline; 0 means the period (implicit deadline).
  int64_t deadline_ns = 0;
  // First release, absolute CLOCK_MONOTONIC ns; 0 means one period after run() begins.
  int64_t start_ns = 0;
  OverrunPolicy overrun = OverrunPolicy::Skip;
  // Required for OverrunPolicy::Handler. Runs on the RT thread: no allocation, no blocking.
  std::function<OverrunAction(const Overrun&)> on_overrun;
  // Histogram shape for latency and execution time: 1 us buckets up to 1 ms,
  // plus up to overflow_capacity exact samples beyond that.
  uint32_t histogram_buckets = 1000;
  int64_t bucket_ns = 1000;
  uint32_t overflow_capacity = 256;
  // Count allocations and page faults inside the callback (costs two
  // getrusage() syscalls per cycle). On by default in debug builds.
  bool guard_hot_path = kDebugBuild;
  // Publish the counters on a shared page named after the task under
  // $RTCELL_STATS_DIR (rtcell/rt/published_stats.hpp) when both are set;
  // made at start-up, then relaxed atomic stores only.
  std::string publish_name;
};

// How start() sets up its thread before the first cycle.
struct TaskThreadConfig {
  std::optional<Policy> policy;  // e.g. Fifo{80}; nullopt keeps the creator's policy
  PolicyOptions policy_options;
  std::optional<CpuSet> cpus;  // nullopt keeps the creator's affinity
  // An explicit stack: with mlockall(MCL_FUTURE) glibc's default 8 MiB stack
  // is locked whole and can exceed RLIMIT_MEMLOCK. glibc carves the thread's
  // static TLS out of this size too (large under ThreadSanitizer), hence the
  // headroom over what is prefaulted.
  size_t stack_bytes = 1024 * 1024;
  // Touched before the first cycle so the loop never grows its stack; must
  // leave 256 KiB of stack_bytes free.
  size_t prefault_stack_bytes = 256 * 1024;
};

struct TaskStats {
  uint64_t cycles = 0;            // callbacks run
  uint64_t deadline_misses = 0;   // cycles that ended after their deadline
  uint64_t overruns = 0;          // cycles that ended after the next release
  uint64_t skipped_releases = 0;  // releases dropped by OverrunAction::Skip
  uint64_t last_miss_cycle = 0;   // index of the latest miss (when deadline_misses > 0)
  int64_t latency_min_ns = 0, latency_max_ns = 0, latency_sum_ns = 0;
  int64_t exec_min_ns = 0, exec_max_ns = 0, exec_sum_ns = 0;
  int64_t response_max_ns = 0;  // max of end - release
  // Hot-path guard (zero when it is off).
  uint64_t guard_allocations = 0;
  uint64_t guard_page_faults = 0;       // minor + major
  uint64_t guard_violation_cycles = 0;  // cycles with an allocation or a fault
  uint64_t first_violation_cycle = 0;   // when guard_violation_cycles > 0
  bool running = false;
};

struct TaskSnapshot {
  TaskStats stats;
  Histogram latency;
  Histogram exec;
};

class PeriodicTask {
 public:
  using Callback = std::function<void(const Cycle&)>;

  // Validates the configuration and allocates every buffer the loop will use.
  // Throws rtcell::Error (Usage) on a bad configuration.
  PeriodicTask(PeriodicTaskConfig cfg, Callback fn);
  ~PeriodicTask();  // requests a stop and joins a started thread
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // Runs the loop on the calling thread (set its policy, affinity and memory
  // first) until request_stop(), or for `max_cycles` cycles when non-zero.
  // An exception thrown by the callback ends the loop and propagates.
  void run(uint64_t max_cycles = 0);

  // Runs the loop on a new thread set up as `tc`. Returns once the thread is
  // set up and about to sleep for its first release; throws rtcell::Error if
  // the thread cannot be created or set up (e.g. EPERM for the policy).
  void start(const TaskThreadConfig& tc = {});

  // Any thread, including the callback: the loop ends at its next wake-up.
  // Sticky: a stopped task stays stopped.
  void request_stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  // request_stop() and join the thread of start(); rethrows what its callback threw.
  void stop();
  bool running() const noexcept { return running_.load(std::memory_order_acquire); }

  // Lock-free reads for a non-RT thread; they never block the RT side (the
  // reader retries instead, so read from another CPU or a lower priority).
  TaskStats stats() const noexcept;
  // Also copies the histograms (allocates: reader side only).
  TaskSnapshot snapshot() const;

  const PeriodicTaskConfig& config() const noexcept { return cfg_; }

 private:
  struct Live;
  static void* thread_main(void* self) noexcept;
  void loop(uint64_t max_cycles);

  PeriodicTaskConfig cfg_;
  Callback fn_;
  std::unique_ptr<Live> live_;
  struct Page;  // the published page, when there is one
  std::unique_ptr<Page> page_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  uint64_t next_index_ = 0;
  bool first_run_ = true;
  pthread_t thread_{};
  bool has_thread_ = false;
  std::exception_ptr thread_error_;
};

}  // namespace rtcell::rt
