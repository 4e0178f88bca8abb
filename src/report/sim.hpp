// How a simulation result (sim/sim.hpp) is shown: a text table, JSON and an SVG bar plot
// (the style of `rtcell bench`'s report). Pure: strings in, strings out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sim/sim.hpp"

namespace rtcell::report {

using sim::SimResult;

std::string sim_text(const SimResult& r);
nlohmann::json sim_json(const SimResult& r);
std::string sim_svg(const SimResult& r);

}  // namespace rtcell::report
