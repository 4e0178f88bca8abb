#include "front/manifest_cell.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cell/supervisor.hpp"
#include "host/probe.hpp"
#include "host/sched_limits.hpp"
#include "rtcell/analysis/admission.hpp"
#include "rtcell/error.hpp"
#include "rtcell/rt/cell_tasks.hpp"

namespace rtcell::front {

namespace {

// A value the manifest parser kept as text (device, volume, user) is
// checked by the flag parser; its error then carries the cell's place.
template <typename F>
auto at(const manifest::CellDecl& c, F&& parse) {
  try {
    return parse();
  } catch (const Error& e) {
    throw Error(e.kind(), c.where.to_string() + ": cell '" + c.name + "': " + e.what());
  }
}

// RTCELL_TASKS (rtcell/rt/cell_tasks.hpp): the tasks as admitted, or as
// declared when the admission was skipped (`v` null).
std::string tasks_env(const manifest::CellDecl& c, const analysis::CellVerdict* v, int hz) {
  nlohmann::json tasks = nlohmann::json::array();
  if (v != nullptr) {
    for (const auto& t : v->tasks) {
      nlohmann::json j{{"name", t.name},
                       {"policy", std::string(analysis::to_string(t.policy))},
                       {"period_ns", t.period},
                       {"wcet_ns", t.wcet},
                       {"deadline_ns", t.deadline}};
      if (t.cpu >= 0) j["cpu"] = t.cpu;
      if (t.priority && t.policy != analysis::TaskPolicy::Deadline) j["priority"] = *t.priority;
      if (t.response && *t.response < analysis::kInfinity) j["response_ns"] = *t.response;
      if (t.dl) {
        j["runtime_ns"] = t.dl->runtime;
        j["dl_deadline_ns"] = t.dl->deadline;
        j["dl_period_ns"] = t.dl->period;
      }
      tasks.push_back(std::move(j));
    }
  } else {
    for (const auto& t : c.tasks) {
      const analysis::TaskPolicy p = t.policy.value_or(analysis::TaskPolicy::Fifo);
      nlohmann::json j{{"name", t.name},
                       {"policy", std::string(analysis::to_string(p))},
                       {"period_ns", t.period_ns},
                       {"wcet_ns", t.wcet_ns},
                       {"deadline_ns", t.deadline_ns.value_or(t.period_ns)}};
      if (t.cpu) j["cpu"] = *t.cpu;
      if (t.priority && p != analysis::TaskPolicy::Deadline) j["priority"] = *t.priority;
      tasks.push_back(std::move(j));
    }
  }
  nlohmann::json all{{"version", rt::kCellTasksVersion},
                     {"cell", c.name},
                     {"admitted", v != nullptr},
                     {"hz", hz},
                     {"tasks", std::move(tasks)}};
  return std::string(rt::kCellTasksEnv) + "=" + all.dump();
}

// What enforces the admitted budget on this host, and what that guarantees
// (issue 15: admission never says yes to what the kernel will not deliver
// without saying so).
std::string enforcement_note(const analysis::CellVerdict& v, bool rt_groups, const cell::SuperviseSpec* sup) {
  const bool all_deadline =
      !v.tasks.empty() && std::all_of(v.tasks.begin(), v.tasks.end(), [](const analysis::TaskVerdict& t) {
        return t.policy == analysis::TaskPolicy::Deadline;
      });
  std::string s;
  if (all_deadline) {
    s = "enforcement: SCHED_DEADLINE per task, once each task's thread applies its triple (librtcell's "
        "thread_config() does): the kernel guarantees each its runtime per period and throttles it past it";
  } else if (rt_groups && v.rt) {
    s = "enforcement: the cell's cgroup v1 RT budget, a cap (the kernel throttles the cell's RT tasks past "
        "it "
        "each period), not a guarantee against higher-priority work outside the cell";
  } else if (sup != nullptr) {
    return "enforcement: rtcell's supervisor (" + cell::describe(*sup) +
           "): the cell's RT threads, once they run past what its tasks can ask for, are " +
           [&] {
             switch (sup->action) {
               case analysis::OverrunAction::Warn:
                 return std::string("reported");
               case analysis::OverrunAction::Demote:
                 return std::string("demoted to SCHED_OTHER");
               case analysis::OverrunAction::Freeze:
                 return std::string("frozen with the whole cell");
               case analysis::OverrunAction::Kill:
                 break;
             }
             return std::string("killed with the whole cell");
           }() +
           "; detection within a bounded delay, not a cap (no cgroup RT group scheduling on this host)";
  } else {
    return "enforcement: none on this host (no cgroup RT group scheduling, supervise: off): a runaway FIFO "
           "task of the cell can take its CPUs; detection only: rtcell run reports a task past its WCET or "
           "deadline at exit (--strict fails)";
  }
  if (sup != nullptr) s += "; and rtcell's supervisor: " + cell::describe(*sup);
  return s;
}

// The supervisor for admitted cell `v` (docs/enforcement.md): the
// manifest's or `override` action ("off" for none), else demote where the
// kernel does not cap the cell, else none.
std::optional<cell::SuperviseSpec> supervisor_for(const manifest::CellDecl& c, const analysis::CellVerdict& v,
                                                  const analysis::CellSpec& declared, bool rt_groups,
                                                  const std::string& override) {
  std::optional<analysis::OverrunAction> action;
  bool chosen = false;
  if (!override.empty()) {
    chosen = true;
    if (override != "off") {
      action = analysis::parse_overrun_action(override);
      if (!action)
        usage_error("--supervise must be off, warn, demote, freeze or kill, not '" + override + "'");
    }
  } else if (c.supervise) {
    chosen = true;
    action = c.supervise->action;
  }
  std::vector<analysis::DemandTask> tasks;
  int max_prio = 0;
  bool fixed_priority = false;
  CpuSet cpus = declared.cpus;
  for (const auto& t : v.tasks) {
    if (t.policy == analysis::TaskPolicy::Deadline) continue;  // the kernel enforces those
    fixed_priority = true;
    tasks.push_back({.period = t.period, .wcet = t.wcet, .deadline = t.deadline, .cpu = t.cpu});
    if (t.priority) max_prio = std::max(max_prio, *t.priority);
    if (t.cpu >= 0) cpus = cpus.unite(CpuSet(std::vector<int>{t.cpu}));
  }
  if (!chosen) {
    if (!fixed_priority || (rt_groups && v.rt)) return std::nullopt;
    action = analysis::OverrunAction::Demote;
  }
  if (!action) return std::nullopt;
  if (!fixed_priority)
    usage_error("cell '" + c.name +
                "' has supervise set but no SCHED_FIFO/RR task: its SCHED_DEADLINE tasks are enforced by the "
                "kernel; drop supervise");
  const int64_t grace = c.supervise && c.supervise->grace_ns ? *c.supervise->grace_ns : 200'000'000;
  return cell::supervise_spec(*action, std::move(tasks), cpus, max_prio, grace);
}

}  // namespace

RunFlags flags_from_decl(const manifest::CellDecl& c) {
  RunFlags f;
  f.command = c.command;
  if (c.cpus) f.cpus = *c.cpus;
  if (c.mems) f.mems = *c.mems;
  f.memory_bytes = c.memory;
  f.pids_max = c.pids_max;
  f.sched = c.sched;
  f.rtprio = c.rtprio;
  f.memlock_bytes = c.memlock;
  if (c.rt_runtime_ns) f.rt_runtime_us = *c.rt_runtime_ns / 1000;
  if (c.rt_period_ns) f.rt_period_us = *c.rt_period_ns / 1000;
  f.allow_prio_99 = c.allow_prio_99;
  f.cap_add = c.cap_add;
  f.cap_drop = c.cap_drop;
  f.net_none = c.net != manifest::Net::Host;  // none unless the manifest says host
  if (c.rootfs) f.rootfs = *c.rootfs;
  for (const auto& d : c.devices) f.devices.push_back(at(c, [&] { return parse_device(d); }));
  for (const auto& v : c.volumes) f.volumes.push_back(at(c, [&] { return parse_volume(v); }));
  f.tmpfs = c.tmpfs;
  if (c.workdir) f.workdir = *c.workdir;
  for (const auto& [k, v] : c.env) {
    std::string kv = k;
    kv += '=';
    kv += v;
    f.env.push_back(std::move(kv));
  }
  if (c.hostname) f.hostname = *c.hostname;
  if (c.user) at(c, [&] { parse_user(*c.user, f.uid, f.gid); });
  if (c.seccomp) {
    if (*c.seccomp == "default") {
      f.seccomp = SeccompMode::Default;
    } else if (*c.seccomp == "none" || *c.seccomp == "unconfined") {
      f.seccomp = SeccompMode::Unconfined;
    } else {
      f.seccomp = SeccompMode::File;
      f.seccomp_file = *c.seccomp;
    }
  }
  return f;
}

analysis::AdmitOptions host_admit_options(const manifest::Manifest& m, const std::string& root,
                                          const std::string& name) {
  analysis::AdmitOptions o = manifest::admit_options(m);
  const host::Probe probe(root);
  if (!probe.exists("/proc")) usage_error("host root " + root + " has no /proc: give / or a captured tree");
  const host::SchedLimits l = host::read_sched_limits(probe);
  o.global = analysis::RtBandwidth{l.rt_period_us, l.rt_runtime_us};
  o.dl_limits = analysis::DeadlineLimits{l.dl_period_min_us, l.dl_period_max_us};
  o.rt_groups = l.rt_groups;
  o.host = name;
  // The budgets are enforced by that kernel's tick: derive them for it,
  // unless the manifest names a coarser one (hz: 1 for nohz_full CPUs),
  // which only makes them safer (supply.hpp).
  if (auto k = host::kernel_hz(probe)) {
    if (m.hz && *m.hz < k->hz) {
      o.hz_source +=
          ", coarser than CONFIG_HZ=" + std::to_string(k->hz) + " of " + name + " (" + k->file + ")";
    } else {
      o.hz = k->hz;
      o.hz_source = "CONFIG_HZ of " + (name == "this host" ? std::string("this host's kernel") : name) +
                    " (" + k->file + ")";
    }
  }
  if (!l.defaulted.empty()) {
    o.host += " (kernel default for";
    for (const auto& f : l.defaulted) o.host += " " + f.substr(f.rfind('/') + 1);
    o.host += ")";
  }
  return o;
}

ManifestCell load_manifest_cell(const std::string& file, const std::string& cell_name, bool no_admit,
                                const std::string& host_root, const std::vector<RunningCell>& running,
                                const std::string& supervise) {
  manifest::Manifest m = manifest::load(file);
  const manifest::CellDecl* c = manifest::find_cell(m, cell_name);
  if (c == nullptr) {
    // The first few names help; a manifest of thousands would flood the
    // terminal with one "line".
    constexpr size_t kShown = 10;
    std::string names;
    for (size_t i = 0; i < m.cells.size() && i < kShown; ++i)
      names += (names.empty() ? "" : ", ") + m.cells[i].name;
    if (m.cells.size() > kShown) names += " and " + std::to_string(m.cells.size() - kShown) + " more";
    usage_error("no cell '" + cell_name + "' in " + file + " (cells: " + names + ")");
  }
  ManifestCell out;
  out.flags = flags_from_decl(*c);
  if (c->tasks.empty()) {
    if (!supervise.empty() && supervise != "off")
      usage_error("--supervise needs tasks to judge: cell '" + cell_name + "' in " + file + " declares none");
    return out;
  }
  if (no_admit) {
    if (!supervise.empty() && supervise != "off")
      usage_error("--supervise judges the admitted tasks: drop --no-admit or --supervise");
    out.notes.push_back("admission skipped (--no-admit): cell '" + cell_name + "' starts unchecked");
    out.flags.env.push_back(tasks_env(*c, nullptr, m.hz.value_or(analysis::kDefaultHz)));
    return out;
  }
  const std::string here = host_root == "/" ? "this host" : host_root;
  analysis::AdmitOptions opts = host_admit_options(m, host_root, here);
  if (m.hz && *m.hz != opts.hz)
    out.notes.push_back("the manifest says hz: " + std::to_string(*m.hz) + "; the budget is derived for HZ=" +
                        std::to_string(opts.hz) + " (" + opts.hz_source + ")");
  // The manifest's cells, less those that run already (their running
  // instance stands for them, pinned as admitted), plus every running cell.
  const std::vector<analysis::CellSpec> declared_all = manifest::to_cell_specs(m);
  std::optional<analysis::CellSpec> declared;
  for (const auto& s : declared_all)
    if (s.name == cell_name) declared = s;
  const std::vector<analysis::CellSpec> specs = with_running(declared_all, file, running, cell_name);
  analysis::AdmitResult result = analysis::admit(specs, opts);
  for (const auto& v : result.cells) {
    if (v.name != cell_name) continue;
    if (!v.admitted) {
      std::string why = "see rtcell admit " + file;
      if (v.diagnosis) {
        why = v.diagnosis->problem;
        if (!v.diagnosis->fix.empty()) why += "; " + v.diagnosis->fix;
      }
      std::string msg = "cell '" + cell_name + "' is not admitted: ";
      msg += why;
      msg += running.empty() ? " (rtcell admit " : " (rtcell admit --running ";
      msg += file;
      msg += " explains; --no-admit starts it anyway)";
      usage_error(msg);
    }
    // Admitted on paper, but this host's kernel would refuse what the cell
    // needs: starting it would fail part-way or run it unprotected.
    if (!v.not_enforceable.empty()) {
      std::string msg = "cell '" + cell_name + "' is admitted but not enforceable on ";
      msg += here;
      msg += ": ";
      msg += v.not_enforceable.front();
      msg += " (rtcell admit --root ";
      msg += host_root;
      msg += ' ';
      msg += file;
      msg += " explains; --no-admit starts it anyway)";
      usage_error(msg);
    }
    // A declared rt_runtime replaces the derived budget: it must give the
    // tasks at least the supply they were admitted under (the same period and
    // no less runtime: sbf grows with Θ), or the cell runs on less.
    if (v.rt && c->rt_runtime_ns) {
      const int64_t rt_us = *c->rt_runtime_ns / 1000;
      const int64_t per_us = c->rt_period_ns.value_or(1'000'000'000) / 1000;
      if (per_us != v.rt->period_us || rt_us < v.rt->runtime_us)
        usage_error(
            "cell '" + cell_name + "' declares rt_runtime " + std::to_string(rt_us) + " us per " +
            std::to_string(per_us) + " us, but its tasks were admitted under " +
            std::to_string(v.rt->runtime_us) + " us per " + std::to_string(v.rt->period_us) +
            " us: drop rt_runtime/rt_period (the budget is derived) or declare budget: {period: ...}");
    }
    std::string admitted =
        "admitted: every task of cell '" + cell_name + "' meets its deadline (rtcell admit ";
    admitted += file;
    admitted += ')';
    out.notes.push_back(std::move(admitted));
    if (!running.empty())
      out.notes.push_back("admitted against " + std::to_string(running.size()) + " running cell" +
                          (running.size() == 1 ? "" : "s") + " from the admission ledger (" + ledger_dir() +
                          ")");
    out.flags.env.push_back(tasks_env(*c, &v, result.hz));
    if (declared) out.supervise = supervisor_for(*c, v, *declared, result.target.rt_groups, supervise);
    out.notes.push_back(
        enforcement_note(v, result.target.rt_groups, out.supervise ? &*out.supervise : nullptr));
    if (out.supervise)
      out.notes.insert(out.notes.end(), out.supervise->notes.begin(), out.supervise->notes.end());
    if (declared) {
      RunningCell r;
      r.manifest = manifest_key(file);
      r.cell = cell_name;
      r.spec = pinned_spec(*declared, v);
      out.admitted = std::move(r);
    }
    if (!out.flags.rt_runtime_us && v.rt && !result.target.rt_groups) {
      // Unified v2 (JetPack 6) or CONFIG_RT_GROUP_SCHED off: no group budget
      // exists to apply. A verdict that counted on one was refused above as
      // not enforceable, so this one holds without it; say so instead of
      // asking the cgroup backend for a budget it can only note as missing.
      out.notes.push_back("RT budget from the admission analysis (" + std::to_string(v.rt->runtime_us) +
                          " us per " + std::to_string(v.rt->period_us) +
                          " us) not applied: this host has no cgroup RT group scheduling; the verdict does "
                          "not count on it, and the cell's RT tasks are bounded only by sched_rt_runtime_us");
    } else if (!out.flags.rt_runtime_us && v.rt) {
      // The derived budget, typed: it goes to the spec as numbers.
      out.flags.rt_runtime_us = v.rt->runtime_us;
      out.flags.rt_period_us = v.rt->period_us;
      out.notes.push_back("RT budget from the admission analysis: " + std::to_string(v.rt->runtime_us) +
                          " us per " + std::to_string(v.rt->period_us) +
                          " us, valid for HZ=" + std::to_string(result.hz) + " tick accounting");
    }
  }
  // A running cell the new one would make miss: refused, naming it.
  for (const auto& v : result.cells) {
    if (v.admitted || v.name == cell_name) continue;
    const auto r = std::find_if(running.begin(), running.end(),
                                [&](const RunningCell& x) { return x.spec.name == v.name; });
    if (r == running.end()) continue;
    std::string msg = "cell '" + cell_name + "' is not admitted: running cell ";
    msg += v.name;
    msg += " (from ";
    msg += r->manifest;
    msg += ") would miss: ";
    msg += v.diagnosis ? v.diagnosis->problem : std::string("it would no longer be schedulable");
    msg += " (rtcell ps lists what runs; rtcell admit --running ";
    msg += file;
    msg += " explains)";
    usage_error(msg);
  }
  return out;
}

}  // namespace rtcell::front
