// How a simulation result is shown: a text table, JSON and an SVG bar plot
// (the style of `rtcell bench`'s report). Pure: strings in, strings out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sim/sim.hpp"

namespace rtcell::sim {

std::string render_text(const SimResult& r);
nlohmann::json render_json(const SimResult& r);
std::string render_svg(const SimResult& r);

}  // namespace rtcell::sim
