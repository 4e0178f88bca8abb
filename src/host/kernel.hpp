// `rtcell kernel`: which kernel a Jetson boots and which one it could boot.
// L4T boots through extlinux (/boot/extlinux/extlinux.conf): a DEFAULT label
// and LABEL entries, each with LINUX/INITRD/FDT/APPEND. `use-rt` points
// DEFAULT at the entry whose kernel is PREEMPT_RT and keeps the previous
// default entry in the file as the fallback (pick it on the serial console's
// boot menu when the RT kernel does not come up); `revert` puts the file back
// byte-identical from a journaled backup. Every write is temp + rename, and
// the backup and its journal are written before the config, so a failure at
// any step leaves either the old file or the new one, and a way back.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtcell::host {

struct ExtlinuxEntry {
  std::string label;       // LABEL primary
  std::string menu_label;  // MENU LABEL primary kernel
  std::string kernel;      // LINUX /boot/Image
  std::string initrd;      // INITRD /boot/initrd
  std::string append;      // APPEND ...
};
struct Extlinux {
  std::string default_label;  // DEFAULT primary ("" when absent: the first entry boots)
  std::vector<ExtlinuxEntry> entries;
  // The entry that boots: DEFAULT's, else the first; nullptr when none.
  const ExtlinuxEntry* booted() const;
};
Extlinux parse_extlinux(std::string_view conf);
// conf with its DEFAULT line(s) naming `label` (one added at the top when
// there is none); every other byte is kept.
std::string extlinux_set_default(std::string_view conf, const std::string& label);

// Why an entry counts as the RT kernel, "" when it does not: the kernel image
// under `root` carries the PREEMPT_RT version string (what uname -v prints),
// else its label, menu label or image name has an "rt"/"realtime"/"preempt_rt" word.
std::string entry_rt_evidence(const ExtlinuxEntry& e, const std::string& root);
// True when `text` (a label, a file name) has "rt", "realtime" or
// "preempt_rt" as a word (split at anything not a letter or digit).
bool names_rt(std::string_view text);

// The NVIDIA real-time kernel packages of a JetPack 6 (L4T R36) release and
// the apt line of their repository (NVIDIA Jetson Linux developer guide,
// "Real-Time Kernel Using OTA Update"). nullopt for other releases.
struct RtPackages {
  std::string apt_line;               // deb https://repo.download.nvidia.com/jetson/rt-kernel r36.4 main
  std::vector<std::string> packages;  // to apt install
};
std::optional<RtPackages> l4t_rt_packages(int l4t_major, int l4t_minor);

struct KernelStatus {
  std::string conf_file;  // in-tree path
  Extlinux conf;
  std::vector<std::string> rt_evidence;   // per entry, "" when not RT
  std::string running;                    // /proc/sys/kernel/osrelease
  bool running_rt = false;                // /sys/kernel/realtime or uname -v
  std::string l4t;                        // "36.3.0" or ""
  std::vector<std::string> rt_installed;  // nvidia-l4t-rt-kernel* installed per dpkg
  std::optional<RtPackages> rt_available;
  bool journaled = false;  // a use-rt backup is waiting for revert
};
// Reads the boot config, dpkg status and release under root; throws Usage
// when root has no /boot/extlinux/extlinux.conf.
KernelStatus kernel_status(const std::string& root);

inline constexpr const char* kExtlinuxConf = "/boot/extlinux/extlinux.conf";
inline constexpr const char* kKernelJournal = "/var/lib/rtcell/kernel.json";
inline constexpr const char* kKernelBackup = "/var/lib/rtcell/extlinux.conf.orig";

// Switches DEFAULT to the RT entry. Returns the lines to print. Throws Usage
// (nothing changed) when there is no RT entry, or a backup from an earlier
// use-rt is still waiting for revert.
std::vector<std::string> kernel_use_rt(const std::string& root);
// Restores the backed-up extlinux.conf byte-identical and removes the backup
// and its journal. Throws Usage when there is nothing to revert or the file
// changed since use-rt (then the backup is left where it is).
std::vector<std::string> kernel_revert(const std::string& root);

}  // namespace rtcell::host
