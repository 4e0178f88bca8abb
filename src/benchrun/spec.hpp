// What `rtcell bench` runs: the rows of the matrix (Table 3 of the seed
// guide, ../shared/REQUIREMENTS.md) and the load mix. Pure: no I/O here, so
// the choices are unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rtcell/cpuset.hpp"

namespace rtcell::benchrun {

enum class RowKind { Native, Cell, CellNetns, PodmanRunc, PodmanCrun, PodmanRtcell };
// A row run through podman (with runc, crun or rtcell-runtime as its runtime).
inline bool is_podman(RowKind k) {
  return k == RowKind::PodmanRunc || k == RowKind::PodmanCrun || k == RowKind::PodmanRtcell;
}

struct RowSpec {
  std::string id;     // "cell-load"
  std::string label;  // "cell (host net), load"
  RowKind kind = RowKind::Native;
  bool load = false;
  std::string baseline;  // the native row it is compared with; "" for native rows
};

std::string to_string(RowKind k);

// Every row rtcell knows, in the order of the table.
const std::vector<RowSpec>& all_rows();
// "native-idle,cell-load" -> those rows in table order; "all" or "" -> all.
// Throws Usage naming an unknown row and listing the known ones.
std::vector<RowSpec> select_rows(std::string_view list);

struct BenchOptions {
  std::string rtcell_bin;              // the rtcell that runs the probe (this binary)
  CpuSet cpus;                         // measured CPUs
  CpuSet load_cpus;                    // where stress-ng runs
  std::vector<std::string> load_args;  // stress-ng arguments (without the program name)
  std::string load_description;        // for reports: the stress-ng line
  bool no_load = false;                // load rows are skipped
  int64_t duration_ns = 15'000'000'000;
  int64_t interval_ns = 200'000;
  int priority = 80;
  bool allow_prio_99 = false;
  int repeat = 1;
  std::vector<RowSpec> rows;
  std::string work_dir;  // a private temporary directory for probe output and stress-ng's files
  bool run_checks = true;
  // --trace: native rows run `rtcell latency --trace DIR/<row>-<repeat>`
  // (an absolute, existing DIR); "" is off. Cell and podman rows are not
  // traced: tracefs is not reachable inside a cell.
  std::string trace_dir;
};

// The measured CPUs by default: all online CPUs but CPU 0 (where most IRQs
// and housekeeping land) when there is more than one; else CPU 0.
CpuSet default_measure_cpus(const CpuSet& online);

// Where the load goes: the online CPUs not measured, or all of them with
// everywhere (or when every CPU is measured: then there is nowhere else).
CpuSet default_load_cpus(const CpuSet& online, const CpuSet& measured, bool everywhere);

// The default stress-ng mix, one worker of each kind per load CPU: see
// docs/bench.md for why each stressor is there.
std::vector<std::string> default_load_args(const CpuSet& load_cpus);

// Splits a --load 'ARGS' line on whitespace, honouring single and double
// quotes; throws Usage on an unterminated quote.
std::vector<std::string> split_args(std::string_view line);
std::string join_args(const std::vector<std::string>& args);

// The latency probe's own arguments (after "rtcell"): `latency -a CPUS -S -p
// PRIO -i US -D SECS -q --json TARGET`.
std::vector<std::string> latency_args(const BenchOptions& opt, const std::string& json_target);

}  // namespace rtcell::benchrun
