#include "k8s/node_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "host/facts.hpp"
#include "host/parse.hpp"
#include "host/probe.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "util/units.hpp"

namespace rtcell::k8s {
namespace {

constexpr size_t kMaxText = 1u << 20;
constexpr int kMaxDepth = 16;
constexpr size_t kMaxClasses = 64;

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Mark& m, const std::string& msg) const {
    usage_error(file_ + ":" + std::to_string(m.line < 0 ? 0 : m.line + 1) + ":" +
                std::to_string(m.column < 0 ? 0 : m.column + 1) + ": " + msg);
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const { fail(n.Mark(), msg); }

  std::string scalar(const YAML::Node& n, const std::string& what) const {
    if (!n.IsScalar()) fail(n, what + " must be a single value");
    return n.Scalar();
  }

  bool boolean(const YAML::Node& n, const std::string& what) const {
    std::string v = scalar(n, what);
    if (v == "true") return true;
    if (v == "false") return false;
    fail(n, what + " must be true or false, not '" + v + "'");
  }

  // A value parsed by fn (which throws rtcell::Error on bad text), located.
  template <typename Fn>
  auto located(const YAML::Node& n, const std::string& what, Fn fn) const {
    std::string v = scalar(n, what);
    try {
      return fn(v);
    } catch (const Error& e) {
      fail(n, what + ": " + e.what());
    }
  }

  static bool dns_label(const std::string& s) {
    if (s.empty() || s.size() > 63) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!alnum(s.front()) || !alnum(s.back())) return false;
    return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
  }

  static bool dns_name(const std::string& s) {
    if (s.empty() || s.size() > 253) return false;
    size_t start = 0;
    while (start <= s.size()) {
      size_t dot = s.find('.', start);
      std::string label = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!dns_label(label)) return false;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return true;
  }

  DeviceClass device_class(const YAML::Node& n, size_t index) const {
    const std::string at = "devices[" + std::to_string(index) + "]";
    if (!n.IsMap()) fail(n, at + " must be a map with name: and globs:");
    DeviceClass d;
    bool has_name = false, has_globs = false;
    for (const auto& kv : n) {
      std::string key = scalar(kv.first, at + " key");
      if (key == "name") {
        d.name = scalar(kv.second, at + ".name");
        if (!dns_label(d.name))
          fail(kv.second, at + ".name '" + d.name + "' must be a DNS label (a-z, 0-9, '-', at most 63)");
        if (d.name == "rt-cpu") fail(kv.second, at + ".name 'rt-cpu' is the RT CPUs' resource; pick another");
        has_name = true;
      } else if (key == "globs") {
        if (!kv.second.IsSequence() || kv.second.size() == 0)
          fail(kv.second, at + ".globs must be a list of absolute paths, e.g. [/dev/video*]");
        for (const auto& g : kv.second) {
          std::string glob = scalar(g, at + ".globs entry");
          if (glob.empty() || glob.front() != '/' || glob.find("..") != std::string::npos)
            fail(g, std::string(at)
                        .append(".globs entry '")
                        .append(glob)
                        .append("' must be an absolute path without '..'"));
          d.globs.push_back(glob);
        }
        has_globs = true;
      } else if (key == "permissions") {
        d.permissions = scalar(kv.second, at + ".permissions");
        std::set<char> seen;
        if (d.permissions.empty() || !std::all_of(d.permissions.begin(), d.permissions.end(), [&](char c) {
              return (c == 'r' || c == 'w' || c == 'm') && seen.insert(c).second;
            }))
          fail(kv.second, at + ".permissions '" + d.permissions + "' must be letters of rwm, each once");
      } else {
        fail(kv.first,
             std::string(at).append(": unknown key '").append(key).append("' (name, globs, permissions)"));
      }
    }
    if (!has_name) fail(n, at + " needs name: (the resource is <resource_prefix>/<name>)");
    if (!has_globs) fail(n, at + " needs globs: (device paths, e.g. [/dev/video*])");
    return d;
  }

  NodeConfig config(const YAML::Node& root) const {
    NodeConfig c;
    if (!root.IsDefined() || root.IsNull()) return c;
    if (!root.IsMap()) fail(root, "a node configuration is a map (rt_cpus:, devices:, ...)");
    std::set<std::string> keys;
    for (const auto& kv : root) {
      std::string key = scalar(kv.first, "key");
      if (!keys.insert(key).second) fail(kv.first, "key '" + key + "' given twice");
      const YAML::Node& v = kv.second;
      if (key == "rt_cpus") {
        CpuSet set = located(v, "rt_cpus", [](const std::string& t) { return CpuSet::parse(t); });
        if (set.empty())
          fail(v, "rt_cpus is empty; name the RT CPUs (e.g. 2-3) or leave it out for the isolated ones");
        c.rt_cpus = set;
      } else if (key == "require_isolation") {
        c.require_isolation = boolean(v, "require_isolation");
      } else if (key == "resource_prefix") {
        c.resource_prefix = scalar(v, "resource_prefix");
        if (!dns_name(c.resource_prefix))
          fail(v, "resource_prefix '" + c.resource_prefix + "' must be a DNS name such as rtcell.io");
      } else if (key == "socket_dir") {
        c.socket_dir = scalar(v, "socket_dir");
        if (c.socket_dir.empty() || c.socket_dir.front() != '/')
          fail(v, "socket_dir '" + c.socket_dir + "' must be an absolute directory (the kubelet's: " +
                      "/var/lib/kubelet/device-plugins)");
        // sun_path holds 108 bytes; the longest socket name is the plugin's.
        if (c.socket_dir.size() > 60)
          fail(v, "socket_dir is longer than 60 bytes: a unix socket path holds 108");
      } else if (key == "health_interval") {
        c.health_interval_ns =
            located(v, "health_interval", [](const std::string& t) { return util::parse_duration_ns(t); });
        if (c.health_interval_ns < 100'000'000 || c.health_interval_ns > 3'600'000'000'000)
          fail(v, "health_interval must be between 100ms and 1h");
      } else if (key == "sched") {
        c.sched = scalar(v, "sched");
        std::string policy = c.sched.substr(0, c.sched.find(':'));
        if (policy != "fifo" && policy != "rr" && policy != "other" && policy != "none")
          fail(v, "sched '" + c.sched + "' must be fifo:PRIO, rr:PRIO, other or none");
        if (policy == "none" && c.sched != "none") fail(v, "sched 'none' takes no priority");
        if (policy == "fifo" || policy == "rr") {
          std::string prio =
              c.sched.find(':') == std::string::npos ? "" : c.sched.substr(c.sched.find(':') + 1);
          located(v, "sched priority",
                  [&](const std::string&) { return util::parse_int(prio, 1, 98, "priority"); });
        }
      } else if (key == "devices") {
        if (!v.IsSequence()) fail(v, "devices must be a list of {name:, globs:}");
        if (v.size() > kMaxClasses) fail(v, "more than 64 device classes");
        std::set<std::string> names;
        for (size_t i = 0; i < v.size(); ++i) {
          DeviceClass d = device_class(v[i], i);
          if (!names.insert(d.name).second) fail(v[i], "device class '" + d.name + "' given twice");
          c.devices.push_back(std::move(d));
        }
      } else {
        fail(kv.first,
             "unknown key '" + key +
                 "' (rt_cpus, require_isolation, resource_prefix, socket_dir, health_interval, sched, "
                 "devices)");
      }
    }
    return c;
  }

 private:
  std::string file_;
};

int depth(std::string_view text) {
  // Flow collections nest without indentation: bound them before yaml-cpp
  // recurses (the manifest parser's guard).
  int d = 0, max = 0;
  for (char ch : text) {
    if (ch == '[' || ch == '{') max = std::max(max, ++d);
    if ((ch == ']' || ch == '}') && d > 0) --d;
  }
  return max;
}

}  // namespace

std::string cpu_resource(const NodeConfig& c) {
  return c.resource_prefix + "/rt-cpu";
}
std::string class_resource(const NodeConfig& c, const DeviceClass& d) {
  return c.resource_prefix + "/" + d.name;
}

NodeConfig parse_node_config(std::string_view text, const std::string& file) {
  if (text.size() > kMaxText) usage_error(file + ": larger than 1 MiB: not a node configuration");
  if (depth(text) > kMaxDepth) usage_error(file + ": nested deeper than 16 levels: not a node configuration");
  Parser p(file);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    p.fail(e.mark, e.msg);
  }
  try {
    return p.config(root);
  } catch (const YAML::Exception& e) {
    p.fail(e.mark, e.msg);
  }
}

NodeConfig load_node_config(const std::string& file) {
  std::optional<std::string> text = sys::try_read_file(file);
  if (!text) usage_error(file + ": cannot read the node configuration (give --config FILE)");
  return parse_node_config(*text, file);
}

DefaultCpus default_rt_cpus(const std::string& root) {
  host::Probe p(root);
  host::HostFacts f = host::read_cpu_facts(root);
  if (!f.isolated_cpus.empty()) return {f.isolated_cpus, "/sys/devices/system/cpu/isolated (isolcpus=)"};
  auto try_file = [&](const char* file) -> std::optional<DefaultCpus> {
    std::string v = p.value(file);
    if (v.empty()) return std::nullopt;
    try {
      CpuSet s = CpuSet::parse(v);
      if (!s.empty()) return DefaultCpus{s, file};
    } catch (const Error&) {
    }
    return std::nullopt;
  };
  if (auto d = try_file("/sys/devices/system/cpu/nohz_full")) return *d;
  if (std::optional<CpuSet> s = host::cmdline_cpus(f.cmdline, "nohz_full"); s && !s->empty())
    return {*s, "/proc/cmdline (nohz_full=)"};
  if (auto d = try_file("/sys/fs/cgroup/cpuset.cpus.isolated")) return *d;
  return {};
}

}  // namespace rtcell::k8s
