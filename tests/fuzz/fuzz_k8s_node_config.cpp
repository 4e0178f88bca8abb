// fuzz-libs: rtcell_k8s
// The device plugin's node configuration comes from a ConfigMap: any text
// must give a configuration or one Usage error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "k8s/node_config.hpp"
#include "rtcell/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)rtcell::k8s::parse_node_config(text, "node.yaml");
  } catch (const rtcell::Error& e) {
    if (e.kind() != rtcell::ErrorKind::Usage) __builtin_trap();
  }
  return 0;
}
