// The audit rules of `rtcell check`. Each rule reads a few files through a
// Probe (so a captured tree audits like a live host) and adds one Finding.
// Rules never throw on odd contents: a file that is missing or malformed is
// itself evidence ("unreadable", "unknown") and becomes an info finding with
// the command that would make it readable. Severity policy:
//   fail  the host cannot give RT guarantees as it stands (not a PREEMPT_RT
//         kernel, no SCHED_DEADLINE);
//   warn  a tuning gap that costs latency and has a known fix;
//   info  a fact worth knowing or something we could not read;
//   pass  checked and fine.
#include "host/check.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "host/facts.hpp"
#include "host/kernel.hpp"
#include "host/l4t.hpp"
#include "host/probe.hpp"

namespace rtcell::host {

const char* to_string(Severity s) {
  switch (s) {
    case Severity::Pass:
      return "pass";
    case Severity::Info:
      return "info";
    case Severity::Warn:
      return "warn";
    case Severity::Fail:
      return "fail";
  }
  return "info";
}

const std::vector<std::string>& check_ids() {
  static const std::vector<std::string> kIds = {
      "kernel.preempt_rt",
      "kernel.config",
      "kernel.hz",
      "kernel.nohz_full",
      "kernel.rt_group_sched",
      "kernel.cgroup_layout",
      "kernel.sched_deadline",
      "kernel.tracers",
      "boot.isolcpus",
      "boot.nohz_full",
      "boot.rcu_nocbs",
      "boot.irqaffinity",
      "boot.kthread_cpus",
      "boot.loader",
      "runtime.rt_throttling",
      "runtime.timer_migration",
      "runtime.stat_interval",
      "runtime.watchdog",
      "runtime.swap",
      "runtime.thp",
      "runtime.irqbalance",
      "runtime.irq_affinity",
      "runtime.cpufreq_governor",
      "runtime.cpufreq_range",
      "runtime.cpuidle",
      "runtime.cpu_dma_latency",
      "runtime.kthreads",
      "runtime.tracing",
      "runtime.console",
      "runtime.irq_threads",
      "security.apparmor",
      "security.secure_boot",
      "virt.readiness",
      "jetson.l4t",
      "jetson.kernel_match",
      "jetson.localversion",
      "jetson.nvpmodel",
      "jetson.clocks",
      "jetson.tegra_mce",
      "jetson.apt_hold",
      "jetson.docker_runtime",
      "jetson.cdi",
      "jetson.containers",
      "jetson.module",
  };
  return kIds;
}

std::vector<std::pair<std::string, std::string>> rt_boot_args(const CpuSet& rt, const CpuSet& online) {
  std::string list = rt.to_string();
  CpuSet hk = online.minus(rt);
  std::vector<std::pair<std::string, std::string>> args = {
      {"isolcpus", "managed_irq,domain," + list},
      {"nohz_full", list},
      {"rcu_nocbs", list},
  };
  if (!hk.empty()) {
    args.emplace_back("irqaffinity", hk.to_string());
    args.emplace_back("kthread_cpus", hk.to_string());
  }
  return args;
}

namespace {

constexpr const char* kNeedCpus = "needs the RT CPUs: pass --cpus LIST (or -f cells.yaml)";

std::string shorten(std::string s, size_t max = 160) {
  for (char& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

std::string join(const std::vector<std::string>& v, const std::string& sep = ",") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::optional<long long> to_ll(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 0);  // base 0: "0x7f" and "127" both parse
  if (end == s.c_str() || *end != '\0') return std::nullopt;
  return v;
}

std::optional<CpuSet> to_cpus(const std::string& s) {
  try {
    return CpuSet::parse(s);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

struct Ctx {
  const Probe& p;
  std::optional<CpuSet> rt;
  HostFacts facts;
  std::optional<int> rt_priority;  // the cells' highest RT priority (-f), else the default 80 is assumed
  std::optional<KernelConfigSource> kconfig;
  std::string mounts;
  bool jetson = false;
  CpuSet hk;  // housekeeping: online minus RT
  std::vector<Finding> out;

  void add(const std::string& id, Severity sev, std::string message, std::string file = {},
           std::string value = {}, std::string fix = {}) {
    Finding f;
    f.id = id;
    f.area = id.substr(0, id.find('.'));
    f.severity = sev;
    f.message = std::move(message);
    f.file = std::move(file);
    f.value = shorten(std::move(value));
    f.fix = sev == Severity::Pass ? std::string() : std::move(fix);
    out.push_back(std::move(f));
  }
  std::string cfg(const std::string& key) const {
    if (!kconfig) return {};
    auto it = kconfig->config.find(key);
    return it == kconfig->config.end() ? std::string("n") : it->second;
  }
  std::string cfg_file() const { return kconfig ? kconfig->file : std::string("(no kernel config)"); }
  std::string cpufreq(int cpu, const std::string& leaf) const {
    return p.value("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cpufreq/" + leaf);
  }
};

// ---- kernel -----------------------------------------------------------------

// kernel.hz and kernel.nohz_full: read only the kernel config, so that
// `check --kconfig FILE` runs them on a .config that is not booted yet.
void check_kconfig_tick(Ctx& c) {
  if (c.kconfig) {
    std::string hz = c.cfg("CONFIG_HZ");
    auto n = to_ll(hz);
    if (n && *n >= 1000)
      c.add("kernel.hz", Severity::Pass, "timer tick HZ=" + hz, c.cfg_file(), "CONFIG_HZ=" + hz);
    else
      c.add("kernel.hz", Severity::Warn, "timer tick HZ=" + hz + " (the RT guides use 1000)", c.cfg_file(),
            "CONFIG_HZ=" + hz, "rebuild the kernel with CONFIG_HZ_1000=y");
    std::string nohz = c.cfg("CONFIG_NO_HZ_FULL");
    if (nohz == "y")
      c.add("kernel.nohz_full", Severity::Pass, "NO_HZ_FULL built in", c.cfg_file(), "CONFIG_NO_HZ_FULL=y");
    else
      c.add("kernel.nohz_full", Severity::Warn, "NO_HZ_FULL not built: RT CPUs keep the periodic tick",
            c.cfg_file(), "CONFIG_NO_HZ_FULL=" + nohz, "rebuild the kernel with CONFIG_NO_HZ_FULL=y");
  } else {
    c.add("kernel.hz", Severity::Info, "unknown (no kernel config)", "/proc/config.gz", "absent",
          "modprobe configs");
    c.add("kernel.nohz_full", Severity::Info, "unknown (no kernel config)", "/proc/config.gz", "absent",
          "modprobe configs");
  }
}

void check_kernel(Ctx& c) {
  const auto& f = c.facts;
  std::string rt_fix = c.jetson
                           ? "build and install the L4T kernel with PREEMPT_RT (Jetson Linux sources: "
                             "kernel/generic_rt_build.sh \"enable\", or NVIDIA's real-time kernel packages)"
                           : "install a PREEMPT_RT kernel (Debian: apt install linux-image-rt-amd64 or "
                             "linux-image-rt-arm64) and boot it";
  // JetPack 6 (L4T R36): NVIDIA ships the RT kernel as packages, so the fix
  // names them and the switch of the boot entry.
  if (c.jetson) {
    auto rel = parse_nv_tegra_release(c.p.read("/etc/nv_tegra_release").value_or(""));
    if (auto pk = rel ? l4t_rt_packages(rel->major, rel->minor) : std::nullopt) {
      rt_fix = "on L4T " + rel->to_string() + " these packages give an RT kernel: add '" + pk->apt_line +
               "' to /etc/apt/sources.list.d/nvidia-l4t-apt-source.list; sudo apt update && sudo apt install";
      for (const auto& pkg : pk->packages) rt_fix += " " + pkg;
      rt_fix += "; then rtcell kernel use-rt (if the RT entry is not the default) and reboot";
    }
  }
  std::string src = f.preempt_source == "uname -v" ? "/proc/sys/kernel/version" : f.preempt_source;
  std::string value = f.preempt_source == "uname -v" ? f.kernel_version : f.preempt_model;
  if (f.preempt_model != "PREEMPT_RT" && c.cfg("CONFIG_PREEMPT_RT") == "y") {
    c.add("kernel.preempt_rt", Severity::Pass, "PREEMPT_RT kernel (from the kernel config)", c.cfg_file(),
          "CONFIG_PREEMPT_RT=y");
  } else if (f.preempt_model == "PREEMPT_RT") {
    c.add("kernel.preempt_rt", Severity::Pass, "PREEMPT_RT kernel", src, value);
  } else if (f.preempt_model == "full") {
    // A stock kernel (L4T's included) cannot give RT guarantees: fail, as
    // the severity is defined (docs/check.md), not a warning.
    c.add("kernel.preempt_rt", Severity::Fail,
          "preemption model is 'full', not PREEMPT_RT: spinlocks and hard IRQs still bound latency, so this "
          "kernel gives no RT guarantees",
          src, value, rt_fix);
  } else {
    // The verdict rests on /sys/kernel/realtime being absent (the RT kernel
    // creates it); debugfs only tells which non-RT dynamic model is current.
    // Without debugfs, a PREEMPT_DYNAMIC kernel's model is preempt= on the
    // cmdline, else the build default (kernel/sched/core.c, preempt_dynamic_init).
    std::string note;
    if (f.preempt_model == "dynamic" && !c.p.exists("/sys/kernel/debug/sched/preempt")) {
      std::string boot = cmdline_arg(f.cmdline, "preempt");
      std::string def = c.cfg("CONFIG_PREEMPT_NONE") == "y"        ? "none"
                        : c.cfg("CONFIG_PREEMPT_VOLUNTARY") == "y" ? "voluntary"
                        : c.cfg("CONFIG_PREEMPT") == "y"           ? "full"
                                                                   : "";
      if (!boot.empty())
        note = "; PREEMPT_DYNAMIC booted with preempt=" + boot;
      else if (!def.empty())
        note = "; PREEMPT_DYNAMIC running its build default '" + def + "' (no preempt= boot argument)";
      else
        note = "; the current PREEMPT_DYNAMIC model is unknown: debugfs not mounted";
    }
    c.add("kernel.preempt_rt", Severity::Fail,
          "not a PREEMPT_RT kernel (no /sys/kernel/realtime): model '" + f.preempt_model + "'" + note, src,
          value, rt_fix);
  }

  if (c.kconfig) {
    c.add("kernel.config", Severity::Pass, "kernel config readable", c.kconfig->file,
          std::to_string(c.kconfig->config.size()) + " options");
  } else {
    c.add("kernel.config", Severity::Info,
          "no kernel config: /proc/config.gz and /boot/config-" + f.kernel_release +
              " are absent; config checks "
              "are skipped",
          "/proc/config.gz", "absent",
          "modprobe configs   # provides /proc/config.gz where built as a module");
  }

  check_kconfig_tick(c);

  // RT group scheduling: a v1 cpu controller exposing cpu.rt_runtime_us proves
  // it is built in (Documentation/scheduler/sched-rt-group.rst).
  std::string rt_file;
  for (const char* d : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup"}) {
    std::string fpath = std::string(d) + "/cpu.rt_runtime_us";
    if (c.p.exists(fpath)) {
      rt_file = fpath;
      break;
    }
  }
  // rt_group_sched=0|1 on the kernel command line (Linux 6.16,
  // CONFIG_RT_GROUP_SCHED_DEFAULT_DISABLED): with 0 the kernel builds no RT
  // group structures and hides cpu.rt_*_us even with CONFIG_RT_GROUP_SCHED=y
  // (kernel/sched/core.c, rt_group_sched_enabled()), so the cgroup cap is
  // gone and a cell's RT budget is enforced by nothing of the kernel's.
  const std::string boot_rt_group = cmdline_arg(c.facts.cmdline, "rt_group_sched");
  const std::string boot_note =
      boot_rt_group.empty() ? "" : " (rt_group_sched=" + boot_rt_group + " on the kernel command line)";
  constexpr const char* kNoKernelCap =
      "a cell's RT budget is enforced by none of the kernel's cgroups: SCHED_DEADLINE per task (a guarantee, "
      "once each thread applies its triple) or rtcell's supervisor (detection only, the broken-promise "
      "report)";
  if (boot_rt_group == "0") {
    c.add("kernel.rt_group_sched", Severity::Info,
          "RT group scheduling disabled at boot (rt_group_sched=0" +
              std::string(c.cfg("CONFIG_RT_GROUP_SCHED") == "y" ? ", although CONFIG_RT_GROUP_SCHED=y" : "") +
              "): RT tasks need no cgroup budget, and " + kNoKernelCap,
          "/proc/cmdline", "rt_group_sched=0",
          "for a kernel cap on each cell (cgroup v1 cpu.rt_runtime_us), boot with rt_group_sched=1 and a v1 "
          "cpu "
          "controller");
  } else if (!rt_file.empty()) {
    c.add("kernel.rt_group_sched", Severity::Info,
          "RT group scheduling present" + boot_note +
              ": a new cgroup gets RT runtime 0, so every RT cell needs a budget (rtcell run sets "
              "cpu.rt_runtime_us); it is enforced by the kernel as a cap: cgroup v1 cpu.rt_runtime_us "
              "throttles "
              "the cell past it",
          rt_file, c.p.value(rt_file));
  } else if (c.cfg("CONFIG_RT_GROUP_SCHED") == "y") {
    c.add(
        "kernel.rt_group_sched", Severity::Info,
        "RT group scheduling built in" + boot_note +
            " but no cgroup v1 cpu controller is mounted (cgroup v2 has no RT group budget): " + kNoKernelCap,
        c.cfg_file(),
        "CONFIG_RT_GROUP_SCHED=y" + (boot_rt_group.empty() ? "" : " rt_group_sched=" + boot_rt_group));
  } else {
    c.add("kernel.rt_group_sched", Severity::Pass,
          "no RT group scheduling: RT tasks need no cgroup budget; " + std::string(kNoKernelCap),
          c.kconfig ? c.cfg_file() : "/sys/fs/cgroup",
          c.kconfig ? "CONFIG_RT_GROUP_SCHED=n" : "no cpu.rt_runtime_us");
  }

  std::string layout = parse_cgroup_layout(c.mounts);
  c.add("kernel.cgroup_layout", layout == "none" ? Severity::Warn : Severity::Info,
        "cgroup layout: " + layout, "/proc/mounts", layout,
        layout == "none" ? "mount cgroup2: mount -t cgroup2 none /sys/fs/cgroup" : "");

  if (c.p.exists("/proc/sys/kernel/sched_deadline_period_max_us")) {
    c.add("kernel.sched_deadline", Severity::Pass, "SCHED_DEADLINE available",
          "/proc/sys/kernel/sched_deadline_period_max_us",
          c.p.value("/proc/sys/kernel/sched_deadline_period_max_us"));
  } else {
    std::string base = kernel_base_version(f.kernel_release);
    int major = 0, minor = 0;
    std::sscanf(base.c_str(), "%d.%d", &major, &minor);  // NOLINT(cert-err34-c): 0 on failure is fine
    bool ok = major > 3 || (major == 3 && minor >= 14);  // SCHED_DEADLINE merged in 3.14
    c.add("kernel.sched_deadline", ok ? Severity::Pass : Severity::Fail,
          ok ? "SCHED_DEADLINE available (kernel >= 3.14)" : "SCHED_DEADLINE needs kernel >= 3.14",
          "/proc/sys/kernel/osrelease", f.kernel_release, "upgrade to a kernel >= 5.10");
  }

  std::string tracing = mount_point_of(c.mounts, "tracefs");
  if (tracing.empty() && c.p.exists("/sys/kernel/debug/tracing/available_tracers"))
    tracing = "/sys/kernel/debug/tracing";
  if (tracing.empty()) {
    c.add("kernel.tracers", Severity::Info, "tracefs not mounted: cannot list latency tracers",
          "/proc/mounts", "no tracefs", "mount -t tracefs nodev /sys/kernel/tracing");
  } else {
    std::string file = tracing + "/available_tracers";
    std::string have = c.p.value(file);
    std::vector<std::string> missing;
    auto words = " " + have + " ";
    for (const char* t : {"irqsoff", "preemptoff", "wakeup_rt", "osnoise", "timerlat"})
      if (words.find(std::string(" ") + t + " ") == std::string::npos) missing.emplace_back(t);
    if (missing.empty())
      c.add("kernel.tracers", Severity::Pass, "latency tracers available", file, have);
    else
      c.add("kernel.tracers", Severity::Info, "latency tracers missing: " + join(missing, " "), file, have,
            "rebuild with CONFIG_IRQSOFF_TRACER=y CONFIG_PREEMPT_TRACER=y CONFIG_SCHED_TRACER=y "
            "CONFIG_OSNOISE_TRACER=y CONFIG_TIMERLAT_TRACER=y (debugging only)");
  }
}

// ---- boot arguments ---------------------------------------------------------

std::string boot_fix(const Ctx& c) {
  if (!c.rt) return {};
  std::string line;
  for (auto& [k, v] : rt_boot_args(*c.rt, c.facts.online_cpus))
    line.append(line.empty() ? "" : " ").append(k).append("=").append(v);
  if (c.jetson || c.p.exists("/boot/extlinux/extlinux.conf"))
    return "add to the APPEND line of /boot/extlinux/extlinux.conf: " + line + "   (or: rtcell tune --cpus " +
           c.rt->to_string() + " --write-bootargs), then reboot";
  return "add to GRUB_CMDLINE_LINUX in /etc/default/grub: " + line + "   (or: rtcell tune --cpus " +
         c.rt->to_string() + " --write-bootargs), then update-grub and reboot";
}

void check_boot(Ctx& c) {
  const std::string& cmd = c.facts.cmdline;
  struct Arg {
    const char* id;
    const char* key;
    const char* sysfs;  // the kernel's own view, when it has one
    bool covers;        // true: must contain the RT CPUs; false: must avoid them
  };
  static const Arg kArgs[] = {
      {"boot.isolcpus", "isolcpus", "/sys/devices/system/cpu/isolated", true},
      {"boot.nohz_full", "nohz_full", "/sys/devices/system/cpu/nohz_full", true},
      {"boot.rcu_nocbs", "rcu_nocbs", nullptr, true},
      {"boot.irqaffinity", "irqaffinity", nullptr, false},
      {"boot.kthread_cpus", "kthread_cpus", nullptr, false},
  };
  std::string fix = boot_fix(c);
  auto arg_fix = [&](const std::string& key) {
    if (!c.rt) return std::string();
    for (auto& [k, v] : rt_boot_args(*c.rt, c.facts.online_cpus))
      if (k == key) return std::string("add boot argument ").append(k).append("=").append(v);
    return std::string("no housekeeping CPU left: leave at least one CPU out of --cpus");
  };
  int bad = 0;
  for (const auto& a : kArgs) {
    std::optional<CpuSet> set = cmdline_cpus(cmd, a.key);
    std::string file = "/proc/cmdline";
    std::string value =
        set ? std::string(a.key) + "=" + cmdline_arg(cmd, a.key) : std::string("no ") + a.key + "=";
    if (a.sysfs) {
      std::string v = c.p.value(a.sysfs);
      auto s = to_cpus(v);
      if (s && !s->empty()) {
        set = s;
        file = a.sysfs;
        value = v;
      }
    }
    if (!c.rt) {
      c.add(a.id, Severity::Info, std::string(a.key) + ": " + kNeedCpus, file, value);
      continue;
    }
    bool ok = set && (a.covers ? set->contains(*c.rt) : set->intersect(*c.rt).empty() && !set->empty());
    Severity bad_sev = std::string(a.key) == "kthread_cpus" ? Severity::Info : Severity::Warn;
    if (ok) {
      c.add(a.id, Severity::Pass,
            std::string(a.key) + (a.covers ? " covers RT CPUs " : " keeps off RT CPUs ") + c.rt->to_string(),
            file, value);
    } else {
      ++bad;
      c.add(a.id, bad_sev,
            std::string(a.key) + (a.covers ? " does not cover RT CPUs " : " does not keep off RT CPUs ") +
                c.rt->to_string(),
            file, value, arg_fix(a.key) + "   (full line: see boot.loader)");
    }
  }
  bool extlinux = c.p.exists("/boot/extlinux/extlinux.conf");
  std::string loader_file = extlinux ? "/boot/extlinux/extlinux.conf" : "/etc/default/grub";
  std::optional<std::string> current;
  if (auto t = c.p.read(loader_file)) current = extlinux ? extlinux_append(*t) : grub_cmdline(*t);
  std::string lvalue =
      current ? *current : std::string("(no ") + (extlinux ? "APPEND line" : "GRUB_CMDLINE_LINUX") + ")";
  if (!c.rt)
    c.add("boot.loader", Severity::Info,
          std::string("boot arguments live in ") + loader_file + "; " + kNeedCpus, loader_file, lvalue);
  else if (bad == 0)
    c.add("boot.loader", Severity::Pass, "boot arguments isolate RT CPUs " + c.rt->to_string(), loader_file,
          lvalue);
  else
    c.add("boot.loader", Severity::Info, "boot arguments to add (" + loader_file + ")", loader_file, lvalue,
          fix);
}

// ---- runtime state ----------------------------------------------------------

struct Proc {
  std::string pid, comm;
};

std::vector<Proc> processes(const Probe& p) {
  std::vector<Proc> out;
  for (auto& e : p.list("/proc")) {
    if (e.empty() || !std::all_of(e.begin(), e.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      continue;
    std::string comm = p.value("/proc/" + e + "/comm");
    if (!comm.empty()) out.push_back({e, comm});
  }
  return out;
}

std::string status_field(const std::string& status, const std::string& key) {
  size_t pos = status.find(key + ":");
  if (pos == std::string::npos) return {};
  size_t end = status.find('\n', pos);
  std::string v = status.substr(pos + key.size() + 1,
                                end == std::string::npos ? std::string::npos : end - pos - key.size() - 1);
  size_t b = v.find_first_not_of(" \t");
  return b == std::string::npos ? std::string() : v.substr(b);
}

// Tracing and scheduler statistics left on in production (the practice
// checklist): a tracer such as function or function_graph costs every kernel
// call, enabled events cost each event, schedstats an update per switch.
void check_tracing(Ctx& c) {
  std::string dir;
  for (const char* d : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
    if (c.p.exists(std::string(d) + "/current_tracer")) {
      dir = d;
      break;
    }
  const std::string schedstats = c.p.value("/proc/sys/kernel/sched_schedstats");
  std::vector<std::string> on;
  std::string fix;
  std::string value = "schedstats=" + (schedstats.empty() ? std::string("absent") : schedstats);
  if (!dir.empty()) {
    const std::string tracer = c.p.value(dir + "/current_tracer");
    std::string events = c.p.value(dir + "/set_event");
    for (char& ch : events)
      if (ch == '\n') ch = ' ';
    value = "current_tracer=" + tracer + " set_event=" + (events.empty() ? "(none)" : shorten(events, 80)) +
            " " + value;
    if (!tracer.empty() && tracer != "nop") {
      on.push_back("the " + tracer + " tracer");
      fix += "echo nop > " + dir + "/current_tracer; ";
    }
    if (!events.empty()) {
      on.push_back("trace events");
      fix += "echo > " + dir + "/set_event; ";
    }
  }
  if (schedstats == "1") {
    on.push_back("schedstats");
    fix += "sysctl -w kernel.sched_schedstats=0; ";
  }
  const std::string src = dir.empty() ? "/proc/sys/kernel/sched_schedstats" : dir + "/current_tracer";
  if (on.empty()) {
    c.add("runtime.tracing", Severity::Pass,
          dir.empty() ? "tracefs not mounted and schedstats off: nothing traced"
                      : "no tracer, no trace event, schedstats off",
          src, value);
  } else {
    fix.resize(fix.size() - 2);
    c.add("runtime.tracing", Severity::Warn,
          join(on, ", ") + " left on: each costs CPU time on every CPU, RT CPUs included", src, value, fix);
  }
}

// The console as a latency source: kernel messages at or above the console
// log level are written to a serial console with the port's lock held, for
// milliseconds at 115200 baud.
void check_console(Ctx& c) {
  const std::string f = "/proc/sys/kernel/printk";
  const std::string v = c.p.value(f);
  std::string serial;
  std::string_view rest = c.facts.cmdline;
  for (size_t at = rest.find("console="); at != std::string_view::npos; at = rest.find("console=", at + 1)) {
    if (at != 0 && rest[at - 1] != ' ') continue;
    std::string_view arg = rest.substr(at + 8);
    arg = arg.substr(0, arg.find_first_of(" ,"));
    if (arg.rfind("tty", 0) == 0 && arg.rfind("tty0", 0) != 0 && arg.rfind("tty1", 0) != 0) serial = arg;
  }
  const auto level = to_ll(v.substr(0, v.find_first_of(" \t")));
  const std::string value = "printk=" + (v.empty() ? std::string("absent") : v) +
                            " console=" + (serial.empty() ? std::string("(no serial console)") : serial);
  if (!level) {
    c.add("runtime.console", Severity::Info, "console log level unreadable", f, value);
  } else if (serial.empty() || *level <= 4) {
    c.add("runtime.console", Severity::Pass,
          serial.empty() ? "no serial console on the kernel command line"
                         : "console log level " + std::to_string(*level) +
                               ": only errors and worse reach the serial console",
          f, value);
  } else {
    c.add("runtime.console", Severity::Warn,
          "console log level " + std::to_string(*level) + " on serial console " + serial +
              ": every kernel message up to that level is written to the port, milliseconds each at 115200 "
              "baud, on whichever CPU logs it",
          f, value, "sysctl -w kernel.printk='4 4 1 7' (or boot with loglevel=4 or quiet)");
  }
}

// runtime.irq_threads: with threadirqs (or PREEMPT_RT, which forces it) each
// handler runs in an irq/N-name kthread at SCHED_FIFO 50
// (kernel/irq/manage.c, setup_irq_thread: sched_set_fifo()). An RT cell above
// that priority that waits for its device in a loop starves the very IRQ
// thread that would complete the wait; without threading, hard handlers
// preempt every task and their length is nobody's to budget.
void check_irq_threads(Ctx& c, const std::vector<Proc>& procs) {
  const int want = c.rt_priority.value_or(80);
  const std::string whose = c.rt_priority ? "the cells' highest RT priority " + std::to_string(want)
                                          : "RT priority 80 (the default; -f cells.yaml gives the cells')";
  bool threaded = c.facts.preempt_model == "PREEMPT_RT";
  for (const auto& a : parse_cmdline(c.facts.cmdline)) threaded = threaded || a.key == "threadirqs";
  std::vector<std::string> below;
  int n = 0, lo = 100;
  std::string lo_pid;
  for (const auto& pr : procs) {
    if (pr.comm.rfind("irq/", 0) != 0) continue;
    std::string st = c.p.value("/proc/" + pr.pid + "/stat");
    size_t close = st.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> tok;
    std::string cur;
    for (char ch : st.substr(close + 1)) {
      if (ch == ' ') {
        if (!cur.empty()) tok.push_back(cur);
        cur.clear();
      } else {
        cur += ch;
      }
    }
    if (!cur.empty()) tok.push_back(cur);
    if (tok.size() < 39) continue;  // field 41 (policy) is token 38 after the comm
    auto prio = to_ll(tok[37]);
    if (!prio) continue;
    ++n;
    if (*prio < lo) {
      lo = static_cast<int>(*prio);
      lo_pid = pr.pid;
    }
    if (*prio < want) below.push_back(pr.comm + "(" + pr.pid + "):" + std::to_string(*prio));
  }
  const std::string f = "/proc/*/comm (irq/*), /proc/*/stat (rt_priority)";
  if (n == 0) {
    if (threaded)
      c.add("runtime.irq_threads", Severity::Info, "IRQs are threaded but no irq/* thread is visible", f,
            "none");
    else
      c.add("runtime.irq_threads", Severity::Warn,
            "IRQ handlers are not threaded (no threadirqs, not PREEMPT_RT): they preempt every RT task and "
            "cannot be prioritised against the cells",
            "/proc/cmdline", c.facts.cmdline.empty() ? "absent" : c.facts.cmdline,
            "boot with threadirqs (or a PREEMPT_RT kernel, which threads them)");
    return;
  }
  std::string value = std::to_string(n) + " IRQ threads, lowest SCHED_FIFO " + std::to_string(lo) + "; " +
                      shorten(join(below, " "), 100);
  if (below.empty())
    c.add("runtime.irq_threads", Severity::Pass, std::to_string(n) + " IRQ threads, none below " + whose, f,
          value);
  else
    c.add("runtime.irq_threads", c.rt_priority ? Severity::Warn : Severity::Info,
          std::to_string(below.size()) + " of " + std::to_string(n) + " IRQ threads run below " + whose +
              ": a cell above the IRQ thread of a device it waits for starves that device",
          f, value,
          "raise the IRQ threads of the devices the cells use above them: chrt -f -p " +
              std::to_string(std::min(want + 1, 99)) + " <pid of irq/N-device> (e.g. " + lo_pid +
              "), or run the cells below " + std::to_string(lo));
}

void check_runtime(Ctx& c) {
  const std::string hk = c.hk.to_string();
  {
    std::string f = "/proc/sys/kernel/sched_rt_runtime_us";
    std::string v = c.p.value(f);
    std::string period = c.p.value("/proc/sys/kernel/sched_rt_period_us");
    if (v.empty())
      c.add("runtime.rt_throttling", Severity::Info, "unreadable", f, "absent");
    else if (v == "-1")
      c.add("runtime.rt_throttling", Severity::Info,
            "RT throttling off: a runaway RT task can starve everything else on its CPU", f, v,
            "sysctl -w kernel.sched_rt_runtime_us=950000   # to turn the safety net back on");
    else
      c.add("runtime.rt_throttling", Severity::Pass,
            "RT throttling on: RT tasks get " + v + " us per " + (period.empty() ? "?" : period) +
                " us; a runaway RT task cannot lock up a CPU",
            f, v);
  }
  {
    std::string f = "/proc/sys/kernel/timer_migration";
    std::string v = c.p.value(f);
    if (v == "0")
      c.add("runtime.timer_migration", Severity::Pass, "timer migration off", f, v);
    else
      c.add("runtime.timer_migration", v.empty() ? Severity::Info : Severity::Warn,
            v.empty() ? "unreadable" : "timer migration on: timers may move onto RT CPUs", f,
            v.empty() ? "absent" : v, "sysctl -w kernel.timer_migration=0");
  }
  {
    std::string f = "/proc/sys/vm/stat_interval";
    std::string v = c.p.value(f);
    auto n = to_ll(v);
    if (n && *n >= 10)
      c.add("runtime.stat_interval", Severity::Pass, "vmstat interval " + v + " s", f, v);
    else
      c.add("runtime.stat_interval", n ? Severity::Warn : Severity::Info,
            n ? "vmstat work every " + v + " s interrupts RT CPUs" : "unreadable", f, n ? v : "absent",
            "sysctl -w vm.stat_interval=10");
  }
  {
    std::string wd = c.p.value("/proc/sys/kernel/watchdog");
    std::string f = "/proc/sys/kernel/watchdog_cpumask";
    std::string mask = c.p.value(f);
    std::string nmi = c.p.value("/proc/sys/kernel/nmi_watchdog");
    std::string value = "watchdog=" + wd + " nmi_watchdog=" + nmi + " watchdog_cpumask=" + mask;
    auto set = to_cpus(mask);
    if (wd == "0")
      c.add("runtime.watchdog", Severity::Pass, "lockup watchdogs off", "/proc/sys/kernel/watchdog", value);
    else if (!c.rt)
      c.add("runtime.watchdog", Severity::Info, std::string("watchdogs on; ") + kNeedCpus, f, value);
    else if (set && set->intersect(*c.rt).empty())
      c.add("runtime.watchdog", Severity::Pass, "watchdogs kept off RT CPUs", f, value);
    else
      c.add("runtime.watchdog", Severity::Warn, "watchdog timers run on RT CPUs " + c.rt->to_string(), f,
            value, hk.empty() ? "sysctl -w kernel.watchdog=0" : "sysctl -w kernel.watchdog_cpumask=" + hk);
  }
  {
    std::string f = "/proc/swaps";
    auto t = c.p.read(f);
    size_t lines = 0;
    std::string first;
    if (t) {
      size_t pos = t->find('\n');
      while (pos != std::string::npos && pos + 1 < t->size()) {
        size_t end = t->find('\n', pos + 1);
        std::string l = t->substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
        if (!l.empty()) {
          ++lines;
          if (first.empty()) first = l.substr(0, l.find_first_of(" \t"));
        }
        pos = end;
      }
    }
    if (!t)
      c.add("runtime.swap", Severity::Info, "unreadable", f, "absent");
    else if (lines == 0)
      c.add("runtime.swap", Severity::Pass, "no swap", f, "none");
    else
      c.add("runtime.swap", Severity::Warn,
            std::to_string(lines) + " swap area(s) active: non-locked pages can fault for milliseconds", f,
            first, "swapoff -a   # and remove the swap entries from /etc/fstab");
  }
  {
    std::string f = "/sys/kernel/mm/transparent_hugepage/enabled";
    std::string raw = c.p.value(f);
    std::string v = parse_sysfs_choice(raw);
    if (raw.empty())
      c.add("runtime.thp", Severity::Pass, "transparent hugepages not built", f, "absent");
    else if (v == "always")
      c.add("runtime.thp", Severity::Warn, "transparent hugepages 'always': khugepaged compaction stalls", f,
            raw, "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled");
    else
      c.add("runtime.thp", Severity::Pass, "transparent hugepages '" + v + "'", f, raw);
  }

  auto procs = processes(c.p);
  {
    bool running =
        std::any_of(procs.begin(), procs.end(), [](const Proc& pr) { return pr.comm == "irqbalance"; });
    std::string cfg = c.p.value("/etc/default/irqbalance");
    std::string banned;
    for (const char* key : {"IRQBALANCE_BANNED_CPULIST="}) {
      size_t pos = cfg.find(key);
      if (pos != std::string::npos && (pos == 0 || cfg[pos - 1] == '\n')) {
        std::string v = cfg.substr(pos + std::string(key).size());
        v = v.substr(0, v.find('\n'));
        v.erase(std::remove(v.begin(), v.end(), '"'), v.end());
        banned = v;
      }
    }
    auto bset = to_cpus(banned);
    std::string fix =
        c.rt ? "echo 'IRQBALANCE_BANNED_CPULIST=" + c.rt->to_string() +
                   "' >> /etc/default/irqbalance && systemctl restart irqbalance   (or: systemctl "
                   "disable --now irqbalance)"
             : "systemctl disable --now irqbalance";
    if (!running)
      c.add("runtime.irqbalance", Severity::Pass, "irqbalance not running", "/proc/*/comm", "no irqbalance");
    else if (c.rt && bset && bset->contains(*c.rt))
      c.add("runtime.irqbalance", Severity::Pass, "irqbalance running, RT CPUs banned",
            "/etc/default/irqbalance", "IRQBALANCE_BANNED_CPULIST=" + banned);
    else
      c.add("runtime.irqbalance", Severity::Warn,
            "irqbalance running" + std::string(c.rt ? " and may move IRQs onto RT CPUs " + c.rt->to_string()
                                                    : ": it undoes manual IRQ affinity"),
            "/etc/default/irqbalance", banned.empty() ? "no IRQBALANCE_BANNED_CPULIST" : banned, fix);
  }
  {
    if (!c.rt) {
      c.add("runtime.irq_affinity", Severity::Info, std::string("IRQ affinity: ") + kNeedCpus,
            "/proc/irq/*/smp_affinity_list", "");
    } else {
      std::vector<std::string> on_rt;
      int total = 0;
      for (auto& irq : c.p.list("/proc/irq")) {
        if (irq.empty() ||
            !std::all_of(irq.begin(), irq.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
          continue;
        auto aff = to_cpus(c.p.value("/proc/irq/" + irq + "/smp_affinity_list"));
        if (!aff) continue;
        ++total;
        if (!aff->intersect(*c.rt).empty()) on_rt.push_back(irq);
      }
      std::sort(on_rt.begin(), on_rt.end(), [](const std::string& a, const std::string& b) {
        return std::atoi(a.c_str()) < std::atoi(b.c_str());
      });
      if (total == 0)
        c.add("runtime.irq_affinity", Severity::Info, "no IRQ affinity files readable", "/proc/irq",
              "absent");
      else if (on_rt.empty())
        c.add("runtime.irq_affinity", Severity::Pass,
              "all " + std::to_string(total) + " IRQs kept off RT CPUs", "/proc/irq/*/smp_affinity_list",
              "none on " + c.rt->to_string());
      else
        c.add("runtime.irq_affinity", Severity::Warn,
              std::to_string(on_rt.size()) + " of " + std::to_string(total) + " IRQs may fire on RT CPUs " +
                  c.rt->to_string(),
              "/proc/irq/*/smp_affinity_list", "IRQs " + join(on_rt),
              "rtcell tune --cpus " + c.rt->to_string() + " --apply   (writes " + (hk.empty() ? "?" : hk) +
                  " to each /proc/irq/N/smp_affinity_list)");
    }
  }
  {
    CpuSet cpus = c.rt ? *c.rt : c.facts.online_cpus;
    std::string which = c.rt ? "RT CPUs" : "all CPUs";
    std::vector<std::string> bad_gov, bad_range;
    std::string gov_value, range_value;
    bool any = false;
    for (int cpu : cpus.cpus()) {
      std::string gov = c.cpufreq(cpu, "scaling_governor");
      if (gov.empty()) continue;
      any = true;
      std::string mn = c.cpufreq(cpu, "scaling_min_freq"), mx = c.cpufreq(cpu, "scaling_max_freq");
      if (gov_value.empty()) gov_value = "cpu" + std::to_string(cpu) + ": " + gov;
      if (range_value.empty())
        range_value =
            std::string("cpu").append(std::to_string(cpu)).append(": ").append(mn).append("-").append(mx);
      if (gov != "performance") bad_gov.push_back(std::to_string(cpu));
      if (mn != mx) bad_range.push_back(std::to_string(cpu));
    }
    std::string f = "/sys/devices/system/cpu/cpuN/cpufreq/";
    if (!any) {
      c.add("runtime.cpufreq_governor", Severity::Info, "no cpufreq on " + which + " (fixed clock or VM)",
            f + "scaling_governor", "absent");
      c.add("runtime.cpufreq_range", Severity::Info, "no cpufreq on " + which + " (fixed clock or VM)",
            f + "scaling_min_freq", "absent");
    } else {
      std::string set = c.rt ? c.rt->to_string() : "LIST";
      if (bad_gov.empty())
        c.add("runtime.cpufreq_governor", Severity::Pass, "governor 'performance' on " + which,
              f + "scaling_governor", gov_value);
      else
        c.add("runtime.cpufreq_governor", Severity::Warn,
              "governor not 'performance' on CPUs " + join(bad_gov), f + "scaling_governor", gov_value,
              "rtcell tune --cpus " + set + " --apply");
      if (bad_range.empty())
        c.add("runtime.cpufreq_range", Severity::Pass, "min = max frequency on " + which,
              f + "scaling_min_freq", range_value);
      else
        c.add("runtime.cpufreq_range", Severity::Warn,
              "frequency can scale on CPUs " + join(bad_range) + " (min != max)", f + "scaling_min_freq",
              range_value,
              c.jetson ? "jetson_clocks"
                       : "cpupower -c " + set + " frequency-set -g performance -d MAX -u MAX");
    }
  }
  {
    CpuSet cpus = c.rt ? *c.rt : c.facts.online_cpus;
    std::vector<std::string> deep;
    std::string value;
    bool any = false;
    constexpr long long kDeepUs = 20;  // exit latency that shows in a cyclictest max
    for (int cpu : cpus.cpus()) {
      std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cpuidle";
      for (auto& st : c.p.list(dir)) {
        if (st.rfind("state", 0) != 0) continue;
        any = true;
        std::string sdir = dir;
        sdir.append("/").append(st).append("/");
        std::string name = c.p.value(sdir + "name");
        auto lat = to_ll(c.p.value(sdir + "latency"));
        std::string dis = c.p.value(sdir + "disable");
        if (cpu == cpus.cpus().front())
          value += (value.empty() ? "" : " ") + name + ":" + (lat ? std::to_string(*lat) : "?") + "us";
        if (lat && *lat > kDeepUs && dis != "1") deep.push_back("cpu" + std::to_string(cpu) + "/" + name);
      }
    }
    std::string f = "/sys/devices/system/cpu/cpuN/cpuidle/stateK/{name,latency,disable}";
    if (!any)
      c.add("runtime.cpuidle", Severity::Pass, "no cpuidle states", f, "absent");
    else if (deep.empty())
      c.add("runtime.cpuidle", Severity::Pass, "no enabled idle state exits slower than 20 us", f, value);
    else
      c.add("runtime.cpuidle", Severity::Warn,
            std::to_string(deep.size()) +
                " enabled idle states exit slower than 20 us: " + shorten(join(deep, " "), 80),
            f, value,
            "hold /dev/cpu_dma_latency at 0 while RT work runs (rtcell run does), or echo 1 > "
            "/sys/devices/system/cpu/cpuN/cpuidle/stateK/disable");
  }
  {
    std::string f = "/dev/cpu_dma_latency";
    if (c.p.exists(f))
      c.add("runtime.cpu_dma_latency", Severity::Pass,
            "PM QoS device present; a process holding it open at 0 keeps CPUs out of deep idle", f,
            "present");
    else
      c.add("runtime.cpu_dma_latency", Severity::Warn,
            "no /dev/cpu_dma_latency: idle-state exits cannot be bounded", f, "absent",
            "build with CONFIG_PM_QOS (cpu_latency_qos) or disable deep idle states");
  }
  {
    if (!c.rt) {
      c.add("runtime.kthreads", Severity::Info, std::string("RCU/ksoftirqd threads: ") + kNeedCpus,
            "/proc/*/status", "");
    } else {
      std::vector<std::string> movable, pinned;
      for (auto& pr : procs) {
        bool rcu = pr.comm.rfind("rcu", 0) == 0;
        bool ksoft = pr.comm.rfind("ksoftirqd/", 0) == 0;
        if (!rcu && !ksoft) continue;
        auto allowed = to_cpus(status_field(c.p.value("/proc/" + pr.pid + "/status"), "Cpus_allowed_list"));
        if (!allowed || allowed->intersect(*c.rt).empty()) continue;
        // Per-CPU threads (ksoftirqd/N, rcuc/N) are bound to their CPU; the
        // rest (rcu_preempt, rcuog/N, rcuop/N) can be moved.
        bool per_cpu = ksoft || pr.comm.rfind("rcuc/", 0) == 0;
        (per_cpu ? pinned : movable).push_back(pr.comm);
      }
      std::string value = "movable: " + (movable.empty() ? std::string("none") : join(movable, " ")) +
                          "; per-CPU: " + (pinned.empty() ? std::string("none") : join(pinned, " "));
      if (movable.empty() && pinned.empty())
        c.add("runtime.kthreads", Severity::Pass, "no RCU or ksoftirqd thread may run on RT CPUs",
              "/proc/*/status", value);
      else if (movable.empty())
        c.add("runtime.kthreads", Severity::Info,
              "only per-CPU kthreads on RT CPUs (ksoftirqd/N, rcuc/N): keep softirq load off those CPUs",
              "/proc/*/status", value);
      else
        c.add("runtime.kthreads", Severity::Warn,
              std::to_string(movable.size()) + " RCU kthreads may run on RT CPUs " + c.rt->to_string(),
              "/proc/*/status", value,
              "boot with rcu_nocbs=" + c.rt->to_string() + (hk.empty() ? "" : " kthread_cpus=" + hk) +
                  (hk.empty() ? "" : "; now: taskset -pc " + hk + " <pid> for each listed thread"));
    }
  }
  check_tracing(c);
  check_console(c);
  check_irq_threads(c, procs);
}

// ---- security ---------------------------------------------------------------

void check_security(Ctx& c) {
  std::string f = "/sys/module/apparmor/parameters/enabled";
  std::string v = c.p.value(f);
  std::string boot =
      c.jetson ? "add 'apparmor=1 security=apparmor' to the APPEND line of /boot/extlinux/extlinux.conf"
               : "add 'apparmor=1 security=apparmor' to GRUB_CMDLINE_LINUX and update-grub";
  // rtcell applies no AppArmor profile to its cells (their confinement is
  // namespaces, seccomp and no capabilities): the rule is about the host's
  // own services, and says so.
  if (v == "Y")
    c.add("security.apparmor", Severity::Pass,
          "AppArmor enabled for the host's services (rtcell cells get no AppArmor profile)", f, v);
  else
    c.add(
        "security.apparmor", Severity::Warn,
        std::string(v.empty() ? "AppArmor not loaded" : "AppArmor disabled") +
            ": the host's services get no MAC confinement (rtcell cells use no AppArmor profile either way)",
        f, v.empty() ? "absent" : v, boot + ", then reboot");
}

// security.secure_boot: the UEFI variable SecureBoot-<EFI global GUID>
// (efivarfs: 4 bytes of attributes, then the 1-byte value; see
// Documentation/filesystems/efivarfs.rst). A custom RT kernel must be signed
// (or Secure Boot turned off) to boot, so "off" is a fact, not a failure.
void check_secure_boot(Ctx& c) {
  const std::string f = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";
  auto raw = c.p.read(f);
  if (raw && raw->size() >= 5) {
    bool on = (*raw)[4] == 1;
    c.add("security.secure_boot", on ? Severity::Pass : Severity::Info,
          on ? "UEFI Secure Boot enabled: a custom RT kernel and its modules must be signed to boot and load"
             : "UEFI Secure Boot disabled: any kernel boots (a custom RT kernel needs no signature)",
          f, on ? "1" : "0",
          "enable Secure Boot in the firmware setup (then sign custom kernels); mokutil --sb-state shows it");
  } else if (c.p.exists("/sys/firmware/efi")) {
    c.add("security.secure_boot", Severity::Info,
          "UEFI firmware, but its SecureBoot variable is not readable", f, "absent",
          "mount -t efivarfs efivarfs /sys/firmware/efi/efivars");
  } else {
    c.add("security.secure_boot", Severity::Info,
          std::string("no UEFI variables: Secure Boot state not exposed to Linux") +
              (c.jetson ? " (on a Jetson it is fused; the fuse state is read with NVIDIA's flashing tools "
                          "from the host)"
                        : ""),
          "/sys/firmware/efi", "absent",
          c.jetson ? "see the Jetson Linux developer guide, Security > Secure Boot" : "");
  }
}

// virt.readiness: what the hypervisor work (docs/hypervisor.md) needs of the
// host: KVM usable (/dev/kvm: on arm64 KVM initialises only when the kernel
// was entered at EL2, so it is also the EL2 evidence without dmesg), the
// interrupt controller (GICv3 on arm64, for vGIC), IOMMU groups (SMMU/VT-d,
// for device passthrough), CONFIG_KVM.
void check_virt(Ctx& c) {
  bool kvm = c.p.exists("/dev/kvm");
  size_t groups = c.p.list("/sys/kernel/iommu_groups").size();
  std::string irq = c.p.read("/proc/interrupts").value_or("");
  bool gicv3 = irq.find("GICv3") != std::string::npos;
  bool arm = gicv3 || irq.find("GIC") != std::string::npos || c.jetson;
  std::string cpuinfo = c.p.read("/proc/cpuinfo").value_or("");
  bool vmx = cpuinfo.find(" vmx") != std::string::npos || cpuinfo.find(" svm") != std::string::npos;
  std::string cfg = c.kconfig ? c.cfg("CONFIG_KVM") : "?";
  std::string value = std::string("/dev/kvm ") + (kvm ? "present" : "absent") + ", " +
                      std::to_string(groups) + " IOMMU groups, CONFIG_KVM=" + cfg +
                      (arm ? std::string(", GICv3 ") + (gicv3 ? "yes" : "no")
                           : std::string(", vmx/svm ") + (vmx ? "yes" : "no"));
  std::vector<std::string> missing, fix;
  if (!kvm) {
    missing.emplace_back("no /dev/kvm");
    fix.emplace_back(cfg == "n" ? "rebuild with CONFIG_KVM=y"
                     : arm      ? "modprobe kvm; the boot loader must enter the kernel at EL2"
                                : "enable VT-x/AMD-V in the firmware, modprobe kvm_intel or kvm_amd");
  }
  if (arm && !gicv3) missing.emplace_back("no GICv3 seen in /proc/interrupts");
  if (groups == 0) {
    missing.emplace_back("no IOMMU groups");
    fix.emplace_back(arm ? "enable the SMMU (arm-smmu in the device tree, CONFIG_ARM_SMMU_V3/ARM_SMMU)"
                         : "boot with intel_iommu=on (or amd_iommu=on) and enable VT-d/AMD-Vi");
  }
  std::string files = "/dev/kvm, /sys/kernel/iommu_groups, /proc/interrupts";
  if (missing.empty())
    c.add("virt.readiness", Severity::Pass, "ready for a hypervisor: KVM usable, IOMMU groups present", files,
          value);
  else
    c.add("virt.readiness", Severity::Info, "not ready for hypervisor work: " + join(missing, ", "), files,
          value, join(fix, "; "));
}

// ---- Jetson -----------------------------------------------------------------

// Package name -> installed version, from /var/lib/dpkg/status paragraphs.
std::map<std::string, std::string> dpkg_installed_versions(const std::string& text) {
  std::map<std::string, std::string> out;
  std::string pkg, status, version;
  auto flush = [&] {
    if (!pkg.empty() && status.find(" installed") != std::string::npos &&
        status.find("not-installed") == std::string::npos)
      out[pkg] = version;
    pkg.clear();
    status.clear();
    version.clear();
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty())
      flush();
    else if (line.rfind("Package: ", 0) == 0)
      pkg = line.substr(9);
    else if (line.rfind("Status: ", 0) == 0)
      status = line.substr(8);
    else if (line.rfind("Version: ", 0) == 0)
      version = line.substr(9);
    if (end == text.size()) break;
  }
  flush();
  return out;
}

// jetson.containers: JetPack 6 flashes without Docker; the NVIDIA container
// toolkit (nvidia-ctk, the runtime hook) is what gives containers the GPU.
void check_containers(Ctx& c) {
  const std::string f = "/var/lib/dpkg/status";
  auto v = dpkg_installed_versions(c.p.read(f).value_or(""));
  std::string docker;
  for (const char* d : {"docker-ce", "docker.io", "moby-engine"})
    if (v.count(d)) docker = std::string(d) + " " + v[d];
  std::string toolkit =
      v.count("nvidia-container-toolkit") ? "nvidia-container-toolkit " + v["nvidia-container-toolkit"] : "";
  std::string value = (docker.empty() ? std::string("no Docker package") : docker) + "; " +
                      (toolkit.empty() ? std::string("no nvidia-container-toolkit") : toolkit);
  if (!docker.empty() && !toolkit.empty())
    c.add("jetson.containers", Severity::Pass, "Docker and the NVIDIA container toolkit installed", f, value);
  else
    c.add("jetson.containers", Severity::Warn,
          std::string(docker.empty() ? "Docker is not installed (JetPack 6 flashes without it)" : "") +
              (docker.empty() && toolkit.empty() ? "; " : "") +
              (toolkit.empty() ? "the NVIDIA container toolkit is not installed: containers get no GPU" : ""),
          f, value,
          std::string("sudo apt install") + (docker.empty() ? " docker.io" : "") +
              (toolkit.empty() ? " nvidia-container-toolkit" : "") +
              " && sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker");
}

// jetson.module: which Orin module, how many cores are present and online
// (power modes switch cores off), and whether the RT CPUs share a cluster
// with housekeeping CPUs (an Orin cluster shares its L3 and its clock:
// cpufreq policies are per cluster).
void check_module(Ctx& c) {
  std::string model = c.p.value("/proc/device-tree/model");
  while (!model.empty() && model.back() == '\0') model.pop_back();
  auto present = to_cpus(c.p.value("/sys/devices/system/cpu/present"));
  const CpuSet& online = c.facts.online_cpus;
  std::map<std::string, CpuSet> clusters;
  for (int cpu : online.cpus()) {
    std::string d = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::string id = c.p.value(d + "cluster_id");
    if (id.empty()) id = c.p.value(d + "physical_package_id");
    if (!id.empty()) clusters[id] = clusters[id].unite(CpuSet::parse(std::to_string(cpu)));
  }
  std::string value = (model.empty() ? std::string("model unknown") : model) + "; online " +
                      online.to_string() + (present ? ", present " + present->to_string() : std::string());
  if (!clusters.empty()) {
    value += "; clusters";
    for (auto& [id, cpus] : clusters) value += " " + id + ":" + cpus.to_string();
  }
  const std::string f = "/proc/device-tree/model, /sys/devices/system/cpu/{present,online,cpuN/topology}";
  if (present && !online.contains(*present)) {
    c.add("jetson.module", Severity::Warn,
          "cores " + present->minus(online).to_string() +
              " are present but offline (the power mode turns them off): "
              "cells can use only " +
              online.to_string(),
          f, value, "sudo nvpmodel -m 0   (the mode with all cores on; check /etc/nvpmodel.conf)");
    return;
  }
  if (c.rt && !clusters.empty()) {
    std::vector<std::string> shared;
    for (auto& [id, cpus] : clusters)
      if (!cpus.intersect(*c.rt).empty() && !cpus.minus(*c.rt).empty())
        shared.push_back(id + ":" + cpus.to_string());
    if (!shared.empty()) {
      c.add("jetson.module", Severity::Info,
            "RT CPUs " + c.rt->to_string() + " share clusters with housekeeping CPUs (" + join(shared, " ") +
                "): the same L3 and clock",
            f, value,
            "give the RT cells whole clusters (e.g. --cpus " + clusters.rbegin()->second.to_string() + ")");
      return;
    }
  }
  c.add("jetson.module", Severity::Pass,
        (model.empty() ? std::string("module") : model) + ": all " + std::to_string(online.cpus().size()) +
            " cores online" + (c.rt && !clusters.empty() ? ", RT CPUs on whole clusters" : ""),
        f, value);
}

void check_jetson(Ctx& c) {
  const std::string rel_file = "/etc/nv_tegra_release";
  std::string rel_text = c.p.read(rel_file).value_or("");
  auto rel = parse_nv_tegra_release(rel_text);
  std::optional<L4tRow> row;
  std::string first_line = rel_text.substr(0, rel_text.find('\n'));
  if (!rel) {
    c.add("jetson.l4t", Severity::Warn, "cannot parse the L4T release", rel_file, first_line,
          "reinstall nvidia-l4t-core (it writes /etc/nv_tegra_release)");
  } else {
    row = find_l4t(rel->to_string());
    if (row)
      c.add("jetson.l4t", Severity::Pass,
            "L4T " + rel->to_string() + " = JetPack " + row->jetpack + ", kernel " + row->kernel +
                ", RT patch " + row->rt_patch + (row->verified ? "" : " (kernel not verified)") +
                (row->patch_verified ? "" : " (patch name not verified)"),
            rel_file, first_line);
    else
      c.add("jetson.l4t", Severity::Info, "L4T " + rel->to_string() + " is not in rtcell's release table",
            rel_file, first_line, "see docs/check.md (L4T table) for the releases rtcell knows");
  }

  const std::string& kr = c.facts.kernel_release;
  std::string base = kernel_base_version(kr);
  if (!row)
    c.add("jetson.kernel_match", Severity::Info, "unknown L4T release: kernel not compared",
          "/proc/sys/kernel/osrelease", kr);
  else if (base == row->kernel)
    c.add("jetson.kernel_match", Severity::Pass, "kernel " + base + " matches L4T " + row->l4t,
          "/proc/sys/kernel/osrelease", kr);
  else
    c.add("jetson.kernel_match", Severity::Warn,
          "kernel " + base + " is not L4T " + row->l4t + "'s " + row->kernel +
              ": NVIDIA's modules and the RT patch must match the kernel",
          "/proc/sys/kernel/osrelease", kr,
          "build L4T " + row->l4t + "'s kernel " + row->kernel + " with " + row->rt_patch);

  if (kr.size() >= 5 && kr.compare(kr.size() - 5, 5, "tegra") == 0)
    c.add("jetson.localversion", Severity::Pass, "LOCALVERSION ends in -tegra: module vermagic matches",
          "/proc/sys/kernel/osrelease", kr);
  else
    c.add("jetson.localversion", Severity::Warn,
          "kernel release does not end in -tegra: NVIDIA's prebuilt modules will not load (vermagic)",
          "/proc/sys/kernel/osrelease", kr, "rebuild with CONFIG_LOCALVERSION=\"-tegra\"");

  {
    std::string f = "/var/lib/nvpmodel/status";
    std::string v = c.p.value(f);
    auto mode = parse_nvpmodel_status(v);
    auto conf = parse_nvpmodel_conf(c.p.read("/etc/nvpmodel.conf").value_or(""));
    std::string name0 = conf.modes.count(0) ? conf.modes[0] : "MAXN";
    if (!mode)
      c.add("jetson.nvpmodel", Severity::Info, "power mode unknown", f, v.empty() ? "absent" : v,
            "sudo nvpmodel -m 0");
    else if (*mode == 0)
      c.add("jetson.nvpmodel", Severity::Pass, "power mode 0 (" + name0 + ")", f, v);
    else
      c.add("jetson.nvpmodel", Severity::Warn,
            "power mode " + std::to_string(*mode) +
                (conf.modes.count(*mode) ? " (" + conf.modes[*mode] + ")" : "") + ", not 0 (" + name0 + ")",
            f, v, "sudo nvpmodel -m 0");
  }
  {
    std::vector<std::string> low;
    std::string value;
    bool any = false;
    for (int cpu : c.facts.online_cpus.cpus()) {
      std::string mn = c.cpufreq(cpu, "scaling_min_freq"), mx = c.cpufreq(cpu, "cpuinfo_max_freq");
      if (mn.empty() || mx.empty()) continue;
      any = true;
      if (value.empty())
        value = std::string("cpu")
                    .append(std::to_string(cpu))
                    .append(": scaling_min_freq=")
                    .append(mn)
                    .append(" cpuinfo_max_freq=")
                    .append(mx);
      if (mn != mx) low.push_back(std::to_string(cpu));
    }
    std::string f = "/sys/devices/system/cpu/cpuN/cpufreq/scaling_min_freq";
    if (!any)
      c.add("jetson.clocks", Severity::Info, "no cpufreq: cannot tell whether jetson_clocks ran", f, "absent",
            "sudo jetson_clocks");
    else if (low.empty())
      c.add("jetson.clocks", Severity::Pass, "CPU clocks pinned at maximum (jetson_clocks applied)", f,
            value);
    else
      c.add("jetson.clocks", Severity::Warn,
            "CPUs " + join(low) + " may clock below maximum: jetson_clocks not applied", f, value,
            "sudo jetson_clocks");
  }
  {
    const std::string dir = "/sys/kernel/debug/tegra_mce/";
    struct Knob {
      const char* name;
      long long want;
    };
    static const Knob kKnobs[] = {{"rt_window_us", 100}, {"rt_fwd_progress_us", 20}, {"rt_safe_mask", 0x7f}};
    std::string value, fix;
    bool unreadable = false, ok = true;
    for (const auto& k : kKnobs) {
      std::string v = c.p.value(dir + k.name);
      if (v.empty()) unreadable = true;
      auto n = to_ll(v);
      if (!n || *n != k.want) ok = false;
      value += (value.empty() ? "" : " ") + std::string(k.name) + "=" + (v.empty() ? "?" : v);
      std::string want = k.want == 0x7f ? "0x7f" : std::to_string(k.want);
      fix.append(fix.empty() ? "" : "; ")
          .append("echo ")
          .append(want)
          .append(" > ")
          .append(dir)
          .append(k.name);
    }
    if (unreadable)
      c.add("jetson.tegra_mce", Severity::Info,
            "tegra_mce knobs unreadable (debugfs not mounted, not root, or not an Orin kernel)", dir, value,
            "mount -t debugfs none /sys/kernel/debug; then: " + fix);
    else if (ok)
      c.add("jetson.tegra_mce", Severity::Pass, "tegra_mce RT knobs set (100/20/0x7f)", dir, value);
    else
      c.add("jetson.tegra_mce", Severity::Warn,
            "tegra_mce RT knobs not set: an RT kernel measures like a stock one", dir, value,
            fix + "   (or: rtcell tune --apply)");
  }
  {
    std::string f = "/var/lib/dpkg/status";
    auto st = parse_dpkg_status(c.p.read(f).value_or(""));
    std::vector<std::string> unheld, held;
    for (auto& [pkg, status] : st) {
      if (pkg.rfind("nvidia-l4t-kernel", 0) != 0 && pkg.rfind("nvidia-l4t-rt-kernel", 0) != 0) continue;
      if (status.find("installed") == std::string::npos || status.find("not-installed") != std::string::npos)
        continue;
      (status.rfind("hold", 0) == 0 ? held : unheld).push_back(pkg);
    }
    bool rt = c.facts.preempt_model == "PREEMPT_RT";
    if (held.empty() && unheld.empty())
      c.add("jetson.apt_hold", Severity::Info, "no nvidia-l4t-kernel packages installed (custom kernel?)", f,
            "none");
    else if (unheld.empty())
      c.add("jetson.apt_hold", Severity::Pass, "L4T kernel packages on hold", f, join(held, " "));
    else
      c.add("jetson.apt_hold", rt ? Severity::Warn : Severity::Info,
            std::string("L4T kernel packages not on hold: apt upgrade ") +
                (rt ? "will silently replace the RT kernel" : "may replace a custom kernel"),
            f, join(unheld, " "), "sudo apt-mark hold " + join(unheld, " "));
  }
  {
    std::string f = "/etc/docker/daemon.json";
    auto t = c.p.read(f);
    if (!t) {
      c.add("jetson.docker_runtime", Severity::Info, "Docker not configured (no daemon.json)", f, "absent",
            "sudo nvidia-ctk runtime configure --runtime=docker   # only if you use Docker");
    } else {
      auto j = nlohmann::json::parse(*t, nullptr, false);
      bool ok = !j.is_discarded() && j.is_object() && j.contains("runtimes") && j["runtimes"].is_object() &&
                j["runtimes"].contains("nvidia");
      std::string def = (!j.is_discarded() && j.is_object() && j.contains("default-runtime") &&
                         j["default-runtime"].is_string())
                            ? j["default-runtime"].get<std::string>()
                            : "";
      if (ok)
        c.add(
            "jetson.docker_runtime", Severity::Pass,
            "NVIDIA container runtime registered" + (def.empty() ? std::string() : " (default: " + def + ")"),
            f, "runtimes.nvidia");
      else
        c.add("jetson.docker_runtime", Severity::Warn,
              j.is_discarded() ? "daemon.json is not valid JSON" : "NVIDIA container runtime not registered",
              f, shorten(*t, 80),
              "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker");
    }
  }
  {
    std::string f = "/etc/cdi/nvidia.yaml";
    auto t = c.p.read(f);
    if (!t && c.p.exists("/var/run/cdi/nvidia.yaml")) {
      f = "/var/run/cdi/nvidia.yaml";
      t = c.p.read(f);
    }
    std::string fix = "sudo nvidia-ctk cdi generate --mode=csv --output=/etc/cdi/nvidia.yaml";
    if (!t)
      c.add("jetson.cdi", Severity::Warn,
            "no CDI spec: podman --device nvidia.com/gpu=all fails with 'unresolvable CDI devices'", f,
            "absent", fix);
    else if (t->find("/dev/nvmap") != std::string::npos || t->find("nvhost") != std::string::npos ||
             t->find("host-files-for-container") != std::string::npos)
      c.add("jetson.cdi", Severity::Pass, "CDI spec generated for Tegra (csv mode)", f,
            "mentions Tegra devices");
    else
      c.add("jetson.cdi", Severity::Warn, "CDI spec lacks Tegra devices: generated without --mode=csv", f,
            "no /dev/nvmap or nvhost entries", fix);
  }
  check_containers(c);
  check_module(c);
}

// The kernel-config rules on a .config that is not (yet) the running kernel:
// only what the file itself can prove, under the ids the live check uses.
void check_kconfig_file(Ctx& c) {
  std::string model = c.cfg("CONFIG_PREEMPT_RT") == "y"          ? "PREEMPT_RT"
                      : c.cfg("CONFIG_PREEMPT") == "y"           ? "full"
                      : c.cfg("CONFIG_PREEMPT_VOLUNTARY") == "y" ? "voluntary"
                      : c.cfg("CONFIG_PREEMPT_NONE") == "y"      ? "none"
                                                                 : "unknown";
  if (model == "PREEMPT_RT")
    c.add("kernel.preempt_rt", Severity::Pass, "PREEMPT_RT configured", c.cfg_file(), "CONFIG_PREEMPT_RT=y");
  else
    c.add(
        "kernel.preempt_rt", Severity::Fail,
        "not configured for PREEMPT_RT (preemption model '" + model +
            "'): this kernel gives no RT guarantees",
        c.cfg_file(), "CONFIG_PREEMPT_RT=" + c.cfg("CONFIG_PREEMPT_RT"),
        "set CONFIG_PREEMPT_RT=y (Linux >= 6.12 has it; older trees need the RT patch first): rtcell kernel "
        "config --source DIR");
  c.add("kernel.config", Severity::Pass, "kernel config readable", c.cfg_file(),
        std::to_string(c.kconfig->config.size()) + " options");
  check_kconfig_tick(c);
  if (c.cfg("CONFIG_RT_GROUP_SCHED") == "y")
    c.add("kernel.rt_group_sched", Severity::Info,
          "RT group scheduling built in: a new cgroup gets RT runtime 0, so every RT cell needs a budget "
          "(rtcell run sets cpu.rt_runtime_us on a v1 cpu controller)",
          c.cfg_file(), "CONFIG_RT_GROUP_SCHED=y");
  else
    c.add("kernel.rt_group_sched", Severity::Pass, "no RT group scheduling: RT tasks need no cgroup budget",
          c.cfg_file(), "CONFIG_RT_GROUP_SCHED=" + c.cfg("CONFIG_RT_GROUP_SCHED"));
}

}  // namespace

std::vector<Finding> run_kconfig_checks(const std::string& file, const KernelConfig& config) {
  Probe probe("/");  // unused: these rules read only the config
  Ctx c{probe, std::nullopt, HostFacts{}, std::nullopt, KernelConfigSource{config, file}, {}, false, {}, {}};
  check_kconfig_file(c);
  return std::move(c.out);
}

std::vector<Finding> run_checks(const CheckOptions& opts) {
  Probe probe(opts.root);
  Ctx c{probe, opts.rt_cpus, read_host_facts(opts.root), opts.rt_priority, std::nullopt, {}, false, {}, {}};
  c.kconfig = read_kernel_config(probe, c.facts.kernel_release);
  c.mounts = probe.read("/proc/mounts").value_or("");
  c.jetson = probe.exists("/etc/nv_tegra_release");
  if (c.rt) c.hk = c.facts.online_cpus.minus(*c.rt);
  check_kernel(c);
  check_boot(c);
  check_runtime(c);
  check_security(c);
  check_secure_boot(c);
  check_virt(c);
  if (c.jetson) check_jetson(c);
  return std::move(c.out);
}

}  // namespace rtcell::host
