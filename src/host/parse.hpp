// Parsers of the text files `rtcell check` and `rtcell tune` read: /proc
// tables, kernel configs, Jetson release and power-model files, dpkg status,
// boot-loader configs. Each takes text and returns values; none does I/O, so
// unit tests and fuzz harnesses feed them literal contents (STYLE.md habit 7).
// Outside text is never trusted: malformed input gives an empty or "unknown"
// result, never an exception, except where a function says otherwise.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rtcell/cpuset.hpp"

namespace rtcell::host {

// Splits text into lines without the '\n' (views into text).
std::vector<std::string_view> lines_of(std::string_view text);

// One row of /proc/interrupts: "  24:   1   0  IO-APIC   5-edge  ACPI:Ged".
struct IrqRow {
  std::string irq;               // "24", "LOC", "NMI"
  bool numeric = false;          // a real IRQ with /proc/irq/<n>/ (movable in principle)
  std::vector<uint64_t> counts;  // per CPU column, in header order
  std::string desc;              // the rest of the line: chip, hwirq, name
};
struct Interrupts {
  std::vector<int> cpus;  // CPU numbers of the columns ("CPU0 CPU1" -> 0, 1)
  std::vector<IrqRow> rows;
};
Interrupts parse_interrupts(std::string_view text);

// The words of a kernel command line as (key, value); a bare flag has an empty
// value and `has_value` false. Stops at "--" (the rest belongs to init).
struct CmdlineArg {
  std::string key;
  std::string value;
  bool has_value = false;
};
std::vector<CmdlineArg> parse_cmdline(std::string_view cmdline);
// A CPU list argument such as nohz_full=, rcu_nocbs=, irqaffinity=,
// kthread_cpus= (last one wins). Flags before the list (isolcpus's
// "managed_irq,domain,") are skipped. nullopt when absent or malformed.
std::optional<CpuSet> cmdline_cpus(std::string_view cmdline, std::string_view key);
// Sets each key=value in a command line (replacing every old occurrence of
// the key, appending new keys at the end) and returns the new line.
std::string set_cmdline_args(std::string_view cmdline,
                             const std::vector<std::pair<std::string, std::string>>& args);

// Kernel config (.config, /boot/config-*, zcat /proc/config.gz):
// "CONFIG_HZ=1000" -> {"CONFIG_HZ", "1000"}; "# CONFIG_X is not set" -> "n".
// Quotes around string values are removed.
using KernelConfig = std::map<std::string, std::string>;
KernelConfig parse_kconfig(std::string_view text);
// The version in a .config's header ("# Linux/arm64 6.1.192 Kernel
// Configuration" -> "6.1.192"); "" when absent.
std::string kconfig_version(std::string_view text);

// /etc/nv_tegra_release first line:
// "# R36 (release), REVISION: 3.0, GCID: 36191598, BOARD: generic, ..." -> "36.3.0".
struct L4tRelease {
  int major = 0;
  int minor = 0;
  int patch = 0;
  std::string board;
  std::string to_string() const;
};
std::optional<L4tRelease> parse_nv_tegra_release(std::string_view text);

// /var/lib/nvpmodel/status: "pmode:0000 fmode:quiet" -> 0; nullopt if unknown.
std::optional<int> parse_nvpmodel_status(std::string_view text);
// /etc/nvpmodel.conf: the modes ("< POWER_MODEL ID=0 NAME=MAXN >") and the
// default ("< PM_CONFIG DEFAULT=2 >", -1 when absent).
struct NvpmodelConf {
  std::map<int, std::string> modes;
  int default_mode = -1;
};
NvpmodelConf parse_nvpmodel_conf(std::string_view text);

// /var/lib/dpkg/status: package name -> its "Status:" value
// ("hold ok installed", "install ok installed", ...).
std::map<std::string, std::string> parse_dpkg_status(std::string_view text);

// The cgroup layout from /proc/mounts (or /proc/self/mountinfo-less mounts
// text): "v1" (only cgroup v1 controllers), "v2" (unified at /sys/fs/cgroup),
// "hybrid" (v1 controllers plus a cgroup2 mount elsewhere) or "none".
std::string parse_cgroup_layout(std::string_view mounts);
// The mount point of a filesystem type ("tracefs", "debugfs") in /proc/mounts; "" when absent.
std::string mount_point_of(std::string_view mounts, std::string_view fstype);

// A sysfs choice file: "always [madvise] never" -> "madvise"; "" when no
// bracketed word.
std::string parse_sysfs_choice(std::string_view text);

// Prints a CPU set as the kernel's hex mask format ("ff,ffffffff"), as
// /proc/irq/default_smp_affinity takes it. Empty set -> "0".
std::string cpus_to_mask(const CpuSet& cpus);

// Boot loader configs. extlinux.conf: the APPEND line of the DEFAULT label
// (or of the first LABEL when DEFAULT names none); GRUB: the value of
// GRUB_CMDLINE_LINUX in /etc/default/grub. Both return nullopt when absent.
std::optional<std::string> extlinux_append(std::string_view conf);
// Returns conf with that APPEND line's arguments replaced by `args` set on it.
std::string extlinux_set_args(std::string_view conf,
                              const std::vector<std::pair<std::string, std::string>>& args);
std::optional<std::string> grub_cmdline(std::string_view conf);
std::string grub_set_args(std::string_view conf,
                          const std::vector<std::pair<std::string, std::string>>& args);

}  // namespace rtcell::host
