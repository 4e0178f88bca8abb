// Parsers for the quantities users type: durations, times with units, sizes.
// All take text and throw rtcell::Error (Usage) with a one-line hint.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rtcell::util {

// A run length as cyclictest's -D takes it: "10" (seconds), "10s", "5m",
// "2h", "1d", or "500ms". Returns nanoseconds; 0 is allowed (no limit).
int64_t parse_duration_ns(std::string_view text);

// A time with a unit: "200us", "1.5ms", "1000ns", "2s". A bare number takes
// `default_unit` ("ns", "us", "ms" or "s"). Fractions must land on a whole
// nanosecond. Negative values are refused.
int64_t parse_time_ns(std::string_view text, std::string_view default_unit = "us");

// A size: "64M", "1G", "4096", "512KiB", "2k". Powers of 1024.
uint64_t parse_bytes(std::string_view text);

// A plain non-negative integer within [lo, hi]; `what` names it in the error.
int64_t parse_int(std::string_view text, int64_t lo, int64_t hi, std::string_view what);

// "1.5 ms", "200 us", "37 ns": a readable time for messages and tables.
std::string format_time_ns(int64_t ns);

}  // namespace rtcell::util
