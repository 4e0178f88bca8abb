// The bench orchestration: runs each row's latency probe (natively, in an
// rtcell cell, in podman) as a child process, with the stress-ng load on for
// the load rows, and collects the probe JSON into report::BenchRun.
//
// Idle rows run first, then the load starts once and every load row runs
// under it: one load start-up instead of one per row, and no idle row ever
// sees the tail of a load that is still stopping. The table keeps the matrix
// order regardless.
//
// A stop signal (Ctrl-C) is forwarded to the running probe, which writes its
// partial JSON; then the load's process group is stopped and reaped, and the
// run comes back marked partial so the caller can still store it.
#pragma once

#include <functional>
#include <string>

#include "benchrun/spec.hpp"
#include "report/bench_model.hpp"

namespace rtcell::benchrun {

struct Progress {
  std::string row_label;
  int step = 0;   // 1-based index of the row run in the plan
  int steps = 0;  // rows x repeats that will run
  int64_t row_elapsed_ns = 0;
  int64_t row_ns = 0;
  int64_t remaining_ns = 0;    // the whole plan
  int64_t max_so_far_ns = -1;  // worst max of the rows finished so far, -1 before the first
};

struct Hooks {
  std::function<void(const std::string&)> log;    // one plain line, no trailing newline
  std::function<void(const Progress&)> progress;  // called every progress_ms while a row runs
  int progress_ms = 0;                            // 0: no progress calls
};

// Runs the matrix. Throws rtcell::Error before anything starts when the run
// cannot happen at all (stress-ng missing for load rows).
report::BenchRun run_bench(BenchOptions opt, const Hooks& hooks);

// This host's facts as a bench run carries them: report::host_facts_json of
// read_host_facts("/"), plus the hostname and the measured CPUs' governor.
nlohmann::json bench_host_json(const CpuSet& measured);

// "" when the row kind can run here, else why not. Probes without side
// effects (PATH lookups, cgroup layout).
std::string podman_unavailable_reason(RowKind kind);

// Absolute path of an executable found in PATH, or "".
std::string find_in_path(const std::string& name);

std::string iso_utc_now();

}  // namespace rtcell::benchrun
