#include "trace/window_keeper.hpp"

#include <algorithm>
#include <utility>

#include "trace/text_parser.hpp"

namespace rtcell::trace {

namespace {

// The per-line bookkeeping a LinePtr costs beside its text (control block,
// the pointer in each container): counted so that the bound holds for
// short lines too.
constexpr size_t kLineOverhead = 64;

size_t cost(const std::string& text) noexcept {
  return text.size() + kLineOverhead;
}

// The marker's latency, when `line` is a spike marker's event line.
bool marker_latency(std::string_view line, int64_t& latency_ns) {
  if (line.find("rtcell-spike ") == std::string_view::npos) return false;
  const ParsedTrace one = parse_trace_text(line);
  if (one.events.size() != 1 || one.events[0].kind != Kind::Marker) return false;
  SpikeMarker m;
  if (!parse_spike_marker(one.events[0].label, m)) return false;
  latency_ns = m.latency_ns;
  return true;
}

}  // namespace

int64_t drain_window_ns(int64_t max_interval_ns) noexcept {
  const int64_t interval = std::clamp<int64_t>(max_interval_ns, 0, int64_t{1} << 40);
  return 4 * interval + 20'000'000;
}

void WindowKeeper::feed(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.empty()) return;
  int cpu = 0;
  if (lost_line_cpu(line, cpu)) {
    // Two in a row (no event between): the first keeps the last time seen.
    if (!pending_lost_.empty()) add(std::make_shared<const Line>(Line{last_ts_, seq_++, pending_lost_}));
    pending_lost_ = std::string(line);
    return;
  }
  int64_t ts = 0;
  // A line that is not an event (none is expected) keeps the last time seen.
  if (!event_line_time(line, cpu, ts)) ts = last_ts_;
  if (!pending_lost_.empty()) {
    add(std::make_shared<const Line>(Line{ts, seq_++, std::move(pending_lost_)}));
    pending_lost_.clear();
  }
  last_ts_ = ts;
  const auto l = std::make_shared<const Line>(Line{ts, seq_++, std::string(line)});
  add(l);
  int64_t latency = 0;
  if (marker_latency(line, latency)) on_marker(l, latency);
}

void WindowKeeper::add(const LinePtr& line) {
  recent_.push_back(line);
  recent_bytes_ += cost(line->text);
  max_ts_ = std::max(max_ts_, line->ts_ns);
  // The rolling window: the last before_ns of trace time, and never more
  // than a quarter of max_bytes (a flood of events in a short time).
  while (!recent_.empty() &&
         (recent_.front()->ts_ns < max_ts_ - config_.before_ns || recent_bytes_ > config_.max_bytes / 4)) {
    recent_bytes_ -= cost(recent_.front()->text);
    recent_.pop_front();
  }
  // The open windows are the newest, at the back: stop once all are seen,
  // so a line costs O(open windows), not O(kept windows).
  const size_t open = open_;
  size_t seen = 0;
  for (auto it = windows_.rbegin(); it != windows_.rend() && seen < open; ++it) {
    Window& w = *it;
    if (!w.open) continue;
    ++seen;
    if (line->ts_ns >= w.start_ns && line->ts_ns <= w.end_ns) {
      w.lines.push_back(line);
      w.bytes += cost(line->text);
      window_bytes_ += cost(line->text);
    }
    if (max_ts_ > w.end_ns + config_.after_ns) {
      w.open = false;
      --open_;
    }
  }
  while (window_bytes_ > config_.max_bytes && !windows_.empty()) evict(victim());
}

void WindowKeeper::on_marker(const LinePtr& line, int64_t latency_ns) {
  markers_.push_back(line);
  marker_bytes_ += cost(line->text);
  if (config_.keep > 0 && windows_.size() >= config_.keep) {
    const size_t v = victim();
    // Among equal latencies the earlier marker stays, as in keep_worst().
    if (latency_ns <= windows_[v].latency_ns) return;
    evict(v);
  }
  Window w;
  w.latency_ns = latency_ns;
  w.marker_seq = line->seq;
  w.start_ns = line->ts_ns - config_.before_ns;
  w.end_ns = line->ts_ns + config_.after_ns;
  // The rolling window already holds the marker (add() came first).
  for (const auto& l : recent_) {
    if (l->ts_ns < w.start_ns) continue;
    w.lines.push_back(l);
    w.bytes += cost(l->text);
  }
  window_bytes_ += w.bytes;
  windows_.push_back(std::move(w));
  ++open_;
  while (window_bytes_ > config_.max_bytes && !windows_.empty()) evict(victim());
}

// The window to give up first: the smallest latency; among equals, the
// latest marker.
size_t WindowKeeper::victim() const {
  size_t v = 0;
  for (size_t i = 1; i < windows_.size(); ++i) {
    const Window& a = windows_[i];
    const Window& b = windows_[v];
    if (a.latency_ns < b.latency_ns || (a.latency_ns == b.latency_ns && a.marker_seq > b.marker_seq)) v = i;
  }
  return v;
}

void WindowKeeper::evict(size_t i) {
  window_bytes_ -= windows_[i].bytes;
  if (windows_[i].open) --open_;
  windows_.erase(windows_.begin() + static_cast<std::ptrdiff_t>(i));
}

std::vector<int64_t> WindowKeeper::kept_latencies() const {
  std::vector<int64_t> out;
  for (const auto& w : windows_) out.push_back(w.latency_ns);
  return out;
}

std::string WindowKeeper::text(std::string_view header) const {
  std::vector<const Line*> all;
  for (const auto& w : windows_)
    for (const auto& l : w.lines) all.push_back(l.get());
  for (const auto& l : markers_) all.push_back(l.get());
  std::sort(all.begin(), all.end(), [](const Line* a, const Line* b) {
    return a->ts_ns != b->ts_ns ? a->ts_ns < b->ts_ns : a->seq < b->seq;
  });
  all.erase(
      std::unique(all.begin(), all.end(), [](const Line* a, const Line* b) { return a->seq == b->seq; }),
      all.end());
  std::string out(header);
  if (!out.empty() && out.back() != '\n') out += '\n';
  for (const Line* l : all) {
    out += l->text;
    out += '\n';
  }
  return out;
}

}  // namespace rtcell::trace
