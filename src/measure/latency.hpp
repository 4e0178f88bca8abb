// The wake-up latency engine behind `rtcell latency` (and later `rtcell bench`
// and cells): cyclictest's measuring loop as a library.
//
// Each measuring thread sleeps on clock_nanosleep(CLOCK_MONOTONIC,
// TIMER_ABSTIME) until `next`, reads CLOCK_MONOTONIC on wake-up and records
// latency = wake - next into its own rt::Histogram; then next += interval.
// This is exactly cyclictest's default (-n, absolute timer) loop, so the two
// measure the same thing. One difference: when a wake-up is so late that one
// or more whole periods have already passed, we skip `next` forward past now
// and count the skipped periods in `missed` instead of firing a burst of
// back-to-back catch-up samples whose "latency" is an artefact of the burst.
//
// Start-up (everything that can fail) happens before the first sample: each
// thread pins itself, sets its policy and prefaults its stack; then the
// process locks its memory and holds /dev/cpu_dma_latency; only then do the
// threads get the common start time. The loop itself never allocates, locks,
// throws or makes a syscall other than clock_nanosleep/clock_gettime.
//
// The engine does not touch signals: the caller decides what stops a run and
// calls stop() (the CLI waits for SIGINT/SIGTERM with sigtimedwait; see
// signal_wait.hpp).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "measure/dma_latency.hpp"
#include "rtcell/cpuset.hpp"
#include "rtcell/rt/histogram.hpp"
#include "rtcell/rt/sched.hpp"

namespace rtcell::measure {

// One measuring thread as planned before start.
struct ThreadPlan {
  std::optional<int> cpu;  // pinned CPU; nullopt = inherits the process affinity
  int64_t interval_ns = 1'000'000;
};

struct LatencyConfig {
  std::vector<ThreadPlan> threads;
  rt::Policy policy = rt::Fifo{rt::kDefaultPriority};
  rt::PolicyOptions policy_options;
  int64_t duration_ns = 0;  // 0: until loops, breaktrace or stop()
  uint64_t loops = 0;       // samples per thread; 0: unlimited
  bool mlock = true;
  // Hold /dev/cpu_dma_latency at this many microseconds for the run;
  // nullopt: leave the system's idle states alone.
  std::optional<int32_t> dma_latency_us = 0;
  // With a default (not user-chosen) dma_latency_us, a missing or
  // inaccessible device is only a warning; when required it is an error.
  bool dma_latency_required = false;
  uint32_t histogram_buckets = 1000;  // 1 us buckets
  int64_t bucket_ns = 1000;
  // Overflow samples kept individually per thread (the count stays exact).
  uint32_t overflow_capacity = 10'000;
  int64_t breaktrace_ns = 0;  // 0: off; otherwise stop when a latency exceeds it
  // false: thread i's periods are offset by i/n of its interval, so the
  // threads do not all wake at once (as in cyclictest, whose threads start at
  // their creation times); true: every thread wakes at the same instants.
  bool aligned = false;
  // --trace: an open trace_marker of the capture's instance, or -1. A thread
  // whose sample exceeds trace_threshold_ns writes one marker line
  // ("rtcell-spike thread= tid= cpu= expected= wake= latency=", ns) with one
  // write(2): the only syscall the loop makes besides the clock's, and only
  // on a spike, after the sample was taken.
  int trace_marker_fd = -1;
  int64_t trace_threshold_ns = 0;
  // Without breaktrace: each thread marks only a sample among its worst
  // trace_keep so far (WorstK), so a long run writes a few markers, not one
  // per spike, and the ring holds the windows of the worst; 0 marks every
  // sample over the threshold.
  uint32_t trace_keep = 0;
};

// The worst K latencies seen so far, for the hot loop: a fixed array, no
// allocation, O(K) only when a sample beats the K-th worst.
class WorstK {
 public:
  static constexpr uint32_t kMax = 64;
  explicit WorstK(uint32_t k) noexcept : k_(k < kMax ? k : kMax) {}
  // True (and remembered) when `ns` is among the worst k so far; always
  // true with k = 0 (keep every sample).
  bool offer(int64_t ns) noexcept {
    if (k_ == 0) return true;
    if (n_ < k_) {
      worst_[n_++] = ns;
      return true;
    }
    uint32_t min_i = 0;
    for (uint32_t i = 1; i < n_; ++i)
      if (worst_[i] < worst_[min_i]) min_i = i;
    if (ns <= worst_[min_i]) return false;
    worst_[min_i] = ns;
    return true;
  }

 private:
  uint32_t k_;
  uint32_t n_ = 0;
  int64_t worst_[kMax] = {};
};

// Formats the marker line into buf (no allocation); returns its length.
size_t format_spike_marker(char* buf, size_t size, int thread, pid_t tid, int cpu, int64_t expected_ns,
                           int64_t wake_ns) noexcept;

enum class StopReason { Running, Duration, Loops, Signal, Breaktrace };
const char* to_string(StopReason r) noexcept;

struct Breaktrace {
  int thread = 0;
  int64_t value_ns = 0;
  uint64_t sample = 0;  // 0-based index of the sample in that thread
  pid_t tid = 0;
};

// What one thread measured.
struct ThreadResult {
  int thread = 0;
  pid_t tid = 0;
  std::optional<int> cpu;
  int64_t interval_ns = 0;
  int64_t phase_ns = 0;  // first period's offset from the run's start (see LatencyConfig::aligned)
  uint64_t missed = 0;   // whole periods skipped because a wake-up came that late
  int64_t last_ns = 0;   // the last sample ("Act" in cyclictest)
  rt::Histogram histogram;
};

struct LatencyResult {
  std::vector<ThreadResult> threads;
  rt::Histogram total;  // every thread merged
  StopReason stopped_by = StopReason::Running;
  std::optional<Breaktrace> breaktrace;
  std::optional<int32_t> dma_latency_us;  // what was actually held
  int64_t started_ns = 0;                 // CLOCK_MONOTONIC at the first period
  int64_t elapsed_ns = 0;
};

// Live per-thread counters, written by the measuring thread with relaxed
// stores and read by a display thread: lock-free, possibly a sample apart
// from each other, never torn.
struct LiveStats {
  std::atomic<uint64_t> cycles{0};
  std::atomic<int64_t> min_ns{0};
  std::atomic<int64_t> act_ns{0};
  std::atomic<int64_t> max_ns{0};
  std::atomic<int64_t> sum_ns{0};
  std::atomic<pid_t> tid{0};
};

struct LiveSnapshot {
  int thread = 0;
  pid_t tid = 0;
  uint64_t cycles = 0;
  int64_t min_ns = 0, act_ns = 0, max_ns = 0, avg_ns = 0;
};

class LatencyRun {
 public:
  // Validates the configuration (throws Usage errors) and allocates every
  // histogram; starts nothing.
  explicit LatencyRun(LatencyConfig config);
  ~LatencyRun();
  LatencyRun(const LatencyRun&) = delete;
  LatencyRun& operator=(const LatencyRun&) = delete;

  // Starts the threads and returns once all of them are measuring. Throws
  // rtcell::Error (and leaves nothing running or held) when a thread cannot
  // be pinned or get its policy, memory cannot be locked, or a required
  // /dev/cpu_dma_latency request fails. Non-fatal problems go to warnings().
  void start();
  // Asks every thread to stop after its current period. Async-signal-safe.
  void stop(StopReason why = StopReason::Signal) noexcept;
  // True once every thread has finished (by itself or after stop()).
  bool finished() const noexcept;
  // Waits up to `timeout_ns` for the threads to finish.
  bool wait_for(int64_t timeout_ns);
  // Joins the threads and returns the results. Call once, after finished()
  // or stop().
  LatencyResult finish();

  const LatencyConfig& config() const noexcept { return config_; }
  std::vector<LiveSnapshot> live() const;
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }

 private:
  struct Worker;
  static void* thread_entry(void* arg) noexcept;
  void worker_main(Worker& w) noexcept;
  void join_all() noexcept;
  void abort_start() noexcept;

  LatencyConfig config_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::string> warnings_;
  std::atomic<bool> stop_{false};
  std::atomic<int> stop_reason_{0};
  std::atomic<int> ready_{0};
  std::atomic<int> go_{0};  // 0 wait, 1 measure, 2 abort
  std::atomic<int> done_{0};
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  std::atomic<bool> break_claimed_{false};
  Breaktrace break_{};
  int64_t start_ns_ = 0;
  int64_t end_ns_ = 0;
  bool locked_ = false;
  bool started_ = false;
  bool finished_ = false;
  DmaLatencyRequest dma_;
};

// Runs a whole measurement in the calling thread: start(), wait, finish().
LatencyResult run_latency(LatencyConfig config);

// Refuses an interval the loop cannot keep: 0 always, below 10 us unless
// `force` (the thread would spend its time in the timer path, not measuring).
void validate_interval(int64_t interval_ns, bool force);

// Resolves the user's thread options into plans, cyclictest-style:
// smp: one thread per CPU of `affinity` (or of `allowed` when empty), pinned;
// otherwise `threads` threads, pinned round-robin over `affinity` when given,
// unpinned when not. Thread i gets interval + i * distance.
// Every CPU named must exist (`possible`), be online and be in `allowed`
// (this process's affinity); otherwise a Usage error says which and why.
std::vector<ThreadPlan> plan_threads(int threads, const CpuSet& affinity, bool smp, int64_t interval_ns,
                                     int64_t distance_ns, const CpuSet& possible, const CpuSet& online,
                                     const CpuSet& allowed);
// The same against this host: /sys/devices/system/cpu/{possible,online} and
// the calling thread's affinity.
std::vector<ThreadPlan> plan_threads_for_host(int threads, const CpuSet& affinity, bool smp,
                                              int64_t interval_ns, int64_t distance_ns);

}  // namespace rtcell::measure
