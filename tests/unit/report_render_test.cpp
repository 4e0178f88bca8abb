// The renderers: the terminal table, and the HTML/SVG report checked by
// parsing it with a small XML well-formedness checker written here (no XML
// library is among rtcell's dependencies). The report is written as XHTML so
// that "well-formed" has a precise meaning.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "report/render.hpp"
#include "report_test_data.hpp"

namespace rtcell::report {
namespace {

// Checks XML well-formedness: balanced and properly nested tags, quoted and
// unique attributes, escaped text (no raw '<', '&' only as an entity). Skips a
// leading <!DOCTYPE ...>. Returns "" when well-formed, else what is wrong;
// counts elements by name into `elements`.
std::string xml_check(const std::string& doc, std::map<std::string, int>& elements) {
  std::vector<std::string> stack;
  size_t i = 0;
  const size_t n = doc.size();
  auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.';
  };
  auto check_entity = [&](size_t at) -> bool {
    size_t semi = doc.find(';', at);
    if (semi == std::string::npos || semi - at > 10) return false;
    std::string e = doc.substr(at + 1, semi - at - 1);
    if (e == "amp" || e == "lt" || e == "gt" || e == "quot" || e == "apos") return true;
    if (e.size() > 1 && e[0] == '#') return e.find_first_not_of("0123456789", 1) == std::string::npos;
    return false;
  };
  bool root_seen = false;
  while (i < n) {
    if (doc[i] != '<') {
      if (doc[i] == '&' && !check_entity(i)) return "bad entity at " + std::to_string(i);
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(doc[i])))
        return "text outside the root element at " + std::to_string(i);
      ++i;
      continue;
    }
    if (doc.compare(i, 9, "<!DOCTYPE") == 0) {
      if (root_seen) return "DOCTYPE after the root";
      size_t e = doc.find('>', i);
      if (e == std::string::npos) return "unterminated DOCTYPE";
      i = e + 1;
      continue;
    }
    if (doc.compare(i, 4, "<!--") == 0) {
      size_t e = doc.find("-->", i);
      if (e == std::string::npos) return "unterminated comment";
      i = e + 3;
      continue;
    }
    if (doc.compare(i, 2, "</") == 0) {
      size_t s = i + 2, e = s;
      while (e < n && name_char(doc[e])) ++e;
      std::string name = doc.substr(s, e - s);
      while (e < n && std::isspace(static_cast<unsigned char>(doc[e]))) ++e;
      if (e >= n || doc[e] != '>') return "bad end tag </" + name;
      if (stack.empty() || stack.back() != name)
        return "end tag </" + name + "> does not match <" + (stack.empty() ? "" : stack.back()) + ">";
      stack.pop_back();
      i = e + 1;
      continue;
    }
    size_t s = i + 1, e = s;
    while (e < n && name_char(doc[e])) ++e;
    std::string name = doc.substr(s, e - s);
    if (name.empty()) return "raw '<' at " + std::to_string(i);
    if (stack.empty() && root_seen) return "second root element <" + name + ">";
    root_seen = true;
    std::map<std::string, bool> attrs;
    for (;;) {
      while (e < n && std::isspace(static_cast<unsigned char>(doc[e]))) ++e;
      if (e >= n) return "unterminated tag <" + name;
      if (doc[e] == '>' || doc.compare(e, 2, "/>") == 0) break;
      size_t as = e;
      while (e < n && name_char(doc[e])) ++e;
      std::string attr = doc.substr(as, e - as);
      if (attr.empty()) return "bad attribute in <" + name + "> at " + std::to_string(e);
      if (attrs.count(attr)) return "duplicate attribute " + attr + " in <" + name + ">";
      attrs[attr] = true;
      if (e >= n || doc[e] != '=') return "attribute " + attr + " without value in <" + name + ">";
      ++e;
      if (e >= n || doc[e] != '"') return "unquoted attribute " + attr + " in <" + name + ">";
      size_t close = doc.find('"', e + 1);
      if (close == std::string::npos) return "unterminated attribute " + attr;
      for (size_t k = e + 1; k < close; ++k) {
        if (doc[k] == '<') return "raw '<' in attribute " + attr;
        if (doc[k] == '&' && !check_entity(k)) return "bad entity in attribute " + attr;
      }
      e = close + 1;
    }
    ++elements[name];
    if (doc[e] == '/') {
      i = e + 2;
    } else {
      stack.push_back(name);
      i = e + 1;
    }
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (!root_seen) return "no root element";
  return "";
}

TEST(ReportXmlChecker, CatchesMalformedInput) {
  std::map<std::string, int> el;
  EXPECT_EQ(xml_check("<a><b/></a>", el), "");
  EXPECT_NE(xml_check("<a><b></a>", el), "");
  EXPECT_NE(xml_check("<a>x < y</a>", el), "");
  EXPECT_NE(xml_check("<a>fish & chips</a>", el), "");
  EXPECT_NE(xml_check("<a x=1/>", el), "");
  EXPECT_NE(xml_check("<a x=\"1\" x=\"2\"/>", el), "");
  EXPECT_NE(xml_check("<a/><b/>", el), "");
}

TEST(ReportTable, HasTable3ColumnsAndDeltas) {
  BenchRun run = testdata::bench_run(2);
  std::string t = render_table(run);
  EXPECT_NE(t.find("condition"), std::string::npos);
  for (const char* col : {"min", "avg", "p99", "p99.9", "max", "Δp99 vs native"})
    EXPECT_NE(t.find(col), std::string::npos) << col;
  // native p99 9 µs, cell (twice the latencies) 18 µs: +9 (+100%).
  EXPECT_NE(t.find("+9 (+100%)"), std::string::npos) << t;
  // max 40.123 -> 80.246 µs: +40 (+100%).
  EXPECT_NE(t.find("+40 (+100%)"), std::string::npos) << t;
  size_t podman = t.find("podman runc, load ");
  ASSERT_NE(podman, std::string::npos) << t;
  EXPECT_EQ(t.substr(t.find_first_not_of(' ', podman + 17), 30), "skipped: podman not installed\n") << t;
  // Rows keep the matrix order.
  EXPECT_LT(t.find("native, idle"), t.find("native, load"));
  EXPECT_LT(t.find("native, load"), t.find("cell (host net), load"));
}

TEST(ReportTable, MarksPartialRuns) {
  BenchRun run = testdata::bench_run();
  run.partial = true;
  run.interrupted_by = "SIGINT";
  EXPECT_NE(render_table(run).find("partial run (interrupted by SIGINT)"), std::string::npos);
}

TEST(ReportTable, FormatsMicroseconds) {
  EXPECT_EQ(us(40123), "40");
  EXPECT_EQ(us(4500, 1), "4.5");
  EXPECT_EQ(signed_us(-2000), "-2");
  EXPECT_EQ(signed_us(0), "+0");
  EXPECT_EQ(signed_us(-100), "+0");  // rounds to zero: no "-0"
}

TEST(ReportHtml, IsWellFormedWithOnePlotPerRowWithData) {
  BenchRun run = testdata::bench_run();
  run.id = 7;
  std::string html = render_html(run);
  std::map<std::string, int> el;
  ASSERT_EQ(xml_check(html, el), "") << html.substr(0, 2000);
  // Three rows with data -> three histograms, plus the percentile plot.
  EXPECT_EQ(el["svg"], 4);
  // Histograms: one series per CPU (2 CPUs x 3 rows); percentiles: one per row.
  EXPECT_EQ(el["polyline"], 2 * 3 + 3);
  EXPECT_NE(html.find("Test &lt;CPU&gt; &amp; co"), std::string::npos);  // host facts escaped
  EXPECT_NE(html.find("rtcell check not available"), std::string::npos);
  EXPECT_NE(html.find("podman not installed"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, no JS
}

// bench --trace: each traced repeat says where its capture is, links its
// timelines and lists the spikes' verdicts (escaped); the trace object
// survives the history's JSON and is absent from untraced repeats.
TEST(ReportHtml, TracedRepeatsLinkTheirCaptureAndListTheVerdicts) {
  BenchRun run = testdata::bench_run();
  ASSERT_FALSE(run.rows.empty());
  ASSERT_FALSE(run.rows[0].repeats.empty());
  run.rows[0].repeats[0].trace = {
      {"dir", "/tmp/t/native-idle-0"},
      {"spikes", {{{"latency_ns", 122000}, {"verdict", "122 us: timer IRQ 120 us late <vCPU stall>"}}}}};
  std::string html = render_html(run);
  std::map<std::string, int> el;
  ASSERT_EQ(xml_check(html, el), "") << html.substr(0, 2000);
  EXPECT_NE(html.find("rtcell explain /tmp/t/native-idle-0"), std::string::npos);
  EXPECT_NE(html.find("href=\"file:///tmp/t/native-idle-0/explain.html\""), std::string::npos);
  EXPECT_NE(html.find("<li>122 us: timer IRQ 120 us late &lt;vCPU stall&gt;</li>"), std::string::npos);
  EXPECT_EQ(el["ul"], 1);
  const nlohmann::json j = latency_to_json(run.rows[0].repeats[0]);
  EXPECT_EQ(latency_from_json(j).trace, run.rows[0].repeats[0].trace);
  EXPECT_FALSE(latency_to_json(LatencyRun{}).contains("trace"));
}

TEST(ReportHtml, RendersCheckVerdictsAsATable) {
  BenchRun run = testdata::bench_run();
  run.checks = {{"checks",
                 {{{"id", "preempt_rt"},
                   {"severity", "fail"},
                   {"message", "kernel is not PREEMPT_RT"},
                   {"fix", "boot an RT kernel"}},
                  {{"id", "isolcpus"}, {"severity", "warn"}, {"message", "no isolated CPUs"}}}},
                {"verdict", "fail"}};
  std::string html = render_html(run);
  std::map<std::string, int> el;
  ASSERT_EQ(xml_check(html, el), "");
  EXPECT_NE(html.find("<tr class=\"v-fail\"><td>preempt_rt</td><td>fail</td><td>kernel is not "
                      "PREEMPT_RT</td><td>boot an RT kernel</td>"),
            std::string::npos);
  EXPECT_EQ(el["table"], 2);
  EXPECT_NE(render_host_lines(run).find("checks: \"fail\", 1 fail, 1 warn (rtcell check)"), std::string::npos)
      << render_host_lines(run);
}

TEST(ReportSvg, HistogramUsesALogCountAxis) {
  BenchRun run = testdata::bench_run();
  std::string svg = render_histogram_svg(run.rows[0]);
  std::map<std::string, int> el;
  ASSERT_EQ(xml_check(svg, el), "");
  // Largest bucket is 500: the axis goes up to 1000 in decades.
  for (const char* tick : {">1</text>", ">10</text>", ">100</text>", ">1000</text>"})
    EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  EXPECT_NE(svg.find("CPU 1, max 40 µs, 1 beyond range"), std::string::npos);
  EXPECT_NE(svg.find("CPU 2, max 40 µs"), std::string::npos);
}

TEST(ReportSvg, PercentilePlotLabelsNines) {
  BenchRun run = testdata::bench_run();
  std::string svg = render_percentile_svg(run);
  std::map<std::string, int> el;
  ASSERT_EQ(xml_check(svg, el), "");
  // 2000 samples per row: resolution down to p99.9 (4 decades would need 10^4).
  for (const char* tick : {">p90</text>", ">p99</text>", ">p99.9</text>"})
    EXPECT_NE(svg.find(tick), std::string::npos);
  EXPECT_EQ(el["polyline"], 3);
}

TEST(ReportSvg, EmptyRowSaysNoSamples) {
  RowResult r;
  r.label = "empty";
  std::string svg = render_histogram_svg(r);
  std::map<std::string, int> el;
  ASSERT_EQ(xml_check(svg, el), "");
  EXPECT_NE(svg.find("no samples"), std::string::npos);
}

TEST(ReportHtml, EscapesEverythingUserControlled) {
  EXPECT_EQ(xml_escape("a<b>&\"'\x01"), "a&lt;b&gt;&amp;&quot;&#39; ");
}

}  // namespace
}  // namespace rtcell::report
