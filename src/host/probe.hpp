// Reading files under a root prefix: "/" for this host, a captured tree for
// another board. Every check and tuning action reads through this, so
// `--root DIR` audits a copy without touching the real /proc and /sys.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/parse.hpp"

namespace rtcell::host {

class Probe {
 public:
  explicit Probe(std::string root = "/") : root_(std::move(root)) {}

  const std::string& root() const noexcept { return root_; }
  bool is_live() const noexcept { return root_.empty() || root_ == "/"; }
  // The real path of an absolute in-tree path.
  std::string path(std::string_view p) const;
  std::optional<std::string> read(std::string_view p) const;
  // Trimmed contents, "" when unreadable.
  std::string value(std::string_view p) const;
  bool exists(std::string_view p) const;
  // Entry names of a directory (no "." or ".."), sorted; empty when unreadable.
  std::vector<std::string> list(std::string_view dir) const;

 private:
  std::string root_;
};

// The running kernel's config: zcat /proc/config.gz (zlib), else
// /boot/config-<release>. nullopt when neither is readable.
struct KernelConfigSource {
  KernelConfig config;
  std::string file;
};
std::optional<KernelConfigSource> read_kernel_config(const Probe& probe, const std::string& release);

// CONFIG_HZ of the kernel (read_kernel_config, release from
// /proc/sys/kernel/osrelease) and the file it came from; nullopt when no
// config is readable or it has no usable CONFIG_HZ. `rtcell admit` derives
// the cgroup RT budgets for this tick.
struct KernelHz {
  int hz = 0;
  std::string file;
};
std::optional<KernelHz> kernel_hz(const Probe& probe);

// Decompresses gzip data; nullopt when it is not valid gzip. Public for tests.
std::optional<std::string> gunzip(std::string_view data);

}  // namespace rtcell::host
