// rtcell run: start a command in a real-time cell (docs/run.md). Parses the
// flags into a cell::RunSpec, lets cell::prepare() refuse bad input before
// anything exists, prints warnings and which path gave RT rights once, and
// returns the command's exit status.
#include <unistd.h>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cell/run_spec.hpp"
#include "cell/sandbox.hpp"
#include "cli/command.hpp"
#include "manifest/manifest.hpp"
#include "rtcell/analysis/admission.hpp"
#include "rtcell/error.hpp"
#include "rtcell/rt/sched.hpp"
#include "util/units.hpp"

namespace rtcell::cli {

namespace {

struct RunFlags {
  std::vector<std::string> command;
  std::string name, cgroup_root = "rtcell";
  std::string cpus, mems, memory, pids_max;
  std::string sched, rtprio, memlock, rt_runtime, rt_period;
  bool allow_prio_99 = false;
  std::vector<std::string> cap_add, cap_drop;
  std::string net = "host";
  std::string rootfs;
  std::vector<std::string> devices, volumes, tmpfs, env;
  std::string workdir = "/", hostname, user, seccomp;
  bool quiet = false;
  std::vector<std::string> file_cell;  // -f cells.yaml CELL
  std::string file;
  bool no_admit = false;
};

// `rtcell run -f FILE CELL [-- CMD...]`: the cell's declaration fills every
// flag the command line left unset (flags win; list flags add up), and the
// admission test runs first, so a cell whose tasks cannot meet their
// deadlines never starts. Returns the notes to print.
std::vector<std::string> apply_manifest(RunFlags& f) {
  std::vector<std::string> notes;
  f.file = f.file_cell.at(0);
  const std::string cell_name = f.file_cell.at(1);
  manifest::Manifest m = manifest::load(f.file);
  const manifest::CellDecl* c = manifest::find_cell(m, cell_name);
  if (!c) {
    std::string names;
    for (const auto& d : m.cells) names += (names.empty() ? "" : ", ") + d.name;
    usage_error("no cell '" + cell_name + "' in " + f.file + " (cells: " + names + ")");
  }
  if (f.command.empty()) f.command = c->command;
  if (f.command.empty())
    usage_error("cell '" + cell_name + "' in " + f.file +
                " has no command: add command: [...] or give -- CMD");
  if (f.name.empty()) f.name = c->name + "-" + std::to_string(::getpid());
  auto fill = [](std::string& flag, const auto& value, auto render) {
    if (flag.empty() && value) flag = render(*value);
  };
  auto str = [](const auto& v) { return std::string(v); };
  auto num = [](auto v) { return std::to_string(v); };
  fill(f.cpus, c->cpus, [](const CpuSet& s) { return s.to_string(); });
  fill(f.mems, c->mems, str);
  fill(f.memory, c->memory, num);
  fill(f.pids_max, c->pids_max, num);
  fill(f.sched, c->sched, [](const rt::Policy& p) { return rt::to_string(p); });
  fill(f.rtprio, c->rtprio, num);
  fill(f.memlock, c->memlock, num);
  fill(f.rt_runtime, c->rt_runtime_ns, [](int64_t ns) { return std::to_string(ns) + "ns"; });
  fill(f.rt_period, c->rt_period_ns, [](int64_t ns) { return std::to_string(ns) + "ns"; });
  if (f.rootfs.empty() && c->rootfs) f.rootfs = *c->rootfs;
  if (f.workdir == "/" && c->workdir) f.workdir = *c->workdir;
  fill(f.hostname, c->hostname, str);
  fill(f.user, c->user, str);
  if (f.seccomp.empty() && c->seccomp) f.seccomp = *c->seccomp == "none" ? "unconfined" : *c->seccomp;
  if (f.net == "host" && c->net == manifest::Net::None) f.net = "none";
  f.allow_prio_99 = f.allow_prio_99 || c->allow_prio_99;
  auto add = [](std::vector<std::string>& to, const std::vector<std::string>& from) {
    to.insert(to.begin(), from.begin(), from.end());
  };
  add(f.cap_add, c->cap_add);
  add(f.cap_drop, c->cap_drop);
  add(f.devices, c->devices);
  add(f.volumes, c->volumes);
  add(f.tmpfs, c->tmpfs);
  std::vector<std::string> env;
  for (const auto& [k, v] : c->env) env.push_back(k + "=" + v);
  add(f.env, env);

  if (c->tasks.empty()) return notes;
  if (f.no_admit) {
    notes.push_back("admission skipped (--no-admit): cell '" + cell_name + "' starts unchecked");
    return notes;
  }
  analysis::AdmitResult result = analysis::admit(manifest::to_cell_specs(m), manifest::admit_options(m));
  for (const auto& v : result.cells) {
    if (v.name != cell_name) continue;
    if (!v.admitted) {
      std::string why = v.diagnosis
                            ? v.diagnosis->problem + (v.diagnosis->fix.empty() ? "" : "; " + v.diagnosis->fix)
                            : "see rtcell admit " + f.file;
      throw Error(ErrorKind::Usage, "cell '" + cell_name + "' is not admitted: " + why + " (rtcell admit " +
                                        f.file + " explains; --no-admit starts it anyway)");
    }
    notes.push_back("admitted: every task of cell '" + cell_name + "' meets its deadline (rtcell admit " +
                    f.file + ")");
    if (f.rt_runtime.empty() && v.rt) {
      f.rt_runtime = std::to_string(v.rt->runtime_us);
      f.rt_period = std::to_string(v.rt->period_us);
      notes.push_back("RT budget from the admission analysis: " + f.rt_runtime + " us per " + f.rt_period +
                      " us");
    }
  }
  return notes;
}

cell::RunSpec to_spec(const RunFlags& f) {
  cell::RunSpec s;
  s.command = f.command;
  s.name = f.name;
  s.cgroup_root = f.cgroup_root;
  if (!f.cpus.empty()) {
    s.cpus = CpuSet::parse(f.cpus);
    if (s.cpus.empty()) usage_error("--cpus is empty: give a list such as 2-3");
  }
  s.mems = f.mems;
  if (!f.memory.empty()) s.memory_bytes = util::parse_bytes(f.memory);
  if (!f.pids_max.empty()) s.pids_max = util::parse_int(f.pids_max, 1, 4'194'304, "--pids-max");
  if (!f.sched.empty()) s.sched = rt::parse_policy(f.sched);
  if (!f.rtprio.empty()) s.rtprio = static_cast<int>(util::parse_int(f.rtprio, 1, 99, "--rtprio"));
  if (!f.memlock.empty()) s.memlock_bytes = util::parse_bytes(f.memlock);
  if (!f.rt_runtime.empty()) s.rt_runtime_us = util::parse_time_ns(f.rt_runtime, "us") / 1000;
  if (!f.rt_period.empty()) s.rt_period_us = util::parse_time_ns(f.rt_period, "us") / 1000;
  s.allow_prio_99 = f.allow_prio_99;
  s.cap_add = f.cap_add;
  s.cap_drop = f.cap_drop;
  s.net_none = f.net == "none";
  s.rootfs = f.rootfs;
  for (const auto& d : f.devices) s.devices.push_back(cell::parse_device(d));
  for (const auto& v : f.volumes) s.volumes.push_back(cell::parse_volume(v));
  s.tmpfs = f.tmpfs;
  s.workdir = f.workdir;
  s.env = f.env;
  s.hostname = f.hostname;
  if (!f.user.empty()) cell::parse_user(f.user, s.uid, s.gid);
  if (f.seccomp.empty() || f.seccomp == "default") {
    s.seccomp = cell::SeccompMode::Default;
  } else if (f.seccomp == "unconfined") {
    s.seccomp = cell::SeccompMode::Unconfined;
  } else {
    s.seccomp = cell::SeccompMode::File;
    s.seccomp_file = f.seccomp;
  }
  return s;
}

Run setup(CLI::App& app) {
  // Repeatable options take one value per use (--env A --env B): CLI11 lets a
  // vector option swallow following words otherwise, and then mis-parses
  // what follows "--".
  auto f = std::make_shared<RunFlags>();
  app.add_option("command", f->command, "the command and its arguments, after -- (with -f: optional)");
  app.add_option("-f,--file", f->file_cell,
                 "FILE CELL: run CELL as declared in the manifest FILE (flags win)")
      ->expected(2);
  app.add_flag("--no-admit", f->no_admit, "with -f: start the cell even if its tasks are not admitted");
  app.add_option("--name", f->name, "cell id (default run-PID-RANDOM); cgroups live at CGROUP_ROOT/ID");
  app.add_option("--cgroup-root", f->cgroup_root, "parent of the cell's cgroups (default rtcell)");
  app.add_option("--cpus", f->cpus, "CPU list for the cell (cpuset and affinity), e.g. 2-3");
  app.add_option("--mems", f->mems, "memory nodes (cpuset.mems)");
  app.add_option("--memory", f->memory, "memory limit, e.g. 512M");
  app.add_option("--pids-max", f->pids_max, "process/thread limit");
  app.add_option("--sched", f->sched,
                 "policy set on the command before exec: fifo:N, rr:N, deadline:RUNTIME/DEADLINE/PERIOD, "
                 "other[:nice]");
  app.add_option("--rtprio", f->rtprio, "RLIMIT_RTPRIO soft = hard = N (needs CAP_SYS_RESOURCE in rtcell)");
  app.add_option("--memlock", f->memlock, "RLIMIT_MEMLOCK, e.g. 64M or unlimited-size bytes");
  app.add_option("--rt-runtime", f->rt_runtime, "RT group budget per period (us) on cgroup v1/hybrid");
  app.add_option("--rt-period", f->rt_period, "RT group period (us, default 1000000)");
  app.add_flag("--allow-prio-99", f->allow_prio_99, "allow priority 99 in --sched/--rtprio");
  app.add_option("--cap-add", f->cap_add, "add a capability (default set is empty); repeatable")
      ->allow_extra_args(false);
  app.add_option("--cap-drop", f->cap_drop, "drop a capability (after --cap-add ALL); repeatable")
      ->allow_extra_args(false);
  app.add_option("--net", f->net, "host (default) or none")->check(CLI::IsMember({"host", "none"}));
  app.add_option("--rootfs", f->rootfs, "root filesystem directory (default: the host's / read-only)");
  app.add_option("--device", f->devices, "pass a device: /dev/X[:rwm]; repeatable")->allow_extra_args(false);
  app.add_option("--volume,-v", f->volumes, "bind mount SRC:DST[:ro]; repeatable")->allow_extra_args(false);
  app.add_option("--tmpfs", f->tmpfs, "mount a tmpfs at DST; repeatable")->allow_extra_args(false);
  app.add_option("--workdir,-w", f->workdir, "working directory in the cell (default /)");
  app.add_option("--env,-e", f->env, "KEY=VALUE, or KEY to copy it from here; repeatable")
      ->allow_extra_args(false);
  app.add_option("--hostname", f->hostname, "hostname in the cell (default the cell id)");
  app.add_option("--user,-u", f->user, "UID[:GID] to run as (default 65534:65534)");
  app.add_option("--seccomp", f->seccomp, "default, unconfined, or a Docker profile FILE.json");
  app.add_flag("--quiet,-q", f->quiet, "do not print notes (warnings still print)");
  return [f]() {
    if (!trailing_args().empty()) {
      if (!f->command.empty()) usage_error("give the command once: either before or after --, not both");
      f->command = trailing_args();
    }
    std::vector<std::string> manifest_notes;
    if (!f->file_cell.empty()) manifest_notes = apply_manifest(*f);
    if (f->command.empty()) usage_error("no command: give it after --, e.g. rtcell run -- /bin/true");
    cell::PreparedRun run = cell::prepare(to_spec(*f));
    if (!f->quiet)
      for (const auto& n : manifest_notes) note(n);
    cell::RunHooks hooks;
    hooks.warn = [](const std::string& w) { warn(w); };
    if (!f->quiet) hooks.note = [](const std::string& n) { note(n); };
    std::cout.flush();
    return cell::run_cell(run, hooks);
  };
}

const Registrar reg{
    Verb{"run", "run a command in a real-time cell (sandbox, CPU partition, RT rights)", 30, setup, true}};

}  // namespace

}  // namespace rtcell::cli
