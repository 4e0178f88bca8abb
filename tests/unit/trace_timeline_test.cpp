// The spike window as lanes and as SVG (the HTML page of rtcell explain
// --html and rtcell latency --trace), from the recorded spinner fixture:
// checks structure and labels, never pixels.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "report/timeline.hpp"
#include "trace/explain.hpp"
#include "trace/text_parser.hpp"
#include "trace/timeline.hpp"

using namespace rtcell::trace;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(RTCELL_FIXTURES) + "/trace/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// Every element opened is closed, in order; returns "" or what is wrong.
std::string unbalanced(const std::string& xml) {
  std::vector<std::string> stack;
  for (size_t p = xml.find('<'); p != std::string::npos; p = xml.find('<', p + 1)) {
    const size_t e = xml.find('>', p);
    if (e == std::string::npos) return "unterminated tag at " + std::to_string(p);
    const std::string tag = xml.substr(p + 1, e - p - 1);
    if (tag.empty()) return "empty tag";
    if (tag[0] == '!') continue;  // <!DOCTYPE html>
    if (tag.back() == '/') continue;
    std::string name = tag.substr(tag[0] == '/' ? 1 : 0);
    name = name.substr(0, name.find_first_of(" \t\n"));
    if (tag[0] == '/') {
      if (stack.empty() || stack.back() != name)
        return "</" + name + "> closes " + (stack.empty() ? "nothing" : "<" + stack.back() + ">");
      stack.pop_back();
    } else if (name != "meta") {
      stack.push_back(name);
    }
  }
  return stack.empty() ? "" : "<" + stack.back() + "> never closed";
}

}  // namespace

TEST(TraceTimeline, SpinnerSpikeHasTheCpuLaneTheSpinnerAndTheInstants) {
  const ParsedTrace t = parse_trace_text(fixture("spinner-fifo90.txt"));
  const Explanation e = explain(t);
  ASSERT_EQ(e.spikes.size(), 2u);
  const Spike& s = e.spikes[1];
  ASSERT_EQ(s.status, Status::Explained) << s.reason;
  const Timeline tl = spike_timeline(t, s);
  EXPECT_LT(tl.start_ns, s.marker.expected_ns);
  EXPECT_GT(tl.end_ns, s.marker.wake_ns);
  ASSERT_EQ(tl.lanes.size(), 1u) << "the capture recorded CPU 1 only";
  EXPECT_EQ(tl.lanes[0].cpu, 1);
  bool spinner = false, measured = false, irq = false;
  for (const auto& sp : tl.lanes[0].spans) {
    EXPECT_LE(tl.start_ns, sp.start_ns);
    EXPECT_LE(sp.start_ns, sp.end_ns);
    EXPECT_LE(sp.end_ns, tl.end_ns);
    if (sp.kind == SpanKind::Task && sp.label == "rtcell-spin:7991") spinner = true;
    if (sp.kind == SpanKind::Task && sp.measured) measured = sp.pid == 7996;
    if (sp.kind == SpanKind::Irq) irq = true;
  }
  EXPECT_TRUE(spinner) << "the spinner ran in the window";
  EXPECT_TRUE(measured) << "the measuring thread ran at its end";
  EXPECT_TRUE(irq) << "the timer interrupt is a span";
  std::vector<std::string> labels;
  for (const auto& m : tl.marks) labels.push_back(m.label);
  for (const char* want : {"expiry", "timer IRQ", "switch-in", "clock_gettime"})
    EXPECT_NE(std::find(labels.begin(), labels.end(), want), labels.end()) << want;
  for (size_t i = 1; i < tl.marks.size(); ++i) EXPECT_LE(tl.marks[i - 1].ts_ns, tl.marks[i].ts_ns);
}

TEST(TraceTimeline, SvgIsWellFormedLabelledAndDeterministic) {
  const ParsedTrace t = parse_trace_text(fixture("spinner-fifo90.txt"));
  const Explanation e = explain(t);
  ASSERT_EQ(e.spikes.size(), 2u);
  const std::string svg = rtcell::report::render_timeline_svg(spike_timeline(t, e.spikes[1]), "spike 2 <&>");
  EXPECT_EQ(unbalanced(svg), "") << svg;
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_EQ(count(svg, "class=\"lane\""), 1u);
  EXPECT_NE(svg.find(">CPU 1<"), std::string::npos);
  EXPECT_NE(svg.find("rtcell-spin:7991"), std::string::npos);
  EXPECT_NE(svg.find(">expiry<"), std::string::npos);
  EXPECT_NE(svg.find(">switch-in<"), std::string::npos);
  EXPECT_NE(svg.find("spike 2 &lt;&amp;&gt;"), std::string::npos) << "the title is escaped";
  EXPECT_EQ(svg, rtcell::report::render_timeline_svg(spike_timeline(t, e.spikes[1]), "spike 2 <&>"));
}

TEST(TraceTimeline, HtmlPageHasOneTimelinePerExplainedSpike) {
  const ParsedTrace t = parse_trace_text(fixture("spinner-fifo90.txt"));
  const Explanation e = explain(t);
  size_t explained = 0;
  for (const auto& s : e.spikes) explained += s.status == Status::Explained ? 1 : 0;
  ASSERT_GE(explained, 1u);
  const std::string html = rtcell::report::explain_html(t, e);
  EXPECT_EQ(unbalanced(html), "");
  EXPECT_EQ(count(html, "<svg "), explained);
  EXPECT_EQ(count(html, "<h2>Spike "), e.spikes.size());
}

TEST(TraceTimeline, AWindowWithNoEventsHasNoLanesButStillItsInstants) {
  Spike s;
  s.marker.tid = 5;
  s.marker.cpu = 0;
  s.marker.expected_ns = 1'000'000;
  s.marker.wake_ns = 1'050'000;
  const Timeline tl = spike_timeline(ParsedTrace{}, s);
  EXPECT_TRUE(tl.lanes.empty());
  ASSERT_EQ(tl.marks.size(), 2u);
  const std::string svg = rtcell::report::render_timeline_svg(tl, "empty");
  EXPECT_EQ(unbalanced(svg), "");
}
