// Jetson Linux (L4T) releases as data: which JetPack, kernel and PREEMPT_RT
// patch belong to an L4T release. The seed's Table 1 plus what we could
// verify; docs/check.md says which rows were verified and against what.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtcell::host {

struct L4tRow {
  std::string l4t;              // "36.3.0"
  std::string jetpack;          // "6.0"
  std::string kernel;           // "5.15.136" (upstream version of NVIDIA's kernel)
  std::string rt_patch;         // the kernel.org RT patch for that kernel ("patch-5.15.148-rt74")
  bool verified = false;        // kernel version confirmed against a public source (docs/check.md)
  bool patch_verified = false;  // rt_patch seen under kernel.org's projects/rt archive (docs/check.md)
};

const std::vector<L4tRow>& l4t_table();
std::optional<L4tRow> find_l4t(std::string_view l4t);

// "5.15.136-rt-tegra" -> "5.15.136"; "6.1.0-18-rt-amd64" -> "6.1.0".
std::string kernel_base_version(std::string_view release);

}  // namespace rtcell::host
