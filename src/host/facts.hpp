// Host facts every report carries: kernel, preemption model, cmdline, CPU
// model, isolated CPUs. Readers take a root prefix ("/" for this host, a
// captured tree for another board); parsers take text (STYLE.md habit 7).
#pragma once

#include <string>
#include <string_view>

#include "rtcell/cpuset.hpp"

namespace rtcell::host {

struct HostFacts {
  std::string kernel_release;  // /proc/sys/kernel/osrelease (uname -r)
  std::string kernel_version;  // /proc/sys/kernel/version (uname -v)
  std::string preempt_model;   // "PREEMPT_RT", "full", "voluntary", "none", "lazy" or "unknown"
  std::string preempt_source;  // which file told us
  std::string cmdline;         // /proc/cmdline
  std::string cpu_model;       // /proc/cpuinfo "model name" (x86) or the device-tree model (arm64)
  std::string machine;         // "x86_64", "aarch64" (from uname when root is "/")
  CpuSet online_cpus;          // /sys/devices/system/cpu/online
  CpuSet isolated_cpus;        // /sys/devices/system/cpu/isolated, else isolcpus= on the cmdline
};

HostFacts read_host_facts(const std::string& root = "/");
// Only what placing a cell needs (cmdline, online and isolated CPUs): three
// small files, for the launch path, where /proc/cpuinfo would cost more than
// the rest of the check.
HostFacts read_cpu_facts(const std::string& root = "/");

// Parsers (unit-tested on literal text).
// The model from /sys/kernel/debug/sched/preempt: "none voluntary (full) lazy".
std::string parse_preempt_debugfs(std::string_view text);
// The model from uname -v: "#1 SMP PREEMPT_RT ...", "#1 SMP PREEMPT_DYNAMIC ...".
std::string parse_preempt_uname(std::string_view version);
// The CPU list of isolcpus= on a kernel command line, skipping flags such as
// "managed_irq," and "domain,".
CpuSet parse_isolcpus(std::string_view cmdline);
// One key=value argument of a kernel command line; empty when absent.
std::string cmdline_arg(std::string_view cmdline, std::string_view key);
// "model name" from /proc/cpuinfo, or "Hardware"/"CPU part" on arm64.
std::string parse_cpu_model(std::string_view cpuinfo);

// Joins a root prefix and an absolute path: join_root("/", "/proc/x") ==
// "/proc/x", join_root("fixture", "/proc/x") == "fixture/proc/x".
std::string join_root(const std::string& root, std::string_view path);

}  // namespace rtcell::host
