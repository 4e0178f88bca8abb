// A PM-QoS CPU latency request through /dev/cpu_dma_latency, held for as long
// as this object lives. The kernel drops the request when the file is closed
// (kernel/power/qos.c, cpu_latency_qos_release), so the fd is the resource:
// a crash or a failed start-up can never leave the machine tuned.
//
// Writing 0 keeps CPUs out of deep idle states, which otherwise add tens of
// microseconds to every wake-up (DESIGN.md: 45 us vs 24 us measured on this
// VM). cyclictest holds 0 by default; so does `rtcell latency`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sys/fd.hpp"

namespace rtcell::measure {

class DmaLatencyRequest {
 public:
  static constexpr const char* kPath = "/dev/cpu_dma_latency";

  DmaLatencyRequest() = default;
  // Opens `path` and writes `us` as a binary s32 (the form the kernel reads
  // when exactly 4 bytes are written). Throws rtcell::Error: Unsupported when
  // the device does not exist (e.g. inside a container without
  // --device /dev/cpu_dma_latency), Privilege on EACCES/EPERM (it is root-only,
  // mode 0600), System otherwise.
  static DmaLatencyRequest hold(int32_t us, const std::string& path = kPath);

  bool held() const noexcept { return fd_.valid(); }
  std::optional<int32_t> value_us() const noexcept {
    return held() ? std::optional<int32_t>(us_) : std::nullopt;
  }
  // Drops the request now.
  void release() noexcept { fd_.reset(); }

 private:
  sys::Fd fd_;
  int32_t us_ = 0;
};

}  // namespace rtcell::measure
