// rtcell sim FILE [--scheduler credit|rtds|partitioned] [--duration 10s]
// [--seed N] [--json] [--svg FILE] ...: simulate a manifest's VMs on their
// physical CPUs (docs/hypervisor.md "Simulator"). RTDS takes each vCPU's
// (Π, Θ) from the VM admission, as `rtcell emit xen` does. Exit 0 when no
// job missed its deadline, 1 when one did, 2 for input that cannot run.
#include "report/sim.hpp"

#include <fstream>
#include <iostream>
#include <map>

#include "cli/command.hpp"
#include "manifest/manifest.hpp"
#include "rtcell/analysis/vm.hpp"
#include "rtcell/error.hpp"
#include "sim/sim.hpp"
#include "util/units.hpp"

namespace rtcell::cli {

namespace {

struct Options {
  std::string file;
  std::string scheduler = "rtds";
  std::string duration = "10s";
  uint64_t seed = 1;
  bool json = false;
  std::string svg;
  std::string budget_delta;
  std::string on_miss = "keep";
  std::string server = "deferrable";
  std::string affinity = "pinned";
  bool extratime = false;
  std::string driver;
  std::vector<std::string> io;
  std::string io_service = "100us";
  bool no_boost = false;
  std::vector<std::string> weights, caps;
};

sim::SimVm& find_vm(std::vector<sim::SimVm>& vms, const std::string& name, const char* flag) {
  for (auto& vm : vms)
    if (vm.name == name) return vm;
  usage_error(std::string() + flag + " " + name + ": no VM of that name in the manifest");
}

// "VM=N" for --weight and --cap.
void apply_numbers(std::vector<sim::SimVm>& vms, const std::vector<std::string>& items, const char* flag,
                   int lo, int hi, int sim::SimVm::*field) {
  for (const auto& it : items) {
    const auto eq = it.find('=');
    if (eq == std::string::npos) usage_error(std::string() + flag + " takes VM=N, not " + it);
    find_vm(vms, it.substr(0, eq), flag).*field =
        static_cast<int>(util::parse_int(it.substr(eq + 1), lo, hi, flag));
  }
}

// "-1us" shrinks every budget by 1 µs, "1us" grows it.
analysis::Time parse_delta(const std::string& s) {
  if (s.empty()) return 0;
  if (s[0] == '-') return -util::parse_time_ns(s.substr(1));
  return util::parse_time_ns(s[0] == '+' ? s.substr(1) : s);
}

template <typename E>
E pick(const std::string& value, const char* flag, std::initializer_list<std::pair<const char*, E>> choices) {
  std::string names;
  for (const auto& [name, e] : choices) {
    if (value == name) return e;
    names += names.empty() ? name : std::string("|") + name;
  }
  usage_error(std::string() + flag + " " + value + ": expected " + names);
}

int run(const Options& o) {
  using sim::HostScheduler;
  sim::SimOptions opt;
  opt.scheduler = pick<HostScheduler>(o.scheduler, "--scheduler",
                                      {{"credit", HostScheduler::Credit},
                                       {"rtds", HostScheduler::Rtds},
                                       {"partitioned", HostScheduler::Partitioned}});
  opt.on_miss = pick<sim::MissPolicy>(o.on_miss, "--on-miss",
                                      {{"keep", sim::MissPolicy::Keep}, {"drop", sim::MissPolicy::Drop}});
  opt.server = pick<sim::ServerKind>(
      o.server, "--server",
      {{"deferrable", sim::ServerKind::Deferrable}, {"periodic", sim::ServerKind::Periodic}});
  const bool pinned = pick<bool>(o.affinity, "--affinity", {{"pinned", true}, {"pool", false}});
  opt.duration = util::parse_duration_ns(o.duration);
  opt.seed = o.seed;
  opt.extratime = o.extratime;
  opt.io_service = util::parse_time_ns(o.io_service);
  opt.credit_boost = !o.no_boost;

  // A flag of another scheduler would be ignored silently: refuse it.
  if (opt.scheduler != HostScheduler::Rtds &&
      (!o.budget_delta.empty() || o.server != "deferrable" || o.extratime || o.affinity != "pinned"))
    usage_error("--budget-delta, --server, --extratime and --affinity apply to --scheduler rtds only");
  if (opt.scheduler != HostScheduler::Credit && (o.no_boost || !o.weights.empty() || !o.caps.empty()))
    usage_error("--no-boost, --weight and --cap apply to --scheduler credit only");
  const auto m = manifest::load(o.file);
  const auto specs = manifest::to_vm_specs(m);
  const auto verdict = analysis::admit_vms(specs);
  auto vms = sim::from_admission(specs, verdict, -parse_delta(o.budget_delta),
                                 pinned && opt.scheduler == HostScheduler::Rtds);
  if (!o.driver.empty()) find_vm(vms, o.driver, "--driver").driver = true;
  for (const auto& name : o.io)
    for (auto& v : find_vm(vms, name, "--io").vcpus)
      for (auto& t : v.tasks) t.io = 1;
  apply_numbers(vms, o.weights, "--weight", 1, 65535, &sim::SimVm::weight);
  apply_numbers(vms, o.caps, "--cap", 0, 100, &sim::SimVm::cap);
  if (opt.scheduler == HostScheduler::Rtds && !verdict.admitted)
    note("not every VM is admitted (rtcell admit " + o.file + "); simulating the budgets the analysis found");

  const auto result = sim::simulate(vms, opt);
  if (!o.svg.empty()) {
    std::ofstream f(o.svg);
    f << report::sim_svg(result);
    if (!f.flush()) usage_error("cannot write " + o.svg + "; give --svg a writable path");
  }
  if (o.json)
    std::cout << report::sim_json(result).dump(2) << "\n";
  else
    std::cout << report::sim_text(result);
  return result.total_misses() > 0 ? kExitNegative : kExitOk;
}

Registrar reg{
    Verb{"sim", "Simulate a manifest's VMs under Xen credit, Xen RTDS or a partitioning hypervisor", 36,
         [](CLI::App& app) -> Run {
           auto o = std::make_shared<Options>();
           app.add_option("FILE", o->file, "manifest with a vms: section (docs/hypervisor.md)")->required();
           app.add_option("--scheduler", o->scheduler, "credit, rtds (default) or partitioned");
           app.add_option("--duration", o->duration, "simulated time (default 10s)");
           app.add_option("--seed", o->seed, "seed of the release jitter (default 1)");
           app.add_flag("--json", o->json, "print the result as JSON");
           app.add_option("--svg", o->svg, "write a response-time plot to this file");
           app.add_option("--budget-delta", o->budget_delta, "RTDS: change every admitted budget, e.g. -1us");
           app.add_option("--on-miss", o->on_miss, "keep (default) or drop late jobs at their deadline");
           app.add_option("--server", o->server, "RTDS server: deferrable (Xen, default) or periodic");
           app.add_option("--affinity", o->affinity,
                          "RTDS: pinned (the admitted pCPU, default) or pool (the vCPU's cpus)");
           app.add_flag("--extratime", o->extratime, "RTDS: vCPUs without budget use idle time");
           app.add_option("--driver", o->driver, "the driver domain: this VM's vCPU 0 serves all I/O");
           app.add_option("--io", o->io, "each job of this VM's tasks ends with one I/O request");
           app.add_option("--io-service", o->io_service, "driver CPU time per request (default 100us)");
           app.add_flag("--no-boost", o->no_boost, "credit: no BOOST on wake-up");
           app.add_option("--weight", o->weights, "credit: VM=WEIGHT (default 256)");
           app.add_option("--cap", o->caps, "credit: VM=PERCENT of one CPU (default none)");
           return [o]() { return run(*o); };
         }}};

}  // namespace

}  // namespace rtcell::cli
