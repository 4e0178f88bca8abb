// libFuzzer harness for the cell manifest parser. Any input must give a
// Manifest or rtcell::Error (Usage, with a "file:line:col" or "file:"
// prefix), never a crash, hang, other exception or sanitizer report. A parsed
// manifest must convert to analysis specs (cells and VMs) and yield its RT CPUs.
// fuzz-libs: rtcell_manifest
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "manifest/manifest.hpp"
#include "rtcell/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto m = rtcell::manifest::parse(text, "fuzz.yaml");
    auto specs = rtcell::manifest::to_cell_specs(m);
    if (specs.size() != m.cells.size()) std::abort();
    (void)rtcell::manifest::rt_cpus(m);
    auto vms = rtcell::manifest::to_vm_specs(m);
    if (vms.size() != m.vms.size()) std::abort();
  } catch (const rtcell::Error& e) {
    if (e.kind() != rtcell::ErrorKind::Usage) std::abort();
    if (std::string_view(e.what()).substr(0, 9) != "fuzz.yaml") std::abort();
  }
  return 0;
}
