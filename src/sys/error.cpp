#include "rtcell/error.hpp"

#include <cerrno>
#include <cstring>

namespace rtcell {

Error::Error(ErrorKind kind, const std::string& what, int err)
    : std::runtime_error(what), kind_(kind), errno_(err) {}

int Error::exit_code() const noexcept {
  switch (kind_) {
    case ErrorKind::Usage:
      return kExitUsage;
    case ErrorKind::Privilege:
    case ErrorKind::Unsupported:
      return kExitPrivilege;
    case ErrorKind::System:
      return kExitSystem;
  }
  return kExitSystem;
}

void usage_error(const std::string& what) {
  throw Error(ErrorKind::Usage, what);
}

void unsupported_error(const std::string& what) {
  throw Error(ErrorKind::Unsupported, what);
}

void privilege_error(const std::string& what, int err) {
  throw Error(ErrorKind::Privilege, what, err);
}

void sys_error(std::string what, int err) {
  what += ": ";
  what += std::strerror(err);
  auto kind = (err == EPERM || err == EACCES) ? ErrorKind::Privilege : ErrorKind::System;
  throw Error(kind, what, err);
}

}  // namespace rtcell
