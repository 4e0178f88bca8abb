#include "measure/latency.hpp"

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include "rtcell/error.hpp"
#include "rtcell/rt/memory.hpp"
#include "rtcell/rt/time.hpp"
#include "sys/file.hpp"
#include "sys/syscalls.hpp"
#include "util/units.hpp"

namespace rtcell::measure {

namespace {

// Measuring threads get a small explicit stack: mlockall() locks and
// populates every mapping, and eight threads with glibc's default 8 MiB
// stacks would pin 64 MiB for nothing. Sanitizers keep their per-thread
// state in static TLS, which glibc carves out of the same stack: give them room.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define RTCELL_MEASURE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define RTCELL_MEASURE_SANITIZED 1
#endif
#endif
#ifdef RTCELL_MEASURE_SANITIZED
constexpr size_t kThreadStack = 8 * 1024 * 1024;
#else
constexpr size_t kThreadStack = 512 * 1024;
#endif
constexpr size_t kPrefaultStack = 128 * 1024;
// The first period starts this long after start() has everything in place,
// so every thread is asleep on the same grid before the first wake-up.
constexpr int64_t kStartDelayNs = 2'000'000;
// cyclictest's HIST_MAX: one million 1 us buckets.
constexpr uint32_t kMaxBuckets = 1'000'000;

StopReason reason_from_int(int v) noexcept {
  switch (v) {
    case 1:
      return StopReason::Duration;
    case 2:
      return StopReason::Loops;
    case 3:
      return StopReason::Signal;
    case 4:
      return StopReason::Breaktrace;
    default:
      return StopReason::Running;
  }
}

int reason_to_int(StopReason r) noexcept {
  switch (r) {
    case StopReason::Duration:
      return 1;
    case StopReason::Loops:
      return 2;
    case StopReason::Signal:
      return 3;
    case StopReason::Breaktrace:
      return 4;
    default:
      return 0;
  }
}

}  // namespace

const char* to_string(StopReason r) noexcept {
  switch (r) {
    case StopReason::Duration:
      return "duration";
    case StopReason::Loops:
      return "loops";
    case StopReason::Signal:
      return "signal";
    case StopReason::Breaktrace:
      return "breaktrace";
    default:
      return "running";
  }
}

struct LatencyRun::Worker {
  Worker(LatencyRun& r, int i, ThreadPlan p, const LatencyConfig& c)
      : run(r), index(i), plan(p), hist(c.histogram_buckets, c.bucket_ns, c.overflow_capacity) {}
  LatencyRun& run;
  int index;
  ThreadPlan plan;
  rt::Histogram hist;
  LiveStats live;
  uint64_t missed = 0;
  int64_t last_ns = 0;
  int64_t last_wake_ns = 0;
  int64_t phase_ns = 0;
  pid_t tid = 0;
  pthread_t thread{};
  bool joinable = false;
  std::exception_ptr error;
};

LatencyRun::LatencyRun(LatencyConfig config) : config_(std::move(config)) {
  if (config_.threads.empty()) usage_error("no measuring threads: use --threads N or --smp");
  for (const auto& t : config_.threads) {
    if (t.interval_ns <= 0) usage_error("interval must be positive");
  }
  if (config_.histogram_buckets == 0)
    usage_error("histogram size 0: use at least 1 bucket (e.g. --histogram 1000)");
  if (config_.histogram_buckets > kMaxBuckets)
    usage_error("histogram size " + std::to_string(config_.histogram_buckets) +
                " is too large: use at most 1000000 (1 s)");
  if (config_.duration_ns < 0) usage_error("duration must not be negative");
  if (config_.breaktrace_ns < 0) usage_error("breaktrace must not be negative");
  rt::validate_policy(config_.policy, config_.policy_options);
  workers_.reserve(config_.threads.size());
  for (size_t i = 0; i < config_.threads.size(); ++i)
    workers_.push_back(std::make_unique<Worker>(*this, static_cast<int>(i), config_.threads[i], config_));
}

LatencyRun::~LatencyRun() {
  if (started_ && !finished_) {
    stop(StopReason::Signal);
    join_all();
  }
  if (locked_) rt::unlock_memory();
}

void* LatencyRun::thread_entry(void* arg) noexcept {
  auto* w = static_cast<Worker*>(arg);
  w->run.worker_main(*w);
  return nullptr;
}

void LatencyRun::worker_main(Worker& w) noexcept {
  try {
    w.tid = sys::gettid();
    w.live.tid.store(w.tid, std::memory_order_relaxed);
    if (w.plan.cpu) rt::set_affinity(CpuSet({*w.plan.cpu}));
    rt::set_policy(config_.policy, config_.policy_options);
    rt::prefault_stack(kPrefaultStack);
  } catch (const Error& e) {
    w.error = std::current_exception();
    // kernel/sched/syscalls.c (__sched_setscheduler): a deadline task's
    // affinity must cover its whole root domain, else EPERM even for root.
    // For root that EPERM is about our flags, not a privilege.
    if (std::holds_alternative<rt::Deadline>(config_.policy) && w.plan.cpu &&
        e.kind() == ErrorKind::Privilege && geteuid() == 0) {
      w.error = std::make_exception_ptr(Error(
          ErrorKind::Usage, "SCHED_DEADLINE refused for a thread pinned to CPU " +
                                std::to_string(*w.plan.cpu) +
                                ": the kernel admits a deadline task only when its affinity covers its whole "
                                "root domain; drop -S/-a, or make those CPUs an exclusive cpuset"));
    }
  } catch (...) {
    w.error = std::current_exception();
  }
  ready_.fetch_add(1, std::memory_order_release);
  ready_.notify_all();
  go_.wait(0, std::memory_order_acquire);

  if (go_.load(std::memory_order_acquire) == 1 && !w.error) {
    // The hot loop: no allocation, no lock, no throw (STYLE.md habit 4).
    const int64_t interval = w.plan.interval_ns;
    const int64_t end = end_ns_;
    const int64_t bt = config_.breaktrace_ns;
    const uint64_t loops = config_.loops;
    const int marker_fd = config_.trace_marker_fd;
    const int64_t marker_threshold = config_.trace_threshold_ns;
    const int marker_cpu = w.plan.cpu ? *w.plan.cpu : -1;
    // With breaktrace the run stops at the first sample over the limit: mark every one.
    WorstK marked(bt > 0 ? 0 : config_.trace_keep);
    char marker[160];
    // Phase: thread i starts i/n of its interval after thread 0 unless the
    // threads are aligned. cyclictest's threads each start at their own
    // creation time, so they rarely wake at the same instant; waking every
    // CPU at once makes them contend (in a VM: every vCPU exits to the host
    // together) and measures a harsher case than cyclictest does.
    if (!config_.aligned)
      w.phase_ns = static_cast<int64_t>(w.index) * (interval / static_cast<int64_t>(workers_.size()));
    int64_t next = start_ns_ + w.phase_ns;
    // A worker released after its first deadline (the releasing thread was
    // preempted past kStartDelayNs on a busy host) starts at its next
    // period instead: a first sample that late measures the start-up, not
    // a wake-up (seen in traces as "the deadline passed before the thread
    // armed its timer"). Nothing was missed: the run had not begun for it.
    if (const int64_t now0 = rt::now_ns(); now0 >= next) next += ((now0 - next) / interval + 1) * interval;
    uint64_t n = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
      const timespec ts = rt::from_ns(next);
      int r;
      do {
        r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
      } while (r == EINTR && !stop_.load(std::memory_order_relaxed));
      if (r != 0) break;
      const int64_t now = rt::now_ns();
      const int64_t lat = now - next;
      w.hist.record(lat);
      w.last_ns = lat;
      w.last_wake_ns = now;
      ++n;
      w.live.act_ns.store(lat, std::memory_order_relaxed);
      w.live.min_ns.store(w.hist.min_ns(), std::memory_order_relaxed);
      w.live.max_ns.store(w.hist.max_ns(), std::memory_order_relaxed);
      w.live.sum_ns.store(w.hist.sum_ns(), std::memory_order_relaxed);
      w.live.cycles.store(n, std::memory_order_release);
      if (marker_fd >= 0 && lat > marker_threshold && marked.offer(lat)) {
        const int cpu = marker_cpu >= 0 ? marker_cpu : sched_getcpu();
        const size_t len = format_spike_marker(marker, sizeof marker, w.index, w.tid, cpu, next, now);
        [[maybe_unused]] const ssize_t written = ::write(marker_fd, marker, len);
      }
      if (bt > 0 && lat > bt) {
        bool expected = false;
        if (break_claimed_.compare_exchange_strong(expected, true)) {
          break_.thread = w.index;
          break_.value_ns = lat;
          break_.sample = n - 1;
          break_.tid = w.tid;
          stop(StopReason::Breaktrace);
        }
        break;
      }
      if (loops != 0 && n >= loops) break;
      if (end != 0 && now >= end) break;
      next += interval;
      if (now >= next) {
        // Woke a whole period (or more) late: skip to the first future
        // period rather than firing catch-up wake-ups (see the file header).
        const int64_t skip = (now - next) / interval + 1;
        next += skip * interval;
        w.missed += static_cast<uint64_t>(skip);
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(done_mutex_);
    done_.fetch_add(1, std::memory_order_release);
  }
  done_cv_.notify_all();
}

void LatencyRun::join_all() noexcept {
  for (auto& w : workers_) {
    if (w->joinable) {
      pthread_join(w->thread, nullptr);
      w->joinable = false;
    }
  }
}

void LatencyRun::abort_start() noexcept {
  go_.store(2, std::memory_order_release);
  go_.notify_all();
  join_all();
  dma_.release();
  if (locked_) {
    rt::unlock_memory();
    locked_ = false;
  }
  finished_ = true;
}

void LatencyRun::start() {
  if (started_) usage_error("latency run already started");
  started_ = true;

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kThreadStack);
  for (auto& w : workers_) {
    int e = pthread_create(&w->thread, &attr, &LatencyRun::thread_entry, w.get());
    if (e != 0) {
      pthread_attr_destroy(&attr);
      abort_start();
      if (e == EAGAIN)
        sys_error("cannot create measuring thread " + std::to_string(w->index) +
                      " (EAGAIN): out of threads or, with mlock, over RLIMIT_MEMLOCK (try --no-mlock or "
                      "ulimit -l unlimited)",
                  e);
      sys_error("cannot create measuring thread " + std::to_string(w->index), e);
    }
    w->joinable = true;
  }
  pthread_attr_destroy(&attr);

  const int n = static_cast<int>(workers_.size());
  for (int seen = ready_.load(std::memory_order_acquire); seen < n;
       seen = ready_.load(std::memory_order_acquire))
    ready_.wait(seen, std::memory_order_acquire);

  for (auto& w : workers_) {
    if (w->error) {
      std::exception_ptr err = w->error;
      abort_start();
      std::rethrow_exception(err);
    }
  }
  try {
    if (config_.mlock) {
      rt::lock_memory();
      locked_ = true;
    }
    if (config_.dma_latency_us) {
      try {
        dma_ = DmaLatencyRequest::hold(*config_.dma_latency_us);
      } catch (const Error& e) {
        if (config_.dma_latency_required) throw;
        warnings_.push_back(std::string(e.what()) + "; measuring with the system's idle states");
      }
    }
  } catch (...) {
    abort_start();
    throw;
  }

  start_ns_ = rt::now_ns() + kStartDelayNs;
  end_ns_ = config_.duration_ns > 0 ? start_ns_ + config_.duration_ns : 0;
  go_.store(1, std::memory_order_release);
  go_.notify_all();
}

void LatencyRun::stop(StopReason why) noexcept {
  int expected = 0;
  stop_reason_.compare_exchange_strong(expected, reason_to_int(why));
  stop_.store(true, std::memory_order_relaxed);
}

bool LatencyRun::finished() const noexcept {
  return done_.load(std::memory_order_acquire) == static_cast<int>(workers_.size());
}

bool LatencyRun::wait_for(int64_t timeout_ns) {
  std::unique_lock<std::mutex> lock(done_mutex_);
  return done_cv_.wait_for(lock, std::chrono::nanoseconds(timeout_ns), [this] { return finished(); });
}

std::vector<LiveSnapshot> LatencyRun::live() const {
  std::vector<LiveSnapshot> out;
  out.reserve(workers_.size());
  for (const auto& w : workers_) {
    LiveSnapshot s;
    s.thread = w->index;
    s.cycles = w->live.cycles.load(std::memory_order_acquire);
    s.tid = w->live.tid.load(std::memory_order_relaxed);
    s.min_ns = w->live.min_ns.load(std::memory_order_relaxed);
    s.act_ns = w->live.act_ns.load(std::memory_order_relaxed);
    s.max_ns = w->live.max_ns.load(std::memory_order_relaxed);
    const int64_t sum = w->live.sum_ns.load(std::memory_order_relaxed);
    s.avg_ns = s.cycles ? sum / static_cast<int64_t>(s.cycles) : 0;
    out.push_back(s);
  }
  return out;
}

LatencyResult LatencyRun::finish() {
  if (!started_ || finished_) usage_error("latency run not running");
  {
    std::unique_lock<std::mutex> lock(done_mutex_);
    done_cv_.wait(lock, [this] { return finished(); });
  }
  join_all();
  finished_ = true;
  int64_t end = start_ns_;
  for (const auto& w : workers_) end = std::max(end, w->last_wake_ns);

  LatencyResult res{
      .threads = {},
      .total = rt::Histogram(config_.histogram_buckets, config_.bucket_ns,
                             config_.overflow_capacity * static_cast<uint32_t>(workers_.size())),
      .stopped_by = reason_from_int(stop_reason_.load()),
      .breaktrace = std::nullopt,
      .dma_latency_us = dma_.value_us(),
      .started_ns = start_ns_,
      .elapsed_ns = end > start_ns_ ? end - start_ns_ : 0};
  if (res.stopped_by == StopReason::Breaktrace) res.breaktrace = break_;
  if (res.stopped_by == StopReason::Running)
    res.stopped_by = config_.duration_ns > 0 && (config_.loops == 0 || end >= end_ns_) ? StopReason::Duration
                                                                                       : StopReason::Loops;
  for (auto& w : workers_) {
    res.total.merge(w->hist);
    res.threads.push_back(ThreadResult{.thread = w->index,
                                       .tid = w->tid,
                                       .cpu = w->plan.cpu,
                                       .interval_ns = w->plan.interval_ns,
                                       .phase_ns = w->phase_ns,
                                       .missed = w->missed,
                                       .last_ns = w->last_ns,
                                       .histogram = std::move(w->hist)});
  }
  dma_.release();
  if (locked_) {
    rt::unlock_memory();
    locked_ = false;
  }
  return res;
}

namespace {
// Appends "key=value" (decimal, possibly negative) without allocating.
size_t append_field(char* buf, size_t size, size_t at, const char* key, int64_t value) noexcept {
  char digits[24];
  size_t n = 0;
  const bool neg = value < 0;
  uint64_t v = neg ? static_cast<uint64_t>(-(value + 1)) + 1 : static_cast<uint64_t>(value);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (const char* k = key; *k != '\0' && at < size; ++k) buf[at++] = *k;
  if (at < size) buf[at++] = '=';
  if (neg && at < size) buf[at++] = '-';
  while (n > 0 && at < size) buf[at++] = digits[--n];
  return at;
}
}  // namespace

size_t format_spike_marker(char* buf, size_t size, int thread, pid_t tid, int cpu, int64_t expected_ns,
                           int64_t wake_ns) noexcept {
  static constexpr char kHead[] = "rtcell-spike";
  size_t at = 0;
  for (const char* k = kHead; *k != '\0' && at < size; ++k) buf[at++] = *k;
  const struct {
    const char* key;
    int64_t value;
  } fields[] = {{" thread", thread},        {" tid", tid},      {" cpu", cpu},
                {" expected", expected_ns}, {" wake", wake_ns}, {" latency", wake_ns - expected_ns}};
  for (const auto& f : fields) at = append_field(buf, size, at, f.key, f.value);
  if (at < size) buf[at++] = '\n';
  return at;
}

LatencyResult run_latency(LatencyConfig config) {
  LatencyRun run(std::move(config));
  run.start();
  return run.finish();
}

void validate_interval(int64_t interval_ns, bool force) {
  if (interval_ns <= 0) usage_error("interval 0: use a period of at least 10 us (e.g. --interval 1000)");
  if (interval_ns < 10'000 && !force)
    usage_error("interval " + util::format_time_ns(interval_ns) +
                " is below 10 us: the loop would measure its own overhead; pass --force to run it anyway");
}

std::vector<ThreadPlan> plan_threads(int threads, const CpuSet& affinity, bool smp, int64_t interval_ns,
                                     int64_t distance_ns, const CpuSet& possible, const CpuSet& online,
                                     const CpuSet& allowed) {
  if (distance_ns < 0) usage_error("distance must not be negative");
  for (int cpu : affinity.cpus()) {
    const std::string c = "CPU " + std::to_string(cpu);
    if (!possible.contains(cpu))
      usage_error(c + " does not exist on this host (CPUs " + possible.to_string() + "); fix --affinity");
    if (!online.contains(cpu))
      usage_error(c + " is offline (online: " + online.to_string() + "); bring it online or fix --affinity");
    if (!allowed.contains(cpu))
      usage_error(c + " is outside this process's allowed CPUs (" + allowed.to_string() +
                  ", from its cpuset/affinity); fix --affinity");
  }
  std::vector<ThreadPlan> plans;
  if (smp) {
    const CpuSet cpus = affinity.empty() ? allowed.intersect(online) : affinity;
    if (cpus.empty()) usage_error("no online CPU is allowed for this process");
    for (size_t i = 0; i < cpus.size(); ++i)
      plans.push_back({cpus.cpus()[i], interval_ns + static_cast<int64_t>(i) * distance_ns});
    return plans;
  }
  if (threads < 1) usage_error("--threads " + std::to_string(threads) + ": use at least 1");
  for (int i = 0; i < threads; ++i) {
    ThreadPlan p;
    if (!affinity.empty()) p.cpu = affinity.cpus()[static_cast<size_t>(i) % affinity.size()];
    p.interval_ns = interval_ns + static_cast<int64_t>(i) * distance_ns;
    plans.push_back(p);
  }
  return plans;
}

std::vector<ThreadPlan> plan_threads_for_host(int threads, const CpuSet& affinity, bool smp,
                                              int64_t interval_ns, int64_t distance_ns) {
  auto read_set = [](const char* path) {
    auto text = sys::try_read_file(path);
    return text ? CpuSet::parse(sys::trim(*text)) : CpuSet();
  };
  CpuSet allowed = rt::get_affinity(0);
  CpuSet online = read_set("/sys/devices/system/cpu/online");
  CpuSet possible = read_set("/sys/devices/system/cpu/possible");
  if (online.empty()) online = allowed;
  if (possible.empty()) possible = online;
  return plan_threads(threads, affinity, smp, interval_ns, distance_ns, possible, online, allowed);
}

}  // namespace rtcell::measure
