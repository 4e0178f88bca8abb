// The drain reader's memory (capture.hpp, drain mode): what of a consumed
// trace_pipe stream is worth keeping. Pure: fed one text line at a time,
// it gives back a `trace`-like text at the end; no I/O, no threads, so the
// unit tests feed it literal lines.
//
// Why: without -b, `latency --trace` keeps the worst K spikes of a run of
// any length, but an 8 MiB ring per CPU holds ~4.6 s of events at -i 200 on
// the development VM, and the window before an early worst sample is long
// overwritten when the run ends. The kernel's snapshot buffer would do it,
// but not every kernel has CONFIG_TRACER_SNAPSHOT (the development VM does
// not). So a reader consumes the ring while the run goes and keeps:
//
//   - a rolling window: the lines of the last before_ns of trace time;
//   - for each marker ("rtcell-spike ... latency=L", see
//     measure::format_spike_marker) among the K worst seen so far, the
//     rolling window's lines at the marker, the marker, and the lines that
//     follow until trace time passes it by after_ns;
//   - every marker line, so that `markers` and `not_kept` still count every
//     spike the threads marked (a marker without its window explains as "not
//     in the buffer", and keep_worst() drops it: it is not among the K worst).
//
// A new marker that beats the K-th worst window evicts the smallest (among
// equal latencies, the later one: keep_worst() keeps the earlier). Memory is
// bounded by the rolling window plus K windows, and by max_bytes in all
// (with keep = 0, every marker's window, until max_bytes evicts the
// smallest). Lines are shared between windows, and text() merges them in
// time order without duplicates: each line read has a sequence number.
//
// trace_pipe merges the CPUs by time only among what is in the ring when it
// reads, so a CPU's line can arrive after a later line of another CPU; a
// window takes any line within its time range until the newest time read
// passes its end by after_ns. The marker's own CPU, which the explanation
// reads, is always in order.
//
// "CPU:N [LOST M EVENTS]" lines (print_trace_line prints one just before
// the first event read after a loss) are kept with the time and CPU of that
// next event, so that explain() sees the loss inside the window and says so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rtcell::trace {

struct WindowConfig {
  int64_t before_ns = 20'000'000;  // W: trace time kept before each marker
  int64_t after_ns = 2'000'000;    // trace time kept after it
  uint32_t keep = 5;               // K; 0: every marker's window, up to max_bytes
  size_t max_bytes = size_t{64} << 20;
};

// W for a run whose slowest thread wakes every interval_ns: four periods
// (the thread's hrtimer_start is made one period before its deadline) plus
// 20 ms for the spike itself. A spike longer than about W minus one period
// loses its hrtimer_start and is reported as not in the buffer.
int64_t drain_window_ns(int64_t max_interval_ns) noexcept;

class WindowKeeper {
 public:
  explicit WindowKeeper(const WindowConfig& config) : config_(config) {}

  // One line of trace_pipe, without its newline.
  void feed(std::string_view line);
  // `header` (the `trace` file's comment lines), then the kept lines in time
  // order, each once, each ending in a newline.
  std::string text(std::string_view header) const;

  size_t windows() const noexcept { return windows_.size(); }
  int64_t markers() const noexcept { return static_cast<int64_t>(markers_.size()); }
  size_t recent_lines() const noexcept { return recent_.size(); }
  // What the keeper holds, counting a line once per window holding it.
  size_t bytes() const noexcept { return recent_bytes_ + window_bytes_ + marker_bytes_; }
  // Latencies of the markers whose windows are kept, in marker order.
  std::vector<int64_t> kept_latencies() const;
  uint64_t lines_read() const noexcept { return seq_; }

 private:
  struct Line {
    int64_t ts_ns = 0;
    uint64_t seq = 0;
    std::string text;
  };
  using LinePtr = std::shared_ptr<const Line>;
  struct Window {
    int64_t latency_ns = 0;
    uint64_t marker_seq = 0;
    int64_t start_ns = 0, end_ns = 0;
    bool open = true;
    size_t bytes = 0;
    std::vector<LinePtr> lines;
  };

  void add(const LinePtr& line);
  void on_marker(const LinePtr& line, int64_t latency_ns);
  size_t victim() const;
  void evict(size_t i);

  WindowConfig config_;
  std::deque<LinePtr> recent_;
  size_t recent_bytes_ = 0;
  std::vector<Window> windows_;  // in marker order
  size_t open_ = 0;              // how many of windows_ still take lines
  size_t window_bytes_ = 0;
  std::vector<LinePtr> markers_;
  size_t marker_bytes_ = 0;
  std::string pending_lost_;
  int64_t last_ts_ = 0;
  int64_t max_ts_ = 0;
  uint64_t seq_ = 0;
};

}  // namespace rtcell::trace
