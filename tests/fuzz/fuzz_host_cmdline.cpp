// libFuzzer harness for kernel command-line and boot-loader config parsing:
// parse, set arguments, and re-read them; setting must be visible afterwards.
// fuzz-libs: rtcell_host rtcell_util rtcell_sys
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "host/parse.hpp"
#include "rtcell/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)rtcell::host::parse_cmdline(text);
  (void)rtcell::host::cmdline_cpus(text, "isolcpus");
  std::string line = rtcell::host::set_cmdline_args(text, {{"nohz_full", "2-3"}});
  auto got = rtcell::host::cmdline_cpus(line, "nohz_full");
  // Unless init's part swallowed it, the value we set must read back.
  if (line.find("--") == std::string::npos && (!got || got->to_string() != "2-3")) std::abort();
  (void)rtcell::host::grub_cmdline(text);
  (void)rtcell::host::grub_set_args(text, {{"isolcpus", "1"}});
  (void)rtcell::host::extlinux_append(text);
  try {
    (void)rtcell::host::extlinux_set_args(text, {{"isolcpus", "1"}});
  } catch (const rtcell::Error&) {
  }
  return 0;
}
