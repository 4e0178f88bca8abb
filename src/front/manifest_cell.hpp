// The manifest front door: a cell declared in a manifest, admitted first,
// turned into typed RunFlags (the derived RT budget included) with no
// string in between; front/flags.hpp then builds the spec. Flags given on
// the command line win over the declaration (the CLI applies them on top).
#pragma once

#include <string>
#include <vector>

#include "cell/supervisor.hpp"
#include "front/admitted_load.hpp"
#include "front/flags.hpp"
#include "manifest/manifest.hpp"

namespace rtcell::front {

struct ManifestCell {
  RunFlags flags;                  // the declaration, typed
  std::vector<std::string> notes;  // "admitted: ...", "RT budget from the admission analysis: ..."
  // The ledger entry to write once the cell exists (its id and init then
  // filled in); unset when nothing was admitted (no tasks, --no-admit).
  std::optional<RunningCell> admitted;
  // rtcell's supervisor for the cell (cell/supervisor.hpp), when it has one.
  std::optional<cell::SuperviseSpec> supervise;
};

// Loads `file`, finds `cell`, runs the admission test over the whole
// manifest (unless `no_admit`) against the host under `host_root` (this
// one by default) and the cells already `running` there (their pinned
// specs; the manifest's own declarations of cells that run are replaced by
// them) and returns the cell's flags. A running cell the new one would
// make miss refuses it, naming the running cell's task. Throws Usage: no such cell
// (naming the cells there), not admitted (the diagnosis and its fix),
// admitted but not enforceable on the host (the first reason), a declared
// rt_runtime weaker than the admitted budget, a bad device/volume/user
// value (FILE:LINE:COL). `supervise` (run --supervise): off, or the action
// that replaces the manifest's.
ManifestCell load_manifest_cell(const std::string& file, const std::string& cell, bool no_admit,
                                const std::string& host_root = "/",
                                const std::vector<RunningCell>& running = {},
                                const std::string& supervise = "");

// The admission options for manifest `m` on the host under `root` ("/":
// this host, named `name` in reasons): its sched_rt_*, SCHED_DEADLINE period
// limits, whether it has cgroup RT group scheduling, and its kernel's
// CONFIG_HZ for the tick-granular RT budgets (the manifest's hz: where that
// is coarser; the manifest's or the default where no config is readable).
analysis::AdmitOptions host_admit_options(const manifest::Manifest& m, const std::string& root,
                                          const std::string& name);

// The declaration alone, typed (no admission).
RunFlags flags_from_decl(const manifest::CellDecl& c);

}  // namespace rtcell::front
