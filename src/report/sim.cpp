#include "report/sim.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "util/units.hpp"

namespace rtcell::report {

using sim::HostScheduler;
using sim::SimResult;
using sim::Stats;
using sim::Time;

namespace {

// Three decimals at most: averages are rarely a round number of µs.
std::string t(Time ns) {
  if (ns % 1000 == 0 || ns < 1000) return util::format_time_ns(ns);
  char b[32];
  if (ns >= 1'000'000)
    std::snprintf(b, sizeof b, "%.3f ms", static_cast<double>(ns) / 1e6);
  else
    std::snprintf(b, sizeof b, "%.3f us", static_cast<double>(ns) / 1e3);
  return b;
}

nlohmann::json stats_json(const Stats& s) {
  return {{"count", s.count}, {"min_ns", s.min}, {"avg_ns", s.avg}, {"p99_ns", s.p99}, {"max_ns", s.max}};
}

std::string pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

}  // namespace

std::string sim_text(const SimResult& r) {
  std::ostringstream o;
  o << "scheduler " << sim::to_string(r.scheduler) << ", " << t(r.duration) << " simulated, seed " << r.seed
    << "\n\n";
  o << pad("task", 24) << pad("jobs", 8) << pad("missed", 16) << pad("resp min", 12) << pad("avg", 12)
    << pad("p99", 12) << pad("max", 12) << "io p99\n";
  for (const auto& x : r.tasks) {
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%lld (%.1f%%)", static_cast<long long>(x.misses),
                  100.0 * x.miss_ratio());
    o << pad(x.vm + "/" + std::to_string(x.vcpu) + "/" + x.name, 24) << pad(std::to_string(x.jobs), 8)
      << pad(ratio, 16);
    if (x.response.count > 0)
      o << pad(t(x.response.min), 12) << pad(t(x.response.avg), 12) << pad(t(x.response.p99), 12)
        << pad(t(x.response.max), 12);
    else
      o << pad("-", 48);
    o << (x.io.count > 0 ? t(x.io.p99) : "-") << "\n";
  }
  o << "\n" << pad("vcpu", 24) << pad("server", 36) << pad("service", 14) << "worst gap\n";
  for (const auto& v : r.vcpus) {
    std::string server = "-";
    if (r.scheduler == HostScheduler::Rtds)
      server = t(v.budget) + " / " + t(v.period) + " (2(P-B) " + t(2 * (v.period - v.budget)) + ")";
    o << pad(v.vm + "/" + std::to_string(v.vcpu), 24) << pad(server, 36) << pad(t(v.service), 14)
      << t(v.worst_gap) << "\n";
  }
  if (r.io.count > 0)
    o << "\nI/O: " << r.io.count << " requests, latency min " << t(r.io.min) << ", avg " << t(r.io.avg)
      << ", p99 " << t(r.io.p99) << ", max " << t(r.io.max) << "\n";
  o << "\n" << r.total_misses() << " deadline misses\n";
  return o.str();
}

nlohmann::json sim_json(const SimResult& r) {
  nlohmann::json j;
  j["scheduler"] = sim::to_string(r.scheduler);
  j["duration_ns"] = r.duration;
  j["seed"] = r.seed;
  j["tasks"] = nlohmann::json::array();
  for (const auto& x : r.tasks)
    j["tasks"].push_back({{"vm", x.vm},
                          {"vcpu", x.vcpu},
                          {"task", x.name},
                          {"deadline_ns", x.deadline},
                          {"jobs", x.jobs},
                          {"misses", x.misses},
                          {"miss_ratio", x.miss_ratio()},
                          {"response", stats_json(x.response)},
                          {"io", stats_json(x.io)}});
  j["vcpus"] = nlohmann::json::array();
  for (const auto& v : r.vcpus)
    j["vcpus"].push_back({{"vm", v.vm},
                          {"vcpu", v.vcpu},
                          {"period_ns", v.period},
                          {"budget_ns", v.budget},
                          {"service_ns", v.service},
                          {"worst_gap_ns", v.worst_gap}});
  j["io"] = stats_json(r.io);
  j["misses"] = r.total_misses();
  return j;
}

// One horizontal bar group per task: avg, p99 and max response time, a mark
// at its deadline, and its deadline-miss ratio in the label. Same frame and palette as the bench
// report's plots (src/report/html.cpp).
std::string sim_svg(const SimResult& r) {
  constexpr int kLeft = 200, kRight = 30, kTop = 30, kRow = 22, kW = 760;
  const char* colors[] = {"#4477aa", "#ee6677", "#228833"};
  const int h = kTop + kRow * static_cast<int>(r.tasks.size()) + 40;
  Time max_ns = 1;
  for (const auto& x : r.tasks) max_ns = std::max({max_ns, x.response.max, x.deadline});
  const double scale = static_cast<double>(kW - kLeft - kRight) / static_cast<double>(max_ns);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sim\" width=\"" << kW << "\" height=\"" << h
    << "\" viewBox=\"0 0 " << kW << ' ' << h << "\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\">"
    << "<title>rtcell sim: response times (" << sim::to_string(r.scheduler) << ")</title>";
  o << "<text x=\"" << kLeft << "\" y=\"16\">response time per task: avg, p99, max ("
    << sim::to_string(r.scheduler) << ", " << escape(t(r.duration)) << ", seed " << r.seed << "); axis max "
    << escape(t(max_ns)) << "</text>";
  int row = 0;
  for (const auto& x : r.tasks) {
    const int y = kTop + kRow * row++;
    char label[64];
    std::snprintf(label, sizeof label, " %.1f%% missed", 100.0 * x.miss_ratio());
    o << "<text x=\"" << kLeft - 6 << "\" y=\"" << y + 14 << "\" text-anchor=\"end\">"
      << escape(x.vm + "/" + std::to_string(x.vcpu) + "/" + x.name + label) << "</text>";
    const Time vals[] = {x.response.avg, x.response.p99, x.response.max};
    for (int k = 0; k < 3; ++k) {
      const double w = static_cast<double>(vals[k]) * scale;
      o << "<rect x=\"" << kLeft << "\" y=\"" << y + 2 + 6 * k << "\" width=\"" << std::lround(w)
        << "\" height=\"5\" fill=\"" << colors[k] << "\"/>";
    }
    const long dx = kLeft + std::lround(static_cast<double>(x.deadline) * scale);  // the deadline
    o << "<line x1=\"" << dx << "\" y1=\"" << y << "\" x2=\"" << dx << "\" y2=\"" << y + 20
      << "\" stroke=\"#000\" stroke-width=\"2\"/>";
  }
  o << "<text x=\"" << kLeft << "\" y=\"" << h - 12 << "\"><tspan fill=\"" << colors[0]
    << "\">avg</tspan> <tspan fill=\"" << colors[1] << "\">p99</tspan> <tspan fill=\"" << colors[2]
    << "\">max</tspan>; black mark: deadline</text>";
  o << "</svg>\n";
  return o.str();
}

}  // namespace rtcell::report
