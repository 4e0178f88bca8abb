// The public face of the cgroup layer and its undo. docs/cgroups.md describes
// the behaviour; cgroup_internal.hpp says which file holds what.
//
// Everything that can be checked is checked in the backend's plan() before
// the first mkdir, so bad input never leaves anything behind. create() then
// writes down every change to the shared tree in a CgroupJournal *before*
// making it (directories made, RT runtime added to an ancestor, v2
// controllers switched on), and undo_journal() reverts exactly those: when
// creation fails part-way, when the cell goes away, and in another process
// that adopted the journal after the creator was killed.
//
// The RT group budget is the subtle part (Documentation/scheduler/
// sched-rt-group.rst, kernel/sched/rt.c tg_rt_schedulable()): a new group
// gets rt_runtime_us = 0, and the kernel then refuses SCHED_FIFO/RR in it with
// EPERM (kernel/sched/syscalls.c). A group's runtime/period ratio must cover
// the sum of its children's ratios, and no group may exceed the global
// sched_rt_runtime_us/sched_rt_period_us. So a budget for rtcell/<id> has to be
// added along the chain, top-down (parents grow first), and given back
// bottom-up (child to 0 first). Several cells share rtcell/, and they leave
// in any order. An rtcell level (rtcell-named or made by rtcell) holds no
// budget of its own, so on exit it goes to exactly what its remaining
// children need: a function of the live cells, not of their history, which
// the kernel's rounded ratios would otherwise make drift by a microsecond
// here and there. A level that is not rtcell's shrinks by exactly what this
// cell added. All tree changes happen under an flock on the cgroup root, in
// every process.
#include "cell/cgroup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <utility>

#include "cell/cgroup_devices.hpp"
#include "cell/cgroup_internal.hpp"
#include "rtcell/error.hpp"
#include "sys/cgroup_dir.hpp"
#include "sys/file.hpp"
#include "util/units.hpp"

namespace rtcell::cell {

namespace {

constexpr uint64_t kBwShift = 20;  // kernel/sched/sched.h BW_SHIFT
constexpr uint64_t kBwUnit = uint64_t{1} << kBwShift;

// The controllers rtcell uses on v1, in creation order.
constexpr const char* kV1Controllers[] = {"cpuset", "cpu", "memory", "pids", "devices"};

class KernelFs : public CgroupFs {
 public:
  int make_dir(const std::string& path) override { return sys::make_dir(path); }
  int remove_dir(const std::string& path) override { return sys::remove_dir(path); }
};

bool procs_empty(const std::string& dir) {
  auto procs = sys::try_read_file(dir + "/cgroup.procs");
  return !procs || sys::trim(*procs).empty();
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n' && text[j] != '\t') ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Reading the tree

namespace detail {

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_value(const std::string& path) {
  return sys::trim(sys::read_file(path));
}

int64_t read_i64(const std::string& path) {
  std::string v = read_value(path);
  return util::parse_int(v, INT64_MIN, INT64_MAX, path);
}

std::vector<std::string> subdirs(const std::string& path) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
    std::error_code ec2;
    if (e.is_directory(ec2) && !e.is_symlink(ec2)) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool has_word(const std::string& text, const std::string& word) {
  auto ws = words(text);
  return std::find(ws.begin(), ws.end(), word) != ws.end();
}

bool is_rtcell_name(const std::string& component) {
  return component.rfind("rtcell", 0) == 0;
}

std::string device_rule_text(const DeviceRule& r) {
  if (r.type == 'a') return "a";
  std::string s(1, r.type);
  s += ' ';
  s += r.major < 0 ? "*" : std::to_string(r.major);
  s += ':';
  s += r.minor < 0 ? "*" : std::to_string(r.minor);
  s += ' ';
  s += r.access;
  return s;
}

RtBudget read_global_rt(const CgroupFs& fs) {
  return RtBudget{.period_us = read_i64(fs.proc_sys_kernel() + "/sched_rt_period_us"),
                  .runtime_us = read_i64(fs.proc_sys_kernel() + "/sched_rt_runtime_us")};
}

uint64_t child_ratio_sum(const std::string& dir, const std::string& skip) {
  uint64_t sum = 0;
  for (const auto& c : subdirs(dir)) {
    if (c == skip) continue;
    std::string p = dir;
    p += '/';
    p += c;
    auto rt = sys::try_read_file(p + "/cpu.rt_runtime_us");
    auto per = sys::try_read_file(p + "/cpu.rt_period_us");
    if (!rt || !per) continue;
    sum += rt_ratio(util::parse_int(sys::trim(*rt), -1, INT64_MAX, p),
                    util::parse_int(sys::trim(*per), 1, INT64_MAX, p));
  }
  return sum;
}

std::string level_path(const Hierarchy& h, const std::vector<std::string>& parent, size_t depth) {
  std::string p = h.base;
  for (size_t i = 0; i < depth; ++i) p += "/" + parent[i];
  return p;
}

std::string deepest_existing(const Hierarchy& h, const std::vector<std::string>& parent) {
  std::string best = h.base;
  for (size_t d = 1; d <= parent.size(); ++d) {
    std::string p = level_path(h, parent, d);
    if (!path_exists(p)) break;
    best = p;
  }
  return best;
}

// Found as <root>/<name>; a symlink such as cpu -> cpu,cpuacct is followed.
std::vector<Hierarchy> v1_hierarchies(const std::string& root) {
  std::vector<Hierarchy> out;
  std::vector<std::string> seen;
  for (const char* c : kV1Controllers) {
    std::string base = root + "/" + c;
    if (!path_exists(base + "/cgroup.procs")) continue;
    std::error_code ec;
    std::string real = std::filesystem::canonical(base, ec).string();
    if (!ec && std::find(seen.begin(), seen.end(), real) != seen.end()) continue;  // co-mounted
    seen.push_back(ec ? base : real);
    out.push_back({c, base});
  }
  return out;
}

// ---------------------------------------------------------------------------
// Changing the tree, write-ahead

namespace {

// Applies `step` to the journal, persisting the result through the hook
// first. If the hook throws, the journal is left as it was.
template <class Step>
void ahead(Cgroup::State& s, Step&& step) {
  if (!s.on_journal) {
    step(s.journal);
    return;
  }
  CgroupJournal next = s.journal;
  step(next);
  s.on_journal(next);
  s.journal = std::move(next);
}

}  // namespace

bool make_group(Cgroup::State& s, const std::string& path, bool leaf) {
  const std::string id = path.substr(path.rfind('/') + 1);
  const bool ours_anyway = !leaf && is_rtcell_name(id);
  // Under the root lock no other rtcell changes the tree, so what exists now
  // still exists at the mkdir. EEXIST on a shared parent is normal; an
  // rtcell-named level is still ours to remove once empty.
  if (path_exists(path)) {
    if (leaf) usage_error("cgroup " + path + " already exists: cell id '" + id + "' is in use");
    if (ours_anyway) s.journal.made.push_back({path, true, false});  // no change: persisted with the next
    return false;
  }
  ahead(s, [&](CgroupJournal& j) { j.made.push_back({path, true, leaf}); });
  int rc = s.fs->make_dir(path);
  if (rc == 0) return true;
  // Someone outside rtcell made it meanwhile: ours only if rtcell-named.
  if (rc != EEXIST || !ours_anyway) s.journal.made.pop_back();
  if (rc == EEXIST && leaf) usage_error("cgroup " + path + " already exists: cell id '" + id + "' is in use");
  if (rc != EEXIST) sys_error("cannot create cgroup " + path, rc);
  return false;
}

void grow_runtime(Cgroup::State& s, const std::string& level, int64_t before_us, int64_t after_us) {
  ahead(s, [&](CgroupJournal& j) { j.grown.push_back({level, before_us, after_us}); });
  try {
    s.fs->write(level + "/cpu.rt_runtime_us", std::to_string(after_us));
  } catch (...) {
    s.journal.grown.pop_back();
    throw;
  }
}

void note_rt_leaf(Cgroup::State& s, const std::string& leaf) {
  ahead(s, [&](CgroupJournal& j) { j.rt_leaf = leaf; });
}

void enable_controller(Cgroup::State& s, const std::string& level, const std::string& controller) {
  // A level rtcell made (or an rtcell-named one it will remove once empty)
  // takes its subtree_control with it.
  bool ours = std::any_of(s.journal.made.begin(), s.journal.made.end(),
                          [&](const CgroupJournal::Made& m) { return m.path == level; });
  if (!ours) ahead(s, [&](CgroupJournal& j) { j.enabled.emplace_back(level, controller); });
  try {
    s.fs->write(level + "/cgroup.subtree_control", "+" + controller);
  } catch (...) {
    if (!ours) s.journal.enabled.pop_back();
    throw;
  }
}

// ---------------------------------------------------------------------------
// Undo

namespace {

// One cpu level whose RT runtime undo may lower: rtcell's own (a level in
// `made` with an RT budget) or another's that this cell raised (`grown`).
struct RtUndo {
  std::string path;
  const CgroupJournal::Grown* grown = nullptr;  // set for a level not rtcell's
  bool maybe_never = false;                     // the raise may not have happened
};

std::vector<RtUndo> rt_undo_order(const CgroupJournal& j) {
  std::vector<RtUndo> out;
  for (const auto& m : j.made) {
    if (m.leaf || !m.rtcell_owned || !path_exists(m.path + "/cpu.rt_runtime_us")) continue;
    out.push_back({m.path, nullptr, false});
  }
  for (size_t i = 0; i < j.grown.size(); ++i) {
    const auto& g = j.grown[i];
    if (std::any_of(out.begin(), out.end(), [&](const RtUndo& u) { return u.path == g.path; })) continue;
    if (!path_exists(g.path)) continue;
    // Raises are written ahead, each persisted before it is made, and the
    // cell's own runtime (rt_leaf) after all of them: only the last raise of
    // a journal without rt_leaf may be one that never happened.
    out.push_back({g.path, &g, i + 1 == j.grown.size() && j.rt_leaf.empty()});
  }
  // Deepest first: a parent shrinks only after its children did.
  std::stable_sort(out.begin(), out.end(), [](const RtUndo& a, const RtUndo& b) {
    return std::count(a.path.begin(), a.path.end(), '/') > std::count(b.path.begin(), b.path.end(), '/');
  });
  return out;
}

}  // namespace

std::string undo_journal(CgroupJournal& j, CgroupFs& fs) {
  std::string first;
  auto fail = [&](const std::string& m) {
    if (first.empty()) first = m;
  };
  auto try_write = [&](const std::string& path, const std::string& text) {
    try {
      fs.write(path, text);
    } catch (const std::exception& e) {
      fail(e.what());
    }
  };
  // 1. The cell's RT budget back to 0 before its group goes (the kernel would
  //    drop it with the group too; doing it first keeps the order explicit).
  if (!j.rt_leaf.empty() && path_exists(j.rt_leaf)) try_write(j.rt_leaf + "/cpu.rt_runtime_us", "0");
  // 2. The leaves. ENOENT: the journal was written ahead of a mkdir that
  //    never happened, or an earlier undo got this far.
  for (auto it = j.made.rbegin(); it != j.made.rend(); ++it) {
    if (!it->leaf) continue;
    int rc = fs.remove_dir(it->path);
    if (rc != 0 && rc != ENOENT) fail("cannot remove cgroup " + it->path + ": " + std::strerror(rc));
  }
  // 3. The RT budgets of the cpu levels above the cell, deepest first (a
  //    level never drops below its children's sum).
  for (const RtUndo& u : rt_undo_order(j)) {
    try {
      int64_t cur = read_i64(u.path + "/cpu.rt_runtime_us");
      if (cur < 0) continue;  // unlimited: never ours to touch
      int64_t period = read_i64(u.path + "/cpu.rt_period_us");
      uint64_t children = child_ratio_sum(u.path, "");
      int64_t want = cur;
      if (!u.grown) {
        // rtcell's own level holds no budget of its own: exactly what its
        // children need. A function of the cells alive, not of history, so
        // cells may come and go in any order, rounding included, and the
        // level ends where it started; a raise that was written ahead but
        // never made needs no special case.
        want = std::min(cur, rt_runtime_for_ratio(children, period));
      } else if (!(u.maybe_never && cur < u.grown->after_us)) {
        // A level that is not rtcell's (a slice named in the parent path)
        // may hold more than its children need, and only its owner knows
        // how much: lower it by exactly what this cell raised it by; what
        // others raised it by since stays. A raise written ahead that never
        // happened leaves the level below what it would have set: skipped.
        want = rt_shrunk_runtime(cur, u.grown->after_us - u.grown->before_us, children, period);
      }
      if (want != cur) try_write(u.path + "/cpu.rt_runtime_us", std::to_string(want));
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }
  // 4. Parent levels, deepest first, when empty and ours. EBUSY/ENOTEMPTY
  //    means another cell still lives there: leave it.
  for (auto it = j.made.rbegin(); it != j.made.rend(); ++it) {
    if (it->leaf || !it->rtcell_owned) continue;
    int rc = fs.remove_dir(it->path);
    if (rc != 0 && rc != ENOENT && rc != EBUSY && rc != ENOTEMPTY) {
      fail("cannot remove cgroup " + it->path + ": " + std::strerror(rc));
    }
  }
  // 5. v2 controllers we enabled at levels that stay, when no child group
  //    could rely on them any more.
  for (auto it = j.enabled.rbegin(); it != j.enabled.rend(); ++it) {
    if (!path_exists(it->first) || !subdirs(it->first).empty()) continue;
    auto on = sys::try_read_file(it->first + "/cgroup.subtree_control");
    if (!on || !has_word(*on, it->second)) continue;  // never switched on (written ahead)
    try {
      fs.write(it->first + "/cgroup.subtree_control", "-" + it->second);
    } catch (const std::exception&) {
      // Another user of the level may have started to need it: leave it on.
    }
  }
  j.made.clear();
  j.rt_leaf.clear();
  j.grown.clear();
  j.enabled.clear();
  return first;
}

}  // namespace detail

std::vector<std::string> Cgroup::State::leaves() const {
  std::vector<std::string> out;
  for (const auto& m : journal.made)
    if (m.leaf) out.push_back(m.path);
  return out;
}

// ---------------------------------------------------------------------------
// Public API

const char* to_string(CgroupLayout layout) {
  switch (layout) {
    case CgroupLayout::V1:
      return "v1";
    case CgroupLayout::Hybrid:
      return "hybrid";
    case CgroupLayout::V2:
      return "v2";
  }
  return "?";
}

void CgroupFs::write(const std::string& path, const std::string& text) {
  sys::write_file(path, text);
}

void CgroupFs::attach_device_filter(const std::string& dir, const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> prog = device_filter_program(rules);
  sys::Fd fd = sys::load_device_program(prog.data(), prog.size());
  sys::attach_device_program(dir, fd);
}

CgroupFs& CgroupFs::kernel() {
  static KernelFs fs;
  return fs;
}

CgroupLayout detect_layout(const std::string& root) {
  switch (sys::fs_kind(root)) {
    case sys::FsKind::Cgroup2:
      return CgroupLayout::V2;
    case sys::FsKind::Missing:
      unsupported_error("no cgroup filesystem at " + root + " (mount cgroup or cgroup2 there)");
    default:
      break;
  }
  if (sys::fs_kind(root + "/unified") == sys::FsKind::Cgroup2) return CgroupLayout::Hybrid;
  if (detail::path_exists(root + "/cgroup.controllers")) return CgroupLayout::V2;  // a fake v2 root
  return CgroupLayout::V1;
}

namespace {

void check_request(const CgroupRequest& req) {
  validate_id(req.id, "cgroup name");
  if (req.memory_bytes && *req.memory_bytes == 0)
    usage_error("resources.memory.limit must be more than 0 bytes");
  if (req.pids_max && *req.pids_max < 1) usage_error("resources.pids.limit must be at least 1");
  if (req.rt_budget) {
    const RtBudget& b = *req.rt_budget;
    if (b.period_us < 1 || b.period_us > INT_MAX) {
      usage_error("resources.cpu.realtimePeriod must be between 1 and " + std::to_string(INT_MAX) + " us");
    }
    if (b.runtime_us < 1 || b.runtime_us > b.period_us) {
      usage_error("resources.cpu.realtimeRuntime must be between 1 us and the period (" +
                  std::to_string(b.period_us) + " us)");
    }
  }
  for (const auto& d : req.devices) {
    bool ok = (d.type == 'c' || d.type == 'b' || d.type == 'a') && d.major >= -1 && d.minor >= -1 &&
              !d.access.empty() && d.access.find_first_not_of("rwm") == std::string::npos;
    if (!ok)
      usage_error("bad device rule '" + detail::device_rule_text(d) +
                  "': want c|b MAJOR:MINOR with access rwm");
  }
}

detail::Plan make_plan(const CgroupRequest& req, const std::string& root, CgroupFs& fs) {
  check_request(req);
  detail::Plan plan;
  plan.root = root;
  plan.parent = split_parent(req.parent);
  plan.layout = detect_layout(root);
  detail::backend_for(plan.layout).plan(req, plan, fs);
  return plan;
}

}  // namespace

Cgroup::Cgroup() = default;
Cgroup::Cgroup(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
Cgroup::Cgroup(Cgroup&&) noexcept = default;
Cgroup& Cgroup::operator=(Cgroup&& o) noexcept {
  if (this != &o) {
    destroy();
    state_ = std::move(o.state_);
  }
  return *this;
}
Cgroup::~Cgroup() {
  destroy();
}

void Cgroup::validate(const CgroupRequest& req, const std::string& root) {
  validate(req, root, CgroupFs::kernel());
}

void Cgroup::validate(const CgroupRequest& req, const std::string& root, CgroupFs& fs) {
  (void)make_plan(req, root, fs);
}

Cgroup Cgroup::create(const CgroupRequest& req, const std::string& root) {
  return create(req, root, CgroupFs::kernel());
}

Cgroup Cgroup::create(const CgroupRequest& req, const std::string& root, CgroupFs& fs) {
  auto s = std::make_unique<State>();
  s->fs = &fs;
  s->req = req;
  s->on_journal = req.on_journal;
  s->owner = ::getpid();
  sys::DirLock lock = sys::DirLock::acquire(root);
  s->plan = make_plan(req, root, fs);  // under the lock: the plan stays true
  s->journal.layout = s->plan.layout;
  s->journal.root = root;
  s->budget = s->plan.budget;
  const detail::CgroupBackend& backend = detail::backend_for(s->plan.layout);
  try {
    backend.create(*s);
    backend.apply(*s);
  } catch (...) {
    s->alive.release();
    (void)backend.destroy(s->journal, fs);
    throw;
  }
  return Cgroup(std::move(s));
}

Cgroup Cgroup::adopt(const CgroupJournal& j, CgroupFs& fs) {
  detail::validate_journal(j);
  auto s = std::make_unique<State>();
  s->fs = &fs;
  s->journal = j;
  s->owner = ::getpid();
  if (!j.rt_leaf.empty()) {
    auto rt = sys::try_read_file(j.rt_leaf + "/cpu.rt_runtime_us");
    auto per = sys::try_read_file(j.rt_leaf + "/cpu.rt_period_us");
    try {
      if (rt && per) {
        RtBudget b{.period_us = util::parse_int(sys::trim(*per), 1, INT64_MAX, j.rt_leaf),
                   .runtime_us = util::parse_int(sys::trim(*rt), -1, INT64_MAX, j.rt_leaf)};
        if (b.runtime_us > 0) s->budget = b;
      }
    } catch (const Error&) {
      // Not a number: the cell's group is not what the journal says; no budget to report.
    }
  }
  return Cgroup(std::move(s));
}

void Cgroup::attach(pid_t pid) {
  if (!state_ || state_->destroyed) usage_error("cgroup: attach to a destroyed cell");
  detail::backend_for(state_->journal.layout).attach(*state_, pid);
}

std::vector<std::string> Cgroup::notes() const {
  return state_ ? state_->plan.notes : std::vector<std::string>{};
}

CgroupLayout Cgroup::layout() const {
  return state_ ? state_->journal.layout : CgroupLayout::V1;
}

std::vector<std::string> Cgroup::paths() const {
  return state_ ? state_->leaves() : std::vector<std::string>{};
}

std::optional<RtBudget> Cgroup::rt_budget() const {
  if (!state_) return std::nullopt;
  return state_->budget;
}

CgroupJournal Cgroup::journal() const {
  return state_ ? state_->journal : CgroupJournal{};
}

void Cgroup::release() noexcept {
  state_.reset();
}

void Cgroup::destroy() noexcept {
  try {
    destroy_checked();
  } catch (...) {
    // Best effort by contract; destroy_checked() reports.
  }
}

void Cgroup::destroy_checked() {
  if (!state_ || state_->destroyed) return;
  state_->destroyed = true;
  if (state_->owner != ::getpid()) return;
  sys::DirLock lock = sys::DirLock::acquire(state_->journal.root);
  state_->alive.release();
  std::string err = detail::backend_for(state_->journal.layout).destroy(state_->journal, *state_->fs);
  if (!err.empty()) throw Error(ErrorKind::System, err);
}

// ---------------------------------------------------------------------------
// gc

std::vector<std::string> collect_garbage(const std::string& parent, const std::string& root) {
  return collect_garbage(parent, root, CgroupFs::kernel());
}

std::vector<std::string> collect_garbage(const std::string& parent, const std::string& root, CgroupFs& fs) {
  return collect_garbage(parent, root, fs, GcOwnership{});
}

std::vector<std::string> collect_garbage(const std::string& parent, const std::string& root, CgroupFs& fs,
                                         const GcOwnership& own) {
  using namespace detail;
  std::vector<std::string> parts = split_parent(parent);
  // cgroupfs holds no marker of who made a group (no xattrs on v1, no
  // files of our own): a parent named rtcell* is rtcell's level, so every
  // group in it is a cell; under any other parent (system.slice, kubepods,
  // docker) only the ids the state registry knows are.
  const bool rtcell_level = is_rtcell_name(parts.back());
  CgroupLayout layout = detect_layout(root);
  std::vector<Hierarchy> hs;
  if (layout == CgroupLayout::V2) {
    hs.push_back({"", root});
  } else {
    hs = v1_hierarchies(root);
    // rtcell pause (and the supervisor's freeze) add a freezer group to a
    // v1 cell: swept like the cell's own controllers.
    if (path_exists(root + "/freezer/cgroup.procs")) hs.push_back({"freezer", root + "/freezer"});
  }
  sys::DirLock lock = sys::DirLock::acquire(root);
  // Candidate ids: every group under <parent> in any hierarchy.
  std::vector<std::string> ids;
  for (const auto& h : hs)
    for (const auto& id : subdirs(level_path(h, parts, parts.size())))
      if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  std::sort(ids.begin(), ids.end());

  std::vector<std::string> removed;
  std::string first_error;
  int first_errno = 0;
  for (const auto& id : ids) {
    if (!rtcell_level && std::find(own.known_ids.begin(), own.known_ids.end(), id) == own.known_ids.end()) {
      if (own.not_ours != nullptr) {
        std::string g = parent;
        g += '/';
        g += id;
        own.not_ours->push_back(std::move(g));
      }
      continue;
    }
    bool idle = true;
    // A live rtcell holds a shared flock on its cell's group from creation
    // on, before any process is attached; a killed one holds nothing.
    for (const auto& h : hs) {
      std::string g = level_path(h, parts, parts.size()) + "/" + id;
      if (!path_exists(g)) continue;
      idle = sys::DirLock::try_acquire(g).held();
      break;
    }
    for (const auto& h : hs) {
      std::string g = level_path(h, parts, parts.size()) + "/" + id;
      if (path_exists(g) && (!procs_empty(g) || !subdirs(g).empty())) idle = false;
    }
    if (!idle) continue;
    bool ok = true;
    for (const auto& h : hs) {
      std::string g = level_path(h, parts, parts.size()) + "/" + id;
      if (!path_exists(g)) continue;
      if (h.name == "cpu" && path_exists(g + "/cpu.rt_runtime_us")) {
        try {
          if (read_i64(g + "/cpu.rt_runtime_us") != 0) fs.write(g + "/cpu.rt_runtime_us", "0");
        } catch (const std::exception& e) {
          if (first_error.empty()) first_error = e.what();
        }
      }
      int rc = fs.remove_dir(g);
      if (rc != 0 && rc != ENOENT) {
        ok = false;
        if (first_error.empty()) {
          first_error = "cannot remove cgroup " + g + ": " + std::strerror(rc);
          first_errno = rc;
        }
      }
    }
    if (ok) {
      std::string r = parent;
      r += '/';
      r += id;
      removed.push_back(std::move(r));
    }
  }
  // Give the budget back and drop rtcell-named parents left empty, deepest
  // first; stop at the first level that is not rtcell's.
  for (const auto& h : hs) {
    for (size_t d = parts.size(); d >= 1; --d) {
      if (!is_rtcell_name(parts[d - 1])) break;
      std::string p = level_path(h, parts, d);
      if (!path_exists(p)) continue;
      if (h.name == "cpu" && path_exists(p + "/cpu.rt_runtime_us")) {
        try {
          int64_t cur = read_i64(p + "/cpu.rt_runtime_us");
          int64_t want = rt_runtime_for_ratio(child_ratio_sum(p, ""), read_i64(p + "/cpu.rt_period_us"));
          if (want < cur) fs.write(p + "/cpu.rt_runtime_us", std::to_string(want));
        } catch (const std::exception& e) {
          if (first_error.empty()) first_error = e.what();
        }
      }
      if (subdirs(p).empty() && procs_empty(p)) (void)fs.remove_dir(p);
    }
  }
  if (!first_error.empty() && removed.empty()) {
    bool priv = first_errno == EPERM || first_errno == EACCES;
    throw Error(priv ? ErrorKind::Privilege : ErrorKind::System,
                priv ? first_error + " (run rtcell gc as root)" : first_error, first_errno);
  }
  return removed;
}

// ---------------------------------------------------------------------------
// Pure helpers

void validate_id(std::string_view id, std::string_view what) {
  auto bad = [&](const std::string& why) {
    usage_error(std::string(what) + " '" + std::string(id) + "' " + why + "; use 1-255 of A-Z a-z 0-9 _ . -");
  };
  if (id.empty()) bad("is empty");
  if (id.size() > 255) bad("is too long");
  if (id == "." || id == "..") bad("is not a name");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-';
    if (!ok) bad("has a character outside the allowed set");
  }
}

std::vector<std::string> split_parent(std::string_view parent) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= parent.size()) {
    size_t j = parent.find('/', i);
    if (j == std::string_view::npos) j = parent.size();
    std::string_view part = parent.substr(i, j - i);
    if (!part.empty()) {
      validate_id(part, "cgroupsPath component");
      out.emplace_back(part);
    }
    i = j + 1;
  }
  if (out.empty()) usage_error("cgroupsPath '" + std::string(parent) + "' is empty; give e.g. rtcell");
  return out;
}

uint64_t rt_ratio(int64_t runtime_us, int64_t period_us) {
  if (runtime_us < 0) return kBwUnit;  // RUNTIME_INF
  if (period_us <= 0) return 0;
  // kernel/sched/core.c to_ratio() works in ns; the 1000s cancel exactly.
  return (static_cast<uint64_t>(runtime_us) << kBwShift) / static_cast<uint64_t>(period_us);
}

int64_t rt_runtime_for_ratio(uint64_t ratio, int64_t period_us) {
  if (period_us <= 0) return 0;
  // floor(r * 2^20 / p) >= ratio  <=>  r >= ratio * p / 2^20
  auto p = static_cast<uint64_t>(period_us);
  if (ratio > (UINT64_MAX - kBwUnit) / p) return INT64_MAX;  // no real group gets near this
  return static_cast<int64_t>((ratio * p + kBwUnit - 1) >> kBwShift);
}

RtBudget default_rt_budget(int64_t period_us) {
  return RtBudget{.period_us = period_us, .runtime_us = period_us * kDefaultRtPercent / 100};
}

namespace {

// plan_rt_budget() without messages: the new runtimes, or nullopt.
std::optional<std::vector<int64_t>> try_plan(const std::vector<RtLevel>& chain, RtBudget leaf,
                                             RtBudget global, std::string* why) {
  uint64_t global_ratio = global.runtime_us < 0 ? kBwUnit : rt_ratio(global.runtime_us, global.period_us);
  std::vector<int64_t> out;
  out.reserve(chain.size());
  for (const auto& l : chain) out.push_back(l.runtime_us);
  uint64_t child = rt_ratio(leaf.runtime_us, leaf.period_us);
  if (child > global_ratio || leaf.runtime_us > leaf.period_us) {
    if (why) *why = "global";
    return std::nullopt;
  }
  for (size_t i = chain.size(); i-- > 0;) {
    const RtLevel& l = chain[i];
    uint64_t need = l.others_ratio + child;
    if (rt_ratio(l.runtime_us, l.period_us) >= need) return out;  // covered: nothing above changes
    if (i == 0) {
      if (why) *why = chain[0].path;
      return std::nullopt;  // the root is never changed
    }
    int64_t rt = rt_runtime_for_ratio(need, l.period_us);
    if (rt > l.period_us || rt_ratio(rt, l.period_us) > global_ratio) {
      if (why) *why = l.path;
      return std::nullopt;
    }
    out[i] = rt;
    child = rt_ratio(rt, l.period_us);
  }
  return out;
}

}  // namespace

std::vector<int64_t> plan_rt_budget(const std::vector<RtLevel>& chain, RtBudget leaf, RtBudget global) {
  if (chain.empty()) usage_error("RT budget: empty cgroup chain");
  std::string why;
  auto plan = try_plan(chain, leaf, global, &why);
  if (plan) return *plan;
  if (why == "global") {
    usage_error("RT budget " + std::to_string(leaf.runtime_us) + " us per " + std::to_string(leaf.period_us) +
                " us is more than sched_rt_runtime_us allows (" + std::to_string(global.runtime_us) +
                " per " + std::to_string(global.period_us) + " us); lower resources.cpu.realtimeRuntime");
  }
  int64_t free_us = rt_max_leaf_runtime(chain, leaf.period_us, global);
  usage_error("RT budget " + std::to_string(leaf.runtime_us) + " us per " + std::to_string(leaf.period_us) +
              " us does not fit under " + why + ": the free RT share is " + std::to_string(free_us) +
              " us per " + std::to_string(leaf.period_us) +
              " us (other groups hold the rest of sched_rt_runtime_us); lower resources.cpu.realtimeRuntime, "
              "or remove "
              "leftover cells with `rtcell gc`");
}

int64_t rt_max_leaf_runtime(const std::vector<RtLevel>& chain, int64_t period_us, RtBudget global) {
  int64_t lo = 0, hi = period_us;  // invariant: lo fits (or is 0), hi+1 does not
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    if (try_plan(chain, RtBudget{.period_us = period_us, .runtime_us = mid}, global, nullptr)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

int64_t rt_shrunk_runtime(int64_t current_us, int64_t grown_by_us, uint64_t children_ratio,
                          int64_t period_us) {
  if (current_us < 0) return current_us;  // unlimited: never ours to touch
  int64_t floor_us = rt_runtime_for_ratio(children_ratio, period_us);
  int64_t want = std::max<int64_t>(current_us - grown_by_us, 0);
  return std::min(current_us, std::max(want, floor_us));
}

}  // namespace rtcell::cell
