#include "k8s/devices.hpp"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>

#include "host/probe.hpp"
#include "rtcell/error.hpp"

namespace rtcell::k8s {
namespace {

std::optional<CpuSet> cpus_of(const std::string& text) {
  if (text.empty()) return std::nullopt;
  try {
    return CpuSet::parse(text);
  } catch (const Error&) {
    return std::nullopt;
  }
}

int int_or(const std::string& text, int fallback) {
  if (text.empty()) return fallback;
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (*end != '\0' || v < -1 || v > 1'000'000) return fallback;
  return static_cast<int>(v);
}

std::string join_ids(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

}  // namespace

std::vector<CpuHealth> cpu_health(const std::string& root, const CpuSet& cpus, bool require_isolation) {
  host::Probe p(root);
  // IRQs whose affinity includes each CPU (runtime.irq_affinity).
  std::map<int, std::vector<std::string>> irqs_on;
  std::vector<std::string> irqs = p.list("/proc/irq");
  std::sort(irqs.begin(), irqs.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  for (const auto& irq : irqs) {
    if (irq.empty() || !std::all_of(irq.begin(), irq.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      continue;
    std::optional<CpuSet> aff = cpus_of(p.value("/proc/irq/" + irq + "/smp_affinity_list"));
    if (!aff) continue;
    const CpuSet on = aff->intersect(cpus);
    for (int cpu : on.cpus()) irqs_on[cpu].push_back(irq);
  }
  const std::string throttle = p.value("/proc/sys/kernel/sched_rt_runtime_us");
  std::optional<CpuSet> isolated = cpus_of(p.value("/sys/devices/system/cpu/isolated"));
  std::optional<CpuSet> online = cpus_of(p.value("/sys/devices/system/cpu/online"));
  std::vector<CpuHealth> out;
  for (int cpu : cpus.cpus()) {
    CpuHealth h{cpu, true, ""};
    auto bad = [&h](const std::string& why) {
      h.healthy = false;
      h.reason += (h.reason.empty() ? "" : "; ") + why;
    };
    if (online && !online->contains(cpu))
      bad("offline (/sys/devices/system/cpu/online " + online->to_string() + ")");
    if (auto it = irqs_on.find(cpu); it != irqs_on.end())
      bad("IRQs " + join_ids(it->second) +
          " routed to it (runtime.irq_affinity: /proc/irq/N/smp_affinity_list)");
    if (require_isolation && !(isolated && isolated->contains(cpu)))
      bad("not isolated though isolation is required (boot.isolcpus: /sys/devices/system/cpu/isolated " +
          (isolated ? isolated->to_string() : std::string("unreadable")) + ")");
    if (throttle == "-1")
      bad("RT throttling off (runtime.rt_throttling: /proc/sys/kernel/sched_rt_runtime_us -1)");
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<CpuTopology> cpu_topology(const std::string& root, const CpuSet& cpus) {
  host::Probe p(root);
  std::vector<CpuTopology> out;
  for (int cpu : cpus.cpus()) {
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu);
    CpuTopology t;
    t.cpu = cpu;
    t.package = int_or(p.value(dir + "/topology/physical_package_id"), 0);
    t.cluster = int_or(p.value(dir + "/topology/cluster_id"), -1);
    t.core = int_or(p.value(dir + "/topology/core_id"), -1);
    for (const auto& e : p.list(dir))
      if (e.rfind("node", 0) == 0 && e.size() > 4) t.numa = int_or(e.substr(4), -1);
    out.push_back(t);
  }
  return out;
}

std::vector<int> preferred_cpus(const std::vector<CpuTopology>& topo, const std::vector<int>& available,
                                const std::vector<int>& must, int size) {
  std::map<int, CpuTopology> by_cpu;
  for (const auto& t : topo) by_cpu[t.cpu] = t;
  auto of = [&](int cpu) {
    auto it = by_cpu.find(cpu);
    if (it != by_cpu.end()) return it->second;
    CpuTopology t;
    t.cpu = cpu;
    return t;
  };
  std::vector<int> chosen;
  std::set<int> taken;
  for (int cpu : must)
    if (taken.insert(cpu).second) chosen.push_back(cpu);
  std::vector<int> free;
  for (int cpu : available)
    if (!taken.count(cpu)) free.push_back(cpu);
  std::sort(free.begin(), free.end());
  free.erase(std::unique(free.begin(), free.end()), free.end());
  auto cluster_key = [&](int cpu) {
    CpuTopology t = of(cpu);
    return std::make_pair(t.package, t.cluster);
  };
  while (static_cast<int>(chosen.size()) < size && !free.empty()) {
    int best = -1;
    std::tuple<int, int, int, int> best_score{-1, -1, -1, 0};
    if (chosen.empty()) {
      // Best fit: the smallest cluster (then package) group that holds the
      // whole request; the largest when none does.
      std::map<std::pair<int, int>, int> group;
      for (int cpu : free) ++group[cluster_key(cpu)];
      std::optional<std::pair<int, int>> pick;
      int pick_n = 0;
      for (const auto& [k, n] : group) {
        bool fits = n >= size, pick_fits = pick_n >= size;
        if (!pick || (fits && (!pick_fits || n < pick_n)) || (!fits && !pick_fits && n > pick_n)) {
          pick = k;
          pick_n = n;
        }
      }
      for (int cpu : free)
        if (cluster_key(cpu) == *pick) {
          best = cpu;
          break;
        }
    } else {
      for (int cpu : free) {
        CpuTopology t = of(cpu);
        int core = 0, cluster = 0, package = 0;
        for (int c : chosen) {
          CpuTopology u = of(c);
          if (u.package == t.package) {
            package = 1;
            if (u.cluster == t.cluster) {
              cluster = 1;
              if (u.core == t.core && t.core >= 0) core = 1;
            }
          }
        }
        std::tuple<int, int, int, int> score{core, cluster, package, -cpu};
        if (best < 0 || score > best_score) {
          best = cpu;
          best_score = score;
        }
      }
    }
    chosen.push_back(best);
    free.erase(std::find(free.begin(), free.end(), best));
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::string cpu_device_id(int cpu) {
  return "cpu" + std::to_string(cpu);
}

std::optional<int> parse_cpu_device_id(const std::string& id) {
  if (id.size() < 4 || id.size() > 8 || id.rfind("cpu", 0) != 0) return std::nullopt;
  if (!std::all_of(id.begin() + 3, id.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return std::nullopt;
  if (id.size() > 4 && id[3] == '0') return std::nullopt;
  return std::stoi(id.substr(3));
}

std::vector<ClassDevice> find_devices(const std::string& root, const DeviceClass& d) {
  const std::string prefix =
      (root.empty() || root == "/") ? "" : (root.back() == '/' ? root.substr(0, root.size() - 1) : root);
  std::set<std::string> paths;
  for (const auto& g : d.globs) {
    glob_t gl{};
    if (::glob((prefix + g).c_str(), 0, nullptr, &gl) == 0)
      for (size_t i = 0; i < gl.gl_pathc; ++i)
        paths.insert(std::string(gl.gl_pathv[i]).substr(prefix.size()));
    ::globfree(&gl);
  }
  std::vector<ClassDevice> out;
  std::set<std::string> ids;
  for (const auto& path : paths) {
    std::string id = path.substr(path.rfind('/') + 1);
    // Device IDs are kubelet map keys and CDI names: [A-Za-z0-9_.:-].
    for (char& ch : id)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '.' && ch != '-' && ch != ':')
        ch = '_';
    if (id.empty() || !ids.insert(id).second) continue;  // two globs, one name: the first path wins
    out.push_back({id, path});
  }
  return out;
}

Allocation allocate_cpus(const NodeConfig& c, const std::vector<int>& cpus) {
  Allocation a;
  const std::string list = CpuSet(cpus).to_string();
  a.envs["RTCELL_CPUS"] = list;
  a.annotations["rtcell.io/cpus"] = list;
  if (c.sched != "none") a.annotations["rtcell.io/sched"] = c.sched;
  return a;
}

Allocation allocate_devices(const NodeConfig& c, const DeviceClass& d, const std::vector<ClassDevice>& chosen,
                            const front::cdi::Registry* cdi) {
  Allocation a;
  const std::string kind = class_resource(c, d);
  for (const auto& dev : chosen) {
    a.devices.push_back({dev.path, dev.path, d.permissions});
    if (cdi == nullptr) continue;
    const std::string name = kind + "=" + dev.id;
    try {
      (void)front::cdi::resolve(*cdi, {name});
      a.cdi_devices.push_back(name);
    } catch (const Error&) {
      // No spec names it: the DeviceSpec alone brings the node.
    }
  }
  return a;
}

nlohmann::json cdi_spec(const NodeConfig& c, const DeviceClass& d, const std::vector<ClassDevice>& devices) {
  nlohmann::json spec;
  spec["cdiVersion"] = "0.6.0";
  spec["kind"] = class_resource(c, d);
  spec["devices"] = nlohmann::json::array();
  for (const auto& dev : devices) {
    std::string var = "RTCELL_DEVICE_" + d.name + "_" + dev.id;
    for (char& ch : var)
      ch = std::isalnum(static_cast<unsigned char>(ch))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(ch)))
               : '_';
    nlohmann::json node{{"path", dev.path}, {"permissions", d.permissions}};
    spec["devices"].push_back(
        {{"name", dev.id},
         {"containerEdits",
          {{"deviceNodes", nlohmann::json::array({node})}, {"env", {var + "=" + dev.path}}}}});
  }
  return spec;
}

}  // namespace rtcell::k8s
