// The HTML report: one self-contained file, readable offline and in a mail
// attachment. Plots are SVG drawn here in the style of the OSADL latency
// plots (https://www.osadl.org/Latency-plots): a histogram per row with a
// logarithmic count axis, one series per measured CPU, because the rare long
// wake-ups that matter for RT are invisible on a linear axis. A second plot
// draws 1 - CDF on a log axis, so p99, p99.9 and p99.99 read off as lines.
// The document is also well-formed XML (every tag closed, text escaped), which
// the unit tests check by parsing it.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "report/render.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::report {

namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};
constexpr int kW = 640, kH = 300, kLeft = 64, kRight = 16, kTop = 16, kBottom = 44;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A "nice" axis end and tick step for [0, max_us].
std::pair<double, double> nice_axis(double max_us) {
  if (max_us <= 0) max_us = 1;
  double raw = max_us / 5;
  double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  return {std::ceil(max_us / step) * step, step};
}

// The last bucket with a count, +1; 0 when the series is empty.
size_t used_buckets(const CpuSeries& s) {
  size_t n = s.counts.size();
  while (n > 0 && s.counts[n - 1] == 0) --n;
  return n;
}

struct Frame {
  double x_max_us;
  double y_decades;  // the y axis spans [0, y_decades] in log10 units
  double px(double x_us) const { return kLeft + (kW - kLeft - kRight) * std::min(x_us, x_max_us) / x_max_us; }
  double py(double decades) const {
    double d = std::clamp(decades, 0.0, y_decades);
    return kH - kBottom - (kH - kTop - kBottom) * d / y_decades;
  }
};

void x_axis(std::ostringstream& o, const Frame& f, double step, const char* label) {
  o << "<g class=\"axis\">";
  o << "<line x1=\"" << kLeft << "\" y1=\"" << kH - kBottom << "\" x2=\"" << kW - kRight << "\" y2=\""
    << kH - kBottom << "\" stroke=\"#333\"/>";
  for (double x = 0; x <= f.x_max_us + step / 2; x += step) {
    double p = f.px(x);
    o << "<line x1=\"" << num(p) << "\" y1=\"" << kH - kBottom << "\" x2=\"" << num(p) << "\" y2=\"" << kTop
      << "\" stroke=\"#eee\"/>";
    o << "<text x=\"" << num(p) << "\" y=\"" << kH - kBottom + 14 << "\" text-anchor=\"middle\">" << tick(x)
      << "</text>";
  }
  o << "<text x=\"" << (kLeft + kW - kRight) / 2 << "\" y=\"" << kH - 6 << "\" text-anchor=\"middle\">"
    << label << "</text></g>";
}

void y_axis_log(std::ostringstream& o, const Frame& f, bool as_percentiles) {
  o << "<g class=\"axis\">";
  o << "<line x1=\"" << kLeft << "\" y1=\"" << kTop << "\" x2=\"" << kLeft << "\" y2=\"" << kH - kBottom
    << "\" stroke=\"#333\"/>";
  for (int d = 0; d <= static_cast<int>(f.y_decades); ++d) {
    double p = f.py(d);
    o << "<line x1=\"" << kLeft << "\" y1=\"" << num(p) << "\" x2=\"" << kW - kRight << "\" y2=\"" << num(p)
      << "\" stroke=\"#eee\"/>";
    std::string label;
    if (as_percentiles) {
      // d nines: 0 -> p0, 1 -> p90, 2 -> p99, 3 -> p99.9 ...
      label = d == 0   ? "p0"
              : d == 1 ? "p90"
              : d == 2 ? "p99"
                       : "p99." + std::string(static_cast<size_t>(d - 2), '9');
    } else {
      label = d <= 3 ? std::to_string(static_cast<long long>(std::pow(10, d))) : "1e" + std::to_string(d);
    }
    o << "<text x=\"" << kLeft - 6 << "\" y=\"" << num(p + 4) << "\" text-anchor=\"end\">" << label
      << "</text>";
  }
  o << "</g>";
}

// bench --trace: per traced repeat, where its capture is, a link to its
// spike timelines (explain.html beside the capture), and each spike's
// verdict.
void traced_spikes(std::ostringstream& o, const RowResult& r) {
  for (size_t i = 0; i < r.repeats.size(); ++i) {
    const nlohmann::json& t = r.repeats[i].trace;
    if (!t.is_object() || !t.contains("dir") || !t["dir"].is_string()) continue;
    const std::string dir = t["dir"].get<std::string>();
    o << "<p class=\"trace\">Repeat " << i + 1 << " traced into <code>" << xml_escape(dir)
      << "</code> (<code>rtcell explain " << xml_escape(dir) << "</code>; timelines: <a href=\"file://"
      << xml_escape(dir) << "/explain.html\">explain.html</a>)";
    if (t.contains("note") && t["note"].is_string()) o << ": " << xml_escape(t["note"].get<std::string>());
    o << "</p>";
    if (!t.contains("spikes") || !t["spikes"].is_array() || t["spikes"].empty()) continue;
    o << "<ul class=\"spikes\">";
    for (const auto& s : t["spikes"])
      if (s.is_object() && s.contains("verdict") && s["verdict"].is_string())
        o << "<li>" << xml_escape(s["verdict"].get<std::string>()) << "</li>";
    o << "</ul>";
  }
}

std::string svg_open(const std::string& title, const std::string& cls) {
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"" << cls << "\" width=\"" << kW << "\" height=\""
    << kH << "\" viewBox=\"0 0 " << kW << ' ' << kH << "\" role=\"img\"><title>" << xml_escape(title)
    << "</title>";
  return o.str();
}

void legend(std::ostringstream& o, int index, const std::string& text) {
  double y = kTop + 4 + 16 * index;
  o << "<rect x=\"" << kW - kRight - 220 << "\" y=\"" << num(y) << "\" width=\"10\" height=\"10\" fill=\""
    << kColors[static_cast<size_t>(index) % std::size(kColors)] << "\"/>";
  o << "<text x=\"" << kW - kRight - 205 << "\" y=\"" << num(y + 9) << "\">" << xml_escape(text) << "</text>";
}

std::string json_scalar(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

void checks_section(std::ostringstream& o, const BenchRun& run) {
  o << "<h2>Host checks</h2>";
  if (run.checks.is_null()) {
    o << "<p>No check verdicts: " << xml_escape(run.checks_note.empty() ? "not run" : run.checks_note)
      << "</p>";
    return;
  }
  // rtcell check's JSON carries a list of verdicts; accept "checks" or
  // "results" holding objects with an id/name, a status/verdict and a message.
  const nlohmann::json* list = nullptr;
  for (const char* k : {"checks", "results", "rules"})
    if (run.checks.contains(k) && run.checks.at(k).is_array()) list = &run.checks.at(k);
  if (!list) {
    o << "<pre>" << xml_escape(run.checks.dump(2)) << "</pre>";
    return;
  }
  if (run.checks.contains("verdict"))
    o << "<p>Verdict: <b>" << xml_escape(json_scalar(run.checks.at("verdict"))) << "</b></p>";
  o << "<table class=\"checks\"><tr><th>check</th><th>verdict</th><th>detail</th><th>fix</th></tr>";
  for (const auto& c : *list) {
    auto pick = [&](std::initializer_list<const char*> keys) -> std::string {
      for (const char* k : keys)
        if (c.is_object() && c.contains(k)) return json_scalar(c.at(k));
      return "";
    };
    std::string verdict = pick({"severity", "status", "verdict", "result", "level"});
    o << "<tr class=\"v-" << xml_escape(verdict) << "\"><td>" << xml_escape(pick({"id", "name", "title"}))
      << "</td><td>" << xml_escape(verdict) << "</td><td>"
      << xml_escape(pick({"message", "detail", "summary", "why"})) << "</td><td>" << xml_escape(pick({"fix"}))
      << "</td></tr>";
  }
  o << "</table>";
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
          out += ' ';
        else
          out += c;
    }
  }
  return out;
}

std::string render_histogram_svg(const RowResult& row) {
  std::vector<CpuSeries> series = per_cpu_series(row);
  std::ostringstream o;
  o << svg_open("latency histogram: " + row.label, "histogram");
  uint64_t max_count = 1;
  double x_max_ns = 0;
  for (const auto& s : series) {
    for (uint64_t c : s.counts) max_count = std::max(max_count, c);
    x_max_ns = std::max(x_max_ns, static_cast<double>(used_buckets(s)) * static_cast<double>(s.bucket_ns));
    x_max_ns = std::max(x_max_ns, static_cast<double>(s.max_ns));
  }
  auto [x_max, step] = nice_axis(x_max_ns / 1000.0);
  Frame f{x_max, std::max(1.0, std::ceil(std::log10(static_cast<double>(max_count)) + 0.01))};
  x_axis(o, f, step, "latency (µs)");
  y_axis_log(o, f, false);
  if (series.empty())
    o << "<text x=\"" << kW / 2 << "\" y=\"" << kH / 2 << "\" text-anchor=\"middle\">no samples</text>";
  int index = 0;
  for (const auto& s : series) {
    const char* color = kColors[static_cast<size_t>(index) % std::size(kColors)];
    std::ostringstream pts;
    size_t n = used_buckets(s);
    double b_us = static_cast<double>(s.bucket_ns) / 1000.0;
    pts << num(f.px(0)) << ',' << num(f.py(0));
    for (size_t i = 0; i < n; ++i) {
      // A count of 0 sits on the axis (log 0 is -inf); 1 is one step above.
      double d = s.counts[i] ? std::log10(static_cast<double>(s.counts[i])) + 0.05 : 0;
      pts << ' ' << num(f.px(static_cast<double>(i) * b_us)) << ',' << num(f.py(d)) << ' '
          << num(f.px(static_cast<double>(i + 1) * b_us)) << ',' << num(f.py(d));
    }
    pts << ' ' << num(f.px(static_cast<double>(n) * b_us)) << ',' << num(f.py(0));
    o << "<polyline class=\"series\" fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\""
      << pts.str() << "\"/>";
    // The maximum as a dashed mark: it may lie beyond the histogram range.
    double mx = f.px(static_cast<double>(s.max_ns) / 1000.0);
    o << "<line x1=\"" << num(mx) << "\" y1=\"" << kTop << "\" x2=\"" << num(mx) << "\" y2=\"" << kH - kBottom
      << "\" stroke=\"" << color << "\" stroke-dasharray=\"4 3\"/>";
    std::string text = "CPU " + std::to_string(s.cpu) + ", max " + us(static_cast<double>(s.max_ns)) + " µs";
    if (s.overflow_count) text += ", " + std::to_string(s.overflow_count) + " beyond range";
    legend(o, index, text);
    ++index;
  }
  o << "</svg>";
  return o.str();
}

std::string render_percentile_svg(const BenchRun& run) {
  std::ostringstream o;
  o << svg_open("latency percentiles (1 - CDF), all rows", "percentiles");
  double x_max_ns = 0;
  uint64_t max_samples = 10;
  std::vector<std::pair<const RowResult*, CpuSeries>> rows;
  for (const auto& r : run.rows) {
    CpuSeries s = total_series(r);
    uint64_t total = s.overflow_count;
    for (uint64_t c : s.counts) total += c;
    if (total == 0) continue;
    max_samples = std::max(max_samples, total);
    x_max_ns = std::max(x_max_ns, static_cast<double>(s.max_ns));
    rows.emplace_back(&r, std::move(s));
  }
  auto [x_max, step] = nice_axis(x_max_ns / 1000.0);
  // Resolution ends at one sample: log10(N) nines.
  Frame f{x_max, std::max(1.0, std::ceil(std::log10(static_cast<double>(max_samples))))};
  x_axis(o, f, step, "latency (µs)");
  y_axis_log(o, f, true);
  if (rows.empty())
    o << "<text x=\"" << kW / 2 << "\" y=\"" << kH / 2 << "\" text-anchor=\"middle\">no samples</text>";
  int index = 0;
  for (const auto& [r, s] : rows) {
    uint64_t total = s.overflow_count;
    for (uint64_t c : s.counts) total += c;
    const double n = static_cast<double>(total);
    double b_us = static_cast<double>(s.bucket_ns) / 1000.0;
    std::ostringstream pts;
    pts << num(f.px(0)) << ',' << num(f.py(0));
    uint64_t above = total;
    double last_d = 0;
    for (size_t i = 0; i < s.counts.size() && above > 0; ++i) {
      above -= s.counts[i];
      // The fraction of samples above this bucket's upper edge, in nines.
      double d = above ? -std::log10(static_cast<double>(above) / n) : f.y_decades;
      double x = static_cast<double>(i + 1) * b_us;
      pts << ' ' << num(f.px(x)) << ',' << num(f.py(last_d)) << ' ' << num(f.px(x)) << ',' << num(f.py(d));
      last_d = d;
    }
    if (above > 0) {  // overflows: the tail ends at the exact maximum
      double x = static_cast<double>(s.max_ns) / 1000.0;
      pts << ' ' << num(f.px(x)) << ',' << num(f.py(last_d)) << ' ' << num(f.px(x)) << ','
          << num(f.py(f.y_decades));
    }
    const char* color = kColors[static_cast<size_t>(index) % std::size(kColors)];
    o << "<polyline class=\"series\" fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.5\" points=\""
      << pts.str() << "\"/>";
    legend(o, index, r->label);
    ++index;
  }
  o << "</svg>";
  return o.str();
}

std::string render_html(const BenchRun& run) {
  std::ostringstream o;
  std::string title =
      "rtcell bench" + (run.id ? " #" + std::to_string(run.id) : std::string{}) + " — " + run.started_at;
  o << "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta "
       "charset=\"utf-8\"/>"
    << "<title>" << xml_escape(title) << "</title><style>"
    << "body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}"
    << "td,th{border:1px solid #ccc;padding:.25em "
       ".6em;text-align:right}td:first-child,th:first-child{text-align:left}"
    << "svg{font-size:11px;font-family:sans-serif;background:#fff;border:1px solid #ddd}"
    << ".v-fail td,.v-FAIL td{background:#fdd}.v-warn td,.v-WARN td{background:#ffd}.partial{color:#a00}"
    << "dt{font-weight:bold}dd{margin:0 0 .4em 1em;font-family:monospace}</style></head>\n"
    << "<body id=\"rtcell-report\" data-rows=\"" << run.rows.size() << "\">";
  o << "<h1>" << xml_escape(title) << "</h1>";
  if (run.partial)
    o << "<p class=\"partial\">Partial run"
      << xml_escape(run.interrupted_by.empty() ? "" : " (interrupted by " + run.interrupted_by + ")")
      << ": rows not reached are marked skipped.</p>";
  o << "<p>" << xml_escape(render_host_lines(run)) << "</p>";
  o << "<h2>Latency (µs)</h2><table "
       "class=\"summary\"><tr><th>condition</th><th>min</th><th>avg</th><th>p99</th>"
    << "<th>p99.9</th><th>max</th><th>Δp99 vs native</th><th>Δmax vs native</th><th>status</th></tr>";
  for (const auto& r : run.rows) {
    o << "<tr><td>" << xml_escape(r.label) << "</td>";
    if (r.summary) {
      const Summary& s = *r.summary;
      o << "<td>" << us(static_cast<double>(s.min_ns)) << "</td><td>" << us(s.avg_ns, 1) << "</td><td>"
        << us(static_cast<double>(s.p99_ns)) << "</td><td>" << us(static_cast<double>(s.p999_ns))
        << "</td><td>" << us(static_cast<double>(s.max_ns)) << "</td>";
      const RowResult* base = run.find_row(r.baseline);
      if (base && base->summary)
        o << "<td>" << signed_us(static_cast<double>(s.p99_ns) - static_cast<double>(base->summary->p99_ns))
          << "</td><td>"
          << signed_us(static_cast<double>(s.max_ns) - static_cast<double>(base->summary->max_ns)) << "</td>";
      else
        o << "<td></td><td></td>";
    } else {
      o << "<td></td><td></td><td></td><td></td><td></td><td></td><td></td>";
    }
    o << "<td>" << xml_escape(to_string(r.status) + (r.reason.empty() ? "" : ": " + r.reason))
      << "</td></tr>";
  }
  o << "</table>";
  o << "<h2>Percentiles</h2><p>1 − CDF on a log axis: where a line crosses p99.9, one wake-up in a thousand "
       "was later than that.</p>"
    << render_percentile_svg(run);
  o << "<h2>Histograms</h2><p>One series per measured CPU, all repeats summed; the count axis is logarithmic "
       "and the dashed line marks each CPU's maximum.</p>";
  for (const auto& r : run.rows) {
    o << "<h3>" << xml_escape(r.label) << "</h3>";
    if (r.repeats.empty())
      o << "<p>" << xml_escape(to_string(r.status) + (r.reason.empty() ? "" : ": " + r.reason)) << "</p>";
    else
      o << render_histogram_svg(r);
    traced_spikes(o, r);
  }
  o << "<h2>Host</h2><dl>";
  for (const auto& [k, v] : run.host.items())
    o << "<dt>" << xml_escape(k) << "</dt><dd>" << xml_escape(json_scalar(v)) << "</dd>";
  o << "</dl>";
  checks_section(o, run);
  o << "<h2>Configuration</h2><pre>" << xml_escape(run.config.dump(2)) << "</pre>";
  o << "<p>Generated by rtcell " << xml_escape(run.rtcell_version) << ". Finished "
    << xml_escape(run.finished_at) << ".</p></body></html>\n";
  return o.str();
}

std::string write_html_report(const std::string& dir, const BenchRun& run) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    sys_error("cannot create report directory " + dir, errno);
  std::string index = dir + "/index.html";
  sys::write_file_atomic(index, render_html(run));
  sys::write_file_atomic(dir + "/run.json", bench_to_json(run).dump(2) + "\n");
  return index;
}

}  // namespace rtcell::report
