#include "host/facts.hpp"

#include <sys/utsname.h>

#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::host {

namespace {

std::string read_trimmed(const std::string& root, std::string_view path) {
  auto text = sys::try_read_file(join_root(root, path));
  return text ? sys::trim(*text) : std::string{};
}

}  // namespace

std::string join_root(const std::string& root, std::string_view path) {
  if (root.empty() || root == "/") return std::string(path);
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return r + std::string(path);
}

std::string parse_preempt_debugfs(std::string_view text) {
  size_t open = text.find('(');
  size_t close = text.find(')', open);
  if (open == std::string_view::npos || close == std::string_view::npos) return "unknown";
  return std::string(text.substr(open + 1, close - open - 1));
}

std::string parse_preempt_uname(std::string_view v) {
  auto has = [&](std::string_view w) {
    for (size_t pos = v.find(w); pos != std::string_view::npos; pos = v.find(w, pos + 1)) {
      bool left = pos == 0 || v[pos - 1] == ' ';
      bool right = pos + w.size() == v.size() || v[pos + w.size()] == ' ';
      if (left && right) return true;
    }
    return false;
  };
  if (has("PREEMPT_RT")) return "PREEMPT_RT";
  if (has("PREEMPT_DYNAMIC")) return "dynamic";
  if (has("PREEMPT_LAZY")) return "lazy";
  if (has("PREEMPT")) return "full";
  return "unknown";
}

std::string cmdline_arg(std::string_view cmdline, std::string_view key) {
  size_t pos = 0;
  std::string found;
  while (pos < cmdline.size()) {
    while (pos < cmdline.size() && (cmdline[pos] == ' ' || cmdline[pos] == '\n')) ++pos;
    size_t end = cmdline.find_first_of(" \n", pos);
    if (end == std::string_view::npos) end = cmdline.size();
    std::string_view arg = cmdline.substr(pos, end - pos);
    if (arg == "--") break;  // the rest belongs to init
    if (arg.size() > key.size() && arg.substr(0, key.size()) == key && arg[key.size()] == '=')
      found = std::string(arg.substr(key.size() + 1));  // the last one wins, as in the kernel
    pos = end;
  }
  return found;
}

CpuSet parse_isolcpus(std::string_view cmdline) {
  std::string v = cmdline_arg(cmdline, "isolcpus");
  // isolcpus=[flag-list,]<cpu-list>: flags are words (nohz, domain, managed_irq).
  std::string_view s = v;
  while (!s.empty() && !(s.front() >= '0' && s.front() <= '9')) {
    size_t comma = s.find(',');
    if (comma == std::string_view::npos) return {};
    s.remove_prefix(comma + 1);
  }
  try {
    return CpuSet::parse(s);
  } catch (const Error&) {
    return {};
  }
}

std::string parse_cpu_model(std::string_view cpuinfo) {
  std::string part;
  size_t pos = 0;
  while (pos < cpuinfo.size()) {
    size_t end = cpuinfo.find('\n', pos);
    if (end == std::string_view::npos) end = cpuinfo.size();
    std::string_view line = cpuinfo.substr(pos, end - pos);
    pos = end + 1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string key = sys::trim(std::string(line.substr(0, colon)));
    std::string val = sys::trim(std::string(line.substr(colon + 1)));
    if (key == "model name" || key == "Hardware") return val;
    if (key == "CPU part" && part.empty()) part = "CPU part " + val;
  }
  return part;
}

namespace {

// Online and isolated CPUs (isolcpus= on the command line when the kernel
// has no /sys/devices/system/cpu/isolated).
void read_cpus(const std::string& root, HostFacts& f) {
  try {
    f.online_cpus = CpuSet::parse(read_trimmed(root, "/sys/devices/system/cpu/online"));
  } catch (const Error&) {
  }
  try {
    f.isolated_cpus = CpuSet::parse(read_trimmed(root, "/sys/devices/system/cpu/isolated"));
  } catch (const Error&) {
  }
  if (f.isolated_cpus.empty()) f.isolated_cpus = parse_isolcpus(f.cmdline);
}

}  // namespace

HostFacts read_host_facts(const std::string& root) {
  HostFacts f;
  f.kernel_release = read_trimmed(root, "/proc/sys/kernel/osrelease");
  f.kernel_version = read_trimmed(root, "/proc/sys/kernel/version");
  f.cmdline = read_trimmed(root, "/proc/cmdline");
  if (root.empty() || root == "/") {
    utsname u{};
    if (uname(&u) == 0) f.machine = u.machine;
  }
  // Most specific first: /sys/kernel/realtime exists (=1) only on PREEMPT_RT.
  if (read_trimmed(root, "/sys/kernel/realtime") == "1") {
    f.preempt_model = "PREEMPT_RT";
    f.preempt_source = "/sys/kernel/realtime";
  } else if (auto dbg = read_trimmed(root, "/sys/kernel/debug/sched/preempt"); !dbg.empty()) {
    f.preempt_model = parse_preempt_debugfs(dbg);
    f.preempt_source = "/sys/kernel/debug/sched/preempt";
  } else {
    f.preempt_model = parse_preempt_uname(f.kernel_version);
    f.preempt_source = "uname -v";
  }
  std::string model = read_trimmed(root, "/proc/device-tree/model");
  if (!model.empty() && model.back() == '\0') model.pop_back();
  f.cpu_model = !model.empty() ? model : parse_cpu_model(read_trimmed(root, "/proc/cpuinfo"));
  read_cpus(root, f);
  return f;
}

HostFacts read_cpu_facts(const std::string& root) {
  HostFacts f;
  f.cmdline = read_trimmed(root, "/proc/cmdline");
  read_cpus(root, f);
  return f;
}

}  // namespace rtcell::host
