// The periodic loop and its seqlock.
//
// The seqlock follows Boehm, "Can Seqlocks Get Along With Programming
// Language Memory Models?" (MSPC 2012): every shared field is a std::atomic
// accessed relaxed, the writer brackets its stores with an odd sequence
// number + release fence and an even release store, and the reader checks the
// sequence number around its loads with an acquire fence. That makes a torn
// read detectable (the reader retries) without a data race, so ThreadSanitizer
// stays quiet, and the RT writer never waits. The writer is the only one that
// modifies the fields, so it keeps plain shadow copies and only stores.
#include "rtcell/rt/periodic_task.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <new>
#include <string>
#include <vector>

#include "rtcell/error.hpp"
#include "rtcell/rt/memory.hpp"
#include "rtcell/rt/published_stats.hpp"
#include "rtcell/rt/time.hpp"

namespace rtcell::rt {

namespace {

// glibc takes a thread's static TLS out of its stack; ThreadSanitizer's
// runtime alone has ~768 KiB of TLS (readelf -l libtsan.so), which would
// leave a TaskThreadConfig-sized stack too small to prefault.
#if defined(__SANITIZE_THREAD__)
constexpr size_t kTlsHeadroom = 1 << 20;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr size_t kTlsHeadroom = 1 << 20;
#else
constexpr size_t kTlsHeadroom = 0;
#endif
#else
constexpr size_t kTlsHeadroom = 0;
#endif

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// A histogram whose counts a reader may copy while the writer updates them.
class AtomicHistogram {
 public:
  AtomicHistogram(uint32_t buckets, int64_t bucket_ns, uint32_t overflow_capacity)
      : n_(buckets),
        bucket_ns_(bucket_ns),
        cap_(overflow_capacity),
        buckets_(new std::atomic<uint64_t>[buckets]),
        ov_index_(new std::atomic<uint64_t>[std::max<uint32_t>(overflow_capacity, 1)]),
        ov_value_(new std::atomic<int64_t>[std::max<uint32_t>(overflow_capacity, 1)]) {
    for (uint32_t i = 0; i < n_; ++i) buckets_[i].store(0, std::memory_order_relaxed);
  }

  // Writer only. `index` is the sample number (cycle count before this one).
  void record(uint64_t index, int64_t v) noexcept {
    const int64_t b = v < 0 ? 0 : v / bucket_ns_;
    if (b < static_cast<int64_t>(n_)) {
      auto& slot = buckets_[static_cast<size_t>(b)];
      slot.store(slot.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      return;
    }
    if (overflow_count_ < cap_) {
      ov_index_[overflow_count_].store(index, std::memory_order_relaxed);
      ov_value_[overflow_count_].store(v, std::memory_order_relaxed);
    }
    ++overflow_count_;
    overflow_count_pub_.store(overflow_count_, std::memory_order_relaxed);
  }

  // Reader: copies into preallocated vectors (inside the seqlock read section).
  void copy(std::vector<uint64_t>& buckets, std::vector<Overflow>& ovs,
            uint64_t& overflow_count) const noexcept {
    for (uint32_t i = 0; i < n_; ++i) buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    overflow_count = overflow_count_pub_.load(std::memory_order_relaxed);
    const uint64_t kept = std::min<uint64_t>(overflow_count, cap_);
    ovs.resize(kept);  // capacity reserved by the caller: no allocation here
    for (uint64_t i = 0; i < kept; ++i)
      ovs[i] = {ov_index_[i].load(std::memory_order_relaxed), ov_value_[i].load(std::memory_order_relaxed)};
  }

  uint32_t size() const noexcept { return n_; }
  uint32_t capacity() const noexcept { return cap_; }

 private:
  uint32_t n_;
  int64_t bucket_ns_;
  uint32_t cap_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::unique_ptr<std::atomic<uint64_t>[]> ov_index_;
  std::unique_ptr<std::atomic<int64_t>[]> ov_value_;
  uint64_t overflow_count_ = 0;  // writer's shadow
  std::atomic<uint64_t> overflow_count_pub_{0};
};

// Plain mirror of the published counters; the writer updates this and then
// stores every field.
struct Counters {
  uint64_t cycles = 0, misses = 0, overruns = 0, skipped = 0, last_miss = 0;
  int64_t lat_min = 0, lat_max = 0, lat_sum = 0, exec_min = 0, exec_max = 0, exec_sum = 0, resp_max = 0;
  uint64_t g_allocs = 0, g_faults = 0, g_viol = 0, g_first = 0;
};

}  // namespace

struct PeriodicTask::Live {
  Live(const PeriodicTaskConfig& c)
      : lat(c.histogram_buckets, c.bucket_ns, c.overflow_capacity),
        exec(c.histogram_buckets, c.bucket_ns, c.overflow_capacity) {}

  alignas(64) std::atomic<uint64_t> seq{0};
  std::atomic<uint64_t> cycles{0}, misses{0}, overruns{0}, skipped{0}, last_miss{0};
  std::atomic<int64_t> lat_min{0}, lat_max{0}, lat_sum{0}, exec_min{0}, exec_max{0}, exec_sum{0}, resp_max{0};
  std::atomic<uint64_t> g_allocs{0}, g_faults{0}, g_viol{0}, g_first{0};
  AtomicHistogram lat, exec;
  Counters w;  // writer-only shadow

  void publish_counters() noexcept {
    constexpr auto r = std::memory_order_relaxed;
    cycles.store(w.cycles, r);
    misses.store(w.misses, r);
    overruns.store(w.overruns, r);
    skipped.store(w.skipped, r);
    last_miss.store(w.last_miss, r);
    lat_min.store(w.lat_min, r);
    lat_max.store(w.lat_max, r);
    lat_sum.store(w.lat_sum, r);
    exec_min.store(w.exec_min, r);
    exec_max.store(w.exec_max, r);
    exec_sum.store(w.exec_sum, r);
    resp_max.store(w.resp_max, r);
    g_allocs.store(w.g_allocs, r);
    g_faults.store(w.g_faults, r);
    g_viol.store(w.g_viol, r);
    g_first.store(w.g_first, r);
  }

  TaskStats read_counters() const noexcept {
    constexpr auto r = std::memory_order_relaxed;
    TaskStats s;
    s.cycles = cycles.load(r);
    s.deadline_misses = misses.load(r);
    s.overruns = overruns.load(r);
    s.skipped_releases = skipped.load(r);
    s.last_miss_cycle = last_miss.load(r);
    s.latency_min_ns = lat_min.load(r);
    s.latency_max_ns = lat_max.load(r);
    s.latency_sum_ns = lat_sum.load(r);
    s.exec_min_ns = exec_min.load(r);
    s.exec_max_ns = exec_max.load(r);
    s.exec_sum_ns = exec_sum.load(r);
    s.response_max_ns = resp_max.load(r);
    s.guard_allocations = g_allocs.load(r);
    s.guard_page_faults = g_faults.load(r);
    s.guard_violation_cycles = g_viol.load(r);
    s.first_violation_cycle = g_first.load(r);
    return s;
  }

  // Seqlock write section (writer only).
  void begin_write() noexcept {
    seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
  }
  void end_write() noexcept { seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  // Runs `read` until it saw a consistent state. Reader side only, so it may
  // yield: a writer preempted mid-update (odd sequence) on the reader's CPU
  // needs the CPU back. (A reader with a higher RT priority than the task on
  // the same CPU would still spin: read from another CPU or a lower priority.)
  template <typename F>
  void read_consistent(F&& read) const noexcept {
    for (unsigned spins = 0;; ++spins) {
      const uint64_t s1 = seq.load(std::memory_order_acquire);
      if (s1 & 1) {
        if (spins % 64 == 63)
          sched_yield();
        else
          cpu_relax();
        continue;
      }
      read();
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq.load(std::memory_order_relaxed) == s1) return;
    }
  }
};

// The published page (rtcell/rt/published_stats.hpp): a file mapped shared.
struct PeriodicTask::Page {
  PublishedStats* stats = nullptr;
  Page(const std::string& dir, const PeriodicTaskConfig& cfg) {
    std::string file = cfg.publish_name;
    for (char& c : file)
      if (c == '/' || c == '\0') c = '_';
    const std::string path = dir + "/" + file + ".stats";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) sys_error("cannot publish the counters of task '" + cfg.publish_name + "' to " + path, errno);
    if (::ftruncate(fd, sizeof(PublishedStats)) != 0) {
      const int e = errno;
      ::close(fd);
      sys_error("cannot size " + path, e);
    }
    void* m = ::mmap(nullptr, sizeof(PublishedStats), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    const int e = errno;
    ::close(fd);
    if (m == MAP_FAILED) sys_error("cannot map " + path, e);
    stats = new (m) PublishedStats{};
    std::snprintf(stats->name, sizeof stats->name, "%s", cfg.publish_name.c_str());
    stats->period_ns = cfg.period_ns;
    stats->deadline_ns = cfg.deadline_ns;
    stats->response_bucket_ns = std::max<int64_t>(1, cfg.deadline_ns / 64);
    stats->version = PublishedStats::kVersion;
    std::atomic_thread_fence(std::memory_order_release);
    stats->magic = PublishedStats::kMagic;
  }
  ~Page() {
    if (stats != nullptr) ::munmap(stats, sizeof(PublishedStats));
  }
  Page(const Page&) = delete;
  Page& operator=(const Page&) = delete;
  void publish(const Counters& w, int64_t response_ns) noexcept {
    constexpr auto r = std::memory_order_relaxed;
    // One writer: a load and a store, no read-modify-write.
    auto& bucket = stats->response_hist[stats->response_bucket(response_ns)];
    bucket.store(bucket.load(r) + 1, r);
    stats->cycles.store(w.cycles, r);
    stats->misses.store(w.misses, r);
    stats->overruns.store(w.overruns, r);
    stats->exec_max_ns.store(w.exec_max, r);
    stats->response_max_ns.store(w.resp_max, r);
    stats->latency_max_ns.store(w.lat_max, r);
  }
};

PeriodicTask::PeriodicTask(PeriodicTaskConfig cfg, Callback fn) : cfg_(std::move(cfg)), fn_(std::move(fn)) {
  if (!fn_) usage_error("PeriodicTask needs a callback");
  if (cfg_.period_ns <= 0) usage_error("PeriodicTask period must be positive (e.g. 1ms for a 1 kHz loop)");
  if (cfg_.deadline_ns < 0) usage_error("PeriodicTask deadline must be positive, or 0 for the period");
  if (cfg_.deadline_ns == 0) cfg_.deadline_ns = cfg_.period_ns;
  if (cfg_.overrun == OverrunPolicy::Handler && !cfg_.on_overrun)
    usage_error("PeriodicTask overrun policy Handler needs an on_overrun callback");
  // The histograms validate their own shape (and throw Usage).
  Histogram check(cfg_.histogram_buckets, cfg_.bucket_ns, 0);
  live_ = std::make_unique<Live>(cfg_);
  const char* dir = std::getenv(kStatsDirEnv);
  if (!cfg_.publish_name.empty() && dir != nullptr && *dir != '\0') page_ = std::make_unique<Page>(dir, cfg_);
}

PeriodicTask::~PeriodicTask() {
  request_stop();
  if (has_thread_) pthread_join(thread_, nullptr);
}

void PeriodicTask::run(uint64_t max_cycles) {
  running_.store(true, std::memory_order_release);
  struct Clear {
    std::atomic<bool>& r;
    ~Clear() { r.store(false, std::memory_order_release); }
  } clear{running_};
  loop(max_cycles);
}

void PeriodicTask::loop(uint64_t max_cycles) {
  Live& L = *live_;
  Counters& w = L.w;
  const int64_t period = cfg_.period_ns;
  const int64_t deadline = cfg_.deadline_ns;
  int64_t next = (first_run_ && cfg_.start_ns > 0) ? cfg_.start_ns : now_ns() + period;
  first_run_ = false;
  uint64_t index = next_index_;
  HotPathGuard guard;
  for (uint64_t done = 0; max_cycles == 0 || done < max_cycles; ++done) {
    if (stop_.load(std::memory_order_relaxed)) break;
    const timespec release_ts = from_ns(next);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &release_ts, nullptr) == EINTR) {
      if (stop_.load(std::memory_order_relaxed)) break;
    }
    const int64_t wake = now_ns();
    if (stop_.load(std::memory_order_relaxed)) break;

    const Cycle cycle{index, next, wake, next + deadline};
    if (cfg_.guard_hot_path) guard.restart();
    fn_(cycle);
    GuardReport gr;
    if (cfg_.guard_hot_path) gr = guard.report();
    const int64_t end = now_ns();

    const int64_t latency = wake - next;
    const int64_t exec = end - wake;
    int64_t release = next + period;
    uint64_t skipped = 0;
    bool stop_now = false;
    const bool overrun = end > release;
    if (overrun) {
      const auto passed = static_cast<uint64_t>((end - release) / period) + 1;
      OverrunAction act =
          cfg_.overrun == OverrunPolicy::CatchUp ? OverrunAction::CatchUp : OverrunAction::Skip;
      if (cfg_.overrun == OverrunPolicy::Handler) act = cfg_.on_overrun(Overrun{index, end, release, passed});
      if (act == OverrunAction::Skip) {
        skipped = passed;
        release += static_cast<int64_t>(passed) * period;
      } else if (act == OverrunAction::Stop) {
        stop_now = true;
      }
    }

    const uint64_t sample = w.cycles;
    ++w.cycles;
    if (sample == 0) {
      w.lat_min = w.lat_max = latency;
      w.exec_min = w.exec_max = exec;
    } else {
      w.lat_min = std::min(w.lat_min, latency);
      w.lat_max = std::max(w.lat_max, latency);
      w.exec_min = std::min(w.exec_min, exec);
      w.exec_max = std::max(w.exec_max, exec);
    }
    w.lat_sum += latency;
    w.exec_sum += exec;
    const int64_t response = end - next;
    w.resp_max = std::max(w.resp_max, response);
    if (end > cycle.deadline_ns) {
      ++w.misses;
      w.last_miss = index;
    }
    if (overrun) ++w.overruns;
    w.skipped += skipped;
    if (cfg_.guard_hot_path && !gr.clean()) {
      if (w.g_viol == 0) w.g_first = index;
      ++w.g_viol;
      w.g_allocs += gr.allocations;
      w.g_faults += gr.minor_faults + gr.major_faults;
    }
    L.begin_write();
    L.lat.record(sample, latency);
    L.exec.record(sample, exec);
    L.publish_counters();
    L.end_write();
    if (page_) page_->publish(w, response);

    index += 1 + skipped;
    next = release;
    if (stop_now) request_stop();
  }
  next_index_ = index;
}

void* PeriodicTask::thread_main(void* self) noexcept {
  auto* t = static_cast<PeriodicTask*>(self);
  try {
    t->loop(0);
  } catch (...) {
    t->thread_error_ = std::current_exception();
  }
  t->running_.store(false, std::memory_order_release);
  return nullptr;
}

void PeriodicTask::start(const TaskThreadConfig& tc) {
  if (has_thread_) usage_error("PeriodicTask::start called twice");
  if (tc.policy) validate_policy(*tc.policy, tc.policy_options);
  if (tc.stack_bytes && tc.prefault_stack_bytes + 256 * 1024 > tc.stack_bytes)
    usage_error("PeriodicTask: prefault_stack_bytes (" + std::to_string(tc.prefault_stack_bytes) +
                ") must leave 256 KiB of stack_bytes (" + std::to_string(tc.stack_bytes) + ") free");

  // Set-up happens on the new thread (a policy applies to the caller of
  // sched_setattr, and SCHED_DEADLINE cannot be set through pthread attrs), so
  // the creator waits for its verdict. Everything here is start-up: the
  // promise may allocate.
  struct Setup {
    PeriodicTask* task;
    const TaskThreadConfig* tc;
    std::promise<void> ready;
  } setup{this, &tc, {}};
  auto ready = setup.ready.get_future();

  auto entry = [](void* arg) -> void* {
    auto* s = static_cast<Setup*>(arg);
    PeriodicTask* task = s->task;
    try {
      if (s->tc->cpus) set_affinity(*s->tc->cpus);
      if (s->tc->policy) set_policy(*s->tc->policy, s->tc->policy_options);
      prefault_stack(s->tc->prefault_stack_bytes);
      task->running_.store(true, std::memory_order_release);
      s->ready.set_value();  // `s` is gone after this
    } catch (...) {
      s->ready.set_exception(std::current_exception());
      return nullptr;
    }
    return thread_main(task);
  };

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  if (tc.stack_bytes)
    pthread_attr_setstacksize(&attr, std::max<size_t>(tc.stack_bytes, PTHREAD_STACK_MIN) + kTlsHeadroom);
  const int rc = pthread_create(&thread_, &attr, entry, &setup);
  pthread_attr_destroy(&attr);
  if (rc == EAGAIN)
    sys_error(
        "PeriodicTask: cannot create its thread (EAGAIN): out of threads, or with mlockall(MCL_FUTURE) its "
        "stack exceeds RLIMIT_MEMLOCK (lower TaskThreadConfig::stack_bytes or raise the limit)",
        rc);
  if (rc != 0) sys_error("PeriodicTask: cannot create its thread", rc);
  try {
    ready.get();
  } catch (...) {
    pthread_join(thread_, nullptr);
    throw;
  }
  has_thread_ = true;
}

void PeriodicTask::stop() {
  request_stop();
  if (has_thread_) {
    pthread_join(thread_, nullptr);
    has_thread_ = false;
  }
  if (thread_error_) {
    auto e = thread_error_;
    thread_error_ = nullptr;
    std::rethrow_exception(e);
  }
}

TaskStats PeriodicTask::stats() const noexcept {
  TaskStats s;
  live_->read_consistent([&] { s = live_->read_counters(); });
  s.running = running();
  return s;
}

TaskSnapshot PeriodicTask::snapshot() const {
  const Live& L = *live_;
  std::vector<uint64_t> lb(L.lat.size()), eb(L.exec.size());
  std::vector<Overflow> lo, eo;
  lo.reserve(L.lat.capacity());
  eo.reserve(L.exec.capacity());
  uint64_t lov = 0, eov = 0;
  TaskStats s;
  L.read_consistent([&] {
    s = L.read_counters();
    L.lat.copy(lb, lo, lov);
    L.exec.copy(eb, eo, eov);
  });
  s.running = running();
  TaskSnapshot snap{s, Histogram(cfg_.histogram_buckets, cfg_.bucket_ns, cfg_.overflow_capacity),
                    Histogram(cfg_.histogram_buckets, cfg_.bucket_ns, cfg_.overflow_capacity)};
  snap.latency.assign(lb, lo, lov, s.cycles, s.latency_sum_ns, s.latency_min_ns, s.latency_max_ns);
  snap.exec.assign(eb, eo, eov, s.cycles, s.exec_sum_ns, s.exec_min_ns, s.exec_max_ns);
  return snap;
}

}  // namespace rtcell::rt
