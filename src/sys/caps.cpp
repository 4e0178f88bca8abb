#include "sys/caps.hpp"

#include <sys/prctl.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <string>

#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "sys/syscalls.hpp"

namespace rtcell::sys {

namespace {

// Index = capability number (include/uapi/linux/capability.h).
constexpr std::array<std::string_view, kLastKnownCap + 1> kNames = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};

}  // namespace

CapSet CapSet::all() noexcept {
  return CapSet((uint64_t{1} << (kLastKnownCap + 1)) - 1);
}

std::vector<std::string> CapSet::names() const {
  std::vector<std::string> out;
  for (int c = 0; c < 64; ++c)
    if (has(c)) out.push_back(cap_name(c));
  return out;
}

std::optional<int> cap_from_name(std::string_view name) {
  std::string up;
  for (char ch : name) up += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string_view v = up;
  if (v.substr(0, 4) == "CAP_") v.remove_prefix(4);
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == v) return static_cast<int>(i);
  return std::nullopt;
}

std::string cap_name(int cap) {
  if (cap >= 0 && cap <= kLastKnownCap) return std::string(kNames[static_cast<size_t>(cap)]);
  return "CAP_" + std::to_string(cap);
}

int kernel_last_cap() {
  auto text = try_read_file("/proc/sys/kernel/cap_last_cap");
  if (!text) return kLastKnownCap;
  try {
    return std::stoi(*text);
  } catch (const std::exception&) {
    return kLastKnownCap;
  }
}

CapSet effective_caps() {
  CapHeader hdr{kCapVersion3, 0};
  std::array<CapData, 2> data{};
  if (capget(&hdr, data.data()) != 0) sys_error("capget", errno);
  return CapSet(uint64_t{data[0].effective} | (uint64_t{data[1].effective} << 32));
}

CapSet bounding_caps() {
  CapSet s;
  for (int c = 0; c <= kernel_last_cap() && c < 64; ++c)
    if (::prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) s.add(c);
  return s;
}

void limit_bounding_set(CapSet keep) {
  const int last = kernel_last_cap();
  for (int c = 0; c <= last; ++c) {
    if (keep.has(c)) continue;
    if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
      sys_error("cannot drop " + cap_name(c) + " from the bounding set", errno);
  }
}

void apply_capabilities(CapSet caps, bool ambient) {
  CapHeader hdr{kCapVersion3, 0};
  std::array<CapData, 2> data{};
  const auto lo = static_cast<uint32_t>(caps.bits() & 0xffffffffU);
  const auto hi = static_cast<uint32_t>(caps.bits() >> 32);
  data[0] = {lo, lo, lo};
  data[1] = {hi, hi, hi};
  if (capset(&hdr, data.data()) != 0) sys_error("capset", errno);
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    sys_error("cannot clear ambient capabilities", errno);
  if (!ambient) return;
  for (int c = 0; c < 64; ++c) {
    if (!caps.has(c)) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0)
      sys_error("cannot raise " + cap_name(c) + " as an ambient capability (needs Linux 4.3)", errno);
  }
}

CapSet parse_cap_mask(std::string_view hex) {
  uint64_t v = 0;
  for (char ch : hex) {
    int d;
    if (ch >= '0' && ch <= '9')
      d = ch - '0';
    else if (ch >= 'a' && ch <= 'f')
      d = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F')
      d = ch - 'A' + 10;
    else if (std::isspace(static_cast<unsigned char>(ch)))
      continue;
    else
      usage_error("bad capability mask '" + std::string(hex) + "'");
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return CapSet(v);
}

}  // namespace rtcell::sys
