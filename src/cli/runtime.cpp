// rtcell-runtime: rtcell as an OCI runtime, with runc's command line, so
// that Podman (conmon), Docker and containerd (containerd-shim-runc-v2,
// ctr --runc-binary) and docker-compose run their containers as cells. The
// same binary as rtcell, chosen by its name (a symlink rtcell-runtime ->
// rtcell). docs/oci.md lists the verbs, the flags and what rtcell adds.
//
// runc's conventions kept here: global flags before the verb, flags as
// --x V, --x=V or -x V; errors on stderr and, with --log, as JSON lines
// {"level","msg","time"} (the shim shows the last "error" line to the
// user); the texts callers match ("container not running", "does not
// exist"); create leaves the init waiting for start and reparentable.
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cell/cgroup.hpp"
#include "cell/hooks.hpp"
#include "cell/join.hpp"
#include "cell/lifecycle.hpp"
#include "cell/seccomp_profile.hpp"
#include "cli/promises.hpp"
#include "cli/supervise.hpp"
#include "front/flags.hpp"
#include "front/manifest_cell.hpp"
#include "front/oci_config.hpp"
#include "host/facts.hpp"
#include "report/cells.hpp"
#include "rtcell/error.hpp"
#include "rtcell/rt/cell_tasks.hpp"
#include "rtcell/rt/sched.hpp"
#include "sys/caps.hpp"
#include "sys/file.hpp"
#include "sys/process.hpp"
#include "util/units.hpp"

namespace rtcell::cli {

namespace {

using nlohmann::json;

constexpr const char* kVersion = "0.1.0";
constexpr const char* kSpecVersion = cell::kOciVersion;

// ---- logging (runc's --log / --log-format) ----

struct Log {
  std::string path;
  bool json_format = false;
  bool debug = false;

  static std::string now() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    ::gmtime_r(&ts.tv_sec, &t);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", t.tm_year + 1900, t.tm_mon + 1,
                  t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
    return buf;
  }
  void write(const char* level, const std::string& msg) const {
    if (path.empty()) return;
    std::ofstream out(path, std::ios::app);
    if (json_format)
      out << json{{"level", level}, {"msg", msg}, {"time", now()}}.dump() << '\n';
    else
      out << "time=\"" << now() << "\" level=" << level << " msg=" << json(msg).dump() << '\n';
  }
  void error(const std::string& msg) const {
    std::cerr << "rtcell-runtime: " << msg << '\n';
    write("error", msg);
  }
  // With --log, warnings go there only: create's stderr is the
  // container's (stdio passes through), as with runc.
  void warn(const std::string& msg) const {
    if (path.empty()) std::cerr << "rtcell-runtime: warning: " << msg << '\n';
    write("warning", msg);
  }
  void info(const std::string& msg) const {
    if (debug) std::cerr << "rtcell-runtime: " << msg << '\n';
    write("info", msg);
  }
};

// ---- runc-style arguments ----

class Args {
 public:
  Args(std::vector<std::string> v) : v_(std::move(v)) {}

  // The value of --name / -name / --name=V / -short V, if given at the
  // front of what is left; consumes it.
  bool option(std::initializer_list<const char*> names, std::string& value) {
    if (i_ >= v_.size()) return false;
    const std::string& a = v_[i_];
    if (a.size() < 2 || a[0] != '-') return false;
    std::string body = a.substr(a[1] == '-' ? 2 : 1);
    std::string inline_value;
    bool has_inline = false;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      inline_value = body.substr(eq + 1);
      body.resize(eq);
      has_inline = true;
    }
    for (const char* n : names) {
      if (body != n) continue;
      if (has_inline) {
        value = inline_value;
      } else {
        if (i_ + 1 >= v_.size()) usage_error("--" + body + " needs a value");
        value = v_[++i_];
      }
      ++i_;
      return true;
    }
    return false;
  }
  bool flag(std::initializer_list<const char*> names, bool& value) {
    if (i_ >= v_.size()) return false;
    const std::string& a = v_[i_];
    if (a.size() < 2 || a[0] != '-') return false;
    std::string body = a.substr(a[1] == '-' ? 2 : 1);
    std::string inline_value = "true";
    if (size_t eq = body.find('='); eq != std::string::npos) {
      inline_value = body.substr(eq + 1);
      body.resize(eq);
    }
    for (const char* n : names) {
      if (body != n) continue;
      value = inline_value != "false";
      ++i_;
      return true;
    }
    return false;
  }
  bool done() const { return i_ >= v_.size(); }
  const std::string& peek() const { return v_[i_]; }
  std::string next() { return v_[i_++]; }
  std::vector<std::string> rest() {
    std::vector<std::string> r(v_.begin() + static_cast<std::ptrdiff_t>(i_), v_.end());
    i_ = v_.size();
    return r;
  }
  bool at_option() const { return !done() && v_[i_].size() > 1 && v_[i_][0] == '-'; }

 private:
  std::vector<std::string> v_;
  size_t i_ = 0;
};

struct Global {
  std::string root = cell::kDefaultStateRoot;
  Log log;
  bool systemd_cgroup = false;
};

std::string take_id(Args& a, const char* verb) {
  if (a.done() || a.at_option())
    usage_error(std::string(verb) + " needs the container id (rtcell-runtime " + verb + " [flags] ID)");
  return a.next();
}

void unknown_option(Args& a, const char* verb) {
  usage_error(std::string(verb) + ": unknown flag " + a.peek() +
              " (docs/oci.md lists what rtcell-runtime takes)");
}

void require_exists(const cell::Registry& reg, const std::string& id) {
  if (!reg.exists(id)) usage_error("container \"" + id + "\" does not exist");
}

std::string absolute(const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  char cwd[4096];
  if (::getcwd(cwd, sizeof cwd) == nullptr) sys_error("getcwd", errno);
  return p.empty() || p == "." ? std::string(cwd) : std::string(cwd) + "/" + p;
}

// ---- what rtcell adds to a config: RT rights that work, annotations ----

bool holds(int cap) {
  return sys::effective_caps().has(cap) && sys::bounding_caps().has(cap);
}

// An rlimit rtcell cannot raise here (no CAP_SYS_RESOURCE: runc's "error
// setting rlimit type 7") becomes its least-privilege equivalent, or a
// refusal that says what to ask for instead.
void fit_rlimits(cell::Process& proc, const Log& log) {
  if (holds(CAP_SYS_RESOURCE)) return;
  auto& limits = proc.rlimits;
  for (auto it = limits.begin(); it != limits.end();) {
    rlimit mine{};
    ::getrlimit(it->resource, &mine);
    if (mine.rlim_max == RLIM_INFINITY || it->hard <= mine.rlim_max) {
      ++it;
      continue;
    }
    const std::string name = cell::rlimit_name(it->resource);
    if (it->resource == RLIMIT_RTPRIO) {
      if (proc.capabilities.permitted.has(CAP_SYS_NICE) || proc.capabilities.bounding.has(CAP_SYS_NICE)) {
        log.warn(
            "process.rlimits " + name + " " + std::to_string(it->hard) +
            " dropped: the container has CAP_SYS_NICE, which sets any RT priority without it (rtcell cannot "
            "raise the limit: no CAP_SYS_RESOURCE here)");
        it = limits.erase(it);
        continue;
      }
      usage_error(
          "process.rlimits " + name + " " + std::to_string(it->hard) +
          ": this host does not let rtcell raise it (no CAP_SYS_RESOURCE); ask for the policy instead: "
          "annotation rtcell.io/sched=fifo:80 (set before exec, no limit or capability needed)");
    }
    log.info("process.rlimits " + name + " " + std::to_string(it->hard) +
             " lowered to this host's hard limit " + std::to_string(mine.rlim_max) +
             " (rtcell cannot raise it: no CAP_SYS_RESOURCE)");
    it->hard = mine.rlim_max;
    it->soft = std::min(it->soft, it->hard);
    ++it;
  }
}

// A container admitted from rtcell.io/manifest: the host-wide admission
// lock until its ledger entry is written (front/admitted_load.hpp).
struct BundleAdmission {
  front::AdmissionLock lock;
  std::optional<front::RunningCell> admitted;
  // What rtcell's supervisor is to do for the container (a process of its
  // own, started once the container exists: cli/supervise.hpp).
  std::optional<cell::SuperviseSpec> supervise;
};

// rtcell.io/KEY as an annotation (Podman, ctr), or as the variable
// RTCELL_KEY in the container's environment for engines that pass no
// annotations (Docker 20.10, docker-compose 1.29: -e RTCELL_SCHED=fifo:80).
// `adm` null (exec): the manifest is admitted alone, as written, for the
// process's RTCELL_TASKS; the container itself was admitted at create.
void apply_annotations(cell::Spec& s, const Log& log, BundleAdmission* adm) {
  // A pod's sandbox (its pause process) gets the pod's annotations too
  // (containerd's pod_annotations, CRI-O's allowed_annotations): they are
  // for the pod's containers; the sandbox is neither RT nor admitted.
  for (const char* key : {"io.kubernetes.cri.container-type", "io.kubernetes.cri-o.ContainerType"}) {
    auto it = s.annotations.find(key);
    if (it == s.annotations.end() || it->second != "sandbox") continue;
    for (const auto& [k, v] : s.annotations)
      if (k.rfind("rtcell.io/", 0) == 0) {
        log.info("a pod sandbox: rtcell.io/* annotations are for its containers, not applied here");
        break;
      }
    return;
  }
  std::map<std::string, std::string> a = s.annotations;
  for (const auto& e : s.process.env) {
    if (e.rfind("RTCELL_", 0) != 0 || e.find('=') == std::string::npos) continue;
    std::string key = e.substr(7, e.find('=') - 7);
    for (char& ch : key)
      ch = ch == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    a.emplace("rtcell.io/" + key, e.substr(e.find('=') + 1));
  }
  auto get = [&a](const char* k) -> const std::string* {
    auto it = a.find(k);
    return it == a.end() ? nullptr : &it->second;
  };
  if (const std::string* v = get("rtcell.io/allow-prio-99")) s.process.allow_prio_99 = *v == "true";
  if (const std::string* m = get("rtcell.io/manifest")) {
    const std::string* c = get("rtcell.io/cell");
    if (c == nullptr) usage_error("annotation rtcell.io/manifest needs rtcell.io/cell (the cell to admit)");
    std::vector<front::RunningCell> running;
    if (adm != nullptr) {
      adm->lock = front::AdmissionLock::acquire();
      running = front::running_cells();
    }
    front::ManifestCell mc = front::load_manifest_cell(*m, *c, false, "/", running);
    if (adm != nullptr) {
      adm->admitted = std::move(mc.admitted);
      adm->supervise = std::move(mc.supervise);
    }
    for (const auto& n : mc.notes) log.info(n);
    if (mc.flags.sched && !s.process.scheduler) s.process.scheduler = mc.flags.sched;
    if (mc.flags.rt_runtime_us && !s.resources.rt) {
      cell::RtBudget b;
      b.runtime_us = *mc.flags.rt_runtime_us;
      b.period_us = mc.flags.rt_period_us.value_or(1'000'000);
      s.resources.rt = b;
    }
    if (!mc.flags.cpus.empty() && s.resources.cpus.empty()) s.resources.cpus = mc.flags.cpus;
    s.process.allow_prio_99 = s.process.allow_prio_99 || mc.flags.allow_prio_99;
    // The admitted parameters (RTCELL_TASKS) for librtcell in the container.
    for (const auto& e : mc.flags.env)
      if (e.rfind(std::string(rt::kCellTasksEnv) + "=", 0) == 0) s.process.env.push_back(e);
  }
  if (const std::string* v = get("rtcell.io/sched")) {
    if (s.process.scheduler)
      usage_error("annotation rtcell.io/sched: process.scheduler is set already; give one");
    s.process.scheduler = rt::parse_policy(*v);
  }
  // The RT CPUs rtcell-device-plugin allocated (rtcell.io/rt-cpu): they
  // replace the cpuset the kubelet's CPU manager chose, which knows nothing
  // of isolated CPUs (docs/k8s.md).
  if (const std::string* v = get("rtcell.io/cpus")) {
    CpuSet cpus;
    try {
      cpus = CpuSet::parse(*v);
    } catch (const Error& e) {
      usage_error("annotation rtcell.io/cpus: " + std::string(e.what()));
    }
    if (cpus.empty()) usage_error("annotation rtcell.io/cpus is empty; give the container's CPUs, e.g. 2-3");
    s.resources.cpus = cpus;
  }
  if (const std::string* v = get("rtcell.io/dma-latency")) {
    char* end = nullptr;
    const long us = std::strtol(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || us < 0 || us > 2'000'000'000)
      usage_error("annotation rtcell.io/dma-latency '" + *v + "' must be 0 or more microseconds");
    s.dma_latency_us = static_cast<int32_t>(us);
  }
  if (s.process.scheduler) rt::validate_policy(*s.process.scheduler, {s.process.allow_prio_99});
}

cell::Prepared prepare_bundle(const std::string& id, const std::string& bundle, const Log& log,
                              BundleAdmission* adm = nullptr) {
  front::OciConfig cfg = front::load_oci_bundle(bundle);
  for (const auto& n : cfg.notes) log.info(n);
  apply_annotations(cfg.spec, log, adm);
  fit_rlimits(cfg.spec.process, log);
  const host::HostFacts facts = host::read_cpu_facts("/");
  if (!cfg.spec.resources.cpus.empty())
    for (auto& w : front::cpuset_warnings(cfg.spec.resources.cpus, facts.isolated_cpus)) log.warn(w);
  return cell::prepare(id, std::move(cfg.spec), facts);
}

// ---- verbs ----

int create_or_run(const Global& g, Args& a, bool run) {
  const char* verb = run ? "run" : "create";
  std::string bundle = ".";
  std::string pid_file, console_socket, ignored;
  bool detach = false, no_pivot = false, no_keyring = false, keep = false;
  while (a.at_option()) {
    if (a.option({"bundle", "b"}, bundle) || a.option({"pid-file"}, pid_file) ||
        a.option({"console-socket"}, console_socket) || a.option({"preserve-fds"}, ignored) ||
        a.flag({"no-pivot"}, no_pivot) || a.flag({"no-new-keyring"}, no_keyring) || a.flag({"keep"}, keep) ||
        a.flag({"no-subreaper"}, keep) || (run && a.flag({"detach", "d"}, detach)))
      continue;
    unknown_option(a, verb);
  }
  if (!ignored.empty() && ignored != "0")
    unsupported_error("--preserve-fds " + ignored + " is not supported: rtcell passes stdio only");
  const std::string id = take_id(a, verb);
  if (!a.done()) usage_error(std::string(verb) + ": unexpected argument " + a.peek());
  bundle = absolute(bundle);
  BundleAdmission adm;
  cell::Prepared p = prepare_bundle(id, bundle, g.log, &adm);
  if (p.spec.process.terminal && console_socket.empty() && (!run || detach))
    usage_error("process.terminal is true but no --console-socket was given (the caller's end of the pty)");

  const cell::Registry reg(g.root);
  cell::CreateOptions o;
  o.bundle = bundle;
  o.die_with_creator = run && !detach;
  o.console_socket = console_socket;
  o.note = [&g](const std::string& n) { g.log.info(n); };
  const cell::Hooks hooks = p.spec.hooks;
  o.on_created_namespaces = [&hooks](const cell::CellState& st) {
    const std::string state = cell::hook_state(st, "creating", st.init.pid);
    cell::run_hooks(hooks.prestart, "prestart", state);
    cell::run_hooks(hooks.create_runtime, "createRuntime", state);
    cell::run_hooks(hooks.create_container, "createContainer", state);
  };
  cell::block_cell_signals();
  cell::Cell c = cell::Cell::create(reg, p, o);
  if (adm.admitted) front::record_running(*adm.admitted, id, reg.root(), c.pid());
  adm.lock.release();
  if (adm.supervise) {
    try {
      const pid_t sup = start_detached_supervisor(reg, id, *adm.supervise);
      g.log.info("supervisor: pid " + std::to_string(sup) + ", " + cell::describe(*adm.supervise) +
                 "; overruns go to the kernel log");
    } catch (const Error& e) {
      g.log.warn(std::string("cell is not supervised: ") + e.what());
    }
  }
  if (!pid_file.empty()) sys::write_file_atomic(absolute(pid_file), std::to_string(c.pid()), 0644);
  if (!run) {
    c.detach();
    return kExitOk;
  }
  const cell::CellState st = cell::state(reg, id);
  cell::run_hooks(hooks.start_container, "startContainer", cell::hook_state(st, "created", c.pid()));
  c.start();
  cell::run_hooks(hooks.poststart, "poststart", cell::hook_state(st, "running", c.pid()));
  if (detach) {
    c.detach();
    return kExitOk;
  }
  const int code = c.wait();
  c.destroy();
  front::forget_running(id, reg.root());
  cell::run_hooks(hooks.poststop, "poststop", cell::hook_state(st, "stopped", 0));
  return code;
}

// The hooks of a cell made from a bundle, read again from its config.json.
cell::Hooks bundle_hooks(const cell::CellState& st) {
  if (st.bundle.empty()) return {};
  try {
    return front::load_oci_bundle(st.bundle).spec.hooks;
  } catch (const Error&) {
    return {};  // a bundle gone since create: nothing to run
  }
}

int start(const Global& g, Args& a) {
  if (a.at_option()) unknown_option(a, "start");
  const std::string id = take_id(a, "start");
  const cell::Registry reg(g.root);
  require_exists(reg, id);
  cell::CellState st = cell::state(reg, id);
  if (st.status == cell::Status::Stopped) usage_error("cannot start a container that has stopped");
  if (st.status == cell::Status::Running) usage_error("cannot start an already running container");
  const cell::Hooks hooks = bundle_hooks(st);
  cell::run_hooks(hooks.start_container, "startContainer", cell::hook_state(st, "created", st.init.pid));
  cell::start(reg, id);
  cell::run_hooks(hooks.poststart, "poststart", cell::hook_state(st, "running", st.init.pid));
  return kExitOk;
}

int state(const Global& g, Args& a) {
  if (a.at_option()) unknown_option(a, "state");
  const std::string id = take_id(a, "state");
  const cell::Registry reg(g.root);
  require_exists(reg, id);
  std::cout << report::cell_state_json(cell::state(reg, id)).dump(2) << '\n';
  return kExitOk;
}

int kill(const Global& g, Args& a) {
  bool all = false;
  while (a.at_option()) {
    if (a.flag({"all", "a"}, all)) continue;
    unknown_option(a, "kill");
  }
  const std::string id = take_id(a, "kill");
  const int sig = a.done() ? SIGTERM : cell::parse_signal(a.next());
  const cell::Registry reg(g.root);
  require_exists(reg, id);
  const cell::CellState st = cell::state(reg, id);
  if (st.status == cell::Status::Stopped) usage_error("container not running");
  cell::kill(reg, id, sig, all);
  return kExitOk;
}

int remove(const Global& g, Args& a) {
  bool force = false;
  while (a.at_option()) {
    if (a.flag({"force", "f"}, force)) continue;
    unknown_option(a, "delete");
  }
  const std::string id = take_id(a, "delete");
  const cell::Registry reg(g.root);
  if (force && !reg.exists(id)) return kExitOk;  // as runc: nothing left to delete
  require_exists(reg, id);
  const cell::CellState st = cell::state(reg, id);
  const cell::Hooks hooks = bundle_hooks(st);
  cell::remove(reg, id, force);
  // A cell of rtcell.io/manifest: its tasks' counters kept in the history
  // (rtcell report promises), silently: the client reads stderr as errors.
  if (auto rec = front::recorded_cell(id, reg.root()))
    end_of_cell_promises(*rec, front::stats_dir(id, reg.root()), HistoryFlags{}, PromisePrint::Nothing);
  front::forget_running(id, reg.root());
  cell::run_hooks(hooks.poststop, "poststop", cell::hook_state(st, "stopped", 0));
  return kExitOk;
}

int ps(const Global& g, Args& a) {
  std::string format = "table";
  while (a.at_option()) {
    if (a.option({"format", "f"}, format)) continue;
    unknown_option(a, "ps");
  }
  const std::string id = take_id(a, "ps");
  const cell::Registry reg(g.root);
  require_exists(reg, id);
  const cell::CellState st = cell::state(reg, id);
  std::vector<pid_t> pids;
  for (const auto& m : st.cgroups.made) {
    if (!m.leaf) continue;
    auto procs = sys::try_read_file(m.path + "/cgroup.procs");
    if (!procs) continue;
    std::istringstream in(*procs);
    for (pid_t p = 0; in >> p;)
      if (std::find(pids.begin(), pids.end(), p) == pids.end()) pids.push_back(p);
  }
  std::sort(pids.begin(), pids.end());
  if (format == "json") {
    std::cout << json(pids).dump() << '\n';
  } else {
    std::cout << "PID\n";
    for (pid_t p : pids) std::cout << p << '\n';
  }
  return kExitOk;
}

int list(const Global& g, Args& a) {
  std::string format = "table";
  bool quiet = false;
  while (a.at_option()) {
    if (a.option({"format", "f"}, format) || a.flag({"quiet", "q"}, quiet)) continue;
    unknown_option(a, "list");
  }
  const cell::Registry reg(g.root);
  json arr = json::array();
  for (const auto& l : cell::list(reg)) {
    if (quiet) {
      std::cout << l.state.id << '\n';
      continue;
    }
    arr.push_back(report::cell_state_json(l.state));
  }
  if (!quiet) std::cout << (format == "json" ? arr.dump() : arr.dump(2)) << '\n';
  return kExitOk;
}

int exec(const Global& g, Args& a) {
  std::string process_file, pid_file, console_socket, cwd, user, ignored;
  std::vector<std::string> env, caps;
  bool detach = false, tty = false, no_new_privs = false;
  while (a.at_option()) {
    std::string v;
    if (a.option({"process", "p"}, process_file) || a.option({"pid-file"}, pid_file) ||
        a.option({"console-socket"}, console_socket) || a.option({"cwd"}, cwd) ||
        a.option({"user", "u"}, user) || a.option({"preserve-fds"}, ignored) ||
        a.option({"process-label"}, ignored) || a.option({"apparmor"}, ignored) ||
        a.option({"cgroup"}, ignored) || a.flag({"detach", "d"}, detach) || a.flag({"tty", "t"}, tty) ||
        a.flag({"no-new-privs"}, no_new_privs) || a.flag({"ignore-paused"}, detach))
      continue;
    if (a.option({"env", "e"}, v)) {
      env.push_back(v);
      continue;
    }
    if (a.option({"cap", "c"}, v)) {
      caps.push_back(v);
      continue;
    }
    unknown_option(a, "exec");
  }
  const std::string id = take_id(a, "exec");
  const std::vector<std::string> args = a.rest();
  const cell::Registry reg(g.root);
  require_exists(reg, id);
  const cell::CellState st = cell::state(reg, id);
  if (st.status == cell::Status::Paused) usage_error("cannot exec in a paused container: resume it first");
  if (st.status != cell::Status::Running) usage_error("cannot exec in a stopped container");
  if (st.bundle.empty())
    unsupported_error("container \"" + id + "\" was not made from a bundle: exec needs one");
  const cell::Prepared cellp = prepare_bundle(id, st.bundle, Log{});
  cell::Process proc = cellp.spec.process;
  // As runc: an exec'd process gets a scheduler only when its own process
  // spec asks (a shell exec'd into a FIFO 80 container must not spin at 80).
  proc.scheduler.reset();
  if (!process_file.empty()) {
    proc = front::parse_oci_process(sys::read_input_file(process_file, "--process " + process_file), proc);
  } else {
    if (args.empty()) usage_error("exec needs --process FILE or a command after the id");
    proc.args = args;
    proc.terminal = tty;
    if (!cwd.empty()) proc.cwd = cwd;
    for (const auto& e : env) proc.env.push_back(e);
    if (!user.empty()) {
      uid_t u = 0;
      gid_t gr = 0;
      front::parse_user(user, u, gr);
      proc.user.uid = u;
      proc.user.gid = gr;
    }
    if (no_new_privs) proc.no_new_privileges = true;
    for (const auto& c : caps) {
      std::optional<int> cap = sys::cap_from_name(c);
      if (!cap) usage_error("--cap " + c + " is not a capability");
      proc.capabilities.permitted.add(*cap);
      proc.capabilities.bounding.add(*cap);
    }
  }
  fit_rlimits(proc, Log{});
  if (proc.terminal && console_socket.empty())
    usage_error("a terminal (process.terminal, --tty) needs --console-socket");
  // Waiting: the process becomes this one's child once the joining
  // process in between exits.
  if (!detach && ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) sys_error("PR_SET_CHILD_SUBREAPER", errno);
  cell::JoinOptions jo;
  jo.console_socket = console_socket;
  const pid_t pid = cell::join(reg, id, cellp, proc, jo);
  if (!pid_file.empty()) sys::write_file_atomic(absolute(pid_file), std::to_string(pid), 0644);
  if (detach) return kExitOk;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return sys::exit_code_of(status);
}

int pause_or_resume(const Global& g, Args& a, bool pause) {
  const char* verb = pause ? "pause" : "resume";
  if (a.at_option()) unknown_option(a, verb);
  const std::string id = take_id(a, verb);
  const cell::Registry reg(g.root);
  require_exists(reg, id);
  const cell::Status live = cell::state(reg, id).status;
  if (pause) {
    if (live == cell::Status::Paused) usage_error("container already paused");
    if (live != cell::Status::Running) usage_error("container not running");
    cell::pause(reg, id);
  } else {
    if (live != cell::Status::Paused) usage_error("container not paused");
    cell::resume(reg, id);
  }
  return kExitOk;
}

// runc update: --resources FILE|- (containerd-shim-runc-v2 passes the
// LinuxResources on stdin) and/or runc's single-value flags. What a running
// cell's groups cannot take is refused naming it; nothing is half-applied.
int update(const Global& g, Args& a) {
  std::string resources_file, memory, pids, cpus, mems, rt_runtime, rt_period, v;
  while (a.at_option()) {
    if (a.option({"resources", "r"}, resources_file) || a.option({"memory", "m"}, memory) ||
        a.option({"pids-limit"}, pids) || a.option({"cpuset-cpus"}, cpus) ||
        a.option({"cpuset-mems"}, mems) || a.option({"cpu-rt-runtime"}, rt_runtime) ||
        a.option({"cpu-rt-period"}, rt_period))
      continue;
    bool set = false;
    for (const char* f :
         {"cpu-period", "cpu-quota", "cpu-share", "cpu-idle", "blkio-weight", "kernel-memory",
          "kernel-memory-tcp", "memory-reservation", "memory-swap", "l3-cache-schema", "mem-bw-schema"}) {
      if (!a.option({f}, v)) continue;
      set = true;
      if (!v.empty() && v != "0" && v != "-1")
        unsupported_error(std::string("update --") + f +
                          " is not supported: rtcell-runtime updates memory, " + "pids and cpuset only");
    }
    if (!set) unknown_option(a, "update");
  }
  const std::string id = take_id(a, "update");
  const cell::Registry reg(g.root);
  require_exists(reg, id);
  const cell::CellState st = cell::state(reg, id);
  if (st.status == cell::Status::Stopped) usage_error("container not running");
  cell::Resources res;
  if (!resources_file.empty()) {
    std::string text;
    if (resources_file == "-") {
      std::ostringstream in;
      in << std::cin.rdbuf();
      text = in.str();
    } else {
      text = sys::read_input_file(resources_file, "--resources " + resources_file);
    }
    std::vector<std::string> notes;
    res = front::parse_oci_resources(text, notes);
    for (const auto& n : notes) g.log.warn(n);
  }
  if (!memory.empty()) res.memory_bytes = util::parse_bytes(memory);
  if (!pids.empty()) res.pids_max = util::parse_int(pids, 1, INT64_MAX, "--pids-limit");
  if (!cpus.empty()) {
    res.cpus = CpuSet::parse(cpus);
    if (res.cpus.empty()) usage_error("--cpuset-cpus '" + cpus + "' is not a CPU list");
  }
  if (!mems.empty()) res.mems = mems;
  if (!rt_runtime.empty() || !rt_period.empty()) {
    cell::RtBudget b;
    b.runtime_us = rt_runtime.empty() ? 0 : util::parse_int(rt_runtime, 0, INT64_MAX, "--cpu-rt-runtime");
    b.period_us = rt_period.empty() ? 1'000'000 : util::parse_int(rt_period, 1, INT64_MAX, "--cpu-rt-period");
    res.rt = b;
  }
  // The RT budget is planned along the whole parent chain at create: the
  // same budget again is fine (the shim resends everything), a new one is not.
  if (res.rt && res.rt->runtime_us > 0) {
    const std::string& leaf = st.cgroups.rt_leaf;
    auto cur = leaf.empty() ? std::nullopt : sys::try_read_file(leaf + "/cpu.rt_runtime_us");
    auto per = leaf.empty() ? std::nullopt : sys::try_read_file(leaf + "/cpu.rt_period_us");
    if (!cur || !per || sys::trim(*cur) != std::to_string(res.rt->runtime_us) ||
        sys::trim(*per) != std::to_string(res.rt->period_us))
      unsupported_error(
          "update of the RT budget (realtimeRuntime/realtimePeriod) is not supported: it is planned along "
          "the "
          "parent chain at create; recreate the container with the new budget");
  }
  cell::CgroupUpdate u;
  u.memory_bytes = res.memory_bytes;
  u.pids_max = res.pids_max;
  u.cpus = res.cpus;
  u.mems = res.mems;
  cell::update_cgroups(st.cgroups, u);
  return kExitOk;
}

int features() {
  json caps = json::array();
  for (int c = 0; c <= sys::kernel_last_cap(); ++c) caps.push_back(sys::cap_name(c));
  json f{
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.1.0"},
      {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions",
       {"ro",       "rw",       "nosuid",      "suid",       "nodev",   "dev",        "noexec",     "exec",
        "noatime",  "relatime", "strictatime", "nodiratime", "sync",    "bind",       "rbind",      "private",
        "rprivate", "slave",    "rslave",      "shared",     "rshared", "unbindable", "runbindable"}},
      {"linux",
       {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}},
        {"capabilities", caps},
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions",
           {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE"}},
          {"operators",
           {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
            "SCMP_CMP_MASKED_EQ"}}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}}}},
      {"annotations",
       {{"org.opencontainers.runc.checkpoint.enabled", "false"},
        {"io.rtcell.annotations",
         "rtcell.io/sched rtcell.io/dma-latency rtcell.io/manifest rtcell.io/cell "
         "rtcell.io/allow-prio-99 rtcell.io/cpus"}}}};
  std::cout << f.dump(2) << '\n';
  return kExitOk;
}

int unsupported_verb(const std::string& verb) {
  unsupported_error(verb + " is not supported by rtcell-runtime yet (docs/STATUS.md)");
}

int dispatch(Global& g, Args& a) {
  std::string v;
  bool b = false;
  while (a.at_option()) {
    if (a.option({"root"}, g.root) || a.option({"log"}, g.log.path) || a.option({"criu"}, v)) continue;
    if (a.option({"log-format"}, v)) {
      if (v != "json" && v != "text") usage_error("--log-format must be text or json");
      g.log.json_format = v == "json";
      continue;
    }
    if (a.option({"rootless"}, v)) {
      if (v == "true") unsupported_error("--rootless true: rtcell runs cells as root only");
      continue;
    }
    if (a.flag({"systemd-cgroup"}, g.systemd_cgroup) || a.flag({"debug"}, g.log.debug)) continue;
    if (a.flag({"version", "v"}, b)) {
      std::cout << "rtcell-runtime version " << kVersion << "\nspec: " << kSpecVersion << '\n';
      return kExitOk;
    }
    if (a.flag({"help", "h"}, b)) {
      std::cout << "rtcell-runtime [--root DIR] [--log FILE] [--log-format text|json] VERB ...\n"
                   "verbs: create, start, run, state, kill, delete, exec, ps, list, pause, resume, update, "
                   "features (docs/oci.md)\n";
      return kExitOk;
    }
    unknown_option(a, "rtcell-runtime");
  }
  if (g.systemd_cgroup)
    usage_error(
        "--systemd-cgroup is not supported: rtcell manages cgroupfs paths; configure the engine with the "
        "cgroupfs "
        "driver (podman --cgroup-manager cgroupfs, dockerd --exec-opt native.cgroupdriver=cgroupfs)");
  if (a.done()) usage_error("no verb: give create, start, state, kill, delete, exec, ps or features");
  const std::string verb = a.next();
  g.log.info(verb);
  if (verb == "create") return create_or_run(g, a, false);
  if (verb == "run") return create_or_run(g, a, true);
  if (verb == "start") return start(g, a);
  if (verb == "state") return state(g, a);
  if (verb == "kill") return kill(g, a);
  if (verb == "delete") return remove(g, a);
  if (verb == "exec") return exec(g, a);
  if (verb == "ps") return ps(g, a);
  if (verb == "list") return list(g, a);
  if (verb == "features") return features();
  if (verb == "pause") return pause_or_resume(g, a, true);
  if (verb == "resume") return pause_or_resume(g, a, false);
  if (verb == "update") return update(g, a);
  if (verb == "checkpoint" || verb == "restore" || verb == "events" || verb == "spec")
    return unsupported_verb(verb);
  usage_error("'" + verb +
              "' is not a verb of rtcell-runtime (create, start, run, state, kill, delete, exec, ps, "
              "list, pause, resume, update, features)");
}

}  // namespace

int runtime_main(int argc, char** argv) {
  Global g;
  Args a(std::vector<std::string>(argv + 1, argv + argc));
  try {
    return dispatch(g, a);
  } catch (const Error& e) {
    g.log.error(e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    g.log.error(std::string("internal error: ") + e.what());
    return kExitSystem;
  }
}

}  // namespace rtcell::cli
