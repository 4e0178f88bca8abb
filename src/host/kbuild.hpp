// `rtcell kernel config`: the guided PREEMPT_RT kernel configuration for
// JetPack 5 (R35, kernel 5.10) and custom kernels, where no RT package
// exists. Given a kernel source tree it (1) refuses a tree older than 6.12
// that has no RT patch (PREEMPT_RT was merged in 6.12; before, the
// architectures do not select ARCH_SUPPORTS_RT), (2) applies --rt-patch
// after a dry run, (3) writes the config fragment the source document asks
// for (PREEMPT_RT, HZ=1000, NO_HZ_FULL, LOCALVERSION of the running kernel so
// that the module vermagic matches), (4) merges it with the tree's own
// scripts/kconfig/merge_config.sh and `make olddefconfig` (ARCH/CROSS_COMPILE
// for arm64), (5) checks the resulting .config with `check --kconfig`'s
// rules, and (6) returns the build, install and boot-entry steps. It never
// builds the kernel.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "host/check.hpp"

namespace rtcell::host {

// VERSION/PATCHLEVEL/SUBLEVEL of a kernel's top Makefile; {0,0,0} when absent.
struct KernelVersion {
  int major = 0, minor = 0, sub = 0;
  std::string to_string() const;
  bool before(int maj, int min) const { return major < maj || (major == maj && minor < min); }
};
KernelVersion parse_kernel_makefile(std::string_view makefile);

// "-tegra" from ("5.15.148-tegra", "5.15.148"): what follows the version in a
// release string; "" when the release does not start with it.
std::string release_suffix(std::string_view release, std::string_view version);

// The fragment for `localversion` (written as CONFIG_LOCALVERSION).
std::string rt_config_fragment(const std::string& localversion);

struct KbuildOptions {
  std::string source;         // kernel source tree
  std::string rt_patch;       // patch-X.Y.Z-rtN.patch (plain text), "" for none
  std::string arch;           // "" native, "arm64" (cross when this is not an arm64 host)
  std::string cross_compile;  // "" = aarch64-linux-gnu- when cross
  std::string localversion;   // "" = the running kernel's suffix
  std::string base_config;    // "" = the tree's .config, else make defconfig
  std::string running;        // uname -r, to derive LOCALVERSION and compare
  std::string host_machine;   // uname -m
};

struct KbuildResult {
  KernelVersion version;
  std::string fragment_file;       // <source>/rtcell-rt.config
  std::string config_file;         // <source>/.config
  std::string log_file;            // the tools' output
  std::string release;             // the release the build will report (uname -r)
  std::vector<std::string> lines;  // what was done and noticed
  std::vector<Finding> findings;   // check --kconfig on the result
  std::vector<std::string> steps;  // build, install, boot entry
};

// Throws Usage (tree untouched) for a tree that is not a kernel source tree,
// a pre-6.12 tree without an RT patch, a patch that does not apply; throws
// Error when a kconfig tool fails (its log is named).
KbuildResult configure_rt_kernel(const KbuildOptions& opts);

}  // namespace rtcell::host
