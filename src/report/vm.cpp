#include "report/vm.hpp"

#include <cstdio>
#include <sstream>

namespace rtcell::report {

namespace {

std::string us(analysis::Time ns) {
  std::string s = std::to_string(ns / 1000);
  if (ns % 1000 != 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(ns % 1000));
    s += frac;
  }
  return s + " us";
}

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

}  // namespace

std::string vm_admit_text(const analysis::VmAdmitResult& r) {
  std::ostringstream out;
  size_t admitted = 0;
  for (const auto& v : r.vms) admitted += v.admitted ? 1 : 0;
  out << "\nvms: " << admitted << " of " << r.vms.size()
      << " admitted (vCPUs as periodic servers Γ(Π, Θ), partitioned EDF on each physical CPU)\n";
  for (const auto& v : r.vms) {
    out << "\nvm " << v.name << ": " << (v.admitted ? "admitted" : "REJECTED") << "\n";
    out << "  vcpu  pcpu  period Π     budget Θ     bandwidth  worst gap 2(Π−Θ)\n";
    for (const auto& c : v.vcpus) {
      char line[160];
      std::string pcpu = c.pcpu >= 0 ? std::to_string(c.pcpu) : "-";
      std::string budget = c.schedulable ? us(c.budget) : "none fits";
      std::string gap = c.schedulable ? us(c.gap()) : "-";
      std::snprintf(line, sizeof line, "  %-5d %-5s %-12s %-12s %-10s %s\n", c.index, pcpu.c_str(),
                    us(c.period).c_str(), budget.c_str(), fixed3(c.bandwidth()).c_str(), gap.c_str());
      out << line;
    }
    for (const auto& p : v.problems) out << "  " << p << "\n";
  }
  if (!r.pcpus.empty()) {
    out << "\nbandwidth per physical CPU (admitted VMs; EDF needs at most 1.000):\n";
    for (const auto& p : r.pcpus) {
      out << "  CPU " << p.cpu << ": " << fixed3(p.bandwidth) << " (";
      for (size_t i = 0; i < p.vcpus.size(); ++i) out << (i ? ", " : "") << p.vcpus[i];
      out << ")\n";
    }
  }
  return out.str();
}

nlohmann::json vm_admit_json(const analysis::VmAdmitResult& r) {
  using nlohmann::json;
  json j;
  j["admitted"] = r.admitted;
  j["vms"] = json::array();
  for (const auto& v : r.vms) {
    json jv{{"name", v.name}, {"admitted", v.admitted}, {"problems", v.problems}, {"vcpus", json::array()}};
    for (const auto& c : v.vcpus) {
      json jc{{"vcpu", c.index},
              {"pcpu", c.pcpu >= 0 ? json(c.pcpu) : json(nullptr)},
              {"schedulable", c.schedulable},
              {"period_ns", c.period},
              {"budget_ns", c.budget},
              {"bandwidth", c.bandwidth()},
              {"worst_gap_ns", c.gap()}};
      jv["vcpus"].push_back(std::move(jc));
    }
    j["vms"].push_back(std::move(jv));
  }
  j["pcpus"] = json::array();
  for (const auto& p : r.pcpus)
    j["pcpus"].push_back({{"cpu", p.cpu}, {"bandwidth", p.bandwidth}, {"vcpus", p.vcpus}});
  return j;
}

}  // namespace rtcell::report
