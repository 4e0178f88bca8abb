#include "trace/capture.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
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
  c.instance_ =
      sys::TraceInstance::create(config.tracefs, config.instance_prefix + std::to_string(::getpid()));
  const std::string& dir = c.instance_.dir();
  // A new instance records from birth: stop it while we set it up.
  sys::write_file(dir + "/tracing_on", "0");
  sys::write_file(dir + "/trace_clock", "mono");
  sys::write_file(dir + "/buffer_size_kb", std::to_string(config.buffer_kb));
  sys::write_file(dir + "/tracing_cpumask", cpumask_hex(config.cpus));
  for (const auto& e : capture_events()) {
    const size_t colon = e.find(':');
    const std::string system = e.substr(0, colon);
    const std::string name = e.substr(colon + 1);
    std::string path = dir + "/events/";
    path += system;
    if (name != "*") path += "/" + name;
    path += "/enable";
    if (::access(path.c_str(), W_OK) != 0) {
      c.missing_.push_back(e);
      continue;
    }
    sys::write_file(path, "1");
    c.enabled_.push_back(e);
  }
  c.marker_ = sys::Fd::open(dir + "/trace_marker", O_WRONLY | O_CLOEXEC);
  sys::write_file(dir + "/tracing_on", "1");
  return c;
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
  mount_ = sys::TracefsMount();
}

}  // namespace rtcell::trace
