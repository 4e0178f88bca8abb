// rtcell ps and rtcell state: the registry of cells as a table and as JSON.
// The state JSON is the OCI runtime-spec's state (ociVersion, id, status,
// pid, bundle, annotations) plus rtcell's own fields under "rtcell".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cell/lifecycle.hpp"

namespace rtcell::report {

nlohmann::json cell_state_json(const cell::CellState& s);
// `now_ns`: CLOCK_REALTIME, for the uptime column.
nlohmann::json cells_json(const std::vector<cell::Listed>& cells, int64_t now_ns);
std::string cells_table(const std::vector<cell::Listed>& cells, int64_t now_ns);
// "3d04h", "2h05m", "4m12s", "12s".
std::string uptime(int64_t seconds);

}  // namespace rtcell::report
