// rtcell admit FILE [--json]: decide before anything runs whether the tasks
// of a cell manifest meet their deadlines on the CPUs and budgets given,
// and print what the kernel must be told to enforce it. Exit 0 admitted,
// 1 rejected (an answer, not an error), 2 bad manifest.
#include "report/admit.hpp"

#include <iostream>

#include "cli/command.hpp"
#include "host/probe.hpp"
#include "manifest/manifest.hpp"
#include "rtcell/analysis/admission.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cli {

namespace {

struct Options {
  std::string file;
  bool json = false;
  std::string fit;
  int64_t rt_runtime_us = 950'000;
  int64_t rt_period_us = 1'000'000;
  int hz = 0;  // 0: the manifest's hz, else this host's CONFIG_HZ, else the default
};

Registrar reg{
    Verb{"admit", "Decide whether a cell manifest's tasks meet their deadlines (exit 0 yes, 1 no)", 30,
         [](CLI::App& app) -> Run {
           auto o = std::make_shared<Options>();
           app.add_option("FILE", o->file, "cell manifest (YAML), see docs/manifest.md")->required();
           app.add_flag("--json", o->json, "print the verdict as JSON");
           app.add_option("--fit", o->fit,
                          "partitioning heuristic: first, worst or best (default: the manifest's)");
           app.add_option("--sched-rt-runtime-us", o->rt_runtime_us,
                          "target host's /proc/sys/kernel/sched_rt_runtime_us (default 950000)");
           app.add_option("--sched-rt-period-us", o->rt_period_us,
                          "target host's /proc/sys/kernel/sched_rt_period_us (default 1000000)");
           app.add_option("--hz", o->hz,
                          "target kernel's CONFIG_HZ, the tick at which cgroup RT budgets are charged "
                          "(default: the manifest's hz, else this host's kernel config, else 100)")
               ->check(CLI::Range(1, 100'000));
           return [o]() -> int {
             auto m = manifest::load(o->file);
             auto opts = manifest::admit_options(m);
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
             if (o->rt_period_us <= 0 || o->rt_runtime_us < 0 || o->rt_runtime_us > o->rt_period_us)
               usage_error("--sched-rt-runtime-us must be within [0, --sched-rt-period-us]");
             opts.global = analysis::RtBandwidth{o->rt_period_us, o->rt_runtime_us};
             if (o->hz > 0) {
               opts.hz = o->hz;
               opts.hz_source = "--hz";
             } else if (!m.hz) {
               if (auto k = host::kernel_hz(host::Probe("/"))) {
                 opts.hz = k->hz;
                 opts.hz_source = "CONFIG_HZ of this host's kernel (" + k->file + ")";
               } else {
                 opts.hz_source = "default: no hz: in the manifest, no --hz, no readable kernel config";
               }
             }
             auto result = analysis::admit(manifest::to_cell_specs(m), opts);
             if (o->json)
               std::cout << report::admit_json(o->file, result).dump(2) << "\n";
             else
               std::cout << report::admit_text(o->file, result);
             return result.admitted ? kExitOk : kExitNegative;
           };
         }}};

}  // namespace

}  // namespace rtcell::cli
