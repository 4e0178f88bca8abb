// rtcell tune: apply (--apply), preview (--dry-run, the default) or undo
// (--revert) the runtime-changeable fixes of rtcell check. The journal
// protocol lives in host/tune.hpp.
#include "host/tune.hpp"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/command.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cli {
namespace {

struct TuneFlags {
  std::string cpus;
  std::string root = "/";
  std::string state;
  bool dry_run = false;
  bool apply = false;
  bool revert = false;
  bool write_bootargs = false;
  bool no_rt_throttling = false;
  bool persist = false;
};

int run_tune(const TuneFlags& f) {
  if (static_cast<int>(f.dry_run) + static_cast<int>(f.apply) + static_cast<int>(f.revert) > 1)
    usage_error("choose one of --dry-run, --apply, --revert");
  host::TuneOptions opts;
  opts.root = f.root;
  opts.state_file = f.state;
  opts.write_bootargs = f.write_bootargs;
  opts.rt_throttling_off = f.no_rt_throttling;
  bool live = f.root.empty() || f.root == "/";
  if ((f.apply || f.revert) && live && ::geteuid() != 0)
    privilege_error("tune --apply/--revert writes /proc and /sys knobs: run as root (sudo rtcell tune ...)");

  if (f.revert) {
    auto res = host::revert_tune(opts);
    for (auto& l : res.lines) std::cout << l << '\n';
    std::cout << "reverted " << res.written << " value(s)\n";
    return kExitOk;
  }
  if (f.persist && !f.apply)
    usage_error("--persist goes with --apply: rtcell tune --cpus LIST --apply --persist");
  if (f.cpus.empty()) usage_error("--cpus LIST is required, e.g. rtcell tune --cpus 2-3 --dry-run");
  opts.rt_cpus = CpuSet::parse(f.cpus);
  auto plan = host::plan_tune(opts);
  if (!f.apply) {
    std::cout << "rtcell tune (dry run) for RT CPUs " << opts.rt_cpus.to_string() << ": "
              << plan.actions.size() + plan.commands.size() << " change(s), " << plan.already
              << " already tuned\n";
    for (const auto& a : plan.actions) {
      if (a.whole_file)
        std::cout << "  edit " << a.path << "  [" << a.why << "]\n";
      else
        std::cout << "  " << a.path << ": " << a.current << " -> " << a.target << "  [" << a.why << "]\n";
    }
    for (const auto& c : plan.commands) {
      std::string steps;
      for (const auto& st : c.steps) {
        std::string one;
        for (const auto& a : st) one += (one.empty() ? "" : " ") + a;
        steps += (steps.empty() ? "" : " && ") + one;
      }
      std::string undo;
      for (const auto& a : c.undo) undo += (undo.empty() ? "" : " ") + a;
      std::cout << "  run: " << steps << "  [" << c.why << "] (undo: " << undo << ")\n";
    }
    for (const auto& n : plan.notes) std::cout << "  note: " << n << '\n';
    std::cout << "apply with --apply; undo later with --revert (state: " << host::state_file_of(opts)
              << ")\n";
    return kExitOk;
  }
  if (f.persist) host::check_persist(opts);  // before anything changes
  auto res = host::apply_tune(opts, plan);
  if (f.persist) {
    std::error_code ec;
    const std::string self = std::filesystem::canonical("/proc/self/exe", ec).string();
    for (auto& l : host::persist_tune(opts, ec ? "/usr/bin/rtcell" : self)) res.lines.push_back(l);
  }
  for (auto& l : res.lines) std::cout << l << '\n';
  for (const auto& n : plan.notes) std::cout << "note: " << n << '\n';
  std::cout << "applied " << res.written << " change(s), skipped " << res.skipped
            << "; undo with: rtcell tune --revert" << (live ? "" : " --root " + f.root) << '\n';
  return kExitOk;
}

const Registrar kTune{Verb{
    "tune", "Apply (and exactly revert) runtime RT tuning for the given CPUs", 21, [](CLI::App& app) -> Run {
      auto f = std::make_shared<TuneFlags>();
      app.add_option("--cpus", f->cpus, "RT CPUs to tune for, e.g. 2-3 (required unless --revert)");
      app.add_flag("--dry-run", f->dry_run, "show what would change (the default)");
      app.add_flag("--apply", f->apply, "apply the changes, journaling previous values");
      app.add_flag("--revert", f->revert, "restore every journaled value exactly");
      app.add_flag("--write-bootargs", f->write_bootargs,
                   "also write the boot arguments into extlinux.conf or /etc/default/grub (backup kept)");
      app.add_flag("--no-rt-throttling", f->no_rt_throttling, "also set kernel.sched_rt_runtime_us=-1");
      app.add_flag("--persist", f->persist,
                   "with --apply: also install a systemd unit that applies the same tuning at every boot "
                   "(--revert removes it)");
      app.add_option("--root", f->root, "tune a host tree instead of / (a copy, for tests)");
      app.add_option("--state", f->state, "journal file (default <root>/var/lib/rtcell/tune.json)");
      return [f] { return run_tune(*f); };
    }}};

}  // namespace
}  // namespace rtcell::cli
