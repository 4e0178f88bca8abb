// Text renderings of a latency run: rtcell's own table, a live one-line-per-
// thread display, and cyclictest's exact output (`--cyclictest-output`) so
// that scripts written for cyclictest keep working.
#pragma once

#include <string>
#include <vector>

#include "measure/latency.hpp"

namespace rtcell::report {

// rtcell's summary table: one row per thread and a total row, in us.
std::string latency_table(const measure::LatencyConfig& config, const measure::LatencyResult& result);

// cyclictest's per-thread status line, in us, e.g.
// "T: 0 ( 8233) P:80 I:1000 C:    200 Min:     19 Act:   34 Avg:   31 Max:     113".
std::string cyclictest_thread_line(int thread, int tid, int priority, int64_t interval_ns, uint64_t cycles,
                                   int64_t min_ns, int64_t act_ns, int64_t avg_ns, int64_t max_ns);

// What `cyclictest -q` prints at the end of a run with the same options:
// the T: lines without a histogram, the "# Histogram" block with one; then,
// after a breaktrace, the "# Thread Ids / # Break thread / # Break value"
// footer. `quiet` false adds the T: lines before a histogram as well, as a
// non-quiet cyclictest leaves them on screen. The "# /dev/cpu_dma_latency"
// header line is printed when the request was held.
std::string cyclictest_output(const measure::LatencyConfig& config, const measure::LatencyResult& result,
                              bool histogram, bool quiet);

// The live display: one T: line per thread.
std::string live_lines(const measure::LatencyConfig& config, const std::vector<measure::LiveSnapshot>& live);

// cyclictest's P: field: the RT priority, 0 for other and deadline.
int display_priority(const rt::Policy& policy);

}  // namespace rtcell::report
