#include "report/admit.hpp"

#include <cstdio>
#include <sstream>

namespace rtcell::report {

using analysis::AdmitResult;
using analysis::CellVerdict;
using analysis::kInfinity;
using analysis::LocalScheduler;

namespace {

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// Exact time in the largest unit it reaches: 39999995 ns -> "39.999995 ms".
std::string show(int64_t ns) {
  static const std::pair<int64_t, const char*> kUnits[] = {
      {1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}, {1, "ns"}};
  for (const auto& [scale, name] : kUnits) {
    if (ns < scale && scale != 1) continue;
    std::string s = std::to_string(ns / scale);
    int64_t frac = ns % scale;
    if (frac != 0) {
      std::string f = std::to_string(frac);
      f.insert(0, std::to_string(scale).size() - 1 - f.size(), '0');
      while (!f.empty() && f.back() == '0') f.pop_back();
      s += "." + f;
    }
    return s + " " + name;
  }
  return std::to_string(ns) + " ns";
}

std::string pad(const std::string& s, size_t w) {
  return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' ');
}

std::string scheduler_name(const CellVerdict& c) {
  if (c.scheduler == LocalScheduler::Edf) return "EDF (SCHED_DEADLINE)";
  for (const auto& t : c.tasks)
    if (t.policy == analysis::TaskPolicy::Rr) return "fixed priority (SCHED_RR)";
  return "fixed priority (SCHED_FIFO)";
}

std::string supply_text(const CellVerdict& c) {
  if (c.dedicated) return "dedicated CPUs";
  std::string s = "budget " + show(c.budget_runtime) + " per " + show(c.budget_period);
  if (c.budget_deadline != c.budget_period) s += " within " + show(c.budget_deadline);
  return s + " on each CPU";
}

std::string verdict_word(analysis::Verdict v) {
  switch (v) {
    case analysis::Verdict::Admitted:
      return "ADMITTED";
    case analysis::Verdict::NotEnforceable:
      return "NOT ENFORCEABLE";
    case analysis::Verdict::Rejected:
      return "REJECTED";
  }
  return "?";
}

std::string cell_word(const CellVerdict& c) {
  switch (analysis::verdict(c)) {
    case analysis::Verdict::Admitted:
      return "admitted";
    case analysis::Verdict::NotEnforceable:
      return "admitted, NOT ENFORCEABLE";
    case analysis::Verdict::Rejected:
      return "REJECTED";
  }
  return "?";
}

// The target host's limits in one line.
std::string target_text(const analysis::AdmitOptions& t) {
  std::string s = t.host + ": sched_rt_runtime_us " + std::to_string(t.global.runtime_us) +
                  " of sched_rt_period_us " + std::to_string(t.global.period_us) +
                  ", SCHED_DEADLINE periods " + std::to_string(t.dl_limits.period_min_us) + "-" +
                  std::to_string(t.dl_limits.period_max_us) + " us, ";
  return s + (t.rt_groups ? "cgroup v1 RT group scheduling" : "no cgroup RT group scheduling");
}

}  // namespace

std::string admit_text(const std::string& file, const AdmitResult& r) {
  std::ostringstream out;
  size_t ntasks = 0;
  for (const auto& c : r.cells) ntasks += c.tasks.size();
  out << file << ": " << verdict_word(analysis::verdict(r)) << " (" << r.cells.size() << " cells, " << ntasks
      << " tasks)\n";
  out << "target: " << target_text(r.target) << "\n";
  for (const auto& c : r.cells) {
    out << "\ncell " << c.name << ": " << cell_word(c);
    if (!c.tasks.empty()) out << ", " << scheduler_name(c) << ", " << supply_text(c);
    out << "\n";
    if (c.tasks.empty()) {
      out << "  no RT tasks\n";
      continue;
    }
    for (const auto& cpu : c.cpus) {
      out << "  CPU " << cpu.cpu << ": utilization " << fixed3(cpu.utilization) << ", "
          << (cpu.ok ? "schedulable" : "NOT schedulable");
      if (c.scheduler == LocalScheduler::FixedPriority)
        out << " (quick tests: Liu-Layland " << (cpu.liu_layland ? "pass" : "inconclusive") << ", hyperbolic "
            << (cpu.hyperbolic ? "pass" : "inconclusive") << ")";
      if (cpu.min_budget) out << ", least budget " << show(*cpu.min_budget);
      out << "\n";
    }
    out << "  " << pad("task", 14) << pad("cpu", 5) << pad("prio", 6) << pad("period", 10) << pad("wcet", 10)
        << pad("deadline", 10) << pad("response", 11) << pad("slack", 10) << pad("util", 7) << "verdict\n";
    for (const auto& t : c.tasks) {
      std::string resp = "-", slack = "-";
      if (t.response) {
        if (*t.response >= kInfinity || *t.response >= analysis::sat_mul(t.deadline, 64)) {
          resp = "unbounded";
        } else {
          resp = show(*t.response);
          slack = *t.response <= t.deadline ? show(t.deadline - *t.response)
                                            : "-" + show(*t.response - t.deadline);
        }
      } else if (c.scheduler == LocalScheduler::Edf) {
        resp = "<= dl";
      }
      out << "  " << pad(t.name, 14) << pad(t.cpu >= 0 ? std::to_string(t.cpu) : "-", 5)
          << pad(t.priority ? std::to_string(*t.priority) : "-", 6) << pad(show(t.period), 10)
          << pad(show(t.wcet), 10) << pad(show(t.deadline), 10) << pad(resp, 11) << pad(slack, 10)
          << pad(fixed3(t.utilization), 7) << (t.ok ? "ok" : "MISS") << "\n";
    }
    // Without RT group scheduling (unified v2, JetPack 6) the budget exists
    // on paper only; where the verdict needed it, not_enforceable says so.
    if (c.rt)
      out << "  enforce (cgroup v1): cpu.rt_period_us=" << c.rt->period_us
          << " cpu.rt_runtime_us=" << c.rt->runtime_us << " (valid for HZ=" << r.hz << " tick accounting"
          << (r.target.rt_groups ? ")\n" : "; not applied: no cgroup RT group scheduling on the target)\n");
    if (c.scheduler == LocalScheduler::Edf) {
      for (const auto& t : c.tasks) {
        if (!t.dl) continue;
        out << "  enforce " << t.name << ": SCHED_DEADLINE runtime " << t.dl->runtime << " ns, deadline "
            << t.dl->deadline << " ns, period " << t.dl->period << " ns, on CPU " << t.cpu
            << (t.dl->ok ? "" : " (NOT enforceable: " + t.dl->why + ")") << "\n";
      }
      if (c.dl_sum)
        out << "  SCHED_DEADLINE bandwidth " << fixed3(static_cast<double>(c.dl_sum->total) / (1 << 20))
            << (c.dl_sum->unlimited
                    ? " (no limit)"
                    : " of " + fixed3(static_cast<double>(c.dl_sum->limit) / (1 << 20)) + " on " +
                          std::to_string(c.cpus.size()) + (c.cpus.size() == 1 ? " CPU" : " CPUs"))
            << "\n";
    }
    for (const auto& n : c.notes) out << "  note: " << n << "\n";
    for (const auto& n : c.not_enforceable) out << "  not enforceable: " << n << "\n";
    if (c.diagnosis) {
      out << "  problem: " << c.diagnosis->problem << "\n";
      out << "  smallest change: " << c.diagnosis->fix << "\n";
    }
  }
  out << "\ncgroup v1 RT bandwidth of all cells: " << fixed3(static_cast<double>(r.rt_sum.total) / (1 << 20))
      << " of " << fixed3(static_cast<double>(r.rt_sum.limit) / (1 << 20));
  if (!r.target.rt_groups)
    out << " (not applied: no cgroup RT group scheduling on the target)\n";
  else
    out << (r.rt_sum.fits ? " (fits)" : " (too much)") << "\n";
  out << "cgroup v1 RT budgets hold for HZ=" << r.hz << " tick accounting (" << r.hz_source
      << "); a coarser tick needs new ones\n";
  for (const auto& n : r.notes) out << "note: " << n << "\n";
  if (r.first_rejected) {
    const auto& c = r.cells[*r.first_rejected];
    out << "\nrejected: cell " << c.name;
    if (c.diagnosis) out << ": " << c.diagnosis->problem << "\nsmallest change: " << c.diagnosis->fix;
    out << "\n";
  } else if (r.first_not_enforceable) {
    const auto& c = r.cells[*r.first_not_enforceable];
    out << "\nnot enforceable: cell " << c.name << ": " << c.not_enforceable.front() << "\n";
  }
  return out.str();
}

nlohmann::json admit_json(const std::string& file, const AdmitResult& r) {
  using nlohmann::json;
  json j;
  j["file"] = file;
  j["admitted"] = r.admitted;
  j["verdict"] = std::string(analysis::to_string(analysis::verdict(r)));
  j["target"] = {{"host", r.target.host},
                 {"sched_rt_period_us", r.target.global.period_us},
                 {"sched_rt_runtime_us", r.target.global.runtime_us},
                 {"sched_deadline_period_min_us", r.target.dl_limits.period_min_us},
                 {"sched_deadline_period_max_us", r.target.dl_limits.period_max_us},
                 {"rt_group_sched", r.target.rt_groups}};
  j["cells"] = json::array();
  for (const auto& c : r.cells) {
    json jc;
    jc["name"] = c.name;
    jc["admitted"] = c.admitted;
    jc["verdict"] = std::string(analysis::to_string(analysis::verdict(c)));
    jc["not_enforceable"] = c.not_enforceable;
    jc["scheduler"] = c.scheduler == LocalScheduler::Edf ? "edf" : "fixed-priority";
    jc["supply"] = c.dedicated ? json{{"dedicated", true}}
                               : json{{"dedicated", false},
                                      {"period_ns", c.budget_period},
                                      {"runtime_ns", c.budget_runtime},
                                      {"deadline_ns", c.budget_deadline}};
    jc["cpus"] = json::array();
    for (const auto& cpu : c.cpus) {
      json jp{{"cpu", cpu.cpu},
              {"schedulable", cpu.ok},
              {"utilization", cpu.utilization},
              {"liu_layland", cpu.liu_layland},
              {"hyperbolic", cpu.hyperbolic}};
      if (cpu.min_budget) jp["min_budget_ns"] = *cpu.min_budget;
      jc["cpus"].push_back(jp);
    }
    jc["tasks"] = json::array();
    for (const auto& t : c.tasks) {
      json jt{{"name", t.name},
              {"cpu", t.cpu},
              {"policy", std::string(analysis::to_string(t.policy))},
              {"period_ns", t.period},
              {"wcet_ns", t.wcet},
              {"deadline_ns", t.deadline},
              {"utilization", t.utilization},
              {"schedulable", t.ok}};
      jt["priority"] = t.priority ? json(*t.priority) : json(nullptr);
      if (t.response) {
        bool unbounded = *t.response >= analysis::sat_mul(t.deadline, 64);
        jt["response_ns"] = unbounded ? json(nullptr) : json(*t.response);
        jt["response_unbounded"] = unbounded;
        if (!unbounded) jt["slack_ns"] = t.deadline - *t.response;
      }
      if (t.dl)
        jt["sched_deadline"] = {{"runtime_ns", t.dl->runtime},
                                {"deadline_ns", t.dl->deadline},
                                {"period_ns", t.dl->period},
                                {"enforceable", t.dl->ok}};
      jc["tasks"].push_back(jt);
    }
    if (c.rt)
      jc["cgroup_v1"] = {{"cpu.rt_period_us", c.rt->period_us},
                         {"cpu.rt_runtime_us", c.rt->runtime_us},
                         {"valid_for_hz", r.hz}};
    if (c.dl_sum)
      jc["sched_deadline_bandwidth"] = {
          {"total", c.dl_sum->total},
          {"limit", c.dl_sum->unlimited ? json(nullptr) : json(c.dl_sum->limit)},
          {"fits", c.dl_sum->fits},
          {"unit", "2^-20"}};
    if (c.diagnosis) {
      const auto& d = *c.diagnosis;
      json jd{{"problem", d.problem}, {"fix", d.fix}};
      jd["task"] = d.task.empty() ? json(nullptr) : json(d.task);
      jd["cpu"] = d.cpu >= 0 ? json(d.cpu) : json(nullptr);
      jd["miss_by_ns"] = d.miss_by ? json(*d.miss_by) : json(nullptr);
      jd["max_wcet_ns"] = d.max_wcet ? json(*d.max_wcet) : json(nullptr);
      jd["min_budget_ns"] = d.min_budget ? json(*d.min_budget) : json(nullptr);
      jc["diagnosis"] = jd;
    }
    jc["notes"] = c.notes;
    j["cells"].push_back(jc);
  }
  j["cgroup_v1_rt_bandwidth"] = {
      {"total", r.rt_sum.total}, {"limit", r.rt_sum.limit}, {"fits", r.rt_sum.fits}, {"unit", "2^-20"}};
  j["tick"] = {{"hz", r.hz}, {"source", r.hz_source}};
  j["notes"] = r.notes;
  j["first_rejected"] = r.first_rejected ? json(r.cells[*r.first_rejected].name) : json(nullptr);
  j["first_not_enforceable"] =
      r.first_not_enforceable ? json(r.cells[*r.first_not_enforceable].name) : json(nullptr);
  return j;
}

std::string room_text(const std::vector<RoomRow>& rows, analysis::Time period, size_t running) {
  std::ostringstream out;
  out << "\nroom next to the " << running << " running cell" << (running == 1 ? "" : "s")
      << " (the largest WCET of one more SCHED_FIFO task, period = deadline = " << show(period)
      << ", at the lowest priority, that still admits every cell):\n";
  for (const auto& r : rows) {
    std::string who;
    for (const auto& c : r.cells) who += (who.empty() ? "" : ", ") + c;
    out << "  CPU " << pad(std::to_string(r.cpu), 3) << " load U " << fixed3(r.utilization)
        << (who.empty() ? "" : " (" + who + ")") << ": "
        << (r.wcet > 0
                ? show(r.wcet) + " per " + show(period)
                : std::string("nothing more fits (a manifest cell on it: rtcell admit --running FILE says "
                              "why)"))
        << "\n";
  }
  return out.str();
}

nlohmann::json room_json(const std::vector<RoomRow>& rows, analysis::Time period) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : rows)
    j.push_back({{"cpu", r.cpu},
                 {"utilization", r.utilization},
                 {"cells", r.cells},
                 {"period_ns", period},
                 {"max_wcet_ns", r.wcet}});
  return j;
}

}  // namespace rtcell::report
