// rtcell check: is this host (or a captured tree, --root) ready for RT?
// Prints the findings of host::run_checks grouped by area (report/check.hpp
// renders them); exit 1 when any check fails, 0 otherwise.
#include "host/check.hpp"

#include <iostream>

#include "cli/command.hpp"
#include "host/facts.hpp"
#include "manifest/manifest.hpp"
#include "report/check.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cli {
namespace {

struct CheckFlags {
  std::string cpus;
  std::string manifest;
  std::string root = "/";
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

int run_check(const CheckFlags& f) {
  host::CheckOptions opts;
  opts.root = f.root;
  auto facts = host::read_host_facts(f.root);
  if (f.root != "/" && facts.kernel_release.empty() && facts.online_cpus.empty())
    usage_error("--root " + f.root +
                " has no proc/sys/kernel/osrelease nor sys/devices/system/cpu/online: not a host tree");
  opts.rt_cpus = rt_cpus_of(f, facts.online_cpus);
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
      app.add_flag("--json", f->json, "print machine-readable JSON");
      return [f] { return run_check(*f); };
    }}};

}  // namespace
}  // namespace rtcell::cli
