// fuzz-libs: rtcell_report
// The bench and latency JSON readers take files from outside (rtcell report
// show/compare/import FILE): any input must give a document or a Usage
// error, and a parsed bench must render (table, HTML) without crashing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "report/bench_model.hpp"
#include "report/render.hpp"
#include "rtcell/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    rtcell::report::parse_latency_json(text);
  } catch (const rtcell::Error&) {
  }
  try {
    rtcell::report::BenchRun run = rtcell::report::parse_bench_json(text);
    for (auto& row : run.rows) row.summary = rtcell::report::summarize(row.repeats);
    (void)rtcell::report::render_table(run);
    (void)rtcell::report::render_html(run);
  } catch (const rtcell::Error&) {
  }
  return 0;
}
