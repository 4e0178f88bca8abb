#include "report/cells.hpp"

#include <cstdio>
#include <iomanip>
#include <sstream>

namespace rtcell::report {

namespace {

std::string iso_time(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  tm t{};
  ::gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", t.tm_year + 1900, t.tm_mon + 1,
                t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<long long>(ns % 1'000'000'000));
  return buf;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

std::string budget(const cell::CellState& s) {
  if (!s.rt) return "-";
  return std::to_string(s.rt->runtime_us) + "/" + std::to_string(s.rt->period_us) + "us";
}

bool alive(const cell::CellState& s) {
  return s.status == cell::Status::Created || s.status == cell::Status::Running;
}

}  // namespace

std::string uptime(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  char buf[32];
  if (seconds >= 86400)
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(seconds / 86400),
                  static_cast<long long>(seconds % 86400 / 3600));
  else if (seconds >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds % 3600 / 60));
  else if (seconds >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(seconds));
  return buf;
}

nlohmann::json cell_state_json(const cell::CellState& s) {
  nlohmann::json j;
  j["ociVersion"] = "1.0.2";
  j["id"] = s.id;
  j["status"] = cell::to_string(s.status);
  j["pid"] = alive(s) ? s.init.pid : 0;
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = iso_time(s.created_ns);
  j["owner"] = "";
  j["annotations"] = s.annotations;
  nlohmann::json r;
  r["created"] = iso_time(s.created_ns);
  r["command"] = s.command;
  r["cpus"] = s.cpus.to_string();
  r["scheduler"] = s.scheduler;
  r["rt_budget"] = s.rt ? nlohmann::json{{"runtime_us", s.rt->runtime_us}, {"period_us", s.rt->period_us}}
                        : nlohmann::json(nullptr);
  std::vector<std::string> groups;
  for (const auto& m : s.cgroups.made)
    if (m.leaf) groups.push_back(m.path);
  r["cgroups"] = groups;
  j["rtcell"] = r;
  return j;
}

nlohmann::json cells_json(const std::vector<cell::Listed>& cells, int64_t now_ns) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& c : cells) {
    nlohmann::json j = cell_state_json(c.state);
    j["rtcell"]["uptime_s"] = alive(c.state) ? (now_ns - c.state.created_ns) / 1'000'000'000 : 0;
    if (!c.problem.empty()) j["rtcell"]["problem"] = c.problem;
    arr.push_back(std::move(j));
  }
  return arr;
}

std::string cells_table(const std::vector<cell::Listed>& cells, int64_t now_ns) {
  std::ostringstream o;
  o << std::left << std::setw(24) << "ID" << std::setw(10) << "STATE" << std::setw(8) << "PID" << std::setw(8)
    << "CPUS" << std::setw(14) << "SCHED" << std::setw(18) << "RT-BUDGET" << std::setw(8) << "UPTIME"
    << "COMMAND\n";
  for (const auto& c : cells) {
    const cell::CellState& s = c.state;
    const bool up = alive(s);
    o << std::setw(24) << s.id << std::setw(10) << cell::to_string(s.status) << std::setw(8)
      << (up ? std::to_string(s.init.pid) : "-") << std::setw(8)
      << (s.cpus.empty() ? "all" : s.cpus.to_string()) << std::setw(14)
      << (s.scheduler.empty() ? "-" : s.scheduler) << std::setw(18) << budget(s) << std::setw(8)
      << (up ? uptime((now_ns - s.created_ns) / 1'000'000'000) : "-")
      << (c.problem.empty() ? joined(s.command) : "(" + c.problem + ")") << '\n';
  }
  if (cells.empty()) o << "(no cells)\n";
  return o.str();
}

}  // namespace rtcell::report
