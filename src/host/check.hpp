// `rtcell check`: audit rules for real-time readiness. Each rule has a stable
// id ("kernel.preempt_rt"), reads files under a root prefix, and gives one
// Finding: a severity, the evidence (file and value) and the exact fix. The
// list of ids, what each reads and its fix is docs/check.md; keep both in step.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "host/parse.hpp"
#include "rtcell/cpuset.hpp"

namespace rtcell::host {

enum class Severity { Pass, Info, Warn, Fail };
const char* to_string(Severity s);

struct Finding {
  std::string id;    // stable: "area.name"
  std::string area;  // "kernel", "boot", "runtime", "security", "jetson"
  Severity severity = Severity::Info;
  std::string message;  // one line: what was found
  std::string file;     // evidence: the file read ("" when none)
  std::string value;    // evidence: what it held (trimmed, shortened)
  std::string fix;      // the exact command or boot-argument line; "" on pass
};

struct CheckOptions {
  std::string root = "/";
  std::optional<CpuSet> rt_cpus;   // from --cpus or the manifest's RT cells
  std::optional<int> rt_priority;  // the manifest cells' highest SCHED_FIFO/RR priority (runtime.irq_threads)
};

std::vector<Finding> run_checks(const CheckOptions& opts);

// `rtcell check --kconfig FILE`: the rules that read only the kernel config
// (kernel.preempt_rt, kernel.config, kernel.hz, kernel.nohz_full,
// kernel.rt_group_sched) on a .config that need not be the running kernel's.
std::vector<Finding> run_kconfig_checks(const std::string& file, const KernelConfig& config);

// Every id run_checks can produce, in output order (docs and tests use it).
const std::vector<std::string>& check_ids();

// The boot arguments that isolate `rt` from the rest of `online`
// ("isolcpus=managed_irq,domain,2-3 nohz_full=2-3 ..."), as (key, value).
std::vector<std::pair<std::string, std::string>> rt_boot_args(const CpuSet& rt, const CpuSet& online);

}  // namespace rtcell::host
