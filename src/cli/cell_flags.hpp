// The flags that describe a cell, shared by `rtcell run` and `rtcell
// create`: CLI11 fills CellFlagText (what the user typed), and to_run_flags()
// parses each given value once, on top of a base (a manifest cell's typed
// flags, or the defaults): flags win, list flags add up.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cell/lifecycle.hpp"
#include "cell/supervisor.hpp"
#include "front/admitted_load.hpp"
#include "front/flags.hpp"

namespace rtcell::cli {

struct CellFlagText {
  std::vector<std::string> command;
  std::string name, cgroup_root;
  std::string cpus, mems, memory, pids_max;
  std::string sched, rtprio, memlock, rt_runtime, rt_period, dma_latency;
  bool allow_prio_99 = false;
  bool host_root = false;
  std::vector<std::string> cap_add, cap_drop;
  std::string net;
  std::string rootfs;
  std::vector<std::string> devices, volumes, tmpfs, env;
  std::vector<std::string> cdi_spec_dirs;
  std::string workdir, hostname, user, seccomp;
  std::vector<std::string> file_cell;  // -f cells.yaml CELL
  bool no_admit = false;
  std::string supervise;  // run --supervise: off or an action; "": the manifest's
};

void add_cell_flags(CLI::App& app, CellFlagText& f);
// A message of cell/ (spec field names) in the words of these flags.
std::string in_flag_words(std::string text);
front::RunFlags to_run_flags(const CellFlagText& f, front::RunFlags base);

// The command (after -- or as positionals), -f FILE CELL and the flags,
// then the spec and prepare(): what run and create share. `notes` gets the lines to show once the cell
// starts.
struct PreparedCell {
  cell::Prepared prepared;
  std::vector<std::string> warnings;
  std::vector<std::string> notes;
  // A cell admitted from a manifest: the host-wide admission lock, held
  // until create_cell() has written its ledger entry (front/admitted_load.hpp).
  front::AdmissionLock admission;
  std::optional<front::RunningCell> admitted;
  // The host directory the cell's librtcell tasks publish their counters
  // to (front::stats_dir), removed unless the cell was made.
  struct StatsDir {
    std::string path;
    bool keep = false;
    StatsDir() = default;
    StatsDir(const StatsDir&) = delete;
    StatsDir& operator=(const StatsDir&) = delete;
    ~StatsDir();
  };
  std::unique_ptr<StatsDir> stats;
  // What rtcell's supervisor is to do for the admitted cell, if anything
  // (cell/supervisor.hpp): rtcell run runs it, detached cells say they lack it.
  std::optional<cell::SuperviseSpec> supervise;
};
// `state_root`: the registry the cell will be made in (names its counters'
// directory). `admitted_with`: the running cells a caller that holds the
// admission lock itself has read (rtcell up, admitting every cell of a
// manifest against the same load); null: take the lock and read them here.
PreparedCell prepare_cell(CellFlagText& f, const std::string& state_root,
                          const std::vector<front::RunningCell>* admitted_with = nullptr);

// Cell::create, then the warnings and notes (prepare's and the cgroups'),
// printed only once every check has passed.
// A cell admitted from a manifest goes into the admission ledger, and the
// admission lock is released.
cell::Cell create_cell(const cell::Registry& reg, PreparedCell& pc, cell::CreateOptions opts, bool quiet);

// The OCI hooks a cell made from flags carries (its CDI devices'): prestart,
// createRuntime and createContainer run from `opts` once its namespaces
// exist, as rtcell-runtime runs a bundle's.
void add_create_hooks(cell::CreateOptions& opts, const cell::Hooks& hooks);

// --root DIR: the state root (default /run/rtcell).
void add_state_root(CLI::App& app, std::string& root);

// RTCELL_DEBUG=timing prints each create phase with its time; the test hook
// RTCELL_TEST_KILL_AT=PHASE[:N] SIGKILLs rtcell at the Nth PHASE (tests of
// what a creator killed mid-create leaves for gc).
cell::CreateOptions create_options();

// The line printed for one overrun rtcell's supervisor acted on (rtcell run
// and up).
std::string supervisor_line(const cell::OverrunEvent& e);

}  // namespace rtcell::cli
