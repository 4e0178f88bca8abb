// YAML -> CellDecl, with a location on every complaint.
//
// yaml-cpp builds the node tree and keeps each node's mark (0-based line and
// column); everything after that is our own walk over the tree, so that each
// key is checked against the schema (unknown key -> the closest valid one),
// each value against its type and unit, and each error names FILE:LINE:COL
// of the offending node. yaml-cpp's own exceptions (syntax errors, bad
// conversions) are caught here and carry their mark the same way; nothing
// else escapes parse() but rtcell::Error.
#include "manifest/manifest.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <span>

#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "util/units.hpp"

namespace rtcell::manifest {

namespace {

constexpr const char* kTopKeys[] = {"version", "cells", "vms", "partition", "hz"};
constexpr const char* kCellKeys[] = {
    "name",     "cpus",       "mems",       "memory",   "pids_max", "sched",   "rtprio",        "cap_add",
    "cap_drop", "rt_runtime", "rt_period",  "memlock",  "net",      "rootfs",  "devices",       "volumes",
    "tmpfs",    "workdir",    "env",        "hostname", "user",     "seccomp", "allow_prio_99", "command",
    "tasks",    "budget",     "depends_on", "required", "supervise"};
constexpr const char* kTaskKeys[] = {"name",     "period",   "wcet",   "deadline", "jitter",
                                     "blocking", "priority", "policy", "cpu"};
constexpr const char* kVmTaskKeys[] = {"name",   "period",   "wcet",     "deadline",
                                       "jitter", "blocking", "priority", "vcpu"};
constexpr const char* kVmKeys[] = {"name", "memory", "sched", "period", "pool",
                                   "type", "kernel", "vcpus", "tasks"};
constexpr const char* kVcpuKeys[] = {"cpus", "period"};
constexpr const char* kBudgetKeys[] = {"period", "runtime", "deadline"};
constexpr const char* kSuperviseKeys[] = {"action", "grace"};

// Bytes of text we accept; a manifest is a page or two.
constexpr size_t kMaxText = 16u << 20;
// yaml-cpp recurses once per nesting level; deeper than this is not a
// manifest and would only risk the stack.
constexpr int kMaxDepth = 64;
// vCPUs of one VM: Xen's HVM limit (XEN_LEGACY_MAX_VCPUS is 32, HVM guests
// go to 128); far more than a partitioned RT guest uses.
constexpr int kMaxVcpus = 128;

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  Location where(const YAML::Node& n) const {
    YAML::Mark m = n.Mark();
    Location l;
    l.file = file_;
    l.line = m.line < 0 ? 0 : m.line + 1;
    l.column = m.column < 0 ? 0 : m.column + 1;
    return l;
  }
  Location where(const YAML::Mark& m) const {
    Location l;
    l.file = file_;
    l.line = m.line < 0 ? 0 : m.line + 1;
    l.column = m.column < 0 ? 0 : m.column + 1;
    return l;
  }

  [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const {
    usage_error(where(n).to_string() + ": " + msg);
  }

  // Calls fn(key, value, key_node) for each entry of map `n`, refusing
  // unknown and duplicate keys.
  template <typename Fn>
  void each_key(const YAML::Node& n, std::span<const char* const> allowed, const std::string& what,
                Fn fn) const {
    if (!n.IsMap()) fail(n, what + " must be a map of key: value");
    std::set<std::string> seen;
    for (const auto& kv : n) {
      const YAML::Node& k = kv.first;
      if (!k.IsScalar()) fail(k, "a key in " + what + " must be a plain word");
      std::string key = k.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string best;
        size_t best_d = 0;
        for (const char* a : allowed) {
          size_t d = edit_distance(key, a);
          if (best.empty() || d < best_d) {
            best = a;
            best_d = d;
          }
        }
        std::string msg = "unknown key '";
        msg += key;
        msg += "' in ";
        msg += what;
        if (best_d <= std::max<size_t>(2, key.size() / 3))
          msg += "; did you mean '" + best + "'?";
        else
          msg += " (valid keys: " + join(allowed) + ")";
        fail(k, msg);
      }
      if (!seen.insert(key).second) {
        std::string msg = "duplicate key '";
        msg += key;
        msg += "' in ";
        msg += what;
        fail(k, msg);
      }
      fn(key, kv.second, k);
    }
  }

  static std::string join(std::span<const char* const> allowed) {
    std::string s;
    for (const char* a : allowed) {
      if (!s.empty()) s += ", ";
      s += a;
    }
    return s;
  }

  std::string scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key + " must be a single value");
    return n.Scalar();
  }

  // Runs a util:: parser and prefixes its message with the location.
  template <typename F>
  auto with_location(const YAML::Node& n, const std::string& key, F f) const {
    try {
      return f();
    } catch (const Error& e) {
      fail(n, key + ": " + e.what());
    }
  }

  int64_t time(const YAML::Node& n, const std::string& key, bool allow_zero = false) const {
    std::string s = scalar(n, key);
    bool bare = !s.empty() && s.find_first_not_of("0123456789.") == std::string::npos;
    if (bare && s.find_first_not_of("0.") != std::string::npos)
      fail(n, key + ": '" + s + "' needs a unit: ns, us, ms or s (e.g. " + s + "us)");
    int64_t v = with_location(n, key, [&] { return util::parse_time_ns(s, "ns"); });
    if (v == 0 && !allow_zero) fail(n, key + " must be greater than 0");
    return v;
  }

  // rt_runtime / rt_period take µs when bare, as `docker --cpu-rt-runtime`.
  // Whole µs only: cpu.rt_*_us could not hold the rest, and rounding it
  // either way would apply something other than what was declared.
  int64_t micros_or_time(const YAML::Node& n, const std::string& key) const {
    std::string s = scalar(n, key);
    int64_t v = with_location(n, key, [&] { return util::parse_time_ns(s, "us"); });
    if (v % 1000 != 0) fail(n, key + " must be a whole number of microseconds (cgroup cpu." + key + "_us)");
    return v;
  }

  int64_t integer(const YAML::Node& n, const std::string& key, int64_t lo, int64_t hi) const {
    std::string s = scalar(n, key);
    return with_location(n, key, [&] { return util::parse_int(s, lo, hi, key); });
  }

  bool boolean(const YAML::Node& n, const std::string& key) const {
    std::string s = scalar(n, key);
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail(n, key + " must be true or false");
  }

  std::string word(const YAML::Node& n, const std::string& key) const {
    std::string s = scalar(n, key);
    if (s.empty()) fail(n, key + " must not be empty");
    return s;
  }

  std::vector<std::string> list(const YAML::Node& n, const std::string& key) const {
    if (!n.IsSequence()) fail(n, key + " must be a list, e.g. [a, b]");
    std::vector<std::string> out;
    for (const auto& e : n) out.push_back(word(e, key + " entry"));
    return out;
  }

  // A cell's task, or with `in_vm` a guest task of a VM (no policy or cpu;
  // a vcpu instead).
  TaskDecl task(const YAML::Node& n, bool in_vm = false) const {
    TaskDecl t;
    t.where = where(n);
    bool has_period = false, has_wcet = false;
    std::span<const char* const> keys =
        in_vm ? std::span<const char* const>(kVmTaskKeys) : std::span<const char* const>(kTaskKeys);
    each_key(n, keys, "task", [&](const std::string& k, const YAML::Node& v, const YAML::Node&) {
      if (k == "name") {
        t.name = name(v, "task name");
      } else if (k == "period") {
        t.period_ns = time(v, k);
        has_period = true;
      } else if (k == "wcet") {
        t.wcet_ns = time(v, k);
        has_wcet = true;
      } else if (k == "deadline") {
        t.deadline_ns = time(v, k);
      } else if (k == "jitter") {
        t.jitter_ns = time(v, k, true);
      } else if (k == "blocking") {
        t.blocking_ns = time(v, k, true);
      } else if (k == "priority") {
        t.priority = static_cast<int>(integer(v, k, 1, 99));
      } else if (k == "policy") {
        std::string p = scalar(v, k);
        if (p == "fifo")
          t.policy = TaskPolicy::Fifo;
        else if (p == "rr")
          t.policy = TaskPolicy::Rr;
        else if (p == "deadline")
          t.policy = TaskPolicy::Deadline;
        else
          fail(v, "policy must be fifo, rr or deadline, not '" + p + "'");
      } else if (k == "cpu") {
        t.cpu = static_cast<int>(integer(v, k, 0, CpuSet::kMaxCpu));
      } else if (k == "vcpu") {
        t.vcpu = static_cast<int>(integer(v, k, 0, kMaxVcpus - 1));
      }
    });
    if (t.name.empty()) fail(n, "task has no name: add name: ...");
    if (!has_period) fail(n, "task " + t.name + " has no period: add period: e.g. 1ms");
    if (!has_wcet) fail(n, "task " + t.name + " has no wcet: add wcet: e.g. 200us");
    if (t.priority && t.policy == TaskPolicy::Deadline)
      fail(n, "task " + t.name + ": priority has no meaning for policy deadline; remove one of them");
    return t;
  }

  std::string name(const YAML::Node& n, const std::string& what) const {
    std::string s = scalar(n, what);
    if (s.empty() || s.size() > 64 ||
        s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
            std::string::npos ||
        s[0] == '.' || s[0] == '-')
      fail(n, what + " '" + s + "' must be 1-64 letters, digits, '_', '.' or '-' (it names a cgroup)");
    return s;
  }

  BudgetDecl budget(const YAML::Node& n) const {
    BudgetDecl b;
    bool has_period = false;
    each_key(n, kBudgetKeys, "budget", [&](const std::string& k, const YAML::Node& v, const YAML::Node&) {
      if (k == "period") {
        b.period_ns = time(v, "budget period");
        if (b.period_ns % 1000 != 0)
          fail(v, "budget period must be a whole number of microseconds (cgroup cpu.rt_period_us)");
        has_period = true;
      } else if (k == "runtime") {
        b.runtime_ns = time(v, "budget runtime");
      } else if (k == "deadline") {
        b.deadline_ns = time(v, "budget deadline");
      }
    });
    if (!has_period) fail(n, "budget has no period: add period: e.g. 10ms");
    int64_t dl = b.deadline_ns.value_or(b.period_ns);
    if (dl > b.period_ns) fail(n, "budget deadline must not exceed its period");
    if (b.runtime_ns && *b.runtime_ns > dl)
      fail(n, "budget runtime must not exceed its deadline (or period)");
    return b;
  }

  SuperviseDecl supervise(const YAML::Node& n) const {
    SuperviseDecl d;
    auto action = [&](const YAML::Node& v) {
      const std::string w = scalar(v, "supervise");
      if (w == "off") return;
      d.action = analysis::parse_overrun_action(w);
      if (!d.action) fail(v, "supervise must be off, warn, demote, freeze or kill, not '" + w + "'");
    };
    if (n.IsScalar()) {
      action(n);
      return d;
    }
    bool has_action = false;
    each_key(n, kSuperviseKeys, "supervise",
             [&](const std::string& k, const YAML::Node& v, const YAML::Node&) {
               if (k == "action") {
                 action(v);
                 has_action = true;
               } else if (k == "grace") {
                 d.grace_ns = time(v, "supervise grace");
               }
             });
    if (!has_action) fail(n, "supervise has no action: add action: demote (or warn, freeze, kill, off)");
    return d;
  }

  CellDecl cell(const YAML::Node& n) const {
    CellDecl c;
    c.where = where(n);
    // std::optional: a default YAML::Node is a defined null node, and
    // assigning to a bound Node rewrites the node it refers to.
    std::optional<YAML::Node> tasks_node;
    std::optional<YAML::Node> sched_node;
    each_key(n, kCellKeys, "cell", [&](const std::string& k, const YAML::Node& v, const YAML::Node&) {
      if (k == "name") {
        c.name = name(v, "cell name");
      } else if (k == "cpus") {
        std::string s = scalar(v, k);
        c.cpus = with_location(v, k, [&] { return CpuSet::parse(s); });
        if (c.cpus->empty()) fail(v, "cpus must name at least one CPU, e.g. \"2-3\"");
      } else if (k == "mems") {
        std::string s = scalar(v, k);
        with_location(v, k, [&] {  // the CPU list syntax, but memory nodes
          try {
            return CpuSet::parse(s);
          } catch (const Error&) {
            usage_error("mems '" + s + "' is not a list of memory node numbers (use e.g. 0 or 0-1)");
          }
        });
        c.mems = s;
      } else if (k == "memory") {
        std::string s = scalar(v, k);
        c.memory = with_location(v, k, [&] { return util::parse_bytes(s); });
      } else if (k == "memlock") {
        std::string s = scalar(v, k);
        c.memlock = with_location(v, k, [&] { return util::parse_bytes(s); });
      } else if (k == "pids_max") {
        c.pids_max = integer(v, k, 1, 4'194'304);
      } else if (k == "sched") {
        std::string s = scalar(v, k);
        c.sched = with_location(v, k, [&] { return rt::parse_policy(s); });
        sched_node.emplace(v);
      } else if (k == "rtprio") {
        c.rtprio = static_cast<int>(integer(v, k, 1, 99));
      } else if (k == "cap_add") {
        c.cap_add = list(v, k);
      } else if (k == "cap_drop") {
        c.cap_drop = list(v, k);
      } else if (k == "rt_runtime") {
        c.rt_runtime_ns = micros_or_time(v, k);
      } else if (k == "rt_period") {
        c.rt_period_ns = micros_or_time(v, k);
        if (*c.rt_period_ns == 0) fail(v, "rt_period must be greater than 0");
      } else if (k == "net") {
        std::string s = scalar(v, k);
        if (s == "host")
          c.net = Net::Host;
        else if (s == "none")
          c.net = Net::None;
        else
          fail(v, "net must be host or none, not '" + s + "'");
      } else if (k == "rootfs") {
        c.rootfs = word(v, k);
      } else if (k == "devices") {
        c.devices = list(v, k);
      } else if (k == "volumes") {
        c.volumes = list(v, k);
      } else if (k == "tmpfs") {
        c.tmpfs = list(v, k);
      } else if (k == "workdir") {
        c.workdir = word(v, k);
      } else if (k == "env") {
        if (v.IsMap()) {
          for (const auto& kv : v)
            c.env.emplace_back(word(kv.first, "env name"), scalar(kv.second, "env value"));
        } else if (v.IsSequence()) {
          for (const auto& e : v) {
            std::string s = word(e, "env entry");
            size_t eq = s.find('=');
            if (eq == std::string::npos || eq == 0) fail(e, "env entry '" + s + "' must be NAME=VALUE");
            c.env.emplace_back(s.substr(0, eq), s.substr(eq + 1));
          }
        } else {
          fail(v, "env must be a map (NAME: value) or a list of NAME=VALUE");
        }
      } else if (k == "hostname") {
        c.hostname = word(v, k);
      } else if (k == "user") {
        c.user = word(v, k);
      } else if (k == "seccomp") {
        c.seccomp = word(v, k);
      } else if (k == "allow_prio_99") {
        c.allow_prio_99 = boolean(v, k);
      } else if (k == "command") {
        if (v.IsScalar()) fail(v, "command must be a list, e.g. [/usr/bin/app, --flag]");
        c.command = list(v, k);
      } else if (k == "tasks") {
        tasks_node.emplace(v);
      } else if (k == "budget") {
        c.budget = budget(v);
      } else if (k == "supervise") {
        c.supervise = supervise(v);
      } else if (k == "depends_on") {
        if (!v.IsSequence()) fail(v, "depends_on must be a list of cell names, e.g. [db, sensor]");
        for (const auto& e : v) c.depends_on.push_back({word(e, "depends_on entry"), where(e)});
      } else if (k == "required") {
        c.required = boolean(v, k);
      }
    });
    if (c.name.empty()) fail(n, "cell has no name: add name: ...");
    if (c.sched) {
      rt::PolicyOptions po;
      po.allow_prio_99 = c.allow_prio_99;
      with_location(*sched_node, "sched", [&] {
        rt::validate_policy(*c.sched, po);
        return 0;
      });
    }
    if (c.rtprio == 99 && !c.allow_prio_99)
      fail(n, "cell " + c.name +
                  ": rtprio 99 is refused unless allow_prio_99: true (it starves kernel watchdogs)");
    if (tasks_node) {
      if (!tasks_node->IsSequence()) fail(*tasks_node, "tasks must be a list of task maps");
      std::set<std::string> names;
      for (const auto& tn : *tasks_node) {
        TaskDecl t = task(tn);
        if (!names.insert(t.name).second) fail(tn, "duplicate task name '" + t.name + "' in cell " + c.name);
        if (t.priority == 99 && !c.allow_prio_99)
          fail(tn, "task " + t.name + ": priority 99 is refused unless the cell sets allow_prio_99: true");
        if (t.cpu && c.cpus && !c.cpus->contains(*t.cpu))
          fail(tn, "task " + t.name + " names cpu " + std::to_string(*t.cpu) +
                       ", which is not in the cell's cpus " + c.cpus->to_string());
        c.tasks.push_back(std::move(t));
      }
      if (!c.tasks.empty() && !c.cpus)
        fail(n, "cell " + c.name + " has tasks but no cpus: add cpus: e.g. \"2-3\"");
      bool any_prio = false, all_prio = true, any_dl = false, any_fp = false;
      TaskPolicy def = TaskPolicy::Fifo;
      if (c.sched && std::holds_alternative<rt::Deadline>(*c.sched)) def = TaskPolicy::Deadline;
      if (c.sched && std::holds_alternative<rt::Rr>(*c.sched)) def = TaskPolicy::Rr;
      for (const auto& t : c.tasks) {
        (t.priority ? any_prio : all_prio) = t.priority ? true : false;
        if (t.policy.value_or(def) == TaskPolicy::Deadline)
          any_dl = true;
        else
          any_fp = true;
      }
      if (any_prio && !all_prio)
        fail(*tasks_node,
             "cell " + c.name + ": give every task a priority, or none (then deadline-monotonic)");
      if (any_dl && any_fp)
        fail(*tasks_node, "cell " + c.name + " mixes deadline and fifo/rr tasks: put them in two cells");
    }
    return c;
  }

  // A period Π for vCPUs: Xen and Jailhouse count in µs.
  int64_t whole_us(const YAML::Node& n, const std::string& key) const {
    int64_t v = time(n, key);
    if (v % 1000 != 0) fail(n, key + " must be a whole number of microseconds (xl sched-rtds -p takes us)");
    return v;
  }

  VcpuDecl vcpu(const YAML::Node& n) const {
    VcpuDecl d;
    d.where = where(n);
    auto cpus = [&](const YAML::Node& v) {
      std::string s = scalar(v, "vcpu cpus");
      d.pcpus = with_location(v, "vcpu cpus", [&] { return CpuSet::parse(s); });
      if (d.pcpus.empty()) fail(v, "vcpu cpus must name at least one physical CPU, e.g. \"2\" or \"2-3\"");
    };
    if (n.IsScalar()) {
      cpus(n);
      return d;
    }
    bool has_cpus = false;
    each_key(n, kVcpuKeys, "vcpu", [&](const std::string& k, const YAML::Node& v, const YAML::Node&) {
      if (k == "cpus") {
        cpus(v);
        has_cpus = true;
      } else if (k == "period") {
        d.period_ns = whole_us(v, "vcpu period");
      }
    });
    if (!has_cpus) fail(n, "vcpu has no cpus: add cpus: e.g. \"2\" (the physical CPUs it may run on)");
    return d;
  }

  VmDecl vm(const YAML::Node& n) const {
    VmDecl m;
    m.where = where(n);
    std::optional<YAML::Node> tasks_node, vcpus_node;
    bool has_memory = false;
    each_key(n, kVmKeys, "vm", [&](const std::string& k, const YAML::Node& v, const YAML::Node&) {
      if (k == "name") {
        m.name = name(v, "vm name");
      } else if (k == "memory") {
        // Bare numbers are MiB (xl.cfg memory=); with a unit, a whole MiB.
        std::string s = scalar(v, k);
        bool bare = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
        uint64_t bytes = with_location(v, k, [&] { return util::parse_bytes(bare ? s + "M" : s); });
        if (bytes == 0 || bytes % (1u << 20) != 0)
          fail(v, "memory must be a whole number of MiB greater than 0, e.g. 512 or 1G");
        m.memory_mib = bytes >> 20;
        has_memory = true;
      } else if (k == "sched") {
        std::string s = scalar(v, k);
        if (s == "fp")
          m.sched = analysis::LocalScheduler::FixedPriority;
        else if (s == "edf")
          m.sched = analysis::LocalScheduler::Edf;
        else
          fail(v, "vm sched must be fp or edf (the guest's scheduler), not '" + s + "'");
      } else if (k == "period") {
        m.period_ns = whole_us(v, "vm period");
      } else if (k == "pool") {
        m.pool = name(v, "vm pool");
      } else if (k == "type") {
        m.type = scalar(v, k);
        if (m.type != "pvh" && m.type != "pv" && m.type != "hvm")
          fail(v, "vm type must be pvh, pv or hvm (xl.cfg type=), not '" + m.type + "'");
      } else if (k == "kernel") {
        m.kernel = word(v, k);
        if (m.kernel->find_first_of("\"\n") != std::string::npos)
          fail(v, "vm kernel must be a path without '\"' or a newline");
      } else if (k == "vcpus") {
        vcpus_node.emplace(v);
      } else if (k == "tasks") {
        tasks_node.emplace(v);
      }
    });
    if (m.name.empty()) fail(n, "vm has no name: add name: ...");
    if (!has_memory) fail(n, "vm " + m.name + " has no memory: add memory: e.g. 512 (MiB)");
    if (!vcpus_node)
      fail(n, "vm " + m.name + " has no vcpus: add vcpus: [\"2\", \"3\"] (a physical CPU list each)");
    if (!vcpus_node->IsSequence() || vcpus_node->size() == 0)
      fail(*vcpus_node, "vcpus must be a list with one entry per vCPU, e.g. [\"2\", \"3\"]");
    if (vcpus_node->size() > static_cast<size_t>(kMaxVcpus))
      fail(*vcpus_node, "vm " + m.name + " has more than " + std::to_string(kMaxVcpus) + " vcpus");
    for (const auto& vn : *vcpus_node) m.vcpus.push_back(vcpu(vn));
    if (tasks_node) {
      if (!tasks_node->IsSequence()) fail(*tasks_node, "tasks must be a list of task maps");
      std::set<std::string> names;
      size_t with_prio = 0;
      for (const auto& tn : *tasks_node) {
        TaskDecl t = task(tn, true);
        if (!names.insert(t.name).second) fail(tn, "duplicate task name '" + t.name + "' in vm " + m.name);
        if (static_cast<size_t>(t.vcpu) >= m.vcpus.size())
          fail(tn, "task " + t.name + " names vcpu " + std::to_string(t.vcpu) + ", but vm " + m.name +
                       " has " + std::to_string(m.vcpus.size()) + " (numbered from 0)");
        if (t.priority) ++with_prio;
        m.tasks.push_back(std::move(t));
      }
      if (with_prio != 0 && with_prio != m.tasks.size())
        fail(*tasks_node, "vm " + m.name + ": give every task a priority, or none (then deadline-monotonic)");
      if (with_prio != 0 && m.sched == analysis::LocalScheduler::Edf)
        fail(*tasks_node, "vm " + m.name + ": priority has no meaning under sched: edf; remove it");
    }
    return m;
  }

  Manifest manifest(const YAML::Node& root) const {
    Manifest m;
    m.file = file_;
    if (!root || root.IsNull()) usage_error(file_ + ":1:1: empty manifest: expected a map with cells:");
    std::optional<YAML::Node> cells, vms;
    each_key(root, kTopKeys, "manifest", [&](const std::string& k, const YAML::Node& v, const YAML::Node&) {
      if (k == "version") {
        if (integer(v, k, 1, 1000) != 1) fail(v, "unsupported version: this rtcell reads version 1");
      } else if (k == "partition") {
        std::string s = scalar(v, k);
        if (s == "first-fit")
          m.partition = Partition::FirstFit;
        else if (s == "worst-fit")
          m.partition = Partition::WorstFit;
        else if (s == "best-fit")
          m.partition = Partition::BestFit;
        else
          fail(v, "partition must be first-fit, worst-fit or best-fit");
      } else if (k == "hz") {
        // CONFIG_HZ of the target kernel; the kernel offers 100..1000, some
        // boards 24..1200: anything from 1 (nohz_full's residual 1 Hz tick) up.
        m.hz = static_cast<int>(integer(v, k, 1, 100'000));
      } else if (k == "cells") {
        cells.emplace(v);
      } else if (k == "vms") {
        vms.emplace(v);
      }
    });
    if (!cells && !vms) fail(root, "manifest has no cells: add cells: [ {name: ..., cpus: ...} ]");
    if (cells) {
      if (!cells->IsSequence()) fail(*cells, "cells must be a list of cell maps");
      std::set<std::string> names;
      for (const auto& cn : *cells) {
        CellDecl c = cell(cn);
        if (!names.insert(c.name).second) fail(cn, "duplicate cell name '" + c.name + "'");
        m.cells.push_back(std::move(c));
      }
    }
    if (vms) {
      if (!vms->IsSequence()) fail(*vms, "vms must be a list of vm maps");
      std::set<std::string> names;
      for (const auto& vn : *vms) {
        VmDecl v = vm(vn);
        if (!names.insert(v.name).second) fail(vn, "duplicate vm name '" + v.name + "'");
        m.vms.push_back(std::move(v));
      }
    }
    check_dependencies(m);
    return m;
  }

  // Every depends_on names another cell of the manifest, and no chain of
  // them comes back to where it began (`rtcell up` could start none of it).
  static void check_dependencies(const Manifest& m) {
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < m.cells.size(); ++i) index[m.cells[i].name] = i;
    for (const auto& c : m.cells) {
      std::set<std::string> seen;
      for (const auto& d : c.depends_on) {
        if (d.cell == c.name) usage_error(d.where.to_string() + ": cell " + c.name + " depends on itself");
        if (!index.contains(d.cell)) {
          std::string msg = d.where.to_string() + ": cell " + c.name + " depends on '" + d.cell +
                            "', which is not a cell of this manifest";
          std::string best;
          size_t best_d = 3;
          for (const auto& o : m.cells) {
            size_t dist = edit_distance(d.cell, o.name);
            if (dist < best_d && dist < d.cell.size()) {
              best_d = dist;
              best = o.name;
            }
          }
          if (!best.empty()) msg += "; did you mean '" + best + "'?";
          usage_error(msg);
        }
        if (!seen.insert(d.cell).second)
          usage_error(d.where.to_string() + ": cell " + c.name + " names '" + d.cell +
                      "' twice in depends_on");
      }
    }
    // Depth-first search with three colours: a grey cell met again closes
    // a cycle, reported from its first member as a -> b -> a at the
    // depends_on entry that closes it.
    enum class Colour { White, Grey, Black };
    std::vector<Colour> colour(m.cells.size(), Colour::White);
    std::vector<size_t> path;
    std::function<void(size_t)> visit = [&](size_t i) {
      colour[i] = Colour::Grey;
      path.push_back(i);
      for (const auto& d : m.cells[i].depends_on) {
        size_t j = index.at(d.cell);
        if (colour[j] == Colour::Grey) {
          std::string chain;
          auto from = std::find(path.begin(), path.end(), j);
          for (auto it = from; it != path.end(); ++it) chain += m.cells[*it].name + " -> ";
          chain += m.cells[j].name;
          usage_error(d.where.to_string() + ": depends_on cycle: " + chain +
                      " (rtcell up could start none of them; remove one of these entries)");
        }
        if (colour[j] == Colour::White) visit(j);
      }
      path.pop_back();
      colour[i] = Colour::Black;
    };
    for (size_t i = 0; i < m.cells.size(); ++i)
      if (colour[i] == Colour::White) visit(i);
  }

 private:
  std::string file_;
};

// Rejects nesting deeper than kMaxDepth before yaml-cpp recurses into it.
// Counts flow brackets and block indentation steps; quotes are skipped.
void check_depth(std::string_view text, const std::string& file) {
  int depth = 0;
  int line = 1;
  size_t line_start = 0;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (ch == '\n') {
      ++line;
      line_start = i + 1;
      continue;
    }
    if (quote) {
      if (ch == quote) quote = 0;
      continue;
    }
    if (ch == '"' || ch == '\'') {
      quote = ch;
    } else if (ch == '[' || ch == '{') {
      ++depth;
    } else if (ch == ']' || ch == '}') {
      if (depth > 0) --depth;
    }
    // "- - - x" and deep indentation nest too: count leading indent + dashes.
    size_t col = i - line_start;
    if (depth > kMaxDepth || col > static_cast<size_t>(kMaxDepth) * 8)
      if (text.substr(line_start, col).find_first_not_of(" -[{") == std::string_view::npos)
        usage_error(file + ":" + std::to_string(line) + ":" + std::to_string(col + 1) +
                    ": nesting too deep for a manifest");
  }
}

}  // namespace

std::string Location::to_string() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

bool CellDecl::is_rt() const {
  if (!tasks.empty() || rtprio) return true;
  if (!sched) return false;
  return !std::holds_alternative<rt::Other>(*sched);
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

Manifest parse(std::string_view text, const std::string& filename) {
  if (text.size() > kMaxText) usage_error(filename + ": manifest larger than 16 MiB");
  check_depth(text, filename);
  Parser p(filename);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    usage_error(p.where(e.mark).to_string() + ": " + e.msg);
  }
  try {
    return p.manifest(root);
  } catch (const YAML::Exception& e) {
    usage_error(p.where(e.mark).to_string() + ": " + e.msg);
  }
}

Manifest load(const std::string& path) {
  return parse(sys::read_input_file(path, "manifest " + path), path);
}

std::vector<size_t> start_order(const Manifest& m) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < m.cells.size(); ++i) index[m.cells[i].name] = i;
  std::vector<size_t> waiting(m.cells.size(), 0);  // unstarted dependencies
  for (size_t i = 0; i < m.cells.size(); ++i) {
    for (const auto& d : m.cells[i].depends_on) {
      if (!index.contains(d.cell))
        usage_error("cell " + m.cells[i].name + " depends on '" + d.cell + "', which is not in the manifest");
      ++waiting[i];
    }
  }
  std::vector<size_t> order;
  std::vector<bool> started(m.cells.size(), false);
  while (order.size() < m.cells.size()) {
    size_t next = m.cells.size();
    for (size_t i = 0; i < m.cells.size() && next == m.cells.size(); ++i)
      if (!started[i] && waiting[i] == 0) next = i;
    if (next == m.cells.size()) usage_error(m.file + ": depends_on has a cycle: no cell can start first");
    started[next] = true;
    order.push_back(next);
    for (size_t i = 0; i < m.cells.size(); ++i)
      for (const auto& d : m.cells[i].depends_on)
        if (d.cell == m.cells[next].name) --waiting[i];
  }
  return order;
}

const CellDecl* find_cell(const Manifest& m, std::string_view name) {
  for (const auto& c : m.cells)
    if (c.name == name) return &c;
  return nullptr;
}

CpuSet rt_cpus(const Manifest& m) {
  CpuSet out;
  for (const auto& c : m.cells)
    if (c.is_rt() && c.cpus) out = out.unite(*c.cpus);
  return out;
}

std::vector<analysis::CellSpec> to_cell_specs(const Manifest& m) {
  std::vector<analysis::CellSpec> out;
  for (const auto& c : m.cells) {
    analysis::CellSpec s;
    s.name = c.name;
    s.cpus = c.cpus.value_or(CpuSet{});
    TaskPolicy def = TaskPolicy::Fifo;
    s.base_priority = c.rtprio.value_or(rt::kDefaultPriority);
    if (c.sched) {
      if (const auto* f = std::get_if<rt::Fifo>(&*c.sched)) s.base_priority = f->priority;
      if (const auto* r = std::get_if<rt::Rr>(&*c.sched)) {
        s.base_priority = r->priority;
        def = TaskPolicy::Rr;
      }
      if (std::holds_alternative<rt::Deadline>(*c.sched)) def = TaskPolicy::Deadline;
    }
    for (const auto& t : c.tasks) {
      analysis::TaskSpec ts;
      ts.task.name = t.name;
      ts.task.period = t.period_ns;
      ts.task.wcet = t.wcet_ns;
      ts.task.deadline = t.deadline_ns.value_or(t.period_ns);
      ts.task.jitter = t.jitter_ns;
      ts.task.blocking = t.blocking_ns;
      ts.task.priority = t.priority;
      ts.policy = t.policy.value_or(def);
      ts.cpu = t.cpu;
      s.tasks.push_back(std::move(ts));
    }
    if (c.budget) {
      analysis::BudgetSpec b;
      b.period = c.budget->period_ns;
      b.runtime = c.budget->runtime_ns;
      b.deadline = c.budget->deadline_ns;
      s.budget = b;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<analysis::VmSpec> to_vm_specs(const Manifest& m) {
  std::vector<analysis::VmSpec> out;
  for (const auto& v : m.vms) {
    analysis::VmSpec s;
    s.name = v.name;
    s.scheduler = v.sched;
    s.period = v.period_ns;
    for (const auto& c : v.vcpus) {
      analysis::VcpuSpec vc;
      vc.pcpus = c.pcpus;
      vc.period = c.period_ns;
      s.vcpus.push_back(std::move(vc));
    }
    for (const auto& t : v.tasks) {
      analysis::Task task;
      task.name = t.name;
      task.period = t.period_ns;
      task.wcet = t.wcet_ns;
      task.deadline = t.deadline_ns.value_or(t.period_ns);
      task.jitter = t.jitter_ns;
      task.blocking = t.blocking_ns;
      task.priority = t.priority;
      s.vcpus[static_cast<size_t>(t.vcpu)].tasks.push_back(std::move(task));
    }
    out.push_back(std::move(s));
  }
  return out;
}

analysis::AdmitOptions admit_options(const Manifest& m) {
  analysis::AdmitOptions o;
  if (m.hz) {
    o.hz = *m.hz;
    o.hz_source = "hz: in " + m.file;
  }
  switch (m.partition) {
    case Partition::FirstFit:
      o.fit = analysis::Fit::First;
      break;
    case Partition::WorstFit:
      o.fit = analysis::Fit::Worst;
      break;
    case Partition::BestFit:
      o.fit = analysis::Fit::Best;
      break;
  }
  return o;
}

}  // namespace rtcell::manifest
