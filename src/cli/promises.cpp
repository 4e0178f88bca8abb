#include "cli/promises.hpp"

#include <iostream>

#include "benchrun/runner.hpp"
#include "cli/command.hpp"
#include "report/history.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cli {

void add_history_flags(CLI::App& app, HistoryFlags& f) {
  CLI::Option* db =
      app.add_option("--db", f.db,
                     "history database that keeps the tasks' measured-vs-admitted counters at the cell's end "
                     "(default ~/.local/share/rtcell/history.db; rtcell report promises)");
  app.add_flag("--no-history", f.no_history, "do not keep the tasks' counters in the history database")
      ->excludes(db);
}

bool end_of_cell_promises(const front::RunningCell& cell, const std::string& stats, const HistoryFlags& h,
                          PromisePrint print) {
  const front::PromiseReport r = front::measured_vs_admitted(cell, stats);
  if (!r.table.empty() && print == PromisePrint::All)
    std::cerr << "rtcell: tasks of cell '" << cell.cell << "', measured vs admitted:\n" << r.table;
  if (print != PromisePrint::Nothing)
    for (const auto& b : r.broken) warn(b);
  if (r.tasks.empty() || h.no_history) return !r.broken.empty();
  std::vector<report::PromiseRecord> keep;
  const std::string at = benchrun::iso_utc_now();
  for (const auto& t : r.tasks) {
    report::PromiseRecord p{.at = at,
                            .cell_id = cell.id,
                            .cell = cell.cell,
                            .manifest = cell.manifest,
                            .task = t.name,
                            .cycles = t.measured.cycles,
                            .misses = t.measured.misses,
                            .overruns = t.measured.overruns,
                            .exec_max_ns = t.measured.exec_max_ns,
                            .wcet_ns = t.wcet_ns,
                            .response_max_ns = t.measured.response_max_ns,
                            .deadline_ns = t.deadline_ns,
                            .response_p999_ns = t.measured.response_p999_ns,
                            .broken = !t.broken.empty(),
                            .why = t.broken};
    keep.push_back(std::move(p));
  }
  try {
    const std::string path = h.db.empty() ? report::default_history_path() : h.db;
    report::History::open(path, 500).store_promises(keep);
  } catch (const std::exception& e) {
    if (print != PromisePrint::Nothing) warn(std::string("the tasks' counters were not kept: ") + e.what());
  }
  return !r.broken.empty();
}

}  // namespace rtcell::cli
