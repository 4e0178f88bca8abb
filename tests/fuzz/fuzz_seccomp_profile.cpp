// libFuzzer harness for the Docker seccomp profile parser (`rtcell run
// --seccomp FILE.json`): any input must give a profile or rtcell::Error,
// never a crash; a parsed profile must compile into a libseccomp filter or
// fail with rtcell::Error.
// fuzz-libs: rtcell_cell
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cell/seccomp_profile.hpp"
#include "rtcell/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  rtcell::cell::ProfileContext ctx;
  ctx.kernel_major = 6;
  ctx.kernel_minor = 1;
  try {
    auto p = rtcell::cell::parse_docker_profile(text, ctx);
    (void)rtcell::cell::build_filter(p);
  } catch (const rtcell::Error&) {
  }
  return 0;
}
