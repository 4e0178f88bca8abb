#include "report/timeline.hpp"

#include <cstdint>
#include <sstream>
#include <string>

#include "report/explain.hpp"
#include "report/render.hpp"

namespace rtcell::report {

namespace {

constexpr int64_t kWidth = 960;
constexpr int64_t kLeft = 70;  // lane labels
constexpr int64_t kRight = 20;
constexpr int64_t kTop = 46;  // mark labels, two rows
constexpr int64_t kLaneH = 34;
constexpr int64_t kLaneGap = 8;
constexpr int64_t kBottom = 34;  // time axis

// A few distinct, readable fills for other tasks, picked by pid.
constexpr const char* kTaskFills[] = {"#9ecae1", "#c7b6e0", "#f2c88f", "#b5d99c", "#e6a5a5", "#a8d5cf"};

int64_t x_of(const trace::Timeline& tl, int64_t ts) {
  const int64_t w = kWidth - kLeft - kRight;
  const int64_t len = tl.end_ns > tl.start_ns ? tl.end_ns - tl.start_ns : 1;
  int64_t t = ts < tl.start_ns ? tl.start_ns : ts > tl.end_ns ? tl.end_ns : ts;
  // In double: (t - start) * w may not fit 64 bits for a hostile capture.
  return kLeft + static_cast<int64_t>(static_cast<double>(t - tl.start_ns) / static_cast<double>(len) *
                                      static_cast<double>(w));
}

std::string us1(int64_t ns) {
  // One decimal, from integers: deterministic on every host.
  const int64_t tenths = (ns >= 0 ? ns + 50 : ns - 50) / 100;
  const int64_t a = tenths < 0 ? -tenths : tenths;
  return std::string(tenths < 0 ? "-" : "") + std::to_string(a / 10) + "." + std::to_string(a % 10) + " µs";
}

const char* fill_of(const trace::Span& s) {
  if (s.kind == trace::SpanKind::Irq) return "#d62728";
  if (s.kind == trace::SpanKind::Softirq) return "#ff7f0e";
  if (s.measured) return "#2ca02c";
  if (s.pid == 0) return "#e8e8e8";
  return kTaskFills[static_cast<size_t>(s.pid < 0 ? 0 : s.pid) % (sizeof kTaskFills / sizeof *kTaskFills)];
}

}  // namespace

std::string render_timeline_svg(const trace::Timeline& tl, const std::string& title) {
  const int64_t lanes = static_cast<int64_t>(tl.lanes.size());
  const int64_t height = kTop + lanes * (kLaneH + kLaneGap) + kBottom;
  const int64_t deadline = [&] {
    for (const auto& m : tl.marks)
      if (m.label == "expiry") return m.ts_ns;
    return tl.start_ns;
  }();
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"" << kWidth << "\" height=\""
    << height << "\" viewBox=\"0 0 " << kWidth << " " << height << "\" role=\"img\">";
  o << "<title>" << xml_escape(title) << "</title>";
  for (int64_t i = 0; i < lanes; ++i) {
    const auto& lane = tl.lanes[static_cast<size_t>(i)];
    const int64_t y = kTop + i * (kLaneH + kLaneGap);
    o << "<g class=\"lane\" data-cpu=\"" << lane.cpu << "\">";
    o << "<text x=\"4\" y=\"" << y + kLaneH / 2 + 4 << "\">CPU " << lane.cpu << "</text>";
    o << "<rect x=\"" << kLeft << "\" y=\"" << y << "\" width=\"" << kWidth - kLeft - kRight << "\" height=\""
      << kLaneH << "\" fill=\"none\" stroke=\"#ccc\"/>";
    for (const auto& s : lane.spans) {
      const int64_t x0 = x_of(tl, s.start_ns);
      const int64_t x1 = x_of(tl, s.end_ns);
      const int64_t w = x1 - x0 < 1 ? 1 : x1 - x0;
      const bool task = s.kind == trace::SpanKind::Task;
      const int64_t sy = y + 2;  // IRQs: the upper half, over the task
      const int64_t sh = task ? kLaneH - 4 : (kLaneH - 4) / 2;
      o << "<rect class=\"" << trace::to_string(s.kind) << "\" x=\"" << x0 << "\" y=\"" << sy << "\" width=\""
        << w << "\" height=\"" << sh << "\" fill=\"" << fill_of(s) << "\"><title>" << trace::to_string(s.kind)
        << " " << xml_escape(s.label) << ": " << us1(s.end_ns - s.start_ns) << "</title></rect>";
      // A label where it fits (about 6 px a character).
      if (task && w >= static_cast<int64_t>(s.label.size()) * 6 + 6)
        o << "<text x=\"" << x0 + 3 << "\" y=\"" << y + kLaneH - 8 << "\">" << xml_escape(s.label)
          << "</text>";
    }
    o << "</g>";
  }
  const int64_t bottom = kTop + lanes * (kLaneH + kLaneGap);
  for (size_t i = 0; i < tl.marks.size(); ++i) {
    const auto& m = tl.marks[i];
    const int64_t x = x_of(tl, m.ts_ns);
    const int64_t ly = i % 2 == 0 ? 16 : 32;  // alternate rows so close marks stay readable
    o << "<g class=\"mark\"><line x1=\"" << x << "\" y1=\"" << ly + 4 << "\" x2=\"" << x << "\" y2=\""
      << bottom << "\" stroke=\"#333\" stroke-dasharray=\"3,2\"/><text x=\"" << x + 2 << "\" y=\"" << ly
      << "\">" << xml_escape(m.label) << "</text><title>" << xml_escape(m.label) << " on CPU " << m.cpu
      << " at " << us1(m.ts_ns - deadline) << " from the expiry</title></g>";
  }
  // Time axis: five ticks, in µs from the expiry.
  o << "<g class=\"axis\"><line x1=\"" << kLeft << "\" y1=\"" << bottom << "\" x2=\"" << kWidth - kRight
    << "\" y2=\"" << bottom << "\" stroke=\"#333\"/>";
  for (int64_t k = 0; k <= 4; ++k) {
    const int64_t t = tl.start_ns + (tl.end_ns - tl.start_ns) * k / 4;
    const int64_t x = x_of(tl, t);
    o << "<text x=\"" << (x > 40 ? x - 30 : x) << "\" y=\"" << bottom + 16 << "\">" << us1(t - deadline)
      << "</text>";
  }
  o << "</g></svg>";
  return o.str();
}

std::string explain_html(const trace::ParsedTrace& trace, const trace::Explanation& e) {
  std::ostringstream o;
  o << "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>rtcell explain</title><style>"
    << "body{font-family:sans-serif;margin:2em;max-width:1000px}"
    << "svg{font-size:11px;font-family:sans-serif;background:#fff;border:1px solid #ddd}"
    << "td,th{padding:2px 8px;text-align:left}td.n{text-align:right}"
    << "</style></head><body><h1>Latency spikes, explained</h1>";
  o << "<p>" << e.markers << " marked samples";
  if (e.lost_events > 0) o << "; " << e.lost_events << " events lost in the capture";
  if (e.overwritten) o << "; the ring overwrote its oldest events";
  o << ". Times in the timelines are from the timer's expected expiry; lanes are CPUs; green is the "
       "measuring "
       "thread, red IRQs, orange softirqs, grey idle.</p>";
  for (size_t i = 0; i < e.spikes.size(); ++i) {
    const auto& s = e.spikes[i];
    o << "<h2>Spike " << i + 1 << "</h2><p>" << xml_escape(spike_verdict(s, i)) << "</p>";
    if (const std::string tl = timerlat_line(s); !tl.empty()) o << "<p>" << xml_escape(tl) << "</p>";
    if (s.status != trace::Status::Explained) continue;
    o << render_timeline_svg(trace::spike_timeline(trace, s), "spike " + std::to_string(i + 1) + " timeline");
    o << "<table><tr><th>part</th><th>what</th><th>duration</th></tr>";
    for (const auto& p : s.parts) {
      o << "<tr><td>" << trace::to_string(p.kind) << "</td><td>" << xml_escape(p.name);
      if (p.kind == trace::PartKind::Thread) o << ":" << p.pid << " (" << trace::describe_prio(p.prio) << ")";
      o << "</td><td class=\"n\">" << us1(p.duration_ns) << "</td></tr>";
    }
    o << "</table>";
  }
  o << "</body></html>\n";
  return o.str();
}

}  // namespace rtcell::report
