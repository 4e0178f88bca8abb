// `rtcell admit` output: an analysis::AdmitResult as the terminal verdict
// (per cell: scheduler, supply, per-CPU tests, the task table, what the
// kernel must be told, and the smallest change for a rejection) and as JSON
// (docs/analysis.md). Pure: the verdict in, text out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "rtcell/analysis/admission.hpp"

namespace rtcell::report {

// `file` is the manifest the verdict is about, named in the first line.
std::string admit_text(const std::string& file, const analysis::AdmitResult& r);
nlohmann::json admit_json(const std::string& file, const analysis::AdmitResult& r);

}  // namespace rtcell::report
