#include "cell/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "cell/lifecycle.hpp"
#include "rtcell/error.hpp"
#include "sys/fd.hpp"

namespace rtcell::cell {

namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kMinSample = 2 * kMs;
constexpr int64_t kMaxSample = 50 * kMs;
constexpr int kMaxWindows = 64;
// The rate at which a thread that spins without end is assumed to use its
// CPU: below 1 for the global RT throttling (sched_rt_runtime_us, 95% by
// default) and for the sampling's own jitter.
constexpr double kRunawayRate = 0.9;

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string ms(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(ns) / 1e6);
  return buf;
}

}  // namespace

SuperviseSpec supervise_spec(analysis::OverrunAction action, std::vector<analysis::DemandTask> tasks,
                             const CpuSet& cpus, int max_priority, int64_t grace_ns) {
  SuperviseSpec s;
  s.action = action;
  s.tasks = std::move(tasks);
  s.cpus = cpus;
  s.grace_ns = grace_ns;
  s.priority = std::clamp(max_priority + 1, 1, 98);
  int64_t shortest = kMaxSample * 2;
  for (const auto& t : s.tasks) shortest = std::min({shortest, t.period, std::max<int64_t>(t.deadline, 1)});
  s.sample_ns = std::clamp<int64_t>(shortest / 2, kMinSample, kMaxSample);
  // The window in which a spinning thread exceeds the demand bound: the
  // bound grows as U·w + K (K: one job of carry-in and one of rounding per
  // task), the runaway as kRunawayRate·w.
  int64_t need = 2 * s.sample_ns;
  int64_t seen_within = 0;
  for (int cpu : cpus.cpus()) {
    double u = 0;
    double k = 0;
    for (const auto& t : s.tasks) {
      if (t.cpu >= 0 && t.cpu != cpu) continue;
      u += static_cast<double>(t.wcet) / static_cast<double>(t.period);
      k += static_cast<double>(t.wcet) *
           (2.0 + static_cast<double>(t.deadline) / static_cast<double>(t.period));
    }
    if (u >= kRunawayRate - 0.02) {
      s.notes.push_back(
          "supervisor: CPU " + std::to_string(cpu) + " is " + std::to_string(std::lround(u * 100)) +
          "% booked by the admitted tasks: a runaway there cannot be told from them by CPU time "
          "(the tasks' own counters still report overruns)");
      continue;
    }
    const auto w = static_cast<int64_t>(std::ceil(k / (kRunawayRate - u)));
    need = std::max(need, 3 * w / 2);
    seen_within = std::max(seen_within, w);
  }
  if (need > s.sample_ns * kMaxWindows) s.sample_ns = (need + kMaxWindows - 1) / kMaxWindows;
  s.windows = static_cast<int>(std::clamp<int64_t>((need + s.sample_ns - 1) / s.sample_ns, 2, kMaxWindows));
  s.notes.insert(s.notes.begin(),
                 "supervisor: " + std::string(analysis::to_string(action)) + " on overrun; samples every " +
                     ms(s.sample_ns) + ", a thread spinning on a CPU of the cell is seen within about " +
                     ms(seen_within + s.sample_ns) + " of its start (after " + ms(grace_ns) + " of set-up)");
  return s;
}

std::string supervise_spec_json(const SuperviseSpec& s) {
  nlohmann::json tasks = nlohmann::json::array();
  for (const auto& t : s.tasks)
    tasks.push_back({{"period", t.period}, {"wcet", t.wcet}, {"deadline", t.deadline}, {"cpu", t.cpu}});
  return nlohmann::json{{"action", analysis::to_string(s.action)},
                        {"tasks", tasks},
                        {"cpus", s.cpus.to_string()},
                        {"grace_ns", s.grace_ns},
                        {"sample_ns", s.sample_ns},
                        {"windows", s.windows},
                        {"priority", s.priority}}
      .dump();
}

SuperviseSpec supervise_spec_from_json(const std::string& text) {
  try {
    const auto j = nlohmann::json::parse(text);
    SuperviseSpec s;
    auto action = analysis::parse_overrun_action(j.at("action").get<std::string>());
    if (!action) usage_error("supervise spec: unknown action " + j.at("action").dump());
    s.action = *action;
    for (const auto& t : j.at("tasks"))
      s.tasks.push_back({.period = t.at("period").get<analysis::Time>(),
                         .wcet = t.at("wcet").get<analysis::Time>(),
                         .deadline = t.at("deadline").get<analysis::Time>(),
                         .cpu = t.at("cpu").get<int>()});
    s.cpus = CpuSet::parse(j.at("cpus").get<std::string>());
    s.grace_ns = j.at("grace_ns").get<int64_t>();
    s.sample_ns = j.at("sample_ns").get<int64_t>();
    s.windows = j.at("windows").get<int>();
    s.priority = j.at("priority").get<int>();
    if (s.sample_ns <= 0 || s.windows <= 0 || s.tasks.empty())
      usage_error("supervise spec: needs tasks, a positive sample_ns and windows");
    return s;
  } catch (const nlohmann::json::exception& e) {
    usage_error(std::string("supervise spec: ") + e.what());
  }
}

std::string describe(const SuperviseSpec& s) {
  return std::string(analysis::to_string(s.action)) + " (every " + ms(s.sample_ns) + ")";
}

OverrunMeter::OverrunMeter(const SuperviseSpec& spec, int64_t start_ns)
    : spec_(spec), judge_from_(start_ns + spec.grace_ns) {}

std::optional<Overrun> OverrunMeter::feed(int64_t t_ns, const std::vector<int64_t>& usage_by_cpu) {
  if (t_ns < judge_from_) return std::nullopt;
  if (ring_.size() > static_cast<size_t>(spec_.windows)) ring_.erase(ring_.begin());
  std::optional<Overrun> found;
  for (size_t i = 0; i < ring_.size() && !found; ++i) {
    const Sample& old = ring_[i];
    const int64_t w = t_ns - old.t;
    if (w <= 0) continue;
    for (int cpu : spec_.cpus.cpus()) {
      const auto c = static_cast<size_t>(cpu);
      const int64_t now_u = c < usage_by_cpu.size() ? usage_by_cpu[c] : 0;
      const int64_t old_u = c < old.usage.size() ? old.usage[c] : 0;
      const int64_t used = now_u - old_u;
      const int64_t allowed = analysis::max_demand(spec_.tasks, cpu, w);
      if (used > allowed) {
        found = Overrun{.cpu = cpu,
                        .window_ns = w,
                        .used_ns = used,
                        .allowed_ns = allowed,
                        .since_ns = ring_.back().t,
                        .seen_ns = t_ns};
        break;
      }
    }
  }
  // Threads on CPUs outside the cell (moved there, or not pinned) are
  // judged against no admitted demand at all.
  if (!found) {
    for (size_t c = 0; c < usage_by_cpu.size() && !ring_.empty(); ++c) {
      if (spec_.cpus.contains(static_cast<int>(c))) continue;
      const Sample& old = ring_.front();
      const int64_t used = usage_by_cpu[c] - (c < old.usage.size() ? old.usage[c] : 0);
      if (used > analysis::max_demand(spec_.tasks, static_cast<int>(c), t_ns - old.t)) {
        found = Overrun{.cpu = static_cast<int>(c),
                        .window_ns = t_ns - old.t,
                        .used_ns = used,
                        .allowed_ns = analysis::max_demand(spec_.tasks, static_cast<int>(c), t_ns - old.t),
                        .since_ns = ring_.back().t,
                        .seen_ns = t_ns};
        break;
      }
    }
  }
  ring_.push_back(Sample{t_ns, usage_by_cpu});
  return found;
}

// ---- sampling the kernel ----

namespace {

struct Watched {
  sys::Fd stat;
  sys::Fd schedstat;
  int64_t runtime = 0;  // ns, from schedstat
  int cpu = 0;
  int policy = 0;
  std::string comm;
  bool fresh = true;        // no baseline yet
  uint64_t generation = 0;  // the last sample that listed it
};

// pread at 0 of a small proc file: seq_file regenerates it.
bool read_at0(int fd, char* buf, size_t cap, size_t& len) {
  const ssize_t n = ::pread(fd, buf, cap - 1, 0);
  if (n <= 0) return false;
  len = static_cast<size_t>(n);
  buf[len] = '\0';
  return true;
}

// /proc/TID/stat: comm, then after ')' field 39 (processor) and 41
// (policy) of proc(5).
bool parse_stat(const char* buf, size_t len, Watched& w) {
  const char* open = static_cast<const char*>(std::memchr(buf, '(', len));
  const char* close = nullptr;
  for (const char* p = buf + len; p > buf; --p)
    if (p[-1] == ')') {
      close = p - 1;
      break;
    }
  if (open == nullptr || close == nullptr || close < open) return false;
  w.comm.assign(open + 1, close);
  const char* p = close + 1;
  const char* end = buf + len;
  int field = 2;
  long values[2] = {-1, -1};
  while (p < end) {
    while (p < end && *p == ' ') ++p;
    const char* s = p;
    while (p < end && *p != ' ' && *p != '\n') ++p;
    ++field;
    if (field == 39 || field == 41) {
      long v = 0;
      if (std::from_chars(s, p, v).ec != std::errc()) return false;
      values[field == 39 ? 0 : 1] = v;
      if (field == 41) break;
    }
    if (p < end && *p == '\n') break;
  }
  if (values[0] < 0 || values[1] < 0) return false;
  w.cpu = static_cast<int>(values[0]);
  w.policy = static_cast<int>(values[1]);
  return true;
}

bool is_rt(int policy) {
  return policy == SCHED_FIFO || policy == SCHED_RR;
}

}  // namespace

struct Supervisor::Impl {
  Registry reg;
  std::string id;
  SuperviseSpec spec;
  std::function<void(const OverrunEvent&)> on_event;
  sys::Fd threads;  // the cell's cgroup.threads (v2) or tasks (v1)
  sys::Fd stop;     // eventfd
  sys::Fd timer;    // timerfd
  std::unordered_map<pid_t, Watched> watched;
  std::vector<pid_t> tids;  // scratch of list_threads()
  std::string text;         // scratch of list_threads()
  uint64_t generation = 0;
  std::vector<int64_t> usage;  // cumulative RT ns per CPU
  std::map<int, int> warned;   // CPU -> overruns after the first warning
  std::atomic<int> overruns{0};
  std::atomic<int64_t> samples{0};
  std::thread thread;

  Impl(const Registry& r, std::string i, SuperviseSpec s, std::function<void(const OverrunEvent&)> e)
      : reg(r), id(std::move(i)), spec(std::move(s)), on_event(std::move(e)) {}

  void open_threads() {
    const CellState st = state(reg, id);
    for (const auto& m : st.cgroups.made) {
      if (!m.leaf) continue;
      for (const char* f : {"/cgroup.threads", "/tasks"}) {
        sys::Fd fd = sys::Fd::try_open(m.path + f, O_RDONLY | O_CLOEXEC);
        if (fd) {
          threads = std::move(fd);
          return;
        }
      }
    }
    throw Error(ErrorKind::Unsupported,
                "cell '" + id + "' has no cgroup to list its threads from: the supervisor needs one");
  }

  // The cell's threads, into `tids` (kept between samples: no allocation
  // once it has grown to the cell's size).
  void list_threads() {
    tids.clear();
    text.clear();
    char buf[16384];
    off_t off = 0;
    for (;;) {
      const ssize_t n = ::pread(threads.get(), buf, sizeof buf, off);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
      off += n;
      if (static_cast<size_t>(n) < sizeof buf) break;  // a short read is the end
    }
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
      pid_t v = 0;
      auto r = std::from_chars(p, end, v);
      if (r.ec != std::errc()) break;
      tids.push_back(v);
      p = r.ptr;
      while (p < end && (*p == '\n' || *p == ' ')) ++p;
    }
  }

  void sample() {
    list_threads();
    ++generation;
    char buf[1024];
    size_t len = 0;
    for (pid_t tid : tids) {
      auto it = watched.find(tid);
      if (it == watched.end()) {
        Watched w;
        const std::string dir = "/proc/" + std::to_string(tid);
        w.stat = sys::Fd::try_open(dir + "/stat", O_RDONLY | O_CLOEXEC);
        w.schedstat = sys::Fd::try_open(dir + "/schedstat", O_RDONLY | O_CLOEXEC);
        if (!w.stat || !w.schedstat) continue;  // gone already
        it = watched.emplace(tid, std::move(w)).first;
      }
      Watched& w = it->second;
      w.generation = generation;
      if (!read_at0(w.schedstat.get(), buf, sizeof buf, len)) continue;
      int64_t runtime = 0;
      if (std::from_chars(buf, buf + len, runtime).ec != std::errc()) continue;
      if (!read_at0(w.stat.get(), buf, sizeof buf, len) || !parse_stat(buf, len, w)) continue;
      if (!w.fresh && is_rt(w.policy) && w.cpu >= 0) {
        const auto c = static_cast<size_t>(w.cpu);
        if (usage.size() <= c) usage.resize(c + 1, 0);
        usage[c] += runtime - w.runtime;
      }
      w.fresh = false;
      w.runtime = runtime;
    }
    for (auto it = watched.begin(); it != watched.end();) {
      if (it->second.generation != generation)
        it = watched.erase(it);
      else
        ++it;
    }
    samples.fetch_add(1, std::memory_order_relaxed);
  }

  // Acts on `o`; true when the supervision is over (the cell was killed).
  bool act(const Overrun& o) {
    overruns.fetch_add(1, std::memory_order_relaxed);
    OverrunEvent e;
    e.overrun = o;
    e.action = spec.action;
    bool over = false;
    try {
      switch (spec.action) {
        case analysis::OverrunAction::Warn: {
          auto [it, first] = warned.emplace(o.cpu, 0);
          if (!first) {
            ++it->second;
            return false;  // said once per CPU; counted
          }
          e.done = "warned";
          break;
        }
        case analysis::OverrunAction::Demote: {
          std::string names;
          const sched_param p{};
          for (auto& [tid, w] : watched) {
            if (!is_rt(w.policy) || w.cpu != o.cpu) continue;
            if (::sched_setscheduler(tid, SCHED_OTHER, &p) != 0) {
              if (errno == ESRCH) continue;
              throw Error(ErrorKind::System, "cannot demote " + w.comm + ":" + std::to_string(tid) + ": " +
                                                 std::strerror(errno));
            }
            w.policy = SCHED_OTHER;
            names += (names.empty() ? "" : ", ") + w.comm + ":" + std::to_string(tid);
          }
          e.done =
              names.empty() ? "found no RT thread left to demote" : "demoted " + names + " to SCHED_OTHER";
          break;
        }
        case analysis::OverrunAction::Freeze:
          pause(reg, id);
          e.done = "froze the cell (rtcell resume " + id + " to go on, rtcell kill " + id + " to end it)";
          break;
        case analysis::OverrunAction::Kill:
          kill(reg, id, SIGKILL, true);
          e.done = "killed the cell";
          over = true;
          break;
      }
    } catch (const Error& err) {
      e.failed = true;
      e.done = err.what();
    }
    const int64_t done = now_ns();
    e.action_ns = done - o.seen_ns;
    e.reaction_ns = done - o.since_ns;
    if (on_event) on_event(e);
    return over;
  }

  void place_self() const {
    // Above the cell's tasks, and off its CPUs where the host has others:
    // a runaway on the cell's CPU must not keep the supervisor from running.
    cpu_set_t all;
    CPU_ZERO(&all);
    if (::sched_getaffinity(0, sizeof all, &all) == 0) {
      const CpuSet others = CpuSet::from_cpu_set(all).minus(spec.cpus);
      if (!others.empty()) {
        const cpu_set_t set = others.to_cpu_set();
        (void)::sched_setaffinity(0, sizeof set, &set);
      }
    }
    if (spec.priority > 0) {
      sched_param p{};
      p.sched_priority = spec.priority;
      (void)::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &p);
    }
  }

  void run(int64_t start) {
    place_self();
    OverrunMeter meter(spec, start);
    pollfd fds[2] = {{stop.get(), POLLIN, 0}, {timer.get(), POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if ((fds[0].revents & POLLIN) != 0) return;
      if ((fds[1].revents & POLLIN) == 0) continue;
      uint64_t expirations = 0;
      (void)::read(timer.get(), &expirations, sizeof expirations);
      try {
        sample();
      } catch (const Error&) {
        return;  // the cell is gone
      }
      if (auto o = meter.feed(now_ns(), usage)) {
        if (act(*o)) return;
        meter.restart();
      }
    }
  }
};

Supervisor::Supervisor(const Registry& reg, const std::string& id, SuperviseSpec spec,
                       std::function<void(const OverrunEvent&)> on_event)
    : impl_(std::make_unique<Impl>(reg, id, std::move(spec), std::move(on_event))) {
  Impl& s = *impl_;
  s.open_threads();
  s.stop = sys::Fd(::eventfd(0, EFD_CLOEXEC));
  if (!s.stop) sys_error("eventfd", errno);
  s.timer = sys::Fd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
  if (!s.timer) sys_error("timerfd_create", errno);
  itimerspec its{};
  its.it_interval.tv_sec = s.spec.sample_ns / 1'000'000'000;
  its.it_interval.tv_nsec = s.spec.sample_ns % 1'000'000'000;
  its.it_value = its.it_interval;
  if (::timerfd_settime(s.timer.get(), 0, &its, nullptr) != 0) sys_error("timerfd_settime", errno);
  const int64_t start = now_ns();
  s.sample();  // the baseline of every thread there now
  s.thread = std::thread([&s, start] { s.run(start); });
}

Supervisor::~Supervisor() {
  const uint64_t one = 1;
  (void)::write(impl_->stop.get(), &one, sizeof one);
  if (impl_->thread.joinable()) impl_->thread.join();
}

int Supervisor::overruns() const {
  return impl_->overruns.load(std::memory_order_relaxed);
}
int64_t Supervisor::samples() const {
  return impl_->samples.load(std::memory_order_relaxed);
}

}  // namespace rtcell::cell
