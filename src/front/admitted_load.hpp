// The host's admitted load: what the cells started from a manifest were
// admitted with, so that a new cell is admitted against what already runs
// (the research paper's "admission control at the moment a new task enters
// the system"), whichever front door starts it: rtcell run -f / create -f,
// or rtcell-runtime with the rtcell.io/manifest annotation.
//
// One JSON file per cell under ledger_dir() (/run/rtcell-admitted), written
// once the cell's init exists: its id and state root, the manifest and cell
// it came from, its init (pid and start time, so a recycled pid never keeps
// an entry alive) and its spec pinned to what the analysis decided (each
// task on its CPU at its priority, the budget fixed). An entry whose init is
// gone is not load: it is skipped and removed, so a crash or a delete that
// never reached the ledger needs no clean-up. Cells started without a
// manifest carry no task model and are not in the ledger (docs/STATUS.md).
//
// Races: AdmissionLock is held from the admission until the new cell's entry
// is written, so two cells cannot both be admitted into room for one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cell/state.hpp"
#include "rtcell/analysis/admission.hpp"
#include "rtcell/rt/published_stats.hpp"
#include "sys/cgroup_dir.hpp"

namespace rtcell::front {

inline constexpr const char* kLedgerDir = "/run/rtcell-admitted";
// kLedgerDir, or $RTCELL_LEDGER (tests, and hosts whose /run is elsewhere).
std::string ledger_dir();

struct RunningCell {
  std::string id;          // the cell's id in its registry
  std::string state_root;  // that registry's root
  std::string manifest;    // canonical path of the manifest it came from
  std::string cell;        // the cell's name there
  cell::ProcRef init;
  analysis::CellSpec spec;  // pinned: name "CELL (running as ID)"
};

// Exclusive, host-wide; blocks while another admission holds it. Throws
// rtcell::Error naming the directory when it cannot be made or locked.
class AdmissionLock {
 public:
  static AdmissionLock acquire();
  void release() noexcept { lock_.release(); }
  bool held() const noexcept { return lock_.held(); }

 private:
  sys::DirLock lock_;
};

// The live cells of the ledger, oldest first; stale entries are removed.
// Unreadable entries are skipped (a note on stderr would not help the
// admission: the file's cell, if alive, keeps its CPUs either way).
std::vector<RunningCell> running_cells();

// Completes `r` with the cell's id, registry root and init (pid and start
// time) and writes it, atomically, as the cell's entry.
void record_running(RunningCell& r, const std::string& id, const std::string& state_root, pid_t init);

// The specs to admit a manifest against what runs: the manifest's cells
// (`declared`, from `manifest_file`), less those that run already from that
// manifest (their running instance stands for them), except `keep` (the
// cell being started, a new instance), plus every running cell.
std::vector<analysis::CellSpec> with_running(std::vector<analysis::CellSpec> declared,
                                             const std::string& manifest_file,
                                             const std::vector<RunningCell>& running,
                                             const std::string& keep = "");
// The canonical form of a manifest path, as the ledger records it.
std::string manifest_key(const std::string& file);

// The entry of cell `id` of the registry at `state_root`, alive or not
// (what its end is measured against); nullopt when there is none or it
// cannot be read.
std::optional<RunningCell> recorded_cell(const std::string& id, const std::string& state_root);

// Removes the entry of cell `id` of the registry at `state_root`, if any
// (delete, or the end of rtcell run); never throws. An entry left behind is
// harmless: its init is gone, so it is no load.
void forget_running(const std::string& id, const std::string& state_root) noexcept;

// Where the cell's librtcell tasks publish their counters: a directory of
// the host, next to the cell's ledger entry, bound into the cell at
// kStatsInCell (RTCELL_STATS_DIR). forget_running() removes it.
inline constexpr const char* kStatsInCell = "/run/rtcell-stats";
std::string stats_dir(const std::string& id, const std::string& state_root);

// What the cell's tasks did against what they were admitted with: one table
// (empty when no task published anything) and one line per broken promise:
// a task that ran longer than its declared WCET, or missed a deadline the
// admission said it would meet.
struct PromiseReport {
  struct Task {
    std::string name;
    rt::StatsSnapshot measured;
    int64_t wcet_ns = 0, deadline_ns = 0;  // as admitted
    std::string broken;                    // the first broken promise's line; empty when kept
  };
  std::string table;
  std::vector<std::string> broken;
  std::vector<Task> tasks;  // the tasks that published counters, in the manifest's order
};
PromiseReport measured_vs_admitted(const RunningCell& r, const std::string& stats);

// `declared` with every task pinned to the CPU and priority the verdict gave
// it, and the budget the verdict assumed, so that the cell is analysed as it
// runs when the next one is admitted.
analysis::CellSpec pinned_spec(const analysis::CellSpec& declared, const analysis::CellVerdict& v);

}  // namespace rtcell::front
