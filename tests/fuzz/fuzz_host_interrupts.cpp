// libFuzzer harness for the /proc/interrupts parser: any text must parse to
// rows without a crash; counts never exceed the CPU columns.
// fuzz-libs: rtcell_host rtcell_util rtcell_sys
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "host/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = rtcell::host::parse_interrupts(text);
  for (const auto& r : t.rows)
    if (r.counts.size() > t.cpus.size() || r.irq.empty()) std::abort();
  return 0;
}
