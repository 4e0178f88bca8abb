// The spike window of a capture as inline SVG (one lane per CPU: the tasks
// that ran, IRQ and softirq spans over them, and the instants of the
// explanation: expiry, timer IRQ, wake-up, switch-in, clock_gettime), and
// the HTML page that holds one per explained spike (`rtcell explain DIR
// --html FILE`, DIR/explain.html of `rtcell latency --trace`). Pure and
// deterministic: integer coordinates, no clock, no randomness.
#pragma once

#include <string>

#include "trace/explain.hpp"
#include "trace/text_parser.hpp"
#include "trace/timeline.hpp"

namespace rtcell::report {

std::string render_timeline_svg(const trace::Timeline& tl, const std::string& title);

// A self-contained HTML page: per spike, the verdict, its timeline and its parts.
std::string explain_html(const trace::ParsedTrace& trace, const trace::Explanation& e);

}  // namespace rtcell::report
