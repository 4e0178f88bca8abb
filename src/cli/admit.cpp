// rtcell admit FILE [--json] [--root DIR] [--hz N]: decide before anything runs
// whether the tasks of a cell manifest meet their deadlines on the CPUs and
// budgets given, and print what the kernel must be told to enforce it.
// Exit 0 admitted, 1 rejected (an answer, not an error), 5 admitted but not
// enforceable on the target host (its kernel would refuse a parameter),
// 2 bad manifest (docs/errors.md).
#include "report/admit.hpp"

#include <iostream>

#include "cli/command.hpp"
#include "front/manifest_cell.hpp"
#include "host/facts.hpp"
#include "host/probe.hpp"
#include "manifest/manifest.hpp"
#include "report/vm.hpp"
#include "rtcell/analysis/admission.hpp"
#include "rtcell/error.hpp"
#include "util/units.hpp"

namespace rtcell::cli {

namespace {

struct Options {
  std::string file;
  bool json = false;
  bool running = false;
  std::string fit;
  std::string root;
  std::optional<int64_t> rt_runtime_us;
  std::optional<int64_t> rt_period_us;
  int hz = 0;  // 0: the target's CONFIG_HZ / the manifest's hz, else the default
  std::string room_period_text = "10ms";
  analysis::Time room_period = 10'000'000;
};

// The room per online CPU next to the running cells (their specs pinned as
// admitted), for admit --running.
std::vector<report::RoomRow> room_rows(const std::vector<front::RunningCell>& running,
                                       const analysis::AdmitOptions& opts, analysis::Time period) {
  std::vector<analysis::CellSpec> specs;
  specs.reserve(running.size());
  for (const auto& r : running) specs.push_back(r.spec);
  const analysis::AdmitResult now = analysis::admit(specs, opts);
  std::vector<report::RoomRow> rows;
  const host::HostFacts facts = host::read_cpu_facts("/");
  for (int cpu : facts.online_cpus.cpus()) {
    report::RoomRow row;
    row.cpu = cpu;
    for (const auto& c : now.cells)
      for (const auto& v : c.cpus)
        if (v.cpu == cpu && v.utilization > 0) {
          row.utilization += v.utilization;
          row.cells.push_back(c.name);
        }
    row.wcet = analysis::room_on_cpu(specs, opts, cpu, period).wcet;
    rows.push_back(std::move(row));
  }
  return rows;
}

int exit_code(analysis::Verdict v) {
  switch (v) {
    case analysis::Verdict::Admitted:
      return kExitOk;
    case analysis::Verdict::NotEnforceable:
      return kExitNotEnforceable;
    case analysis::Verdict::Rejected:
      break;
  }
  return kExitNegative;
}

Registrar reg{Verb{
    "admit",
    "Decide whether a cell manifest's tasks meet their deadlines (exit 0 yes, 1 no, 5 not enforceable here)",
    30, [](CLI::App& app) -> Run {
      auto o = std::make_shared<Options>();
      app.add_option("FILE", o->file, "cell manifest (YAML), see docs/manifest.md")->required();
      app.add_flag("--json", o->json, "print the verdict as JSON");
      app.add_flag("--running", o->running,
                   "admit against the cells running on this host (the admission ledger), as run -f does; "
                   "implies --root /");
      app.add_option("--room-period", o->room_period_text,
                     "with --running: the period of the task whose room per CPU is shown (default 10ms)");
      app.add_option("--fit", o->fit,
                     "partitioning heuristic: first, worst or best (default: the manifest's)");
      app.add_option("--root", o->root,
                     "the target host: read its scheduler limits under DIR (/ for this host, or a captured "
                     "tree); default: a default kernel with cgroup v1 RT group scheduling");
      app.add_option("--sched-rt-runtime-us", o->rt_runtime_us,
                     "target host's /proc/sys/kernel/sched_rt_runtime_us (-1: no RT throttling)");
      app.add_option("--sched-rt-period-us", o->rt_period_us,
                     "target host's /proc/sys/kernel/sched_rt_period_us");
      app.add_option("--hz", o->hz,
                     "target kernel's CONFIG_HZ, the tick at which cgroup RT budgets are charged (default: "
                     "with --root that kernel's config; else the manifest's hz, else this host's kernel "
                     "config, else 100)")
          ->check(CLI::Range(1, 100'000));
      return [o]() -> int {
        o->room_period = util::parse_duration_ns(o->room_period_text);
        if (o->room_period < 1'000'000 / 10 || o->room_period > 10'000'000'000)
          usage_error("--room-period must be between 100us and 10s, e.g. 10ms");
        auto m = manifest::load(o->file);
        if (o->running && o->root.empty()) o->root = "/";
        if (o->running && o->root != "/")
          usage_error("--running is this host's load: give --root / or no --root");
        auto opts = o->root.empty()
                        ? manifest::admit_options(m)
                        : front::host_admit_options(m, o->root, o->root == "/" ? "this host" : o->root);
        if (!o->fit.empty()) {
          if (o->fit == "first")
            opts.fit = analysis::Fit::First;
          else if (o->fit == "worst")
            opts.fit = analysis::Fit::Worst;
          else if (o->fit == "best")
            opts.fit = analysis::Fit::Best;
          else
            usage_error("--fit must be first, worst or best");
        }
        if (o->rt_period_us) opts.global.period_us = *o->rt_period_us;
        if (o->rt_runtime_us) opts.global.runtime_us = *o->rt_runtime_us;
        if (opts.global.period_us <= 0 || opts.global.runtime_us < -1 ||
            opts.global.runtime_us > opts.global.period_us)
          usage_error("--sched-rt-runtime-us must be -1 or within [0, --sched-rt-period-us]");
        if (o->rt_period_us || o->rt_runtime_us) opts.host += " (sched_rt_* as given)";
        if (o->hz > 0) {
          opts.hz = o->hz;
          opts.hz_source = "--hz";
        } else if (o->root.empty() && !m.hz) {
          if (auto k = host::kernel_hz(host::Probe("/"))) {
            opts.hz = k->hz;
            opts.hz_source = "CONFIG_HZ of this host's kernel (" + k->file + ")";
          } else {
            opts.hz_source = "default: no hz: in the manifest, no --hz, no readable kernel config";
          }
        }
        std::vector<analysis::CellSpec> specs = manifest::to_cell_specs(m);
        std::vector<front::RunningCell> running;
        if (o->running) {
          running = front::running_cells();
          specs = front::with_running(std::move(specs), o->file, running);
        }
        auto result = analysis::admit(specs, opts);
        // VMs (docs/hypervisor.md): their own two-level verdict, printed after
        // the cells'; a rejected VM makes the whole answer a rejection.
        const analysis::VmAdmitResult vms = analysis::admit_vms(manifest::to_vm_specs(m));
        std::vector<report::RoomRow> room;
        if (o->running) room = room_rows(running, opts, o->room_period);
        if (o->json) {
          nlohmann::json j = report::admit_json(o->file, result);
          if (o->running) j["room"] = report::room_json(room, o->room_period);
          if (!m.vms.empty()) {
            j["vms"] = report::vm_admit_json(vms);
            if (!vms.admitted) {
              j["admitted"] = false;
              j["verdict"] = std::string(analysis::to_string(analysis::Verdict::Rejected));
            }
          }
          std::cout << j.dump(2) << "\n";
        } else {
          if (!m.cells.empty() || m.vms.empty())
            std::cout << report::admit_text(o->file, result);
          else
            std::cout << o->file << ": " << (vms.admitted ? "ADMITTED" : "REJECTED") << " (" << m.vms.size()
                      << " vms)\n";
          if (o->running) std::cout << report::room_text(room, o->room_period, running.size());
          if (!m.vms.empty()) std::cout << report::vm_admit_text(vms);
          // The first line spoke for the cells only: say the whole answer last.
          if (!vms.admitted && !m.cells.empty())
            std::cout << "\n" << o->file << ": REJECTED (a vm is not admitted)\n";
        }
        if (!vms.admitted) return kExitNegative;
        return exit_code(analysis::verdict(result));
      };
    }}};

}  // namespace

}  // namespace rtcell::cli
