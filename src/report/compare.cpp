#include "report/compare.hpp"

#include <cstdio>
#include <sstream>

#include "report/render.hpp"

namespace rtcell::report {

namespace {

struct Metric {
  const char* name;
  int64_t Summary::*field;
};
constexpr Metric kVerdictMetrics[] = {{"p99", &Summary::p99_ns}, {"p99.9", &Summary::p999_ns}};

std::string run_name(const BenchRun& r) {
  return r.id ? "#" + std::to_string(r.id) : r.started_at;
}

}  // namespace

Comparison compare_runs(const BenchRun& a, const BenchRun& b, const CompareOptions& opt) {
  Comparison c;
  std::vector<std::string> ids;
  for (const auto& r : a.rows) ids.push_back(r.id);
  for (const auto& r : b.rows)
    if (!a.find_row(r.id)) ids.push_back(r.id);
  for (const auto& id : ids) {
    const RowResult* ra = a.find_row(id);
    const RowResult* rb = b.find_row(id);
    RowComparison rc;
    rc.id = id;
    rc.label = ra ? ra->label : rb->label;
    if (ra) rc.a = ra->summary;
    if (rb) rc.b = rb->summary;
    if (!rc.a || !rc.b) {
      rc.note = !rc.a ? (ra ? "no figures in A (" + to_string(ra->status) + ")" : "not in A")
                      : (rb ? "no figures in B (" + to_string(rb->status) + ")" : "not in B");
      c.rows.push_back(std::move(rc));
      continue;
    }
    ++c.compared;
    std::vector<std::string> worse, better;
    for (const Metric& m : kVerdictMetrics) {
      double va = static_cast<double>((*rc.a).*m.field);
      double vb = static_cast<double>((*rc.b).*m.field);
      double limit = va * (1 + opt.tolerance);
      if (vb > limit && vb - va >= static_cast<double>(opt.min_delta_ns)) worse.emplace_back(m.name);
      if (vb < va * (1 - opt.tolerance) && va - vb >= static_cast<double>(opt.min_delta_ns))
        better.emplace_back(m.name);
    }
    rc.regressed = !worse.empty();
    rc.improved = worse.empty() && !better.empty();
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
      return s;
    };
    if (rc.regressed) rc.note = "regressed: " + join(worse);
    if (rc.improved) rc.note = "improved: " + join(better);
    if (ra->status == RowStatus::Partial || rb->status == RowStatus::Partial)
      rc.note += std::string(rc.note.empty() ? "" : "; ") + "partial data";
    c.regressed = c.regressed || rc.regressed;
    c.rows.push_back(std::move(rc));
  }
  return c;
}

std::string render_comparison(const Comparison& c, const BenchRun& a, const BenchRun& b,
                              const CompareOptions& opt) {
  std::ostringstream o;
  o << "A = run " << run_name(a) << " (" << a.started_at << ", " << a.host.value("kernel_release", "?")
    << ", " << a.host.value("preempt_model", "?") << ")\n";
  o << "B = run " << run_name(b) << " (" << b.started_at << ", " << b.host.value("kernel_release", "?")
    << ", " << b.host.value("preempt_model", "?") << ")\n";
  size_t w = 9;
  for (const auto& r : c.rows) w = std::max(w, r.label.size());
  char line[256];
  std::snprintf(line, sizeof line, "%-*s %17s %17s %17s  %s\n", static_cast<int>(w), "condition",
                "p99 A→B (µs)", "p99.9 A→B (µs)", "max A→B (µs)", "verdict");
  o << line;
  for (const auto& r : c.rows) {
    std::snprintf(line, sizeof line, "%-*s ", static_cast<int>(w), r.label.c_str());
    o << line;
    if (r.a && r.b) {
      auto cell = [](int64_t va, int64_t vb) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%6s→%-6s", us(static_cast<double>(va)).c_str(),
                      us(static_cast<double>(vb)).c_str());
        return std::string(buf);
      };
      std::snprintf(line, sizeof line, "%17s %17s %17s  ", cell(r.a->p99_ns, r.b->p99_ns).c_str(),
                    cell(r.a->p999_ns, r.b->p999_ns).c_str(), cell(r.a->max_ns, r.b->max_ns).c_str());
      o << line << (r.regressed ? "WORSE" : r.improved ? "better" : "same");
      if (!r.note.empty()) o << " (" << r.note << ")";
    } else {
      o << "not compared: " << r.note;
    }
    o << '\n';
  }
  char tol[64];
  std::snprintf(tol, sizeof tol, "%.0f%%", opt.tolerance * 100);
  if (c.compared == 0)
    o << "verdict: nothing to compare (no row has figures in both runs)\n";
  else
    o << "verdict: " << (c.regressed ? "B regressed" : "no regression") << " beyond " << tol << " (and "
      << us(static_cast<double>(opt.min_delta_ns)) << " µs) on p99/p99.9 over " << c.compared << " row(s)\n";
  return o.str();
}

nlohmann::json comparison_to_json(const Comparison& c, const BenchRun& a, const BenchRun& b,
                                  const CompareOptions& opt) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : c.rows) {
    nlohmann::json j = {{"id", r.id},
                        {"label", r.label},
                        {"regressed", r.regressed},
                        {"improved", r.improved},
                        {"note", r.note}};
    auto side = [](const std::optional<Summary>& s) -> nlohmann::json {
      if (!s) return nullptr;
      return {{"p99_ns", s->p99_ns}, {"p99.9_ns", s->p999_ns}, {"max_ns", s->max_ns}, {"avg_ns", s->avg_ns}};
    };
    j["a"] = side(r.a);
    j["b"] = side(r.b);
    rows.push_back(j);
  }
  return {{"schema", "rtcell.compare/1"},
          {"a", a.id},
          {"b", b.id},
          {"tolerance", opt.tolerance},
          {"min_delta_ns", opt.min_delta_ns},
          {"compared", c.compared},
          {"regressed", c.regressed},
          {"rows", rows}};
}

}  // namespace rtcell::report
