#include "trace/capture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <utility>

#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::trace {

const std::vector<std::string>& capture_events() {
  static const std::vector<std::string> events = {
      "sched:sched_switch",
      "sched:sched_wakeup",
      "sched:sched_waking",
      "sched:sched_migrate_task",
      "sched:sched_pi_setprio",
      "irq:irq_handler_entry",
      "irq:irq_handler_exit",
      "irq:softirq_entry",
      "irq:softirq_exit",
      "irq:softirq_raise",
      "timer:hrtimer_start",
      "timer:hrtimer_expire_entry",
      "timer:hrtimer_expire_exit",
      "timer:hrtimer_cancel",
      "irq_vectors:local_timer_entry",
      "irq_vectors:local_timer_exit",
      "irq_vectors:reschedule_entry",
      "irq_vectors:reschedule_exit",
      "irq_vectors:call_function_entry",
      "irq_vectors:call_function_exit",
      "irq_vectors:call_function_single_entry",
      "irq_vectors:call_function_single_exit",
      "irq_vectors:irq_work_entry",
      "irq_vectors:irq_work_exit",
      "ipi:*",
      "workqueue:workqueue_execute_start",
      "workqueue:workqueue_execute_end",
      "power:cpu_idle",
  };
  return events;
}

const std::vector<std::string>& timerlat_events() {
  static const std::vector<std::string> events = {
      "osnoise:irq_noise",
      "osnoise:softirq_noise",
      "osnoise:thread_noise",
      "osnoise:nmi_noise",
  };
  return events;
}

namespace {

bool has_word(const std::string& text, const std::string& word) {
  size_t pos = 0;
  while ((pos = text.find(word, pos)) != std::string::npos) {
    const bool left = pos == 0 || text[pos - 1] == ' ' || text[pos - 1] == '\n';
    const size_t end = pos + word.size();
    const bool right = end == text.size() || text[end] == ' ' || text[end] == '\n';
    if (left && right) return true;
    pos = end;
  }
  return false;
}

// "events/SYSTEM/NAME/enable" of "system:name" ("events/SYSTEM/enable" for "system:*").
std::string enable_path(const std::string& dir, const std::string& e) {
  const size_t colon = e.find(':');
  const std::string name = e.substr(colon + 1);
  std::string path = dir + "/events/" + e.substr(0, colon);
  if (name != "*") path += "/" + name;
  return path + "/enable";
}

// The `trace` file's comment lines (tracer, column layout: the parser
// reads the flags layout from them) for the drained text, less its
// entries-in-buffer/entries-written line, which counts the drained ring
// (0 in it) and would read as an overwritten one. One line says the text
// was drained, in its place (timerlat's header has no such line: then last).
std::string drain_header(const std::string& trace, uint64_t lines_read) {
  const std::string drained = "# rtcell: drained from trace_pipe during the run (" +
                              std::to_string(lines_read) +
                              " lines read); kept: the windows before the worst marked spikes\n";
  bool said = false;
  std::string out;
  size_t pos = 0;
  while (pos < trace.size()) {
    size_t nl = trace.find('\n', pos);
    if (nl == std::string::npos) nl = trace.size();
    const std::string line = trace.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line.front() != '#') continue;
    if (line.find("entries-in-buffer/entries-written:") != std::string::npos) {
      out += drained;
      said = true;
      continue;
    }
    out += line + "\n";
  }
  return said ? out : out + drained;
}

}  // namespace

std::string cpumask_hex(const CpuSet& cpus) {
  int max_cpu = 0;
  for (int c : cpus.cpus()) max_cpu = std::max(max_cpu, c);
  const size_t groups = static_cast<size_t>(max_cpu) / 32 + 1;
  std::vector<uint32_t> words(groups, 0);
  for (int c : cpus.cpus()) words[static_cast<size_t>(c) / 32] |= 1U << (static_cast<unsigned>(c) % 32);
  std::string out;
  for (size_t i = groups; i-- > 0;) {
    char buf[16];
    std::snprintf(buf, sizeof buf, out.empty() ? "%x" : "%08x", words[i]);
    if (!out.empty()) out += ",";
    out += buf;
  }
  return out;
}

// The drain reader: one SCHED_OTHER thread, on the CPUs that are not
// measured, that reads the instance's trace_pipe (consuming: the ring's
// pages are freed for the writers) and feeds each line to a WindowKeeper.
//
// Non-blocking reads on a timer, not a blocking read or poll(2) on
// trace_pipe: a waiter on the ring makes each writer queue an irq_work to
// wake it (kernel/trace/ring_buffer.c, rb_wakeups), an interrupt on the
// measured CPU that the measurement would see. Nobody waits on the ring
// here, so the measured CPUs pay only for recording, as without the
// reader; the reader pays for formatting the text. Every kPollMs it reads
// until EAGAIN; the ring must hold kPollMs of events plus the time one
// drain takes (8 MiB holds seconds; docs/explain.md).
class Drain {
 public:
  static constexpr int kPollMs = 10;

  Drain(sys::Fd pipe, const WindowConfig& window, CpuSet cpus)
      : pipe_(std::move(pipe)), wake_(::eventfd(0, EFD_CLOEXEC)), cpus_(std::move(cpus)), keeper_(window) {
    if (!wake_.valid()) sys_error("eventfd for the trace reader", errno);
    thread_ = std::thread([this] { run(); });
  }
  Drain(const Drain&) = delete;
  Drain& operator=(const Drain&) = delete;
  ~Drain() { stop(); }

  // Asks the reader to read what is left and stop, and waits for it.
  void stop() noexcept {
    if (!thread_.joinable()) return;
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
    thread_.join();
  }
  // After stop() only: the thread is gone.
  const WindowKeeper& keeper() const noexcept { return keeper_; }
  const std::string& error() const noexcept { return error_; }

 private:
  void run() noexcept {
    if (!cpus_.empty()) {
      const cpu_set_t set = cpus_.to_cpu_set();
      (void)::sched_setaffinity(0, sizeof set, &set);  // best effort: the kernel keeps it in the cpuset
    }
    const sched_param other{};
    (void)::sched_setscheduler(0, SCHED_OTHER, &other);
    try {
      bool stopping = false;
      for (;;) {
        if (!read_available()) return;
        if (stopping) break;
        pollfd p{wake_.get(), POLLIN, 0};
        if (::poll(&p, 1, kPollMs) > 0 && (p.revents & POLLIN) != 0) stopping = true;  // one more drain
      }
      if (!partial_.empty()) keeper_.feed(partial_);
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }

  // Reads until the ring is empty; false (error_ set) on a read error.
  bool read_available() {
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(pipe_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN) {
        error_ = std::string("reading trace_pipe: ") + std::strerror(errno);
        return false;
      }
      if (n <= 0) return true;
      size_t from = 0;
      const std::string_view chunk(buf, static_cast<size_t>(n));
      for (size_t nl = chunk.find('\n'); nl != std::string_view::npos; nl = chunk.find('\n', from)) {
        if (partial_.empty()) {
          keeper_.feed(chunk.substr(from, nl - from));
        } else {
          partial_.append(chunk.substr(from, nl - from));
          keeper_.feed(partial_);
          partial_.clear();
        }
        from = nl + 1;
      }
      partial_.append(chunk.substr(from));
    }
  }

  sys::Fd pipe_;
  sys::Fd wake_;
  CpuSet cpus_;
  WindowKeeper keeper_;
  std::string partial_;
  std::string error_;
  std::thread thread_;  // last: started when the rest is ready
};

Capture::Capture() = default;
Capture::Capture(Capture&&) noexcept = default;
Capture& Capture::operator=(Capture&&) noexcept = default;
Capture::~Capture() = default;

Capture Capture::start(const CaptureConfig& config) {
  if (config.cpus.empty()) usage_error("--trace: no CPU to trace");
  Capture c;
  c.mount_ = sys::TracefsMount::ensure(config.tracefs);
  c.stale_ = sys::remove_stale_instances(config.tracefs, config.instance_prefix);
  c.restored_ = sys::restore_stale_settings(config.journal_dir);
  c.instance_ =
      sys::TraceInstance::create(config.tracefs, config.instance_prefix + std::to_string(::getpid()));
  const std::string& dir = c.instance_.dir();
  // A new instance records from birth: stop it while we set it up.
  sys::write_file(dir + "/tracing_on", "0");
  sys::write_file(dir + "/trace_clock", "mono");
  sys::write_file(dir + "/buffer_size_kb", std::to_string(config.buffer_kb));
  sys::write_file(dir + "/tracing_cpumask", cpumask_hex(config.cpus));
  for (const auto& e : capture_events()) {
    const std::string path = enable_path(dir, e);
    if (::access(path.c_str(), W_OK) != 0) {
      c.missing_.push_back(e);
      continue;
    }
    sys::write_file(path, "1");
    c.enabled_.push_back(e);
  }
  if (config.timerlat) c.start_timerlat(config);
  c.marker_ = sys::Fd::open(dir + "/trace_marker", O_WRONLY | O_CLOEXEC);
  // After the tracer is set: the kernel refuses to change current_tracer
  // while a trace_pipe of the instance is open.
  if (config.drain)
    c.drain_ = std::make_unique<Drain>(sys::Fd::open(dir + "/trace_pipe", O_RDONLY | O_NONBLOCK | O_CLOEXEC),
                                       config.window, config.reader_cpus);
  // For timerlat this also starts its per-CPU threads (the tracer's start()).
  sys::write_file(dir + "/tracing_on", "1");
  return c;
}

// timerlat in the instance: its threads run on osnoise/cpus, a global file
// (kernel/trace/trace_osnoise.c keeps one osnoise_cpumask for every
// instance), so it is narrowed to the measured CPUs for the run and put back
// after. A kernel that will not run it in an instance (before 5.16, or
// another instance already running osnoise) gets one line, and the capture
// goes on without it.
void Capture::start_timerlat(const CaptureConfig& config) {
  const std::string tracers = sys::try_read_file(config.tracefs + "/available_tracers").value_or("");
  if (!has_word(tracers, "timerlat")) {
    timerlat_ = TimerlatState::Absent;
    timerlat_reason_ =
        "this kernel has no timerlat tracer (CONFIG_TIMERLAT_TRACER): rtcell's explanation only";
    return;
  }
  const std::string& dir = instance_.dir();
  const auto refuse = [&](const std::string& what, int err) {
    osnoise_cpus_.reset();
    timerlat_ = TimerlatState::Refused;
    timerlat_reason_ = "the timerlat tracer did not start in the private instance (" + what + ": " +
                       std::strerror(err) + "): rtcell's explanation only";
  };
  if (const int e = osnoise_cpus_.set(config.tracefs + "/osnoise/cpus", config.cpus.to_string(),
                                      config.journal_dir + "/" + std::to_string(::getpid()));
      e != 0)
    return refuse("osnoise/cpus", e);
  for (const auto& ev : timerlat_events()) {
    const std::string path = enable_path(dir, ev);
    if (::access(path.c_str(), W_OK) != 0 || sys::try_write(path, "1") != 0) {
      missing_.push_back(ev);
      continue;
    }
    enabled_.push_back(ev);
  }
  if (const int e = sys::try_write(dir + "/current_tracer", "timerlat"); e != 0)
    return refuse("current_tracer", e);
  timerlat_ = TimerlatState::Running;
  const auto period = sys::try_read_file(config.tracefs + "/osnoise/timerlat_period_us");
  timerlat_reason_ = "timerlat runs beside rtcell on CPUs " + config.cpus.to_string() +
                     " (its threads timerlat/N, SCHED_FIFO 95, wake every " +
                     (period ? sys::trim(*period) : std::string("?")) + " us); --no-timerlat leaves it out";
}

std::string Capture::stop_and_read() {
  const std::string& dir = instance_.dir();
  if (dir.empty()) usage_error("trace capture already closed");
  sys::write_file(dir + "/tracing_on", "0");
  marker_.reset();
  if (!drain_) return sys::read_file(dir + "/trace");
  drain_->stop();
  drain_error_ = drain_->error();
  drained_lines_ = drain_->keeper().lines_read();
  std::string text = drain_->keeper().text(drain_header(sys::read_file(dir + "/trace"), drained_lines_));
  drain_.reset();
  return text;
}

void Capture::close() noexcept {
  drain_.reset();
  marker_.reset();
  instance_.reset();
  osnoise_cpus_.reset();
  mount_ = sys::TracefsMount();
}

}  // namespace rtcell::trace
