// `rtcell tune`: apply the runtime-changeable fixes of `rtcell check` and undo
// them exactly. Every value is journaled (its raw previous contents) in a
// state file BEFORE the first write, so:
//   - --revert writes back exactly what was there (byte-identical files in a
//     captured tree), even after a crash half-way through --apply;
//   - a second --apply changes nothing and keeps the ORIGINAL values in the
//     journal, never the tuned ones (idempotent);
//   - a write that fails part-way rolls back every write of this run and
//     restores the previous journal, so a failure leaves nothing behind.
// IRQs whose affinity the kernel refuses to change (per-CPU or managed IRQs
// answer EIO/EINVAL) are skipped and reported, not treated as failures.
#pragma once

#include <string>
#include <vector>

#include "rtcell/cpuset.hpp"

namespace rtcell::host {

struct TuneOptions {
  std::string root = "/";
  CpuSet rt_cpus;
  std::string state_file;          // "" = <root>/var/lib/rtcell/tune.json
  bool rt_throttling_off = false;  // also write sched_rt_runtime_us=-1
  bool write_bootargs = false;     // also edit extlinux.conf / /etc/default/grub
};

struct TuneAction {
  std::string path;         // in-tree absolute path
  std::string current;      // trimmed current value
  std::string target;       // value to write
  std::string why;          // the check id it fixes
  bool skippable = false;   // an IRQ the kernel may refuse to move
  bool whole_file = false;  // a config file rewritten atomically (target = whole new contents)
};

// A board tool run with its exact undo journaled (Jetson: nvpmodel,
// jetson_clocks, apt-mark). The programs are looked up under the tuned root
// (<root>/usr/bin, /usr/sbin, /bin, /sbin), so a fixture tree brings its own
// stand-ins; not found there, the command stays a note to run by hand.
struct TuneCommand {
  std::string key;                              // journal key: "command:nvpmodel"
  std::vector<std::vector<std::string>> steps;  // run in order, argv[0] absolute
  std::vector<std::string> undo;                // argv, run by --revert (and by a rollback)
  std::string remove_after_undo;                // a file the steps made, removed once undone
  std::string why;                              // the check id it fixes
};

struct TunePlan {
  std::vector<TuneAction> actions;    // only those whose value differs
  std::vector<TuneCommand> commands;  // after the knobs, in order
  int already = 0;                    // knobs already at their target
  std::vector<std::string> notes;     // commands to run by hand, boot line, reminders
  std::string boot_line;              // the boot arguments for the RT CPUs
};

struct TuneResult {
  int written = 0;
  int skipped = 0;
  std::vector<std::string> lines;  // what was done, one line each
};

// The state file for these options (resolves the default under root).
std::string state_file_of(const TuneOptions& opts);

// What --apply would do; reads only. Throws Usage when every online CPU is an
// RT CPU (nothing left for housekeeping) or a CPU is not online.
TunePlan plan_tune(const TuneOptions& opts);
// Applies the plan with the journal protocol above. Throws rtcell::Error
// after rolling back when a write fails.
TuneResult apply_tune(const TuneOptions& opts, const TunePlan& plan);
// Restores every journaled value and removes the journal. No journal: a
// result with no lines written and a line saying so. Also removes the boot
// unit of persist_tune(), if there is one.
TuneResult revert_tune(const TuneOptions& opts);

// tune --persist: a systemd unit, enabled for sysinit.target, that runs
// `RTCELL tune --cpus RT --apply` early at every boot (the journal keeps the
// first boot's defaults as the values to revert to). Refuses with one line
// when the root has no systemd (<root>/etc/systemd/system): the fallback is
// that command in the init's own boot script (docs/tune.md). Call before
// apply_tune so that a refusal changes nothing.
inline constexpr const char* kTuneUnit = "/etc/systemd/system/rtcell-tune.service";
inline constexpr const char* kTuneUnitLink = "/etc/systemd/system/sysinit.target.wants/rtcell-tune.service";
void check_persist(const TuneOptions& opts);
std::vector<std::string> persist_tune(const TuneOptions& opts, const std::string& rtcell_path);

}  // namespace rtcell::host
