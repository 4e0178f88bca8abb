// A libseccomp filter under construction: one move-only owner of the
// scmp_filter_ctx. Built in the rtcell parent (so a bad profile fails before
// anything exists), loaded by the cell process just before execve.
#pragma once

#include <linux/filter.h>
#include <seccomp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rtcell::sys {

class SeccompFilter {
 public:
  SeccompFilter() = default;
  SeccompFilter(const SeccompFilter&) = delete;
  SeccompFilter& operator=(const SeccompFilter&) = delete;
  SeccompFilter(SeccompFilter&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
  SeccompFilter& operator=(SeccompFilter&& o) noexcept;
  ~SeccompFilter();

  // seccomp_init(default_action); NO_NEW_PRIVS is set by the caller, not by
  // libseccomp, so the order of privilege drops stays explicit.
  static SeccompFilter create(uint32_t default_action);

  // Adds a rule; a rule whose action equals the default is skipped (the
  // kernel result is the same, libseccomp refuses it). Throws on errors.
  void add_rule(uint32_t action, int syscall_nr, const std::vector<scmp_arg_cmp>& args = {});
  // seccomp_load(): installs the filter on the calling thread. Returns 0 or
  // a negative errno (the cell process reports it, it cannot throw safely).
  int load() noexcept;

  // The compiled BPF program (seccomp_export_bpf), so the cell process can
  // install it with one prctl() and no libseccomp work after fork.
  std::vector<sock_filter> export_bpf() const;

  bool valid() const noexcept { return ctx_ != nullptr; }
  uint32_t default_action() const noexcept { return default_action_; }

  // The syscall number on the native architecture, nullopt when
  // libseccomp does not know the name or this architecture has no such
  // syscall (arm64: open, fork, poll).
  static std::optional<int> resolve(const std::string& name);

 private:
  scmp_filter_ctx ctx_ = nullptr;
  uint32_t default_action_ = SCMP_ACT_ALLOW;
};

// Installs a compiled filter on the calling thread (PR_SET_SECCOMP); returns 0
// or -errno. Needs NO_NEW_PRIVS or CAP_SYS_ADMIN. Async-signal-safe.
int load_seccomp_bpf(const std::vector<sock_filter>& program) noexcept;

}  // namespace rtcell::sys
