// The end of a manifest cell, for every command that ends one (run, up,
// delete): its tasks' counters against what they were admitted with,
// printed (a table and one warning per broken promise) and kept in the
// history database so that `rtcell report promises` shows them later.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "front/admitted_load.hpp"

namespace rtcell::cli {

// --db PATH / --no-history, as rtcell bench takes them.
struct HistoryFlags {
  std::string db;
  bool no_history = false;
};
void add_history_flags(CLI::App& app, HistoryFlags& f);

// What end_of_cell_promises prints on stderr: the table and the broken
// promises (run, up), the broken promises only (delete -q), or nothing (the
// OCI runtime's delete, whose stderr the client turns into errors).
enum class PromisePrint { All, Warnings, Nothing };

// Reads the counters of `cell` from `stats` (front::stats_dir), prints what
// `print` says, and keeps every task in the history unless --no-history; a
// history that cannot be written is a warning (PromisePrint::Nothing: not
// even that), never the cell's failure. Returns true when a promise was
// broken.
bool end_of_cell_promises(const front::RunningCell& cell, const std::string& stats, const HistoryFlags& h,
                          PromisePrint print);

}  // namespace rtcell::cli
