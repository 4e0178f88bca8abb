// libFuzzer harness for the user-facing parsers of util/: CPU lists, masks,
// durations, times and sizes. Any input must give a value or rtcell::Error,
// never a crash, hang or sanitizer report; a parsed CPU list must round-trip.
// fuzz-libs: rtcell_util rtcell_sys
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "rtcell/cpuset.hpp"
#include "rtcell/error.hpp"
#include "util/units.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto set = rtcell::CpuSet::parse(text);
    if (rtcell::CpuSet::parse(set.to_string()) != set) std::abort();
  } catch (const rtcell::Error&) {
  }
  try {
    (void)rtcell::CpuSet::parse_mask(text);
  } catch (const rtcell::Error&) {
  }
  try {
    (void)rtcell::util::parse_duration_ns(text);
  } catch (const rtcell::Error&) {
  }
  try {
    (void)rtcell::util::parse_time_ns(text, "us");
  } catch (const rtcell::Error&) {
  }
  try {
    (void)rtcell::util::parse_bytes(text);
  } catch (const rtcell::Error&) {
  }
  return 0;
}
