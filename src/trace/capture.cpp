#include "trace/capture.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
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
  return sys::read_file(dir + "/trace");
}

void Capture::close() noexcept {
  marker_.reset();
  instance_.reset();
  osnoise_cpus_.reset();
  mount_ = sys::TracefsMount();
}

}  // namespace rtcell::trace
