// libFuzzer harness for the cell registry's state file (rtcell state,
// delete, gc read what another process wrote, possibly cut short): any
// input must give a CellState or rtcell::Error, never a crash; a parsed
// state must survive a round trip.
// fuzz-libs: rtcell_cell
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cell/state.hpp"
#include "rtcell/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto s = rtcell::cell::state_from_json(text, "fuzz");
    auto again = rtcell::cell::state_from_json(rtcell::cell::state_to_json(s), "fuzz");
    if (again.id != s.id || again.cgroups.made.size() != s.cgroups.made.size()) std::abort();
  } catch (const rtcell::Error&) {
  }
  return 0;
}
