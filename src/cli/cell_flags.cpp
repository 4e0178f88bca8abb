#include "cli/cell_flags.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cell/hooks.hpp"
#include "cli/command.hpp"
#include "front/manifest_cell.hpp"
#include "host/facts.hpp"
#include "rtcell/error.hpp"
#include "rtcell/rt/published_stats.hpp"
#include "util/units.hpp"

namespace rtcell::cli {

std::string in_flag_words(std::string text) {
  // cell/ names spec fields (the OCI runtime-spec's names where it has
  // them); a user of run/create gave flags. Longest names first.
  static const std::pair<const char*, const char*> kFields[] = {
      {"resources.cpu.realtimeRuntime/realtimePeriod", "--rt-runtime/--rt-period"},
      {"resources.cpu.realtimeRuntime", "--rt-runtime"},
      {"resources.cpu.realtimePeriod", "--rt-period"},
      {"resources.cpuset.cpus", "--cpus"},
      {"resources.cpuset.mems", "--mems"},
      {"resources.memory.limit", "--memory"},
      {"resources.pids.limit", "--pids-max"},
      {"resources.cpus", "--cpus"},
      {"cgroupsPath", "--cgroup-root"},
      {"process.cwd", "--workdir"},
      {"the requested device nodes", "the --device nodes"},
  };
  for (const auto& [field, flag] : kFields) {
    const std::string_view f(field);
    for (size_t at = text.find(f); at != std::string::npos; at = text.find(f, at))
      text.replace(at, f.size(), flag);
  }
  return text;
}

void add_cell_flags(CLI::App& app, CellFlagText& f) {
  // Repeatable options take one value per use (--env A --env B): CLI11 lets a
  // vector option swallow following words otherwise, and then mis-parses
  // what follows "--".
  app.add_option("-f,--file", f.file_cell, "FILE CELL: run CELL as declared in the manifest FILE (flags win)")
      ->expected(2);
  app.add_flag("--no-admit", f.no_admit, "with -f: start the cell even if its tasks are not admitted");
  app.add_option("--cgroup-root", f.cgroup_root, "parent of the cell's cgroups (default rtcell)");
  app.add_option("--cpus", f.cpus, "CPU list for the cell (cpuset and affinity), e.g. 2-3");
  app.add_option("--mems", f.mems, "memory nodes (cpuset.mems)");
  app.add_option("--memory", f.memory, "memory limit, e.g. 512M");
  app.add_option("--pids-max", f.pids_max, "process/thread limit");
  app.add_option("--sched", f.sched,
                 "policy set on the command before exec: fifo:N, rr:N, deadline:RUNTIME/DEADLINE/PERIOD, "
                 "other[:nice]");
  app.add_option("--rtprio", f.rtprio, "RLIMIT_RTPRIO soft = hard = N (needs CAP_SYS_RESOURCE in rtcell)");
  app.add_option("--memlock", f.memlock, "RLIMIT_MEMLOCK, e.g. 64M or unlimited-size bytes");
  app.add_option("--rt-runtime", f.rt_runtime, "RT group budget per period (us) on cgroup v1/hybrid");
  app.add_option("--rt-period", f.rt_period, "RT group period (us, default 1000000)");
  app.add_flag("--allow-prio-99", f.allow_prio_99, "allow priority 99 in --sched/--rtprio");
  app.add_option("--cap-add", f.cap_add, "add a capability (default set is empty); repeatable")
      ->allow_extra_args(false);
  app.add_option("--cap-drop", f.cap_drop, "drop a capability (after --cap-add ALL); repeatable")
      ->allow_extra_args(false);
  app.add_option("--net", f.net,
                 "none (default: a loopback of its own) or host (the host's network; printed)")
      ->check(CLI::IsMember({"host", "none"}));
  app.add_option(
      "--dma-latency", f.dma_latency,
      "US: the cell's init holds a /dev/cpu_dma_latency request of US microseconds while it lives");
  app.add_option("--rootfs", f.rootfs, "root filesystem directory (default: the host's / read-only)");
  app.add_option("--device", f.devices,
                 "pass a device: /dev/X[:rwm], or a CDI device vendor.com/class=name; repeatable")
      ->allow_extra_args(false);
  app.add_option("--cdi-spec-dir", f.cdi_spec_dirs,
                 "search CDI specs in DIR instead of /etc/cdi and /var/run/cdi (or $RTCELL_CDI_SPEC_DIRS); "
                 "repeatable, later wins")
      ->allow_extra_args(false);
  app.add_option("--volume,-v", f.volumes, "bind mount SRC:DST[:ro]; repeatable")->allow_extra_args(false);
  app.add_option("--tmpfs", f.tmpfs, "mount a tmpfs at DST[:OPTIONS]; repeatable")->allow_extra_args(false);
  app.add_option("--workdir,-w", f.workdir, "working directory in the cell (default /)");
  app.add_option("--env,-e", f.env, "KEY=VALUE, or KEY to copy it from here; repeatable")
      ->allow_extra_args(false);
  app.add_option("--hostname", f.hostname, "hostname in the cell (default the cell id)");
  app.add_option("--user,-u", f.user,
                 "UID[:GID] to run as (default 65534:65534); uid or gid 0 is the host's 65534 through a "
                 "user namespace");
  app.add_flag("--host-root", f.host_root,
               "with --user 0: the host's real uid 0, no user namespace (printed)");
  app.add_option("--seccomp", f.seccomp, "default, unconfined, or a Docker profile FILE.json");
}

front::RunFlags to_run_flags(const CellFlagText& f, front::RunFlags s) {
  if (!f.command.empty()) s.command = f.command;
  if (!f.name.empty()) s.name = f.name;
  if (!f.cgroup_root.empty()) s.cgroup_root = f.cgroup_root;
  if (!f.cpus.empty()) {
    s.cpus = CpuSet::parse(f.cpus);
    if (s.cpus.empty()) usage_error("--cpus is empty: give a list such as 2-3");
  }
  if (!f.mems.empty()) s.mems = f.mems;
  if (!f.memory.empty()) s.memory_bytes = util::parse_bytes(f.memory);
  if (!f.pids_max.empty()) s.pids_max = util::parse_int(f.pids_max, 1, 4'194'304, "--pids-max");
  if (!f.sched.empty()) s.sched = rt::parse_policy(f.sched);
  if (!f.rtprio.empty()) s.rtprio = static_cast<int>(util::parse_int(f.rtprio, 1, 99, "--rtprio"));
  if (!f.memlock.empty()) s.memlock_bytes = util::parse_bytes(f.memlock);
  if (!f.dma_latency.empty())
    s.dma_latency_us =
        static_cast<int32_t>(util::parse_int(f.dma_latency, 0, 2'000'000'000, "--dma-latency"));
  // Whole µs, as cpu.rt_*_us take them: never rounded to something else.
  auto micros = [](const std::string& text, const char* flag) {
    int64_t ns = util::parse_time_ns(text, "us");
    if (ns % 1000 != 0) usage_error(std::string(flag) + " must be a whole number of microseconds");
    return ns / 1000;
  };
  if (!f.rt_runtime.empty()) {
    s.rt_runtime_us = micros(f.rt_runtime, "--rt-runtime");
    s.rt_period_us.reset();
  }
  if (!f.rt_period.empty()) s.rt_period_us = micros(f.rt_period, "--rt-period");
  s.allow_prio_99 = s.allow_prio_99 || f.allow_prio_99;
  s.host_root = s.host_root || f.host_root;
  auto add = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
  add(s.cap_add, f.cap_add);
  add(s.cap_drop, f.cap_drop);
  if (!f.net.empty()) s.net_none = f.net == "none";
  if (!f.rootfs.empty()) s.rootfs = f.rootfs;
  for (const auto& d : f.devices) s.devices.push_back(front::parse_device(d));
  if (!f.cdi_spec_dirs.empty()) s.cdi_spec_dirs = f.cdi_spec_dirs;
  for (const auto& v : f.volumes) s.volumes.push_back(front::parse_volume(v));
  add(s.tmpfs, f.tmpfs);
  if (!f.workdir.empty()) s.workdir = f.workdir;
  add(s.env, f.env);
  if (!f.hostname.empty()) s.hostname = f.hostname;
  if (!f.user.empty()) front::parse_user(f.user, s.uid, s.gid);
  if (f.seccomp == "default") {
    s.seccomp = front::SeccompMode::Default;
  } else if (f.seccomp == "unconfined") {
    s.seccomp = front::SeccompMode::Unconfined;
  } else if (!f.seccomp.empty()) {
    s.seccomp = front::SeccompMode::File;
    s.seccomp_file = f.seccomp;
  }
  return s;
}

PreparedCell::StatsDir::~StatsDir() {
  if (keep || path.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

PreparedCell prepare_cell(CellFlagText& f, const std::string& state_root,
                          const std::vector<front::RunningCell>* admitted_with) {
  if (!trailing_args().empty()) {
    if (!f.command.empty()) usage_error("give the command once: either before or after --, not both");
    f.command = trailing_args();
  }
  PreparedCell out;
  front::RunFlags base;
  if (!f.file_cell.empty()) {
    const std::string& file = f.file_cell.at(0);
    const std::string& cell = f.file_cell.at(1);
    // Held until the cell is in the ledger: two cells admitted at once must
    // not both fit into room for one.
    std::vector<front::RunningCell> running;
    if (!f.no_admit && admitted_with == nullptr) {
      out.admission = front::AdmissionLock::acquire();
      running = front::running_cells();
    }
    front::ManifestCell m = front::load_manifest_cell(
        file, cell, f.no_admit, "/", admitted_with != nullptr ? *admitted_with : running, f.supervise);
    out.admitted = std::move(m.admitted);
    out.supervise = std::move(m.supervise);
    base = std::move(m.flags);
    for (auto& n : m.notes)
      if (f.rt_runtime.empty() || n.rfind("RT budget from the admission", 0) != 0) out.notes.push_back(n);
    if (f.command.empty() && base.command.empty())
      usage_error("cell '" + cell + "' in " + file + " has no command: add command: [...] or give -- CMD");
    if (f.name.empty()) base.name = cell + "-" + std::to_string(::getpid());
  }
  if (f.file_cell.empty() && !f.supervise.empty())
    usage_error("--supervise judges a manifest cell's admitted tasks: give -f FILE CELL");
  front::RunFlags flags = to_run_flags(f, std::move(base));
  if (flags.command.empty()) usage_error("no command: give it after --, e.g. rtcell run -- /bin/true");
  // An admitted cell's librtcell tasks publish their counters to a host
  // directory bound into the cell (rtcell/rt/published_stats.hpp).
  if (out.admitted && !flags.name.empty()) {
    out.stats = std::make_unique<PreparedCell::StatsDir>();
    out.stats->path = front::stats_dir(flags.name, state_root);
    std::error_code ec;
    std::filesystem::remove_all(out.stats->path, ec);  // a stale one of an earlier cell of that id
    if (::mkdir(out.stats->path.c_str(), 0755) != 0) sys_error("cannot make " + out.stats->path, errno);
    flags.volumes.push_back({out.stats->path, front::kStatsInCell, false});
    flags.env.push_back(std::string(rt::kStatsDirEnv) + "=" + front::kStatsInCell);
  }
  const host::HostFacts facts = host::read_cpu_facts("/");
  front::Built built = front::build_spec(flags, facts);
  try {
    out.prepared = cell::prepare(built.id, std::move(built.spec), facts);
  } catch (const Error& e) {
    throw Error(e.kind(), in_flag_words(e.what()), e.err());
  }
  if (out.stats &&
      ::chown(out.stats->path.c_str(), out.prepared.spec.host_uid(), out.prepared.spec.host_gid()) != 0)
    sys_error("cannot give " + out.stats->path + " to the cell's user", errno);
  out.warnings = std::move(built.warnings);
  out.notes.insert(out.notes.end(), built.notes.begin(), built.notes.end());
  return out;
}

cell::Cell create_cell(const cell::Registry& reg, PreparedCell& pc, cell::CreateOptions opts, bool quiet) {
  // Warnings and notes print once every check passed, the cgroups' own
  // included (they run inside create), so bad input prints only its error.
  std::vector<std::string> cgroup_notes;
  opts.note = [&cgroup_notes](const std::string& n) { cgroup_notes.push_back(in_flag_words(n)); };
  cell::Cell c = [&] {
    try {
      return cell::Cell::create(reg, pc.prepared, opts);
    } catch (const Error& e) {
      throw Error(e.kind(), in_flag_words(e.what()), e.err());
    }
  }();
  if (pc.admitted) front::record_running(*pc.admitted, c.id(), reg.root(), c.pid());
  if (pc.stats) pc.stats->keep = true;
  pc.admission.release();
  for (const auto& w : pc.warnings) warn(w);
  if (!quiet) {
    for (const auto& n : pc.notes) note(n);
    for (const auto& n : cgroup_notes) note(n);
  }
  return c;
}

void add_create_hooks(cell::CreateOptions& opts, const cell::Hooks& hooks) {
  if (hooks.prestart.empty() && hooks.create_runtime.empty() && hooks.create_container.empty()) return;
  opts.on_created_namespaces = [hooks](const cell::CellState& st) {
    const std::string state = cell::hook_state(st, "creating", st.init.pid);
    cell::run_hooks(hooks.prestart, "prestart", state);
    cell::run_hooks(hooks.create_runtime, "createRuntime", state);
    cell::run_hooks(hooks.create_container, "createContainer", state);
  };
}

void add_state_root(CLI::App& app, std::string& root) {
  root = cell::kDefaultStateRoot;
  app.add_option("--root", root, "state directory of the cells")->capture_default_str();
}

cell::CreateOptions create_options() {
  cell::CreateOptions o;
  const char* debug = std::getenv("RTCELL_DEBUG");
  const bool timing = debug != nullptr && std::string(debug).find("timing") != std::string::npos;
  std::string kill_at;
  int kill_nth = 1;
  if (const char* k = std::getenv("RTCELL_TEST_KILL_AT")) {
    kill_at = k;
    if (size_t c = kill_at.find(':'); c != std::string::npos) {
      kill_nth = std::atoi(kill_at.c_str() + c + 1);
      kill_at.resize(c);
    }
  }
  // The signal the hook sends (default SIGKILL, the creator killed);
  // RTCELL_TEST_KILL_SIGNAL=TERM tests the teardown of a stop asked while
  // the cell is being made.
  int kill_signal = SIGKILL;
  if (const char* k = std::getenv("RTCELL_TEST_KILL_SIGNAL")) kill_signal = cell::parse_signal(k);
  if (!timing && kill_at.empty()) return o;
  auto seen = std::make_shared<int>(0);
  auto last = std::make_shared<timespec>();
  ::clock_gettime(CLOCK_MONOTONIC, last.get());
  o.on_phase = [timing, kill_at, kill_nth, kill_signal, seen, last](std::string_view phase) {
    if (timing) {
      timespec now{};
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      const int64_t us = (now.tv_sec - last->tv_sec) * 1'000'000 + (now.tv_nsec - last->tv_nsec) / 1000;
      *last = now;
      std::cerr << "rtcell: timing: " << phase << " +" << us << " us\n";
    }
    if (!kill_at.empty() && phase == kill_at && ++*seen == kill_nth) ::kill(::getpid(), kill_signal);
  };
  return o;
}

std::string supervisor_line(const cell::OverrunEvent& e) {
  auto ms = [](int64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(ns) / 1e6);
    return std::string(buf);
  };
  const cell::Overrun& o = e.overrun;
  std::string s = "supervisor: CPU " + std::to_string(o.cpu) + ": the cell's RT threads ran " +
                  ms(o.used_ns) + " in " + ms(o.window_ns) + ", more than the " + ms(o.allowed_ns) +
                  " its admitted tasks can ask for (a task ran past its WCET, or an RT thread the manifest "
                  "does not declare ran); ";
  if (e.failed) return s + "could not " + analysis::to_string(e.action) + ": " + e.done;
  return s + e.done + " " + ms(e.action_ns) + " after seeing it (" + ms(e.reaction_ns) +
         " after the last sample without overrun)";
}

}  // namespace rtcell::cli
