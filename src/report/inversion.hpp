// Renders trace::InversionScan (rtcell explain --inversion): one line per
// finding that names the three threads and the wait, a summary line, and
// JSON (schema rtcell.inversion/1, docs/explain.md). Pure: structs in, text out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "trace/inversion.hpp"

namespace rtcell::report {

// "inversion 1: pi-high:12 (rt 30) waited 2.1 ms ... : priority inversion (no PI boost)"
std::string inversion_verdict(const trace::Inversion& inv, size_t index);
std::string inversion_text(const trace::InversionScan& scan);
nlohmann::json inversion_json(const trace::InversionScan& scan);

}  // namespace rtcell::report
