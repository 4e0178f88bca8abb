// Renderers of a bench run: the terminal table (Table 3's shape, see
// ../shared/REQUIREMENTS.md), and the self-contained HTML report with SVG
// plots generated here (no scripts, no network). Pure functions: text out.
#pragma once

#include <string>

#include "report/bench_model.hpp"

namespace rtcell::report {

// min, avg, p99, p99.9, max per row in µs, and each cell row's delta of p99
// and max to its native row. Skipped/failed rows say why.
std::string render_table(const BenchRun& run);

// The host facts and check verdicts as "key: value" lines for the terminal.
std::string render_host_lines(const BenchRun& run);

// A whole HTML document: table, per-row histograms (log count axis, one
// series per CPU), a percentile plot (1 - CDF on a log axis), host facts and
// check verdicts. Every plot is inline SVG.
std::string render_html(const BenchRun& run);

// One row's histogram as an SVG element; exposed for tests.
std::string render_histogram_svg(const RowResult& row);
// The percentile plot over all rows with data; exposed for tests.
std::string render_percentile_svg(const BenchRun& run);

// Writes DIR/index.html (and DIR/run.json), creating DIR; returns the path of
// index.html. Writes atomically so a reader never sees half a report.
std::string write_html_report(const std::string& dir, const BenchRun& run);

// Escapes text for HTML/XML content and attribute values.
std::string xml_escape(std::string_view text);

// Microseconds with `decimals` decimals from nanoseconds.
std::string us(double ns, int decimals = 0);
// A signed delta in µs: "+3", "-1", "+0".
std::string signed_us(double ns, int decimals = 0);

}  // namespace rtcell::report
