// rtcell check: is this host (or a captured tree, --root) ready for RT?
// Prints the findings of host::run_checks grouped by area (report/check.hpp
// renders them); exit 1 when any check fails, 0 otherwise.
#include "host/check.hpp"

#include <algorithm>
#include <iostream>

#include "cli/command.hpp"
#include "host/facts.hpp"
#include "host/probe.hpp"
#include "manifest/manifest.hpp"
#include "report/check.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cli {
namespace {

struct CheckFlags {
  std::string cpus;
  std::string manifest;
  std::string root = "/";
  std::string kconfig;
  bool json = false;
};

// The RT CPUs from --cpus or from the manifest's RT cells, checked against
// the host's online CPUs (exit 2 on a bad list or manifest).
std::optional<CpuSet> rt_cpus_of(const CheckFlags& f, const CpuSet& online) {
  if (!f.manifest.empty() && !f.cpus.empty())
    usage_error("give the RT CPUs once: --cpus LIST or -f cells.yaml");
  CpuSet set;
  std::string what = "--cpus";
  if (!f.manifest.empty()) {
    // manifest::rt_cpus: the union of the RT cells' cpus, what they need isolated.
    set = manifest::rt_cpus(manifest::load(f.manifest));
    what = f.manifest + ": RT cells' cpus";
    if (set.empty())
      usage_error(f.manifest +
                  " declares no RT cell with cpus (a cell with tasks, a fifo/rr/deadline sched or rtprio); "
                  "add cpus: to one or use --cpus LIST");
  } else {
    if (f.cpus.empty()) return std::nullopt;
    set = CpuSet::parse(f.cpus);
    if (set.empty()) usage_error("--cpus is empty; give the RT CPUs, e.g. --cpus 2-3");
  }
  if (!online.empty() && !online.contains(set))
    usage_error(what + " " + set.to_string() +
                " names CPUs that are not online (online: " + online.to_string() + ")");
  return set;
}

// --kconfig FILE: the config rules on a .config (plain or gzip, as
// /proc/config.gz), e.g. a tree configured by `rtcell kernel config`.
int run_kconfig_check(const CheckFlags& f) {
  if (!f.cpus.empty() || !f.manifest.empty() || f.root != "/")
    usage_error("--kconfig checks a config file alone: drop --cpus, -f and --root");
  host::Probe probe("/");
  auto raw = probe.read(f.kconfig);
  if (!raw) usage_error("--kconfig " + f.kconfig + ": cannot read it; give a kernel .config file");
  std::string text = *raw;
  if (auto unz = host::gunzip(text)) text = std::move(*unz);
  // xz (Debian's /usr/src/linux-config-*) and zstd are not read: say how.
  if (text.rfind("\xFD"
                 "7zXZ",
                 0) == 0 ||
      text.rfind("\x28\xB5\x2F\xFD", 0) == 0)
    usage_error("--kconfig " + f.kconfig + " is xz/zstd-compressed: decompress it first (xz -dc / zstd -dc " +
                f.kconfig + " > config) and give that file");
  auto config = host::parse_kconfig(text);
  if (config.empty())
    usage_error("--kconfig " + f.kconfig + " holds no CONFIG_ option: not a kernel .config");
  std::string version = host::kconfig_version(text);
  report::CheckReport r{f.kconfig, version, std::nullopt, host::run_kconfig_checks(f.kconfig, config)};
  if (f.json)
    std::cout << report::check_json(r).dump(2) << '\n';
  else
    std::cout << report::check_text(r, stdout_is_tty());
  return report::check_failed(r) ? kExitNegative : kExitOk;
}

// The highest SCHED_FIFO/RR priority the manifest's cells ask for: a task's
// priority, a cell's fifo/rr sched, or its rtprio grant; nullopt when none.
std::optional<int> highest_rt_priority(const manifest::Manifest& m) {
  std::optional<int> hi;
  auto take = [&](int p) { hi = std::max(hi.value_or(0), p); };
  for (const auto& cell : m.cells) {
    if (cell.rtprio) take(*cell.rtprio);
    if (cell.sched) {
      if (const auto* fifo = std::get_if<rt::Fifo>(&*cell.sched)) take(fifo->priority);
      if (const auto* rr = std::get_if<rt::Rr>(&*cell.sched)) take(rr->priority);
    }
    for (const auto& t : cell.tasks)
      if (t.priority) take(*t.priority);
  }
  return hi;
}

int run_check(const CheckFlags& f) {
  if (!f.kconfig.empty()) return run_kconfig_check(f);
  host::CheckOptions opts;
  opts.root = f.root;
  auto facts = host::read_host_facts(f.root);
  if (f.root != "/" && facts.kernel_release.empty() && facts.online_cpus.empty())
    usage_error("--root " + f.root +
                " has no proc/sys/kernel/osrelease nor sys/devices/system/cpu/online: not a host tree");
  opts.rt_cpus = rt_cpus_of(f, facts.online_cpus);
  if (!f.manifest.empty()) opts.rt_priority = highest_rt_priority(manifest::load(f.manifest));
  report::CheckReport r{f.root, facts.kernel_release, opts.rt_cpus, host::run_checks(opts)};
  if (f.json)
    std::cout << report::check_json(r).dump(2) << '\n';
  else
    std::cout << report::check_text(r, stdout_is_tty());
  return report::check_failed(r) ? kExitNegative : kExitOk;
}

const Registrar kCheck{Verb{
    "check", "Audit this host (or a captured tree) for real-time readiness", 20, [](CLI::App& app) -> Run {
      auto f = std::make_shared<CheckFlags>();
      app.add_option("--cpus", f->cpus, "RT CPUs to check isolation for, e.g. 2-3");
      app.add_option("-f,--file", f->manifest, "take the RT CPUs from a cells manifest (its RT cells' cpus)");
      app.add_option("--root", f->root, "audit a captured host tree instead of / (default /)");
      app.add_option(
          "--kconfig", f->kconfig,
          "check a kernel .config (plain or gzip) with the kernel-config rules instead of this host");
      app.add_flag("--json", f->json, "print machine-readable JSON");
      return [f] { return run_check(*f); };
    }}};

}  // namespace
}  // namespace rtcell::cli
