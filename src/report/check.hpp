// `rtcell check` output: the findings of host::run_checks as the terminal
// report (grouped by area, coloured on a terminal) and as JSON. The JSON is
// also what `rtcell bench` embeds in a run as "checks" (docs/bench.md), so
// its field names are a contract. Pure: findings in, text out.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "host/check.hpp"
#include "rtcell/cpuset.hpp"

namespace rtcell::report {

struct CheckReport {
  std::string root = "/";         // "/" for this host, else the captured tree
  std::string kernel;             // host::HostFacts::kernel_release
  std::optional<CpuSet> rt_cpus;  // the RT CPUs checked for isolation, if given
  std::vector<host::Finding> findings;
};

// True when any finding failed: `rtcell check` then exits 1.
bool check_failed(const CheckReport& r);

nlohmann::json check_json(const CheckReport& r);
// colour: ANSI colours and bold area headings, for a terminal.
std::string check_text(const CheckReport& r, bool colour);

}  // namespace rtcell::report
