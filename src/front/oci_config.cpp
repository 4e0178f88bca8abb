#include "front/oci_config.hpp"

#include <sys/resource.h>

#include <nlohmann/json.hpp>
#include <set>

#include "cell/seccomp_profile.hpp"
#include "rtcell/error.hpp"
#include "sys/caps.hpp"
#include "sys/file.hpp"

namespace rtcell::front {

namespace {

using nlohmann::json;

// One JSON value with the dotted name the user would look for in
// config.json; every accessor throws Usage naming it.
struct Field {
  const json& j;
  std::string name;

  Field at(const std::string& key) const { return {j.at(key), name.empty() ? key : name + "." + key}; }
  Field at(size_t i) const { return {j.at(i), name + "[" + std::to_string(i) + "]"}; }
  bool has(const std::string& key) const { return j.is_object() && j.contains(key) && !j.at(key).is_null(); }

  [[noreturn]] void bad(const std::string& what) const { usage_error("config.json: " + name + " " + what); }

  const json& object() const {
    if (!j.is_object()) bad("must be an object");
    return j;
  }
  const json& array() const {
    if (!j.is_array()) bad("must be an array");
    return j;
  }
  std::string str() const {
    if (!j.is_string()) bad("must be a string");
    return j.get<std::string>();
  }
  bool boolean() const {
    if (!j.is_boolean()) bad("must be true or false");
    return j.get<bool>();
  }
  int64_t integer(int64_t lo, int64_t hi) const {
    if (!j.is_number_integer()) bad("must be an integer");
    const int64_t v = j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                          ? INT64_MAX
                          : j.get<int64_t>();
    if (v < lo || v > hi)
      bad("is " + std::to_string(v) + ", outside " + std::to_string(lo) + ".." + std::to_string(hi));
    return v;
  }
  uint64_t unsigned_int() const {
    if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<int64_t>() >= 0))
      bad("must be a non-negative integer");
    return j.get<uint64_t>();
  }
  std::vector<std::string> strings() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < array().size(); ++i) out.push_back(at(i).str());
    return out;
  }
  // Refuses keys outside `known`: a field rtcell does not know is one it
  // would otherwise drop.
  void only(std::initializer_list<const char*> known) const {
    for (const auto& [key, value] : object().items()) {
      bool ok = false;
      for (const char* k : known) ok = ok || key == k;
      if (!ok && !value.is_null())
        at(key).bad("is not supported by rtcell (remove it, or use runc for this container)");
    }
  }
  // Nothing asked: null, false, 0, "", [], {} or an object of those
  // (Docker writes blockIO {"weight": 0} for "no I/O weight").
  static bool unset(const json& v) {
    if (v.is_null()) return true;
    if (v.is_boolean()) return !v.get<bool>();
    if (v.is_number()) return v == 0;
    if (v.is_string() || v.is_array()) return v.empty();
    if (v.is_object()) {
      for (const auto& [k, x] : v.items())
        if (!unset(x)) return false;
      return true;
    }
    return false;
  }
  // A field that must be absent or unset.
  void unsupported(const std::string& key, const std::string& why) const {
    if (!has(key) || unset(j.at(key))) return;
    at(key).bad("is not supported: " + why);
  }
};

sys::CapSet caps_of(const Field& f) {
  sys::CapSet set;
  for (size_t i = 0; i < f.array().size(); ++i) {
    const std::string name = f.at(i).str();
    std::optional<int> cap = sys::cap_from_name(name);
    if (!cap) f.at(i).bad("'" + name + "' is not a capability this kernel knows");
    set.add(*cap);
  }
  return set;
}

void parse_user(const Field& u, cell::Process& p) {
  u.only({"uid", "gid", "umask", "additionalGids", "username"});
  if (u.has("username") && !u.at("username").str().empty())
    u.at("username").bad("is Windows-only: give uid and gid");
  p.user.uid = static_cast<uid_t>(u.has("uid") ? u.at("uid").integer(0, UINT32_MAX - 1) : 0);
  p.user.gid = static_cast<gid_t>(u.has("gid") ? u.at("gid").integer(0, UINT32_MAX - 1) : 0);
  if (u.has("umask")) p.umask = static_cast<mode_t>(u.at("umask").integer(0, 0777));
  if (u.has("additionalGids")) {
    const Field g = u.at("additionalGids");
    for (size_t i = 0; i < g.array().size(); ++i)
      p.user.additional_gids.push_back(static_cast<gid_t>(g.at(i).integer(0, UINT32_MAX - 1)));
  }
}

rt::Policy parse_scheduler(const Field& s) {
  s.only({"policy", "nice", "priority", "flags", "runtime", "deadline", "period"});
  const std::string policy = s.at("policy").str();
  const int prio = s.has("priority") ? static_cast<int>(s.at("priority").integer(0, 99)) : 0;
  const int nice = s.has("nice") ? static_cast<int>(s.at("nice").integer(-20, 19)) : 0;
  if (s.has("flags") && !s.at("flags").array().empty())
    s.at("flags").bad("(SCHED_FLAG_*) is not supported: rtcell sets the policy and nothing else");
  if (policy == "SCHED_FIFO" || policy == "SCHED_RR") {
    if (prio < 1) s.at("priority").bad("must be 1-99 for " + policy);
    if (policy == "SCHED_FIFO") return rt::Fifo{prio};
    return rt::Rr{prio};
  }
  if (policy == "SCHED_OTHER") return rt::Other{nice};
  if (policy == "SCHED_DEADLINE") {
    rt::Deadline d;
    d.runtime_ns = s.has("runtime") ? s.at("runtime").unsigned_int() : 0;
    d.deadline_ns = s.has("deadline") ? s.at("deadline").unsigned_int() : 0;
    d.period_ns = s.has("period") ? s.at("period").unsigned_int() : 0;
    return d;
  }
  s.at("policy").bad("'" + policy +
                     "' is not supported: use SCHED_FIFO, SCHED_RR, SCHED_DEADLINE or SCHED_OTHER");
}

void parse_process(const Field& p, cell::Spec& s, std::vector<std::string>& notes) {
  p.only({"terminal", "consoleSize", "user", "args", "commandLine", "env", "cwd", "capabilities", "rlimits",
          "noNewPrivileges", "apparmorProfile", "oomScoreAdj", "scheduler", "selinuxLabel", "ioPriority",
          "execCPUAffinity"});
  cell::Process& proc = s.process;
  if (p.has("terminal")) proc.terminal = p.at("terminal").boolean();
  if (p.has("user")) parse_user(p.at("user"), proc);
  if (!p.has("args") || p.at("args").array().empty()) p.bad("has no args: give the command to run");
  proc.args = p.at("args").strings();
  if (p.has("env")) proc.env = p.at("env").strings();
  proc.cwd = p.has("cwd") ? p.at("cwd").str() : "/";
  if (proc.cwd.empty() || proc.cwd[0] != '/') p.at("cwd").bad("must be an absolute path");
  if (p.has("capabilities")) {
    const Field c = p.at("capabilities");
    c.only({"bounding", "effective", "inheritable", "permitted", "ambient"});
    auto set = [&c](const char* k) { return c.has(k) ? caps_of(c.at(k)) : sys::CapSet{}; };
    proc.capabilities.bounding = set("bounding");
    proc.capabilities.effective = set("effective");
    proc.capabilities.inheritable = set("inheritable");
    proc.capabilities.permitted = set("permitted");
    proc.capabilities.ambient = set("ambient");
  } else {
    proc.capabilities = {};
  }
  if (p.has("rlimits")) {
    const Field r = p.at("rlimits");
    for (size_t i = 0; i < r.array().size(); ++i) {
      const Field l = r.at(i);
      l.only({"type", "soft", "hard"});
      const std::string type = l.at("type").str();
      const int res = cell::rlimit_from_name(type);
      if (res < 0) l.at("type").bad("'" + type + "' is not an rlimit (RLIMIT_NOFILE, RLIMIT_RTPRIO, ...)");
      cell::Rlimit rl{res, l.at("soft").unsigned_int(), l.at("hard").unsigned_int()};
      if (rl.soft > rl.hard) l.bad("has soft above hard");
      proc.rlimits.push_back(rl);
    }
  }
  proc.no_new_privileges = p.has("noNewPrivileges") && p.at("noNewPrivileges").boolean();
  if (p.has("oomScoreAdj")) proc.oom_score_adj = static_cast<int>(p.at("oomScoreAdj").integer(-1000, 1000));
  if (p.has("scheduler")) proc.scheduler = parse_scheduler(p.at("scheduler"));
  if (p.has("execCPUAffinity")) {
    const Field a = p.at("execCPUAffinity");
    a.only({"initial", "final"});
    if (a.has("initial")) proc.exec_cpus = CpuSet::parse(a.at("initial").str());
    if (a.has("final") && !a.at("final").str().empty())
      a.at("final").bad(
          "is not supported: rtcell sets one affinity (initial, else linux.resources.cpu.cpus)");
  }
  if (p.has("apparmorProfile") && !p.at("apparmorProfile").str().empty())
    notes.push_back("process.apparmorProfile " + p.at("apparmorProfile").str() +
                    " is not applied: rtcell confines with namespaces, capabilities and seccomp");
  p.unsupported("selinuxLabel", "this runtime does not label processes (SELinux)");
  p.unsupported("commandLine", "it is Windows-only");
  p.unsupported("ioPriority", "I/O priorities are not applied by rtcell");
}

cell::NamespaceType namespace_type(const Field& f) {
  const std::string t = f.str();
  if (t == "pid") return cell::NamespaceType::Pid;
  if (t == "network") return cell::NamespaceType::Network;
  if (t == "mount") return cell::NamespaceType::Mount;
  if (t == "ipc") return cell::NamespaceType::Ipc;
  if (t == "uts") return cell::NamespaceType::Uts;
  if (t == "user") return cell::NamespaceType::User;
  if (t == "cgroup") return cell::NamespaceType::Cgroup;
  f.bad("'" + t + "' is not a namespace type rtcell supports (pid, network, mount, ipc, uts, user, cgroup)");
}

std::vector<cell::IdMapping> id_maps(const Field& f) {
  std::vector<cell::IdMapping> out;
  for (size_t i = 0; i < f.array().size(); ++i) {
    const Field m = f.at(i);
    m.only({"containerID", "hostID", "size"});
    out.push_back({static_cast<uint32_t>(m.at("containerID").integer(0, UINT32_MAX - 1)),
                   static_cast<uint32_t>(m.at("hostID").integer(0, UINT32_MAX - 1)),
                   static_cast<uint32_t>(m.at("size").integer(1, UINT32_MAX))});
  }
  return out;
}

void parse_resources(const Field& r, cell::Spec& s, std::vector<std::string>& notes) {
  r.only({"devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network", "rdma", "unified"});
  cell::Resources& res = s.resources;
  res.restrict_devices = true;
  if (r.has("devices")) {
    // The usual list: deny everything, then allow nodes. rtcell's device
    // cgroup is an allow list on top of the minimal /dev set.
    const Field d = r.at("devices");
    for (size_t i = 0; i < d.array().size(); ++i) {
      const Field rule = d.at(i);
      rule.only({"allow", "type", "major", "minor", "access"});
      const bool allow = rule.at("allow").boolean();
      const std::string type = rule.has("type") ? rule.at("type").str() : "a";
      const int64_t major = rule.has("major") ? rule.at("major").integer(-1, INT32_MAX) : -1;
      const int64_t minor = rule.has("minor") ? rule.at("minor").integer(-1, INT32_MAX) : -1;
      const std::string access = rule.has("access") ? rule.at("access").str() : "rwm";
      if (!allow) {
        if (type == "a" && major < 0 && minor < 0) {  // deny all: rtcell's start
          res.devices.clear();
          res.restrict_devices = true;
          continue;
        }
        // A deny that no earlier allow covers changes nothing on a deny-all
        // start (Docker denies /dev/fuse this way); one that carves out of
        // an allow cannot be an allow list.
        for (const auto& a : res.devices) {
          const bool same_type = a.type == type[0] || type == "a";
          const bool same_major = a.major < 0 || major < 0 || a.major == major;
          const bool same_minor = a.minor < 0 || minor < 0 || a.minor == minor;
          const bool same_access = a.access.find_first_of(access) != std::string::npos;
          if (same_type && same_major && same_minor && same_access)
            rule.bad("denies part of what an earlier rule allows: rtcell's device cgroup is an allow list");
        }
        continue;
      }
      if (type == "a" && major < 0 && minor < 0) {
        res.restrict_devices = false;
        notes.push_back(rule.name + " allows every device (a privileged container): no device cgroup");
        continue;
      }
      if (type != "c" && type != "b") rule.at("type").bad("must be c or b for an allowed device");
      res.devices.push_back({type[0], static_cast<int>(major), static_cast<int>(minor), access});
    }
  }
  if (r.has("memory")) {
    const Field m = r.at("memory");
    m.only({"limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness", "disableOOMKiller",
            "useHierarchy", "checkBeforeUpdate"});
    if (m.has("limit") && m.at("limit").j.get<int64_t>() > 0) res.memory_bytes = m.at("limit").unsigned_int();
    if (m.has("swap")) {
      const int64_t swap = m.at("swap").j.get<int64_t>();
      if (swap > 0 && (!res.memory_bytes || static_cast<uint64_t>(swap) != *res.memory_bytes))
        notes.push_back("linux.resources.memory.swap " + std::to_string(swap) +
                        " is not applied: rtcell limits memory (memory.limit) only, swap is not bounded");
    }
    for (const char* k : {"reservation", "kernel", "kernelTCP"})
      if (m.has(k) && m.at(k).j.get<int64_t>() > 0)
        m.at(k).bad("is not supported: rtcell sets linux.resources.memory.limit only");
    if (m.has("disableOOMKiller") && m.at("disableOOMKiller").boolean())
      m.at("disableOOMKiller").bad("is not supported: an RT cell must not hang on memory");
    if (m.has("swappiness") && m.at("swappiness").j.get<int64_t>() >= 0)
      notes.push_back("linux.resources.memory.swappiness is not applied");
  }
  if (r.has("cpu")) {
    const Field c = r.at("cpu");
    c.only(
        {"shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"});
    if (c.has("cpus") && !c.at("cpus").str().empty()) {
      res.cpus = CpuSet::parse(c.at("cpus").str());
      if (res.cpus.empty()) c.at("cpus").bad("is not a CPU list");
    }
    if (c.has("mems")) res.mems = c.at("mems").str();
    if (c.has("quota") && c.at("quota").j.get<int64_t>() > 0)
      c.at("quota").bad(
          "(CFS bandwidth) is not supported: give the container CPUs (--cpuset-cpus) rather than a share of "
          "time");
    if (c.has("shares") && c.at("shares").j.get<int64_t>() > 0 && c.at("shares").j.get<int64_t>() != 1024)
      notes.push_back(
          "linux.resources.cpu.shares is not applied (rtcell places RT work with CPUs and budgets)");
    if (c.has("realtimeRuntime") || c.has("realtimePeriod")) {
      const int64_t runtime = c.has("realtimeRuntime") ? c.at("realtimeRuntime").integer(-1, INT64_MAX) : 0;
      const int64_t period =
          c.has("realtimePeriod") ? c.at("realtimePeriod").integer(0, INT64_MAX) : 1'000'000;
      if (runtime > 0) {
        if (runtime > period) c.at("realtimeRuntime").bad("exceeds realtimePeriod");
        cell::RtBudget b;
        b.period_us = period == 0 ? 1'000'000 : period;
        b.runtime_us = runtime;
        res.rt = b;
      }
    }
  }
  if (r.has("pids")) {
    const Field p = r.at("pids");
    p.only({"limit"});
    const int64_t limit = p.at("limit").j.get<int64_t>();
    if (limit > 0) res.pids_max = limit;
  }
  r.unsupported("blockIO", "rtcell does not set I/O weights or throttles");
  r.unsupported("hugepageLimits", "rtcell does not set hugetlb limits");
  r.unsupported("network", "rtcell does not set net_cls/net_prio");
  r.unsupported("rdma", "rtcell does not set RDMA limits");
  r.unsupported("unified", "rtcell does not write raw cgroup v2 files");
}

void parse_linux(const Field& l, cell::Spec& s, std::vector<std::string>& notes) {
  l.only({"namespaces", "uidMappings", "gidMappings", "timeOffsets", "devices", "cgroupsPath", "resources",
          "rootfsPropagation", "seccomp", "sysctl", "maskedPaths", "readonlyPaths", "mountLabel", "intelRdt",
          "personality"});
  s.namespaces.clear();
  if (l.has("namespaces")) {
    const Field n = l.at("namespaces");
    std::set<cell::NamespaceType> seen;
    for (size_t i = 0; i < n.array().size(); ++i) {
      const Field ns = n.at(i);
      ns.only({"type", "path"});
      cell::Namespace one{namespace_type(ns.at("type")), ns.has("path") ? ns.at("path").str() : ""};
      if (!seen.insert(one.type).second) ns.bad("names a namespace type twice");
      s.namespaces.push_back(one);
    }
  }
  if (l.has("uidMappings")) s.uid_mappings = id_maps(l.at("uidMappings"));
  if (l.has("gidMappings")) s.gid_mappings = id_maps(l.at("gidMappings"));
  if (l.has("devices")) {
    const Field d = l.at("devices");
    for (size_t i = 0; i < d.array().size(); ++i) {
      const Field dev = d.at(i);
      dev.only({"type", "path", "major", "minor", "fileMode", "uid", "gid"});
      cell::DeviceNode node;
      node.path = dev.at("path").str();
      const std::string type = dev.at("type").str();
      if (type != "c" && type != "b" && type != "u")
        dev.at("type").bad("must be c, b or u (p, fifo nodes, is not supported)");
      node.type = type == "b" ? 'b' : 'c';
      node.major = dev.has("major") ? dev.at("major").integer(0, INT32_MAX) : 0;
      node.minor = dev.has("minor") ? dev.at("minor").integer(0, INT32_MAX) : 0;
      // Podman writes the whole st_mode, file type bits included.
      node.file_mode =
          static_cast<mode_t>(dev.has("fileMode") ? dev.at("fileMode").integer(0, 0177777) & 07777 : 0666);
      node.uid = static_cast<uid_t>(dev.has("uid") ? dev.at("uid").integer(0, UINT32_MAX - 1) : 0);
      node.gid = static_cast<gid_t>(dev.has("gid") ? dev.at("gid").integer(0, UINT32_MAX - 1) : 0);
      s.devices.push_back(node);
    }
  }
  s.resources = {};
  if (l.has("cgroupsPath")) apply_cgroups_path(s, l.at("cgroupsPath").str());
  if (l.has("resources")) parse_resources(l.at("resources"), s, notes);
  if (l.has("rootfsPropagation")) {
    s.root_propagation = l.at("rootfsPropagation").str();
    if (s.root_propagation == "private" || s.root_propagation == "rprivate") s.root_propagation.clear();
  }
  if (l.has("seccomp")) {
    const std::string text = l.at("seccomp").object().dump();
    s.seccomp = cell::parse_docker_profile(text, cell::host_profile_context(s.process.capabilities.bounding));
  } else {
    s.seccomp.reset();
  }
  if (l.has("sysctl"))
    for (const auto& [key, value] : l.at("sysctl").object().items()) {
      if (!value.is_string()) l.at("sysctl").at(key).bad("must be a string");
      s.sysctls.emplace_back(key, value.get<std::string>());
    }
  s.masked_paths = l.has("maskedPaths") ? l.at("maskedPaths").strings() : std::vector<std::string>{};
  s.readonly_paths = l.has("readonlyPaths") ? l.at("readonlyPaths").strings() : std::vector<std::string>{};
  l.unsupported("mountLabel", "this runtime does not label mounts (SELinux)");
  l.unsupported("intelRdt", "rtcell does not set resctrl (Intel RDT) groups");
  l.unsupported("personality", "rtcell does not change the execution domain");
  l.unsupported("timeOffsets", "rtcell does not make time namespaces");
}

void parse_mounts(const Field& m, cell::Spec& s) {
  s.mounts.clear();
  for (size_t i = 0; i < m.array().size(); ++i) {
    const Field one = m.at(i);
    one.only({"destination", "type", "source", "options", "uidMappings", "gidMappings"});
    cell::Mount mount;
    mount.destination = one.at("destination").str();
    mount.type = one.has("type") ? one.at("type").str() : "";
    mount.source = one.has("source") ? one.at("source").str() : "";
    if (one.has("options")) mount.options = one.at("options").strings();
    one.unsupported("uidMappings", "idmapped mounts are not supported");
    one.unsupported("gidMappings", "idmapped mounts are not supported");
    if (mount.type.empty() && mount.is_bind()) mount.type = "bind";
    if (mount.type == "cgroup" || mount.type == "cgroup2") {
      // The cell's own groups, read-only, as rtcell lays them out (its
      // cgroup view), never the host's hierarchy.
      if (mount.destination != "/sys/fs/cgroup")
        one.at("destination")
            .bad("of a cgroup mount must be /sys/fs/cgroup (rtcell mounts the cell's view there)");
      s.cgroup_mount = true;
      continue;
    }
    s.mounts.push_back(std::move(mount));
  }
}

cell::Hook parse_hook(const Field& h) {
  h.only({"path", "args", "env", "timeout"});
  cell::Hook out;
  out.path = h.at("path").str();
  if (out.path.empty() || out.path[0] != '/') h.at("path").bad("must be an absolute path");
  if (h.has("args")) out.args = h.at("args").strings();
  if (h.has("env")) out.env = h.at("env").strings();
  if (h.has("timeout")) out.timeout_s = static_cast<int>(h.at("timeout").integer(1, 86'400));
  return out;
}

void parse_hooks(const Field& h, cell::Hooks& hooks) {
  h.only({"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"});
  auto list = [&h](const char* key, std::vector<cell::Hook>& into) {
    if (!h.has(key)) return;
    const Field l = h.at(key);
    for (size_t i = 0; i < l.array().size(); ++i) into.push_back(parse_hook(l.at(i)));
  };
  list("prestart", hooks.prestart);
  list("createRuntime", hooks.create_runtime);
  list("createContainer", hooks.create_container);
  list("startContainer", hooks.start_container);
  list("poststart", hooks.poststart);
  list("poststop", hooks.poststop);
}

}  // namespace

void apply_cgroups_path(cell::Spec& s, const std::string& path) {
  if (path.empty()) return;
  if (path.find(':') != std::string::npos)
    usage_error(
        "config.json: linux.cgroupsPath '" + path +
        "' is the systemd driver's form: rtcell manages cgroupfs paths; configure the engine with the "
        "cgroupfs driver (podman --cgroup-manager cgroupfs, dockerd --exec-opt "
        "native.cgroupdriver=cgroupfs)");
  std::string p = path;
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  while (!p.empty() && p.back() == '/') p.pop_back();
  const size_t slash = p.rfind('/');
  if (p.empty()) usage_error("config.json: linux.cgroupsPath '" + path + "' names no group");
  for (size_t i = 0, j; i <= p.size(); i = j + 1) {
    j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    const std::string part = p.substr(i, j - i);
    if (part.empty() || part == "." || part == "..")
      usage_error("config.json: linux.cgroupsPath '" + path + "' must be a clean path without '.' or '..'");
  }
  // A path of one level lives under rtcell's own parent.
  s.resources.cgroup_parent = slash == std::string::npos ? std::string("rtcell") : p.substr(0, slash);
  s.resources.cgroup_name = slash == std::string::npos ? p : p.substr(slash + 1);
}

OciConfig parse_oci_config(std::string_view text, const std::string& bundle) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    usage_error(std::string("config.json is not valid JSON: ") + e.what());
  }
  const Field top{j, ""};
  top.object();
  top.only(
      {"ociVersion", "process", "root", "hostname", "domainname", "mounts", "hooks", "annotations", "linux"});
  OciConfig out;
  cell::Spec& s = out.spec;
  const std::string version = top.at("ociVersion").str();
  if (version.rfind("1.", 0) != 0)
    top.at("ociVersion").bad("'" + version + "' is not a 1.x runtime-spec version");
  if (!top.has("process"))
    usage_error("config.json has no process: rtcell runs a command (create, then start)");
  parse_process(top.at("process"), s, out.notes);
  if (!top.has("root")) usage_error("config.json has no root: give root.path");
  const Field root = top.at("root");
  root.only({"path", "readonly"});
  std::string path = root.at("path").str();
  if (path.empty()) root.at("path").bad("is empty");
  if (path[0] != '/') path = bundle + "/" + path;
  s.root_path = path;
  s.root_readonly = root.has("readonly") && root.at("readonly").boolean();
  s.root_mount_points = s.root_path != "/";
  if (top.has("hostname")) s.hostname = top.at("hostname").str();
  top.unsupported("domainname", "rtcell sets the hostname only");
  if (top.has("mounts")) parse_mounts(top.at("mounts"), s);
  if (top.has("hooks")) parse_hooks(top.at("hooks"), s.hooks);
  if (top.has("annotations"))
    for (const auto& [key, value] : top.at("annotations").object().items()) {
      if (!value.is_string()) top.at("annotations").at(key).bad("must be a string");
      s.annotations[key] = value.get<std::string>();
    }
  if (!top.has("linux")) usage_error("config.json has no linux section: rtcell runs Linux containers");
  parse_linux(top.at("linux"), s, out.notes);
  return out;
}

cell::Process parse_oci_process(std::string_view text, const cell::Process& base) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    usage_error(std::string("the process file is not valid JSON: ") + e.what());
  }
  cell::Spec s;
  s.process = base;
  std::vector<std::string> notes;
  parse_process(Field{j, "process"}, s, notes);
  return s.process;
}

cell::Resources parse_oci_resources(std::string_view text, std::vector<std::string>& notes) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    usage_error(std::string("the resources are not valid JSON: ") + e.what());
  }
  const Field r{j, "resources"};
  r.object();
  if (r.has("devices") && !r.at("devices").array().empty())
    r.at("devices").bad("cannot change while the container runs: recreate it with the devices");
  cell::Spec s;
  parse_resources(r, s, notes);
  return s.resources;
}

OciConfig load_oci_bundle(const std::string& bundle) {
  const std::string file = bundle + "/config.json";
  return parse_oci_config(sys::read_input_file(file, "the bundle's config.json " + file), bundle);
}

}  // namespace rtcell::front
