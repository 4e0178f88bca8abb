// rtcell's one error story (docs/errors.md).
//
// Library code throws rtcell::Error; the CLI catches it once in main() and maps
// its kind to an exit code. The library never prints and never exits. RT hot
// paths never throw: everything that can fail is done at start-up.
#pragma once

#include <stdexcept>
#include <string>

namespace rtcell {

enum class ErrorKind {
  Usage,        // bad flag, bad value, bad file: exit 2
  Privilege,    // EPERM/EACCES that a privilege would fix: exit 3
  Unsupported,  // the host lacks a kernel feature or file: exit 3
  System,       // an unexpected kernel or I/O failure: exit 4
};

// Exit codes, shared by every subcommand (docs/errors.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitNegative = 1;  // a "no" answer: rejected, failing check, regression
inline constexpr int kExitUsage = 2;
inline constexpr int kExitPrivilege = 3;
inline constexpr int kExitSystem = 4;
// `admit`: the analysis admits, but the target host's kernel would refuse a
// derived parameter (a "no" of another kind than 1: the host, not the task
// set, is what has to change or be chosen).
inline constexpr int kExitNotEnforceable = 5;
// `run --strict`: the command exited 0, but a task broke what it was admitted
// with (ran past its declared WCET, or missed a promised deadline).
inline constexpr int kExitBrokenPromise = 6;

class Error : public std::runtime_error {
 public:
  // `what` is one line: what failed and, where there is one, what to do.
  Error(ErrorKind kind, const std::string& what, int err = 0);

  ErrorKind kind() const noexcept { return kind_; }
  int err() const noexcept { return errno_; }
  int exit_code() const noexcept;

 private:
  ErrorKind kind_;
  int errno_;
};

// Shorthands. sys_error appends strerror(err) and picks Privilege for
// EPERM/EACCES, System otherwise.
[[noreturn]] void usage_error(const std::string& what);
[[noreturn]] void unsupported_error(const std::string& what);
[[noreturn]] void privilege_error(const std::string& what, int err = 0);
[[noreturn]] void sys_error(std::string what, int err);

}  // namespace rtcell
