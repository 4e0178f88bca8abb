// Renders trace::Explanation (rtcell latency --trace, rtcell explain): a
// one-line verdict per spike, its parts as a table, and JSON (schema
// rtcell.explain/1, docs/explain.md). Pure: structs in, text out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "trace/explain.hpp"

namespace rtcell::report {

// "spike 1: thread 0 tid 123 CPU 1: 2046 us = timer IRQ 3 us late; then spinner:77 (rt 90) ran 2010 us; ..."
std::string spike_verdict(const trace::Spike& s, size_t index);
// "timerlat: its sample #12 nearest the deadline (3.0 us after it): IRQ
// latency 4.1 us, thread latency 9.8 us; osnoise in the spike: ..." ("" when
// timerlat did not run in the capture).
std::string timerlat_line(const trace::Spike& s);
std::string explain_text(const trace::Explanation& e);
nlohmann::json explain_json(const trace::Explanation& e);

}  // namespace rtcell::report
