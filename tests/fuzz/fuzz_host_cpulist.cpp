// libFuzzer harness for CPU lists as host files and boot arguments carry them
// (isolcpus= with flags, /sys/.../isolated, masks): parse, and round-trip a
// parsed set through the kernel's hex mask format.
// fuzz-libs: rtcell_host rtcell_util rtcell_sys
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "host/parse.hpp"
#include "rtcell/cpuset.hpp"
#include "rtcell/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto set = rtcell::host::cmdline_cpus("isolcpus=" + std::string(text), "isolcpus");
  if (set && rtcell::CpuSet::parse_mask(rtcell::host::cpus_to_mask(*set)) != *set) std::abort();
  try {
    auto m = rtcell::CpuSet::parse_mask(text);
    if (rtcell::CpuSet::parse_mask(rtcell::host::cpus_to_mask(m)) != m) std::abort();
  } catch (const rtcell::Error&) {
  }
  return 0;
}
