#include "rtcell/rt/sched.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <string>

#include "rtcell/error.hpp"
#include "sys/syscalls.hpp"
#include "util/units.hpp"

namespace rtcell::rt {

namespace {

// kernel/sched/deadline.c: sysctl_sched_dl_period_min = 100 us,
// sysctl_sched_dl_period_max = 1 << 22 us; include/linux/sched/deadline.h:
// DL_SCALE = 10, so runtime must be at least 1 << 10 ns.
constexpr uint64_t kDlMinRuntime = 1024;
constexpr uint64_t kDlMinPeriod = 100'000;
constexpr uint64_t kDlMaxPeriod = (1ULL << 22) * 1000;

void validate_rt_priority(const char* name, int prio, PolicyOptions opts) {
  if (prio < 1 || prio > 99)
    usage_error(std::string(name) + " priority " + std::to_string(prio) + " is out of range: use 1-98");
  if (prio == 99 && !opts.allow_prio_99)
    usage_error(std::string(name) +
                " priority 99 refused: it competes with kernel watchdog and migration threads; use "
                "1-98 (default 80) or pass --allow-prio-99");
}

std::string rtprio_limit_text() {
  rlimit rl{};
  if (getrlimit(RLIMIT_RTPRIO, &rl) != 0) return "unknown";
  return std::to_string(rl.rlim_cur);
}

}  // namespace

void validate_policy(const Policy& policy, PolicyOptions opts) {
  if (auto* f = std::get_if<Fifo>(&policy)) return validate_rt_priority("SCHED_FIFO", f->priority, opts);
  if (auto* r = std::get_if<Rr>(&policy)) return validate_rt_priority("SCHED_RR", r->priority, opts);
  if (auto* o = std::get_if<Other>(&policy)) {
    if (o->nice < -20 || o->nice > 19)
      usage_error("nice " + std::to_string(o->nice) + " is out of range: use -20..19");
    return;
  }
  const auto& d = std::get<Deadline>(policy);
  if (d.runtime_ns < kDlMinRuntime)
    usage_error("SCHED_DEADLINE runtime " + std::to_string(d.runtime_ns) +
                " ns is below the kernel minimum of 1024 ns");
  if (d.runtime_ns > d.deadline_ns)
    usage_error("SCHED_DEADLINE runtime (" + util::format_time_ns(static_cast<int64_t>(d.runtime_ns)) +
                ") exceeds its deadline (" + util::format_time_ns(static_cast<int64_t>(d.deadline_ns)) +
                "): the kernel needs runtime <= deadline <= period");
  if (d.deadline_ns > d.period_ns)
    usage_error("SCHED_DEADLINE deadline (" + util::format_time_ns(static_cast<int64_t>(d.deadline_ns)) +
                ") exceeds its period (" + util::format_time_ns(static_cast<int64_t>(d.period_ns)) +
                "): the kernel needs runtime <= deadline <= period");
  if (d.period_ns < kDlMinPeriod || d.period_ns > kDlMaxPeriod)
    usage_error("SCHED_DEADLINE period " + util::format_time_ns(static_cast<int64_t>(d.period_ns)) +
                " is outside the kernel's range [100 us, 4.194304 s]");
}

void set_policy(const Policy& policy, PolicyOptions opts, pid_t tid) {
  validate_policy(policy, opts);
  sys::SchedAttr attr{};
  attr.size = sizeof attr;
  if (auto* f = std::get_if<Fifo>(&policy)) {
    attr.sched_policy = SCHED_FIFO;
    attr.sched_priority = static_cast<uint32_t>(f->priority);
  } else if (auto* r = std::get_if<Rr>(&policy)) {
    attr.sched_policy = SCHED_RR;
    attr.sched_priority = static_cast<uint32_t>(r->priority);
  } else if (auto* o = std::get_if<Other>(&policy)) {
    attr.sched_policy = SCHED_OTHER;
    attr.sched_nice = o->nice;
  } else {
    const auto& d = std::get<Deadline>(policy);
    attr.sched_policy = SCHED_DEADLINE;
    attr.sched_runtime = d.runtime_ns;
    attr.sched_deadline = d.deadline_ns;
    attr.sched_period = d.period_ns;
  }
  if (sys::sched_setattr(tid, &attr) == 0) return;
  int e = errno;
  const std::string what = "cannot set " + to_string(policy);
  if (e == EPERM) {
    if (std::holds_alternative<Deadline>(policy))
      privilege_error(what +
                          " (EPERM): SCHED_DEADLINE needs root or CAP_SYS_NICE, and a thread "
                          "whose affinity is not the whole root domain",
                      e);
    if (std::holds_alternative<Other>(policy))
      privilege_error(what + " (EPERM): a negative nice needs root or CAP_SYS_NICE", e);
    privilege_error(what + " (EPERM): run as root, grant CAP_SYS_NICE, or raise RLIMIT_RTPRIO (now " +
                        rtprio_limit_text() +
                        ") to the priority; inside a cgroup-v1 RT group also "
                        "give it cpu.rt_runtime_us",
                    e);
  }
  if (e == EBUSY && std::holds_alternative<Deadline>(policy))
    privilege_error(what +
                        " (EBUSY): the kernel's SCHED_DEADLINE admission refused it: total "
                        "bandwidth over sched_rt_runtime_us/sched_rt_period_us, or the thread's "
                        "affinity is narrower than its root domain (use an exclusive cpuset)",
                    e);
  sys_error(what, e);
}

Policy get_policy(pid_t tid) {
  sys::SchedAttr attr{};
  if (sys::sched_getattr(tid, &attr) != 0) sys_error("sched_getattr", errno);
  switch (attr.sched_policy & ~static_cast<uint32_t>(SCHED_RESET_ON_FORK)) {
    case SCHED_FIFO:
      return Fifo{static_cast<int>(attr.sched_priority)};
    case SCHED_RR:
      return Rr{static_cast<int>(attr.sched_priority)};
    case SCHED_DEADLINE:
      return Deadline{attr.sched_runtime, attr.sched_deadline, attr.sched_period};
    default:
      return Other{attr.sched_nice};
  }
}

void set_affinity(const CpuSet& cpus, pid_t tid) {
  if (cpus.empty()) usage_error("empty CPU set for affinity");
  cpu_set_t set = cpus.to_cpu_set();
  if (sched_setaffinity(tid, sizeof set, &set) == 0) return;
  int e = errno;
  if (e == EINVAL)
    usage_error("cannot pin to CPUs " + cpus.to_string() +
                ": none of them is online and allowed for this process (see /sys/devices/system/cpu/online "
                "and the cgroup's cpuset)");
  sys_error("cannot pin to CPUs " + cpus.to_string(), e);
}

CpuSet get_affinity(pid_t tid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(tid, sizeof set, &set) != 0) sys_error("sched_getaffinity", errno);
  return CpuSet::from_cpu_set(set);
}

Policy parse_policy(std::string_view text) {
  const std::string whole(text);
  size_t colon = text.find(':');
  std::string_view name = text.substr(0, colon);
  std::string_view arg = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  auto prio = [&](std::string_view a) {
    if (a.empty()) return kDefaultPriority;
    return static_cast<int>(util::parse_int(a, 1, 99, "priority"));
  };
  if (name == "fifo") return Fifo{prio(arg)};
  if (name == "rr") return Rr{prio(arg)};
  if (name == "other" || name == "normal") {
    return Other{arg.empty() ? 0 : static_cast<int>(util::parse_int(arg, -20, 19, "nice"))};
  }
  if (name == "deadline") {
    // RUNTIME/DEADLINE/PERIOD, each with a unit (default us).
    size_t s1 = arg.find('/');
    size_t s2 = s1 == std::string_view::npos ? s1 : arg.find('/', s1 + 1);
    if (s1 == std::string_view::npos || s2 == std::string_view::npos)
      usage_error("bad policy '" + whole +
                  "': use deadline:RUNTIME/DEADLINE/PERIOD, e.g. deadline:200us/1ms/1ms");
    Deadline d;
    d.runtime_ns = static_cast<uint64_t>(util::parse_time_ns(arg.substr(0, s1), "us"));
    d.deadline_ns = static_cast<uint64_t>(util::parse_time_ns(arg.substr(s1 + 1, s2 - s1 - 1), "us"));
    d.period_ns = static_cast<uint64_t>(util::parse_time_ns(arg.substr(s2 + 1), "us"));
    return d;
  }
  usage_error("bad policy '" + whole +
              "': use fifo:N, rr:N, deadline:RUNTIME/DEADLINE/PERIOD or other[:NICE]");
}

std::string_view policy_name(const Policy& policy) {
  switch (policy.index()) {
    case 0:
      return "fifo";
    case 1:
      return "rr";
    case 2:
      return "deadline";
    default:
      return "other";
  }
}

std::string to_string(const Policy& policy) {
  if (auto* f = std::get_if<Fifo>(&policy)) return "fifo:" + std::to_string(f->priority);
  if (auto* r = std::get_if<Rr>(&policy)) return "rr:" + std::to_string(r->priority);
  if (auto* o = std::get_if<Other>(&policy)) return "other:" + std::to_string(o->nice);
  const auto& d = std::get<Deadline>(policy);
  auto us = [](uint64_t ns) {
    return ns % 1000 == 0 ? std::to_string(ns / 1000) + "us" : std::to_string(ns) + "ns";
  };
  return "deadline:" + us(d.runtime_ns) + "/" + us(d.deadline_ns) + "/" + us(d.period_ns);
}

}  // namespace rtcell::rt
