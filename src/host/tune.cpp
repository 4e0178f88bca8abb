#include "host/tune.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "host/check.hpp"
#include "host/facts.hpp"
#include "host/probe.hpp"
#include "rtcell/error.hpp"
#include "sys/fd.hpp"
#include "sys/file.hpp"

namespace rtcell::host {

namespace {

// Writes like a shell redirect (O_TRUNC), so sysfs/procfs knobs and the
// regular files of a captured tree behave alike. Returns 0 or the errno.
int write_knob(const std::string& path, const std::string& text) {
  sys::Fd fd = sys::Fd::try_open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (!fd) return errno;
  ssize_t n;
  do {
    n = ::write(fd.get(), text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  if (static_cast<size_t>(n) != text.size()) return EIO;
  return 0;
}

struct Entry {
  std::string path;      // a file, or a TuneCommand's key ("command:...")
  std::string previous;  // raw contents before rtcell touched it
  bool whole_file = false;
  std::vector<std::string> undo;  // a command's undo argv (empty for a file)
  std::string remove_after_undo;
};

// Runs argv (argv[0] absolute) with the caller's stdio; returns "" or why it
// failed.
std::string run_command(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) return std::string("cannot run it: ") + std::strerror(rc);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return std::string("cannot wait for it: ") + std::strerror(errno);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  return "killed by signal " + std::to_string(WTERMSIG(status));
}

std::string argv_text(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

struct Journal {
  std::vector<Entry> entries;
  bool exists = false;
  std::string raw;  // the file's text as read, to restore on rollback
};

Journal load_journal(const std::string& file) {
  Journal j;
  auto text = sys::try_read_file(file);
  if (!text) return j;
  j.exists = true;
  j.raw = *text;
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("entries") || !doc["entries"].is_array())
    usage_error("tune state file " + file +
                " is corrupt; inspect it, restore values by hand, then delete it");
  for (auto& e : doc["entries"]) {
    if (!e.is_object() || !e.contains("path") || !e.contains("previous") || !e["path"].is_string() ||
        !e["previous"].is_string())
      usage_error("tune state file " + file + " has a malformed entry; inspect it, then delete it");
    Entry en{e["path"].get<std::string>(),
             e["previous"].get<std::string>(),
             e.value("whole_file", false),
             {},
             e.value("remove_after_undo", std::string())};
    if (e.contains("undo")) {
      if (!e["undo"].is_array() || e["undo"].empty())
        usage_error("tune state file " + file + " has a malformed undo command; inspect it, then delete it");
      for (const auto& a : e["undo"]) {
        if (!a.is_string()) usage_error("tune state file " + file + " has a malformed undo command");
        en.undo.push_back(a.get<std::string>());
      }
    }
    j.entries.push_back(std::move(en));
  }
  return j;
}

std::string journal_text(const std::vector<Entry>& entries, const std::string& root) {
  nlohmann::json doc;
  doc["version"] = 1;
  doc["root"] = root;
  doc["entries"] = nlohmann::json::array();
  for (const auto& e : entries) {
    nlohmann::json j{{"path", e.path}, {"previous", e.previous}, {"whole_file", e.whole_file}};
    if (!e.undo.empty()) j["undo"] = e.undo;
    if (!e.remove_after_undo.empty()) j["remove_after_undo"] = e.remove_after_undo;
    doc["entries"].push_back(std::move(j));
  }
  return doc.dump(2) + "\n";
}

// Creates the missing parents of `file`; returns those it created (deepest
// last) so a revert or rollback can remove them again.
std::vector<std::string> make_parents(const std::string& file) {
  std::vector<std::string> created;
  for (size_t pos = file.find('/', 1); pos != std::string::npos; pos = file.find('/', pos + 1)) {
    std::string dir = file.substr(0, pos);
    if (::mkdir(dir.c_str(), 0755) == 0)
      created.push_back(dir);
    else if (errno != EEXIST)
      sys_error("cannot create " + dir + " for the tune state file", errno);
  }
  return created;
}

void remove_dirs(const std::vector<std::string>& dirs) {
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) ::rmdir(it->c_str());
}

bool is_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string set_env_line(const std::string& text, const std::string& key, const std::string& value) {
  std::string out;
  bool done = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (line.rfind(key + "=", 0) == 0) {
      if (!done) out.append(key).append("=\"").append(value).append("\"\n");
      done = true;
    } else {
      out += line + "\n";
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  if (!done) out += key + "=\"" + value + "\"\n";
  return out;
}

}  // namespace

std::string state_file_of(const TuneOptions& opts) {
  return opts.state_file.empty() ? join_root(opts.root, "/var/lib/rtcell/tune.json") : opts.state_file;
}

TunePlan plan_tune(const TuneOptions& opts) {
  Probe p(opts.root);
  HostFacts facts = read_host_facts(opts.root);
  const CpuSet& rt = opts.rt_cpus;
  if (rt.empty()) usage_error("--cpus is required: the RT CPUs to tune for, e.g. --cpus 2-3");
  if (!facts.online_cpus.empty() && !facts.online_cpus.contains(rt))
    usage_error("--cpus " + rt.to_string() +
                " names CPUs that are not online (online: " + facts.online_cpus.to_string() + ")");
  CpuSet hk = facts.online_cpus.minus(rt);
  if (hk.empty())
    usage_error("--cpus " + rt.to_string() +
                " leaves no CPU for housekeeping (IRQs, timers); leave at least one out");
  const std::string hks = hk.to_string();

  TunePlan plan;
  auto want = [&](const std::string& path, const std::string& target, const std::string& why,
                  bool skippable = false) {
    if (!p.exists(path)) return;
    std::string cur = p.value(path);
    if (cur == target) {
      ++plan.already;
      return;
    }
    plan.actions.push_back({path, cur, target, why, skippable, false});
  };

  for (int cpu : rt.cpus()) {
    std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cpufreq/";
    if (!p.exists(dir + "scaling_governor")) continue;
    std::string avail = " " + p.value(dir + "scaling_available_governors") + " ";
    if (avail != "  " && avail.find(" performance ") == std::string::npos) continue;
    want(dir + "scaling_governor", "performance", "runtime.cpufreq_governor");
  }
  for (auto& irq : p.list("/proc/irq")) {
    if (!is_digits(irq)) continue;
    std::string f = "/proc/irq/" + irq + "/smp_affinity_list";
    CpuSet aff;
    try {
      aff = CpuSet::parse(p.value(f));
    } catch (const Error&) {
      continue;
    }
    if (aff.intersect(rt).empty()) continue;
    // Keep the IRQ's own housekeeping CPUs where it has some; else all of them.
    CpuSet to = aff.minus(rt);
    want(f, to.empty() ? hks : to.to_string(), "runtime.irq_affinity", true);
    // Where debugfs shows it, a managed IRQ (NVMe, virtio MSI-X: its driver
    // spreads one per CPU) is known now to be refused: --apply skips it.
    const std::string dbg = "/sys/kernel/debug/irq/irqs/" + irq;
    if (p.exists(dbg) && p.read(dbg).value_or("").find("IRQD_AFFINITY_MANAGED") != std::string::npos) {
      std::string note = "IRQ ";
      note += irq;
      note += " is managed by its driver (";
      note += dbg;
      note +=
          "): the kernel will refuse to move it, --apply skips it; isolcpus=managed_irq at boot keeps such "
          "IRQs off the RT CPUs";
      plan.notes.push_back(std::move(note));
    }
  }
  if (p.exists("/proc/irq/default_smp_affinity")) {
    try {
      CpuSet def = CpuSet::parse_mask(p.value("/proc/irq/default_smp_affinity"));
      if (!def.intersect(rt).empty())
        want("/proc/irq/default_smp_affinity", cpus_to_mask(def.minus(rt).empty() ? hk : def.minus(rt)),
             "runtime.irq_affinity");
      else
        ++plan.already;
    } catch (const Error&) {
    }
  }
  want("/proc/sys/kernel/timer_migration", "0", "runtime.timer_migration");
  {
    std::string v = p.value("/proc/sys/vm/stat_interval");
    if (!v.empty() && is_digits(v) && std::stoll(v) < 10)
      want("/proc/sys/vm/stat_interval", "10", "runtime.stat_interval");
    else if (!v.empty())
      ++plan.already;
  }
  {
    std::string f = "/proc/sys/kernel/watchdog_cpumask";
    try {
      if (p.exists(f) && !CpuSet::parse(p.value(f)).intersect(rt).empty())
        want(f, hks, "runtime.watchdog");
      else if (p.exists(f))
        ++plan.already;
    } catch (const Error&) {
    }
  }
  if (opts.rt_throttling_off) want("/proc/sys/kernel/sched_rt_runtime_us", "-1", "runtime.rt_throttling");
  {
    const std::string dir = "/sys/kernel/debug/tegra_mce/";
    if (p.read(dir + "rt_window_us")) {
      // Compare numerically: the kernel may print 0x7f as 127.
      auto set = [&](const char* name, const char* target, long long n) {
        std::string cur = p.value(dir + name);
        char* end = nullptr;
        long long v = std::strtoll(cur.c_str(), &end, 0);
        if (!cur.empty() && end && *end == '\0' && v == n)
          ++plan.already;
        else
          want(dir + name, target, "jetson.tegra_mce");
      };
      set("rt_window_us", "100", 100);
      set("rt_fwd_progress_us", "20", 20);
      set("rt_safe_mask", "0x7f", 0x7f);
    } else if (p.exists("/etc/nv_tegra_release")) {
      plan.notes.push_back(
          "tegra_mce knobs unreadable: mount -t debugfs none /sys/kernel/debug, then tune again");
    }
  }
  if (auto cfg = p.read("/etc/default/irqbalance")) {
    std::string next = set_env_line(*cfg, "IRQBALANCE_BANNED_CPULIST", rt.to_string());
    if (next != *cfg) {
      plan.actions.push_back({"/etc/default/irqbalance", "", next, "runtime.irqbalance", false, true});
      plan.notes.push_back("restart irqbalance to pick up its banned CPUs: systemctl restart irqbalance");
    } else {
      ++plan.already;
    }
  }

  std::string line;
  for (auto& [k, v] : rt_boot_args(rt, facts.online_cpus))
    line.append(line.empty() ? "" : " ").append(k).append("=").append(v);
  plan.boot_line = line;
  bool extlinux = p.exists("/boot/extlinux/extlinux.conf");
  std::string loader = extlinux ? "/boot/extlinux/extlinux.conf" : "/etc/default/grub";
  if (opts.write_bootargs) {
    auto text = p.read(loader);
    if (!text)
      unsupported_error(
          "--write-bootargs: neither /boot/extlinux/extlinux.conf nor /etc/default/grub exists under " +
          opts.root + "; add the boot line by hand: " + line);
    std::string next = extlinux ? extlinux_set_args(*text, rt_boot_args(rt, facts.online_cpus))
                                : grub_set_args(*text, rt_boot_args(rt, facts.online_cpus));
    if (next != *text) plan.actions.push_back({loader, "", next, "boot.loader", false, true});
    plan.notes.push_back(extlinux ? "reboot to use the new boot arguments"
                                  : "run update-grub (or grub2-mkconfig -o /boot/grub2/grub.cfg) and reboot");
  } else {
    plan.notes.push_back("boot arguments (" + loader + "): " + line + "   (or add --write-bootargs)");
  }
  if (p.exists("/etc/nv_tegra_release")) {
    // The board's own tools, found under the tuned root; each applied with
    // its exact undo journaled, else printed to run by hand.
    auto tool = [&](const char* name) -> std::string {
      for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/"}) {
        std::string path = join_root(opts.root, std::string(dir) + name);
        if (::access(path.c_str(), X_OK) == 0) return path;
      }
      return "";
    };
    auto mode = parse_nvpmodel_status(p.value("/var/lib/nvpmodel/status"));
    if (mode && *mode != 0 && !tool("nvpmodel").empty()) {
      const std::string nvp = tool("nvpmodel");
      plan.commands.push_back({"command:nvpmodel",
                               {{nvp, "-m", "0"}},
                               {nvp, "-m", std::to_string(*mode)},
                               "",
                               "jetson.nvpmodel"});
    } else if (!mode || *mode != 0) {
      plan.notes.push_back(
          "run: sudo nvpmodel -m 0   (undo: sudo nvpmodel -m " +
          (mode ? std::to_string(*mode) : std::string("<previous>")) + ")" +
          (mode ? "; nvpmodel not found" : "; the current mode is unknown, so no exact undo"));
    }
    const std::string store = join_root(opts.root, "/var/lib/rtcell/jetson_clocks.conf");
    if (const std::string jc = tool("jetson_clocks"); !jc.empty()) {
      plan.commands.push_back({"command:jetson_clocks",
                               {{jc, "--store", store}, {jc}},
                               {jc, "--restore", store},
                               store,
                               "jetson.clocks"});
    } else {
      plan.notes.push_back(
          "run: sudo jetson_clocks --store /var/lib/rtcell/jetson_clocks.conf && sudo jetson_clocks   (undo: "
          "sudo jetson_clocks --restore /var/lib/rtcell/jetson_clocks.conf); jetson_clocks not found");
    }
    std::vector<std::string> unheld;
    for (auto& [pkg, status] : parse_dpkg_status(p.read("/var/lib/dpkg/status").value_or(""))) {
      if (pkg.rfind("nvidia-l4t-kernel", 0) != 0 && pkg.rfind("nvidia-l4t-rt-kernel", 0) != 0) continue;
      if (status.find("installed") == std::string::npos || status.find("not-installed") != std::string::npos)
        continue;
      if (status.rfind("hold", 0) != 0) unheld.push_back(pkg);
    }
    if (!unheld.empty()) {
      if (const std::string am = tool("apt-mark"); !am.empty()) {
        std::vector<std::string> hold{am, "hold"}, unhold{am, "unhold"};
        hold.insert(hold.end(), unheld.begin(), unheld.end());
        unhold.insert(unhold.end(), unheld.begin(), unheld.end());
        plan.commands.push_back({"command:apt-mark", {hold}, unhold, "", "jetson.apt_hold"});
      }
    }
  }
  plan.notes.push_back(
      "/dev/cpu_dma_latency: keep it open at 0 while RT work runs (rtcell run --dma-latency 0 holds it for "
      "its cell, rtcell latency and cyclictest hold it while they measure); tune cannot hold it");
  return plan;
}

TuneResult apply_tune(const TuneOptions& opts, const TunePlan& plan) {
  Probe p(opts.root);
  const std::string state = state_file_of(opts);
  Journal old = load_journal(state);
  std::vector<Entry> entries = old.entries;
  auto journaled = [&](const std::string& path) {
    return std::any_of(entries.begin(), entries.end(), [&](const Entry& e) { return e.path == path; });
  };
  // 1. Journal every value we are about to change, and every command's
  //    undo, before changing anything.
  for (const auto& a : plan.actions) {
    if (journaled(a.path)) continue;  // keep the ORIGINAL from an earlier --apply
    auto raw = p.read(a.path);
    if (!raw) sys_error("cannot read " + p.path(a.path) + " to journal it", errno ? errno : EIO);
    entries.push_back({a.path, *raw, a.whole_file, {}, {}});
  }
  // A command journaled by an earlier --apply ran already: not again (its
  // undo goes back to the state before the first run).
  std::vector<const TuneCommand*> commands;
  for (const auto& c : plan.commands) {
    if (journaled(c.key)) continue;
    commands.push_back(&c);
    entries.push_back({c.key, "", false, c.undo, c.remove_after_undo});
  }
  TuneResult res;
  if (plan.actions.empty() && commands.empty()) {
    res.lines.push_back("nothing to change: every knob is already tuned");
    return res;
  }
  std::vector<std::string> made = make_parents(state);
  try {
    sys::write_file_atomic(state, journal_text(entries, opts.root), 0600);
  } catch (...) {
    remove_dirs(made);
    throw;
  }

  // 2. Apply in order; on a hard failure undo this run's writes in reverse.
  std::vector<const TuneAction*> done;
  std::vector<const TuneCommand*> ran;
  std::vector<std::string> skipped_paths;
  auto previous_of = [&](const std::string& path) -> const Entry* {
    for (const auto& e : entries)
      if (e.path == path) return &e;
    return nullptr;
  };
  // Undoes this run (commands, then knobs, newest first), puts the journal
  // back as it was, and throws `what` with what could not be restored.
  auto roll_back = [&](std::string what, int err) {
    std::string failed_msg;
    for (auto it = ran.rbegin(); it != ran.rend(); ++it) {
      if (!run_command((*it)->undo).empty()) failed_msg += " " + argv_text((*it)->undo);
      if (!(*it)->remove_after_undo.empty()) ::unlink((*it)->remove_after_undo.c_str());
    }
    for (auto it = done.rbegin(); it != done.rend(); ++it) {
      const Entry* e = previous_of((*it)->path);
      if (!e) continue;
      std::string f = p.path(e->path);
      if (e->whole_file) {
        try {
          sys::write_file_atomic(f, e->previous);
        } catch (const Error&) {
          failed_msg += " " + e->path;
        }
      } else if (write_knob(f, e->previous) != 0) {
        failed_msg += " " + e->path;
      }
    }
    if (old.exists)
      sys::write_file_atomic(state, old.raw, 0600);
    else
      ::unlink(state.c_str());
    remove_dirs(made);
    what += "; rolled back " + std::to_string(done.size() + ran.size()) + " change(s)";
    if (!failed_msg.empty()) what += "; could not restore:" + failed_msg;
    sys_error(what, err);
  };
  for (const auto& a : plan.actions) {
    std::string full = p.path(a.path);
    int err = 0;
    if (a.whole_file) {
      try {
        struct stat st {};
        int mode = ::stat(full.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : 0644;
        sys::write_file_atomic(full, a.target, mode);
      } catch (const Error& e) {
        err = e.err() ? e.err() : EIO;
      }
    } else {
      err = write_knob(full, a.target + "\n");
    }
    if (err == 0) {
      done.push_back(&a);
      res.lines.push_back("set " + a.path + " = " + (a.whole_file ? std::string("(edited)") : a.target) +
                          "  [" + a.why + "]");
      continue;
    }
    // The kernel refuses to move managed (e.g. virtio/NVMe MSI-X), per-CPU
    // and chained IRQs: EIO from irq_can_set_affinity_usr(), EINVAL or
    // EPERM from the chip. Root meets no other EPERM on these files (a
    // user's open fails with EACCES first).
    if (a.skippable && (err == EIO || err == EINVAL || err == EPERM)) {
      ++res.skipped;
      skipped_paths.push_back(a.path);
      res.lines.push_back("skipped " + a.path + ": the kernel refuses to move this IRQ (" +
                          std::string(strerror(err)) + ")");
      continue;
    }
    roll_back("cannot write '" + a.target + "' to " + full + " (" + strerror(err) + ")", err);
  }
  // 3. The board's tools, each step in order; a failure rolls back all.
  for (const TuneCommand* c : commands) {
    ran.push_back(c);  // a step that failed half-way is undone too
    for (const auto& step : c->steps) {
      const std::string why = run_command(step);
      if (!why.empty()) roll_back("'" + argv_text(step) + "' failed (" + why + ")", EIO);
    }
    res.lines.push_back("ran " + argv_text(c->steps.back()) + "  [" + c->why +
                        "] (undo: " + argv_text(c->undo) + ")");
  }
  res.written = static_cast<int>(done.size() + ran.size());
  // Skipped IRQs were not changed: drop their new journal entries.
  if (!skipped_paths.empty()) {
    std::vector<Entry> kept;
    for (auto& e : entries) {
      bool was_old = std::any_of(old.entries.begin(), old.entries.end(),
                                 [&](const Entry& o) { return o.path == e.path; });
      if (was_old || std::find(skipped_paths.begin(), skipped_paths.end(), e.path) == skipped_paths.end())
        kept.push_back(e);
    }
    entries = std::move(kept);
    if (entries.empty()) {
      ::unlink(state.c_str());
      remove_dirs(made);
    } else {
      sys::write_file_atomic(state, journal_text(entries, opts.root), 0600);
    }
  }
  // A backup beside an edited boot-loader config, kept after revert too.
  for (const auto* a : done) {
    if (a->why != "boot.loader") continue;
    const Entry* e = previous_of(a->path);
    std::string bak = p.path(a->path) + ".rtcell.bak";
    struct stat st {};
    if (e && ::stat(bak.c_str(), &st) != 0) sys::write_file_atomic(bak, e->previous);
    res.lines.push_back("backup of the previous " + a->path + ": " + a->path + ".rtcell.bak");
  }
  return res;
}

namespace {

constexpr const char* kUnitMarker = "# Written by rtcell tune --persist";

// Removes the boot unit and its enabling link when they are rtcell's.
std::vector<std::string> remove_persist(const TuneOptions& opts) {
  std::vector<std::string> lines;
  const std::string unit = join_root(opts.root, kTuneUnit);
  const std::string link = join_root(opts.root, kTuneUnitLink);
  auto text = sys::try_read_file(unit);
  if (!text || text->find(kUnitMarker) == std::string::npos) return lines;
  if (::unlink(link.c_str()) == 0) lines.push_back(std::string("removed ") + kTuneUnitLink);
  ::rmdir(join_root(opts.root, "/etc/systemd/system/sysinit.target.wants").c_str());  // when empty
  if (::unlink(unit.c_str()) == 0) lines.push_back(std::string("removed ") + kTuneUnit);
  return lines;
}

}  // namespace

void check_persist(const TuneOptions& opts) {
  struct stat st {};
  const std::string dir = join_root(opts.root, "/etc/systemd/system");
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    usage_error("--persist installs a systemd unit, and " + dir +
                " does not exist (no systemd): run 'rtcell tune --cpus " + opts.rt_cpus.to_string() +
                " --apply' from your init's boot script instead (docs/tune.md)");
}

std::vector<std::string> persist_tune(const TuneOptions& opts, const std::string& rtcell_path) {
  check_persist(opts);
  std::string cmd = rtcell_path + " tune --cpus " + opts.rt_cpus.to_string() + " --apply";
  if (opts.rt_throttling_off) cmd += " --no-rt-throttling";
  if (!opts.state_file.empty()) cmd += " --state " + opts.state_file;
  const std::string unit_text = std::string(kUnitMarker) +
                                "; rtcell tune --revert removes it.\n"
                                "[Unit]\n"
                                "Description=rtcell: RT tuning for CPUs " +
                                opts.rt_cpus.to_string() +
                                " (IRQ affinity, governors, timer migration, watchdog)\n"
                                "DefaultDependencies=no\n"
                                "After=local-fs.target systemd-sysctl.service\n"
                                "Before=sysinit.target shutdown.target\n"
                                "Conflicts=shutdown.target\n"
                                "\n"
                                "[Service]\n"
                                "Type=oneshot\n"
                                "RemainAfterExit=yes\n"
                                "ExecStart=" +
                                cmd +
                                "\n"
                                "\n"
                                "[Install]\n"
                                "WantedBy=sysinit.target\n";
  const std::string unit = join_root(opts.root, kTuneUnit);
  const std::string link = join_root(opts.root, kTuneUnitLink);
  sys::write_file_atomic(unit, unit_text, 0644);
  const std::string wants = join_root(opts.root, "/etc/systemd/system/sysinit.target.wants");
  if (::mkdir(wants.c_str(), 0755) != 0 && errno != EEXIST) {
    const int e = errno;
    ::unlink(unit.c_str());
    sys_error("cannot make " + wants, e);
  }
  ::unlink(link.c_str());
  if (::symlink(kTuneUnit, link.c_str()) != 0) {
    const int e = errno;
    ::unlink(unit.c_str());
    ::rmdir(wants.c_str());
    sys_error("cannot enable " + unit + " (" + link + ")", e);
  }
  return {std::string("installed ") + kTuneUnit + ": " + cmd + " at every boot",
          std::string("enabled it: ") + kTuneUnitLink +
              " (systemctl daemon-reload shows it before the next boot)"};
}

TuneResult revert_tune(const TuneOptions& opts) {
  Probe p(opts.root);
  const std::string state = state_file_of(opts);
  Journal j = load_journal(state);
  TuneResult res;
  res.lines = remove_persist(opts);
  if (!j.exists) {
    res.lines.push_back("nothing to revert: no tune state file " + state);
    return res;
  }
  std::vector<Entry> failed;
  std::string failed_msg;
  for (auto it = j.entries.rbegin(); it != j.entries.rend(); ++it) {
    if (!it->undo.empty()) {
      const std::string why = run_command(it->undo);
      if (why.empty()) {
        ++res.written;
        if (!it->remove_after_undo.empty()) ::unlink(it->remove_after_undo.c_str());
        res.lines.push_back("ran " + argv_text(it->undo));
      } else {
        failed.insert(failed.begin(), *it);
        failed_msg += " '" + argv_text(it->undo) + "' (" + why + ")";
      }
      continue;
    }
    std::string f = p.path(it->path);
    auto cur = sys::try_read_file(f);
    if (cur && *cur == it->previous) continue;  // already what it was
    int err = 0;
    if (it->whole_file) {
      try {
        struct stat st {};
        int mode = ::stat(f.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : 0644;
        sys::write_file_atomic(f, it->previous, mode);
      } catch (const Error& e) {
        err = e.err() ? e.err() : EIO;
      }
    } else {
      err = write_knob(f, it->previous);
    }
    if (err == 0) {
      ++res.written;
      res.lines.push_back("restored " + it->path + " = " +
                          (it->whole_file ? std::string("(previous file)") : sys::trim(it->previous)));
    } else {
      failed.insert(failed.begin(), *it);
      failed_msg += " " + it->path + " (" + strerror(err) + ")";
    }
  }
  if (!failed.empty()) {
    sys::write_file_atomic(state, journal_text(failed, opts.root), 0600);
    sys_error(
        "could not restore" + failed_msg + "; the state file " + state + " keeps them for another --revert",
        EIO);
  }
  ::unlink(state.c_str());
  // Remove the directories the default state file lives in when now empty.
  if (opts.state_file.empty()) {
    ::rmdir(join_root(opts.root, "/var/lib/rtcell").c_str());
  }
  return res;
}

}  // namespace rtcell::host
