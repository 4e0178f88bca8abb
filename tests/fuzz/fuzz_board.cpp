// libFuzzer harness for the board file parser (rtcell emit jailhouse
// --board). Any input must give a Board or rtcell::Error (Usage, prefixed
// with the file name), never a crash, hang, other exception or sanitizer
// report. A parsed board's cell RAM lies inside its RAM.
// fuzz-libs: rtcell_emit
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "emit/board.hpp"
#include "rtcell/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto b = rtcell::emit::parse_board(text, "fuzz.yaml");
    if (b.cell_ram.start < b.ram.start || b.cell_ram.end() > b.ram.end()) std::abort();
    if (b.cpus.empty()) std::abort();
  } catch (const rtcell::Error& e) {
    if (e.kind() != rtcell::ErrorKind::Usage) std::abort();
    if (std::string_view(e.what()).substr(0, 9) != "fuzz.yaml") std::abort();
  }
  return 0;
}
