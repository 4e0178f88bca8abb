// rtcell check: is this host (or a captured tree, --root) ready for RT?
// Prints the findings of host::run_checks grouped by area; exit 1 when any
// check fails, 0 otherwise.
#include "host/check.hpp"

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "host/facts.hpp"
#include "manifest/manifest.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cli {
namespace {

struct CheckFlags {
  std::string cpus;
  std::string manifest;
  std::string root = "/";
  bool json = false;
};

const char* colour_of(host::Severity s) {
  switch (s) {
    case host::Severity::Pass:
      return "\033[32m";
    case host::Severity::Info:
      return "\033[36m";
    case host::Severity::Warn:
      return "\033[33m";
    case host::Severity::Fail:
      return "\033[31;1m";
  }
  return "";
}

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
  auto findings = host::run_checks(opts);

  std::map<host::Severity, int> count;
  for (const auto& x : findings) ++count[x.severity];
  bool failed = count[host::Severity::Fail] > 0;

  if (f.json) {
    nlohmann::json j;
    j["root"] = f.root;
    j["kernel"] = facts.kernel_release;
    if (opts.rt_cpus)
      j["rt_cpus"] = opts.rt_cpus->to_string();
    else
      j["rt_cpus"] = nullptr;
    j["summary"] = {{"pass", count[host::Severity::Pass]},
                    {"info", count[host::Severity::Info]},
                    {"warn", count[host::Severity::Warn]},
                    {"fail", count[host::Severity::Fail]}};
    j["verdict"] = failed ? "fail" : "ok";
    auto& arr = j["checks"] = nlohmann::json::array();
    for (const auto& x : findings)
      arr.push_back({{"id", x.id},
                     {"area", x.area},
                     {"severity", host::to_string(x.severity)},
                     {"message", x.message},
                     {"evidence", {{"file", x.file}, {"value", x.value}}},
                     {"fix", x.fix}});
    std::cout << j.dump(2) << '\n';
    return failed ? kExitNegative : kExitOk;
  }

  bool tty = stdout_is_tty();
  const char* reset = tty ? "\033[0m" : "";
  const char* dim = tty ? "\033[2m" : "";
  std::cout << "rtcell check: " << (f.root == "/" ? std::string("this host") : f.root) << ", kernel "
            << facts.kernel_release << ", RT CPUs "
            << (opts.rt_cpus ? opts.rt_cpus->to_string() : "not given") << '\n';
  std::string area;
  for (const auto& x : findings) {
    if (x.area != area) {
      area = x.area;
      std::cout << '\n' << (tty ? "\033[1m" : "") << area << reset << '\n';
    }
    std::string sev = host::to_string(x.severity);
    for (auto& ch : sev) ch = static_cast<char>(ch - 'a' + 'A');
    std::cout << "  " << (tty ? colour_of(x.severity) : "") << sev << reset << "  " << x.id << ": "
              << x.message << '\n';
    if (!x.file.empty())
      std::cout << "        " << dim << x.file << (x.value.empty() ? "" : " = " + x.value) << reset << '\n';
    if (!x.fix.empty()) std::cout << "        fix: " << x.fix << '\n';
  }
  std::cout << '\n'
            << count[host::Severity::Pass] << " pass, " << count[host::Severity::Info] << " info, "
            << count[host::Severity::Warn] << " warn, " << count[host::Severity::Fail] << " fail\n";
  return failed ? kExitNegative : kExitOk;
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
