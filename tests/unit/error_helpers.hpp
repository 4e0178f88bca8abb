// What a call throws, for tests of the one error story (docs/errors.md).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "rtcell/error.hpp"

namespace rtcell::test {

// The kind of the rtcell::Error `f` throws; a test failure when it throws none.
inline ErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no rtcell::Error thrown";
  return ErrorKind::System;
}

// The message of the rtcell::Error `f` throws, or "(no error)".
inline std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace rtcell::test
