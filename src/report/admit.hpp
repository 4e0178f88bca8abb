// `rtcell admit` output: an analysis::AdmitResult as the terminal verdict
// (per cell: scheduler, supply, per-CPU tests, the task table, what the
// kernel must be told, and the smallest change for a rejection) and as JSON
// (docs/analysis.md). Pure: the verdict in, text out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rtcell/analysis/admission.hpp"

namespace rtcell::report {

// `file` is the manifest the verdict is about, named in the first line.
std::string admit_text(const std::string& file, const analysis::AdmitResult& r);
nlohmann::json admit_json(const std::string& file, const analysis::AdmitResult& r);

// rtcell admit --running: per CPU of the host, the load of the cells that
// run there and the room left (analysis::room_on_cpu).
struct RoomRow {
  int cpu = -1;
  double utilization = 0;          // the running cells' tasks placed there
  std::vector<std::string> cells;  // their names
  analysis::Time wcet = 0;         // the largest WCET that still admits
};
std::string room_text(const std::vector<RoomRow>& rows, analysis::Time period, size_t running);
nlohmann::json room_json(const std::vector<RoomRow>& rows, analysis::Time period);

}  // namespace rtcell::report
