#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "report/render.hpp"

namespace rtcell::report {

std::string us(double ns, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, ns / 1000.0);
  return buf;
}

std::string signed_us(double ns, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.*f", decimals, ns / 1000.0);
  std::string s = buf;
  if (s == "-0" || s == "-0.0") s[0] = '+';
  return s;
}

namespace {

std::string pad_right(const std::string& s, size_t w) {
  // Width in characters, not bytes: labels are ASCII but a reason may not be.
  size_t chars = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++chars;
  return chars >= w ? s : s + std::string(w - chars, ' ');
}

std::string pad_left(const std::string& s, size_t w) {
  return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}

std::string delta_cell(double value, double base) {
  std::string s = signed_us(value - base);
  if (base > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " (%+.0f%%)", (value - base) * 100.0 / base);
    s += buf;
  }
  return s;
}

}  // namespace

std::string render_table(const BenchRun& run) {
  size_t label_w = 9;
  for (const auto& r : run.rows) label_w = std::max(label_w, r.label.size());
  std::ostringstream o;
  const size_t num_w = 8;
  o << "latency in µs; Δ = the cell row minus its native row\n";
  o << pad_right("condition", label_w) << pad_left("min", num_w) << pad_left("avg", num_w)
    << pad_left("p99", num_w) << pad_left("p99.9", num_w) << pad_left("max", num_w) << "  "
    << pad_right("Δp99 vs native", 16) << "  Δmax vs native\n";
  for (const auto& r : run.rows) {
    o << pad_right(r.label, label_w);
    if (!r.summary) {
      o << "  " << to_string(r.status);
      if (!r.reason.empty()) o << ": " << r.reason;
      o << '\n';
      continue;
    }
    const Summary& s = *r.summary;
    o << pad_left(us(static_cast<double>(s.min_ns)), num_w) << pad_left(us(s.avg_ns, 1), num_w)
      << pad_left(us(static_cast<double>(s.p99_ns)), num_w)
      << pad_left(us(static_cast<double>(s.p999_ns)), num_w)
      << pad_left(us(static_cast<double>(s.max_ns)), num_w);
    const RowResult* base = run.find_row(r.baseline);
    if (base && base->summary) {
      o << "  "
        << pad_right(delta_cell(static_cast<double>(s.p99_ns), static_cast<double>(base->summary->p99_ns)),
                     16)
        << "  " << delta_cell(static_cast<double>(s.max_ns), static_cast<double>(base->summary->max_ns));
    } else if (!r.baseline.empty()) {
      o << "  (no " << r.baseline << " figures)";
    }
    if (r.status != RowStatus::Ok)
      o << "  [" << to_string(r.status) << (r.reason.empty() ? "" : ": " + r.reason) << "]";
    o << '\n';
  }
  if (run.partial)
    o << "partial run" << (run.interrupted_by.empty() ? "" : " (interrupted by " + run.interrupted_by + ")")
      << ": rows not reached are marked skipped\n";
  return o.str();
}

std::string render_host_lines(const BenchRun& run) {
  std::ostringstream o;
  auto str = [&](const char* k) -> std::string {
    if (!run.host.contains(k)) return "?";
    const auto& v = run.host.at(k);
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  o << "host: " << str("kernel_release") << ", preempt " << str("preempt_model") << ", " << str("cpu_model")
    << ", online CPUs " << str("online_cpus") << ", isolated "
    << (str("isolated_cpus").empty() ? "none" : str("isolated_cpus")) << ", governor " << str("governor")
    << '\n';
  if (run.config.contains("cpus"))
    o << "measured on CPUs " << run.config.value("cpus", "") << " at "
      << run.config.value("policy", "fifo:80") << ", interval " << run.config.value("interval_us", 0)
      << " µs, " << run.config.value("duration_s", 0.0) << " s per row x " << run.config.value("repeat", 1)
      << "; load: " << run.config.value("load_description", "") << '\n';
  if (run.checks.is_object() && run.checks.contains("checks") && run.checks.at("checks").is_array()) {
    std::map<std::string, int> by;
    for (const auto& c : run.checks.at("checks"))
      if (c.is_object() && c.contains("severity") && c.at("severity").is_string())
        ++by[c.at("severity").get<std::string>()];
    o << "checks: " << (run.checks.contains("verdict") ? run.checks.at("verdict").dump() : std::string("?"));
    for (const char* sev : {"fail", "warn", "pass", "info"})
      if (by.count(sev)) o << ", " << by[sev] << ' ' << sev;
    o << " (rtcell check)\n";
  } else if (!run.checks_note.empty()) {
    o << "checks: " << run.checks_note << '\n';
  }
  return o.str();
}

}  // namespace rtcell::report
