// `rtcell latency --trace`: a private ftrace instance that records, on the
// measured CPUs only, the events the explanation (explain.hpp) needs, plus
// the measuring threads' markers. Never the global buffer: the instance has
// its own buffers, clock, cpumask and event enables, and is removed (with
// the tracefs mount, when we made it) by the destructor, on every path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rtcell/cpuset.hpp"
#include "sys/fd.hpp"
#include "sys/tracefs.hpp"
#include "trace/window_keeper.hpp"

namespace rtcell::trace {

inline constexpr const char* kTraceJournalDir = "/run/rtcell-trace";

struct CaptureConfig {
  CpuSet cpus;                // tracing_cpumask of the instance
  uint32_t buffer_kb = 8192;  // per CPU
  std::string tracefs = "/sys/kernel/tracing";
  std::string instance_prefix = "rtcell-";  // + our pid
  // Where a global setting changed for the run (osnoise/cpus) is journaled,
  // as a file named by our pid, for a run killed with SIGKILL: the next
  // capture or `rtcell gc` puts it back.
  std::string journal_dir = kTraceJournalDir;
  // Also run the timerlat tracer in the instance when the kernel has it
  // (CONFIG_TIMERLAT_TRACER; instances since 5.16), for its verdict beside
  // rtcell's. `latency --no-timerlat` turns it off.
  bool timerlat = false;
  // Drain mode (`latency --trace` without -b): a reader thread consumes the
  // instance's trace_pipe while the run goes and keeps the windows of the
  // worst markers (window_keeper.hpp), so an early worst sample is still
  // explained after the ring has wrapped many times. Off: the ring alone
  // (breaktrace, which stops at the first spike; `trace record`).
  bool drain = false;
  WindowConfig window;
  // The reader's CPUs (the online CPUs not traced); empty: wherever the
  // scheduler puts it (a host with no CPU left over).
  CpuSet reader_cpus;
};

// What became of the timerlat tracer in a capture.
enum class TimerlatState {
  Off,      // not asked for
  Absent,   // the kernel has no timerlat tracer
  Refused,  // the kernel would not run it in the instance (reason in timerlat_reason())
  Running,  // current_tracer of the instance is timerlat
};

// The osnoise noise events timerlat records beside its samples.
const std::vector<std::string>& timerlat_events();

// The events a capture asks for, as "system:event" ("ipi:*" = every ipi
// event); the x86 irq_vectors exist only on x86. One table: capture and docs use it.
const std::vector<std::string>& capture_events();

class Drain;

class Capture {
 public:
  Capture();
  Capture(Capture&&) noexcept;
  Capture& operator=(Capture&&) noexcept;
  ~Capture();

  // Mounts tracefs if needed, removes instances of dead rtcell processes,
  // creates instances/<prefix><pid>, sets clock "mono" (CLOCK_MONOTONIC, so
  // trace times compare with the loop's), the cpumask, the buffer size,
  // enables every event of capture_events() this kernel has, opens
  // trace_marker, and turns recording on. Throws Privilege (exit 3) when
  // tracing is not allowed, Unsupported without tracefs.
  static Capture start(const CaptureConfig& config);

  int marker_fd() const noexcept { return marker_.get(); }
  const std::string& instance_dir() const noexcept { return instance_.dir(); }
  const std::vector<std::string>& enabled() const noexcept { return enabled_; }
  const std::vector<std::string>& missing() const noexcept { return missing_; }
  const std::vector<std::string>& stale_removed() const noexcept { return stale_; }
  // Global settings a killed rtcell left changed, put back (paths).
  const std::vector<std::string>& stale_restored() const noexcept { return restored_; }
  bool mounted_tracefs() const noexcept { return mount_.mounted_by_us(); }
  TimerlatState timerlat() const noexcept { return timerlat_; }
  // One line for the user: what the timerlat tracer does in this capture.
  const std::string& timerlat_reason() const noexcept { return timerlat_reason_; }

  // Stops recording, closes the marker and returns the instance's `trace`
  // text (every CPU, merged by time). In drain mode: stops the reader once
  // it has read what is left, and returns the `trace` file's header and the
  // kept windows (WindowKeeper::text()). The instance stays until close().
  std::string stop_and_read();
  bool draining() const noexcept { return drain_ != nullptr; }
  // Drain mode, after stop_and_read(): why the reader stopped early ("" when
  // it did not), and how many lines it read.
  const std::string& drain_error() const noexcept { return drain_error_; }
  uint64_t drained_lines() const noexcept { return drained_lines_; }
  // Removes the instance and unmounts tracefs if we mounted it; never throws.
  void close() noexcept;

 private:
  void start_timerlat(const CaptureConfig& config);

  // Destroyed in reverse: the drain reader (joined, its trace_pipe closed),
  // the marker, then the instance (rmdir refuses while a file of it is open;
  // its timerlat stops with it), then the global osnoise/cpus put back,
  // then the mount.
  sys::TracefsMount mount_;
  sys::TracefsSetting osnoise_cpus_;
  sys::TraceInstance instance_;
  sys::Fd marker_;
  std::unique_ptr<Drain> drain_;
  std::string drain_error_;
  uint64_t drained_lines_ = 0;
  std::vector<std::string> enabled_, missing_, stale_, restored_;
  TimerlatState timerlat_ = TimerlatState::Off;
  std::string timerlat_reason_;
};

// "ffffffff,00000003" style mask for tracing_cpumask.
std::string cpumask_hex(const CpuSet& cpus);

}  // namespace rtcell::trace
