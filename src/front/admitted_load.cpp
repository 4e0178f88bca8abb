#include "front/admitted_load.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "rtcell/error.hpp"
#include "rtcell/rt/published_stats.hpp"
#include "sys/file.hpp"

namespace rtcell::front {

namespace {

using nlohmann::json;

constexpr int kLedgerVersion = 1;

analysis::TaskPolicy policy_from(const std::string& w) {
  if (w == "rr") return analysis::TaskPolicy::Rr;
  if (w == "deadline") return analysis::TaskPolicy::Deadline;
  return analysis::TaskPolicy::Fifo;
}

json to_json(const RunningCell& r) {
  json tasks = json::array();
  for (const auto& t : r.spec.tasks) {
    json j{{"name", t.task.name},
           {"period", t.task.period},
           {"wcet", t.task.wcet},
           {"deadline", t.task.deadline},
           {"jitter", t.task.jitter},
           {"blocking", t.task.blocking},
           {"policy", std::string(analysis::to_string(t.policy))}};
    if (t.task.priority) j["priority"] = *t.task.priority;
    if (t.cpu) j["cpu"] = *t.cpu;
    tasks.push_back(std::move(j));
  }
  json spec{{"name", r.spec.name},
            {"cpus", r.spec.cpus.to_string()},
            {"base_priority", r.spec.base_priority},
            {"tasks", std::move(tasks)}};
  if (r.spec.budget) {
    spec["budget"] = {{"period", r.spec.budget->period}};
    if (r.spec.budget->runtime) spec["budget"]["runtime"] = *r.spec.budget->runtime;
    if (r.spec.budget->deadline) spec["budget"]["deadline"] = *r.spec.budget->deadline;
  }
  return json{{"version", kLedgerVersion},
              {"id", r.id},
              {"state_root", r.state_root},
              {"manifest", r.manifest},
              {"cell", r.cell},
              {"init", {{"pid", r.init.pid}, {"start_time", r.init.start_time}}},
              {"spec", std::move(spec)}};
}

// Throws json exceptions on a malformed entry (the caller skips it).
RunningCell from_json(const json& j) {
  if (j.at("version").get<int>() != kLedgerVersion) throw std::runtime_error("version");
  RunningCell r;
  r.id = j.at("id").get<std::string>();
  r.state_root = j.at("state_root").get<std::string>();
  r.manifest = j.at("manifest").get<std::string>();
  r.cell = j.at("cell").get<std::string>();
  r.init.pid = j.at("init").at("pid").get<pid_t>();
  r.init.start_time = j.at("init").at("start_time").get<uint64_t>();
  const json& s = j.at("spec");
  r.spec.name = s.at("name").get<std::string>();
  r.spec.cpus = CpuSet::parse(s.at("cpus").get<std::string>());
  r.spec.base_priority = s.at("base_priority").get<int>();
  for (const auto& t : s.at("tasks")) {
    analysis::TaskSpec ts;
    ts.task.name = t.at("name").get<std::string>();
    ts.task.period = t.at("period").get<analysis::Time>();
    ts.task.wcet = t.at("wcet").get<analysis::Time>();
    ts.task.deadline = t.at("deadline").get<analysis::Time>();
    ts.task.jitter = t.at("jitter").get<analysis::Time>();
    ts.task.blocking = t.at("blocking").get<analysis::Time>();
    if (t.contains("priority")) ts.task.priority = t.at("priority").get<int>();
    if (t.contains("cpu")) ts.cpu = t.at("cpu").get<int>();
    ts.policy = policy_from(t.at("policy").get<std::string>());
    r.spec.tasks.push_back(std::move(ts));
  }
  if (s.contains("budget")) {
    analysis::BudgetSpec b;
    b.period = s.at("budget").at("period").get<analysis::Time>();
    if (s.at("budget").contains("runtime")) b.runtime = s.at("budget").at("runtime").get<analysis::Time>();
    if (s.at("budget").contains("deadline")) b.deadline = s.at("budget").at("deadline").get<analysis::Time>();
    r.spec.budget = b;
  }
  return r;
}

// A file name no id or root can turn into a path: the id's safe characters
// and a hash of the root (two registries may hold the same id).
std::string entry_name(const std::string& id, const std::string& state_root) {
  std::string safe;
  for (char c : id) safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (char c : state_root) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return safe.substr(0, 100) + "." + hex + ".json";
}

void make_ledger_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    sys_error("cannot make the admission ledger " + dir + " (set RTCELL_LEDGER to a writable directory)",
              errno);
}

}  // namespace

std::string ledger_dir() {
  const char* e = std::getenv("RTCELL_LEDGER");
  return e != nullptr && *e != '\0' ? std::string(e) : std::string(kLedgerDir);
}

AdmissionLock AdmissionLock::acquire() {
  const std::string dir = ledger_dir();
  make_ledger_dir(dir);
  AdmissionLock l;
  l.lock_ = sys::DirLock::acquire(dir);
  return l;
}

std::vector<RunningCell> running_cells() {
  std::vector<std::pair<std::string, RunningCell>> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(ledger_dir(), ec)) {
    const std::string path = e.path().string();
    if (e.path().extension() != ".json") continue;
    auto text = sys::try_read_file(path);
    if (!text) continue;
    try {
      RunningCell r = from_json(json::parse(*text));
      if (!cell::alive(r.init)) {
        ::unlink(path.c_str());
        continue;
      }
      found.emplace_back(path, std::move(r));
    } catch (const std::exception&) {
      continue;
    }
  }
  // Oldest first: by the init's start time, then the file name.
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.second.init.start_time != b.second.init.start_time
               ? a.second.init.start_time < b.second.init.start_time
               : a.first < b.first;
  });
  std::vector<RunningCell> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

void record_running(RunningCell& r, const std::string& id, const std::string& state_root, pid_t init) {
  r.id = id;
  r.state_root = state_root;
  r.init = cell::ProcRef{init, cell::process_start_time(init).value_or(0)};
  r.spec.name = r.cell + " (running as " + id + ")";
  const std::string dir = ledger_dir();
  make_ledger_dir(dir);
  sys::write_file_atomic(dir + "/" + entry_name(r.id, r.state_root), to_json(r).dump() + "\n", 0600);
}

std::string stats_dir(const std::string& id, const std::string& state_root) {
  std::string n = entry_name(id, state_root);
  n.resize(n.size() - 5);  // ".json"
  return ledger_dir() + "/" + n + ".stats";
}

PromiseReport measured_vs_admitted(const RunningCell& r, const std::string& stats) {
  PromiseReport out;
  std::ostringstream t;
  bool any = false;
  auto us = [](int64_t ns) {
    char b[32];
    if (ns < 1'000'000)
      std::snprintf(b, sizeof b, "%.1f us", static_cast<double>(ns) / 1e3);
    else
      std::snprintf(b, sizeof b, "%.2f ms", static_cast<double>(ns) / 1e6);
    return std::string(b);
  };
  for (const auto& task : r.spec.tasks) {
    auto s = rt::read_published_stats(stats + "/" + task.task.name + ".stats");
    if (!s) continue;
    if (!any) {
      t << "  task                 cycles  misses  overruns  max exec    WCET        p99.9 resp    "
           "max response  deadline\n";
      any = true;
    }
    char line[256];
    const std::string p999 = s->response_p999_ns ? "<= " + us(*s->response_p999_ns) : "-";
    std::snprintf(line, sizeof line, "  %-20s %-7llu %-7llu %-9llu %-11s %-11s %-13s %-13s %s\n",
                  task.task.name.c_str(), static_cast<unsigned long long>(s->cycles),
                  static_cast<unsigned long long>(s->misses), static_cast<unsigned long long>(s->overruns),
                  us(s->exec_max_ns).c_str(), us(task.task.wcet).c_str(), p999.c_str(),
                  us(s->response_max_ns).c_str(), us(task.task.deadline).c_str());
    t << line;
    const size_t before = out.broken.size();
    if (s->exec_max_ns > task.task.wcet)
      out.broken.push_back(
          "broken promise: task " + task.task.name + " ran " + us(s->exec_max_ns) +
          ", more than its declared WCET of " + us(task.task.wcet) +
          ": the admission's verdict no longer holds (measure it and fix the manifest's wcet, "
          "or the code)");
    if (s->misses > 0)
      out.broken.push_back("broken promise: task " + task.task.name + " missed " + std::to_string(s->misses) +
                           " deadline" + (s->misses == 1 ? "" : "s") + " of " + us(task.task.deadline) +
                           " that the admission said it would meet (worst response " +
                           us(s->response_max_ns) + ")");
    out.tasks.push_back({task.task.name, *s, task.task.wcet, task.task.deadline,
                         out.broken.size() > before ? out.broken[before] : std::string()});
  }
  out.table = t.str();
  return out;
}

std::optional<RunningCell> recorded_cell(const std::string& id, const std::string& state_root) {
  auto text = sys::try_read_file(ledger_dir() + "/" + entry_name(id, state_root));
  if (!text) return std::nullopt;
  try {
    return from_json(json::parse(*text));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void forget_running(const std::string& id, const std::string& state_root) noexcept {
  try {
    std::error_code ec;
    std::filesystem::remove_all(stats_dir(id, state_root), ec);
    ::unlink((ledger_dir() + "/" + entry_name(id, state_root)).c_str());
  } catch (...) {
    // Best effort: a stale entry is no load (its init is gone).
  }
}

std::string manifest_key(const std::string& file) {
  std::error_code ec;
  std::string canonical = std::filesystem::weakly_canonical(file, ec).string();
  return ec ? file : canonical;
}

std::vector<analysis::CellSpec> with_running(std::vector<analysis::CellSpec> declared,
                                             const std::string& manifest_file,
                                             const std::vector<RunningCell>& running,
                                             const std::string& keep) {
  const std::string key = manifest_key(manifest_file);
  auto runs = [&](const analysis::CellSpec& s) {
    return s.name != keep && std::any_of(running.begin(), running.end(), [&](const RunningCell& r) {
             return r.manifest == key && r.cell == s.name;
           });
  };
  declared.erase(std::remove_if(declared.begin(), declared.end(), runs), declared.end());
  for (const auto& r : running) declared.push_back(r.spec);
  return declared;
}

analysis::CellSpec pinned_spec(const analysis::CellSpec& declared, const analysis::CellVerdict& v) {
  analysis::CellSpec s = declared;
  for (size_t i = 0; i < s.tasks.size() && i < v.tasks.size(); ++i) {
    if (v.tasks[i].cpu >= 0) s.tasks[i].cpu = v.tasks[i].cpu;
    if (v.tasks[i].priority) s.tasks[i].task.priority = v.tasks[i].priority;
  }
  if (!v.dedicated) s.budget = analysis::BudgetSpec{v.budget_period, v.budget_runtime, v.budget_deadline};
  return s;
}

}  // namespace rtcell::front
