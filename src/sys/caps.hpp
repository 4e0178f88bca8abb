// Capability sets through raw capget/capset/prctl (no libcap): a CapSet is a
// 64-bit mask of capability numbers (include/uapi/linux/capability.h).
// apply_capabilities() leaves a process with exactly the given set in every
// set that matters after execve, for root and non-root alike: the bounding
// set is cut to it (root regains only bounding ∩ everything on exec), and a
// non-root user gets the set as ambient capabilities, the moby #50083 fix.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtcell::sys {

class CapSet {
 public:
  CapSet() = default;
  explicit CapSet(uint64_t bits) noexcept : bits_(bits) {}
  static CapSet all() noexcept;  // every capability this build knows

  bool has(int cap) const noexcept { return cap >= 0 && cap < 64 && ((bits_ >> cap) & 1U) != 0; }
  void add(int cap) noexcept { bits_ |= uint64_t{1} << cap; }
  void remove(int cap) noexcept { bits_ &= ~(uint64_t{1} << cap); }
  bool empty() const noexcept { return bits_ == 0; }
  uint64_t bits() const noexcept { return bits_; }
  std::vector<std::string> names() const;  // "SYS_NICE", ... in number order
  friend bool operator==(const CapSet&, const CapSet&) = default;

 private:
  uint64_t bits_ = 0;
};

// Highest capability number this build has a name for (CAP_CHECKPOINT_RESTORE).
inline constexpr int kLastKnownCap = 40;

// "SYS_NICE", "CAP_SYS_NICE", "sys_nice" -> 23; nullopt for an unknown name.
std::optional<int> cap_from_name(std::string_view name);
// 23 -> "SYS_NICE".
std::string cap_name(int cap);

// /proc/sys/kernel/cap_last_cap (kLastKnownCap when unreadable).
int kernel_last_cap();

// The caller's effective set (capget).
CapSet effective_caps();
// The caller's bounding set (PR_CAPBSET_READ): what an exec can still get.
CapSet bounding_caps();

// Drops every capability not in `keep` from the bounding set. Needs
// CAP_SETPCAP, so call it before setuid and before apply_capabilities().
void limit_bounding_set(CapSet keep);
// Sets effective = permitted = inheritable = `caps` and, when `ambient`,
// raises each as an ambient capability (non-root users keep them across
// execve). Call after setuid with PR_SET_KEEPCAPS set.
void apply_capabilities(CapSet caps, bool ambient);

// Parses a "CapEff:\t0000..." style hex mask (from /proc/PID/status).
CapSet parse_cap_mask(std::string_view hex);

}  // namespace rtcell::sys
