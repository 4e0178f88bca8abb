#include "report/check.hpp"

#include <map>
#include <sstream>

namespace rtcell::report {

namespace {

const char* colour_of(host::Severity s) {
  switch (s) {
    case host::Severity::Pass:
      return "\033[32m";
    case host::Severity::Info:
      return "\033[36m";
    case host::Severity::Warn:
      return "\033[33m";
    case host::Severity::Fail:
      return "\033[31;1m";
  }
  return "";
}

std::map<host::Severity, int> count_of(const CheckReport& r) {
  std::map<host::Severity, int> count;
  for (const auto& x : r.findings) ++count[x.severity];
  return count;
}

}  // namespace

bool check_failed(const CheckReport& r) {
  for (const auto& x : r.findings)
    if (x.severity == host::Severity::Fail) return true;
  return false;
}

nlohmann::json check_json(const CheckReport& r) {
  auto count = count_of(r);
  nlohmann::json j;
  j["root"] = r.root;
  j["kernel"] = r.kernel;
  if (r.rt_cpus)
    j["rt_cpus"] = r.rt_cpus->to_string();
  else
    j["rt_cpus"] = nullptr;
  j["summary"] = {{"pass", count[host::Severity::Pass]},
                  {"info", count[host::Severity::Info]},
                  {"warn", count[host::Severity::Warn]},
                  {"fail", count[host::Severity::Fail]}};
  j["verdict"] = check_failed(r) ? "fail" : "ok";
  auto& arr = j["checks"] = nlohmann::json::array();
  for (const auto& x : r.findings)
    arr.push_back({{"id", x.id},
                   {"area", x.area},
                   {"severity", host::to_string(x.severity)},
                   {"message", x.message},
                   {"evidence", {{"file", x.file}, {"value", x.value}}},
                   {"fix", x.fix}});
  return j;
}

std::string check_text(const CheckReport& r, bool colour) {
  auto count = count_of(r);
  const char* reset = colour ? "\033[0m" : "";
  const char* dim = colour ? "\033[2m" : "";
  std::ostringstream out;
  out << "rtcell check: " << (r.root == "/" ? std::string("this host") : r.root) << ", kernel " << r.kernel
      << ", RT CPUs " << (r.rt_cpus ? r.rt_cpus->to_string() : "not given") << '\n';
  std::string area;
  for (const auto& x : r.findings) {
    if (x.area != area) {
      area = x.area;
      out << '\n' << (colour ? "\033[1m" : "") << area << reset << '\n';
    }
    std::string sev = host::to_string(x.severity);
    for (auto& ch : sev) ch = static_cast<char>(ch - 'a' + 'A');
    out << "  " << (colour ? colour_of(x.severity) : "") << sev << reset << "  " << x.id << ": " << x.message
        << '\n';
    if (!x.file.empty())
      out << "        " << dim << x.file << (x.value.empty() ? "" : " = " + x.value) << reset << '\n';
    if (!x.fix.empty()) out << "        fix: " << x.fix << '\n';
  }
  out << '\n'
      << count[host::Severity::Pass] << " pass, " << count[host::Severity::Info] << " info, "
      << count[host::Severity::Warn] << " warn, " << count[host::Severity::Fail] << " fail\n";
  return out.str();
}

}  // namespace rtcell::report
