// fuzz-libs: rtcell_front
// CDI spec files come from outside (/etc/cdi, --cdi-spec-dir): any text,
// read as JSON or as YAML, must give a spec or a Usage error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "front/cdi.hpp"
#include "rtcell/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* file : {"fuzz.json", "fuzz.yaml"}) {
    try {
      (void)rtcell::front::cdi::parse_spec(text, file);
    } catch (const rtcell::Error&) {
    }
  }
  return 0;
}
