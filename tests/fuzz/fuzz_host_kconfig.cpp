// libFuzzer harness for the kernel config parser and the other key/value
// host files (nv_tegra_release, nvpmodel, dpkg status, mounts, sysfs choice),
// and the texts of `rtcell kernel`: extlinux.conf, a kernel's top Makefile,
// a .config header.
// fuzz-libs: rtcell_host rtcell_util rtcell_sys
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "host/kbuild.hpp"
#include "host/kernel.hpp"
#include "host/parse.hpp"
#include "host/probe.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& [k, v] : rtcell::host::parse_kconfig(text))
    if (k.rfind("CONFIG_", 0) != 0) std::abort();
  if (auto r = rtcell::host::parse_nv_tegra_release(text))
    if (r->major < 0 || r->minor < 0 || r->patch < 0) std::abort();
  (void)rtcell::host::parse_nvpmodel_status(text);
  (void)rtcell::host::parse_nvpmodel_conf(text);
  (void)rtcell::host::parse_dpkg_status(text);
  (void)rtcell::host::parse_cgroup_layout(text);
  (void)rtcell::host::parse_sysfs_choice(text);
  (void)rtcell::host::gunzip(text);
  (void)rtcell::host::kconfig_version(text);
  auto v = rtcell::host::parse_kernel_makefile(text);
  if (v.major < 0 || v.minor < 0 || v.sub < 0) std::abort();
  (void)rtcell::host::release_suffix(text, "5.15.148");
  (void)rtcell::host::names_rt(text);
  auto x = rtcell::host::parse_extlinux(text);
  (void)x.booted();
  // Switching DEFAULT to a plain label must leave a file whose DEFAULT is it.
  if (rtcell::host::parse_extlinux(rtcell::host::extlinux_set_default(text, "rt")).default_label != "rt")
    std::abort();
  return 0;
}
