// Seccomp profiles for cells: rtcell's default (the deny list of Docker's
// default profile, written here as data) and Docker's profile JSON format for
// `--seccomp FILE.json`. Parsing is pure (text in, SeccompProfile out) and
// happens before a cell exists; build_filter() turns a profile into a
// libseccomp filter that the cell process loads just before execve.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sys/caps.hpp"
#include "sys/seccomp.hpp"

namespace rtcell::cell {

enum class SeccompAction { Allow, Errno, KillThread, KillProcess, Trap, Log };

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  enum class Op { Ne, Lt, Le, Eq, Ge, Gt, MaskedEq } op = Op::Eq;
};

struct SeccompRule {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::Errno;
  int errno_ret = 1;  // EPERM
  std::vector<SeccompArg> args;
};

struct SeccompProfile {
  SeccompAction default_action = SeccompAction::Allow;
  int default_errno = 1;
  std::vector<SeccompRule> rules;
};

// What a Docker profile's includes/excludes are matched against.
struct ProfileContext {
  sys::CapSet caps;            // the cell's capability set
  std::string arch = "amd64";  // Docker's (Go) name of this architecture
  int kernel_major = 0;        // for "minKernel" (0 = unknown: accept)
  int kernel_minor = 0;
};

// The context of this host (arch from uname, kernel release) for `caps`.
ProfileContext host_profile_context(sys::CapSet caps);

// rtcell's default: allow everything except Docker's default deny list
// (mount, setns, unshare, ptrace, kexec, modules, keyrings, reboot, bpf,
// clone with namespace flags, ...). A syscall whose capability the cell was
// given (e.g. SYS_PTRACE -> ptrace) is allowed, as Docker does.
SeccompProfile default_profile(sys::CapSet caps);

// Parses Docker's seccomp profile format. Throws rtcell::Error (Usage) naming
// the problem on malformed JSON, an unknown action or operator. Syscall names
// this host does not know are kept; build_filter() skips them as Docker does.
SeccompProfile parse_docker_profile(std::string_view json, const ProfileContext& ctx);

// Compiles the profile for the native architecture.
sys::SeccompFilter build_filter(const SeccompProfile& profile);
// The BPF program of build_filter(profile), ready for one prctl() in the cell.
std::vector<sock_filter> compiled_filter(const SeccompProfile& profile);

// Parses "6.18.0-rc1" into major/minor (0/0 when unparsable).
void parse_kernel_version(std::string_view release, int& major, int& minor);

}  // namespace rtcell::cell
