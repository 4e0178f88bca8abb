#include "rtcell/rt/cell_tasks.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "rtcell/error.hpp"

namespace rtcell::rt {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& what) {
  usage_error(std::string(kCellTasksEnv) + ": " + what);
}

int64_t positive(const json& t, const char* key, const std::string& where) {
  if (!t.contains(key) || !t[key].is_number_integer() || t[key].get<int64_t>() <= 0)
    bad(where + "." + key + " must be a positive integer (ns)");
  return t[key].get<int64_t>();
}

AdmittedTask task_from(const json& t, const std::string& cell, bool admitted, size_t i) {
  const std::string where = "tasks[" + std::to_string(i) + "]";
  if (!t.is_object()) bad(where + " must be an object");
  AdmittedTask a;
  a.cell = cell;
  a.admitted = admitted;
  if (!t.contains("name") || !t["name"].is_string() || t["name"].get<std::string>().empty())
    bad(where + ".name must be a non-empty string");
  a.name = t["name"].get<std::string>();
  a.period_ns = positive(t, "period_ns", where);
  a.wcet_ns = positive(t, "wcet_ns", where);
  a.deadline_ns = positive(t, "deadline_ns", where);
  if (t.contains("response_ns") && t["response_ns"].is_number_integer())
    a.response_ns = t["response_ns"].get<int64_t>();
  if (t.contains("cpu")) {
    if (!t["cpu"].is_number_integer() || t["cpu"].get<int>() < 0) bad(where + ".cpu must be a CPU number");
    a.cpu = t["cpu"].get<int>();
  }
  const std::string policy = t.value("policy", std::string("fifo"));
  if (policy == "deadline") {
    Deadline d;
    d.runtime_ns = static_cast<uint64_t>(positive(t, "runtime_ns", where));
    d.deadline_ns = static_cast<uint64_t>(positive(t, "dl_deadline_ns", where));
    d.period_ns = static_cast<uint64_t>(positive(t, "dl_period_ns", where));
    a.policy = d;
  } else if (policy == "fifo" || policy == "rr") {
    if (t.contains("priority")) {
      if (!t["priority"].is_number_integer() || t["priority"].get<int>() < 1 || t["priority"].get<int>() > 99)
        bad(where + ".priority must be 1-99");
      const int p = t["priority"].get<int>();
      a.policy = policy == "fifo" ? Policy(Fifo{p}) : Policy(Rr{p});
    }
  } else {
    bad(where + ".policy '" + policy + "' is not fifo, rr or deadline");
  }
  return a;
}

}  // namespace

PeriodicTaskConfig AdmittedTask::task_config() const {
  PeriodicTaskConfig c;
  c.period_ns = period_ns;
  c.deadline_ns = deadline_ns;
  c.publish_name = name;  // counters on a shared page when rtcell gave a place for them
  return c;
}

TaskThreadConfig AdmittedTask::thread_config() const {
  TaskThreadConfig tc;
  tc.policy = policy;
  if (cpu) tc.cpus = CpuSet::parse(std::to_string(*cpu));
  return tc;
}

std::vector<AdmittedTask> parse_admitted_tasks(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) bad("not a JSON object (set by rtcell run -f; do not edit it)");
  if (!j.contains("version") || !j["version"].is_number_integer())
    bad("no version: set by an rtcell older than this library; restart the cell with this rtcell");
  if (j["version"].get<int>() != kCellTasksVersion)
    bad("version " + std::to_string(j["version"].get<int>()) + " is not the " +
        std::to_string(kCellTasksVersion) +
        " this library reads: use the rtcell and librtcell of one release");
  const std::string cell = j.value("cell", std::string());
  const bool admitted = j.value("admitted", false);
  if (!j.contains("tasks") || !j["tasks"].is_array()) bad("tasks must be an array");
  std::vector<AdmittedTask> out;
  for (size_t i = 0; i < j["tasks"].size(); ++i) out.push_back(task_from(j["tasks"][i], cell, admitted, i));
  return out;
}

AdmittedTask admitted_task(std::string_view name, std::string_view json_text) {
  std::vector<AdmittedTask> all = parse_admitted_tasks(json_text);
  std::string names;
  for (auto& t : all) {
    if (t.name == name) return std::move(t);
    names += (names.empty() ? "" : ", ") + t.name;
  }
  const std::string cell = all.empty() ? std::string() : " of cell '" + all.front().cell + "'";
  usage_error("task '" + std::string(name) + "' is not among the admitted tasks" + cell + " (" +
              (names.empty() ? std::string("none") : names) + "): add it to the manifest or fix the name");
}

AdmittedTask admitted_task(std::string_view name) {
  const char* env = std::getenv(kCellTasksEnv);
  if (env == nullptr)
    usage_error("task '" + std::string(name) + "': no " + kCellTasksEnv +
                " in the environment: not in a cell started from a manifest (rtcell run -f FILE CELL)");
  return admitted_task(name, env);
}

bool in_admitted_cell() {
  return std::getenv(kCellTasksEnv) != nullptr;
}

}  // namespace rtcell::rt
