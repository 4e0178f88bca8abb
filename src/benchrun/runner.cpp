#include "benchrun/runner.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>

#include "benchrun/child.hpp"
#include "benchrun/container.hpp"
#include "host/check.hpp"
#include "host/facts.hpp"
#include "measure/dma_latency.hpp"
#include "report/check.hpp"
#include "report/host_json.hpp"
#include "report/render.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::benchrun {

using nlohmann::json;

namespace {

// A traced row's capture for the report: its directory and each explained
// spike's one-line verdict (the row's explain.json, as `rtcell latency
// --trace` wrote it).
nlohmann::json trace_summary(const std::string& dir) {
  nlohmann::json t = {{"dir", dir}, {"spikes", nlohmann::json::array()}};
  const std::optional<std::string> text = sys::try_read_file(dir + "/explain.json");
  const nlohmann::json e = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
  if (!e.is_object() || !e.contains("spikes") || !e["spikes"].is_array()) {
    t["note"] =
        text ? "explain.json does not parse" : "no explain.json (the capture failed: see the row's log)";
    return t;
  }
  for (const auto& s : e["spikes"])
    if (s.is_object())
      t["spikes"].push_back(
          {{"latency_ns", s.value("latency_ns", int64_t{0})}, {"verdict", s.value("verdict", "")}});
  if (t["spikes"].empty()) t["note"] = "no sample over the threshold: nothing to explain";
  return t;
}

// A probe that overruns its duration by this much is stuck: kill it.
constexpr int64_t kProbeSlackNs = 60'000'000'000;
constexpr int kLoadStopGraceMs = 5000;

std::string signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal " + std::to_string(sig);
  }
}

std::string seconds(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ns) / 1e9);
  return buf;
}

struct Plan {
  size_t row;  // index into opt.rows / run.rows
  int repeat;  // 1-based
};

class Runner {
 public:
  Runner(BenchOptions opt, const Hooks& hooks) : opt_(std::move(opt)), hooks_(hooks) {}
  report::BenchRun run();

 private:
  void log(const std::string& line) const {
    if (hooks_.log) hooks_.log(line);
  }
  void check_prerequisites();
  void collect_checks();
  void start_load();
  void stop_load();
  void run_one(const Plan& p, int step, int steps, int64_t remaining_after_ns);
  std::vector<std::string> row_command(const RowSpec& spec, const std::string& json_file,
                                       bool& json_on_stdout, const std::string& container_name) const;

  BenchOptions opt_;
  const Hooks& hooks_;
  report::BenchRun run_;
  SignalPipe sp_;
  Child load_;
  bool load_failed_ = false;
  std::string load_failure_;
  std::vector<std::string> skip_reason_;  // per row; "" = runnable
  std::vector<int> failures_;             // per row
  std::vector<int> partials_;             // per row
  int64_t max_so_far_ns_ = -1;
  bool interrupted_ = false;
  std::unique_ptr<ContainerHost> containers_;
  measure::DmaLatencyRequest dma_;
};

// The probe and the cell rows run opt_.rtcell_bin's `latency` and `run`
// verbs. benchrun is linked into that rtcell (cli/bench.cpp passes
// /proc/self/exe), so those verbs are there by construction: nothing to ask
// the binary. The host checks are a library call below, not a child.
void Runner::check_prerequisites() {
  skip_reason_.assign(opt_.rows.size(), "");
  bool any_load = false;
  for (size_t i = 0; i < opt_.rows.size(); ++i) {
    const RowSpec& r = opt_.rows[i];
    if (r.load && opt_.no_load) {
      skip_reason_[i] = "--no-load";
      continue;
    }
    if (is_podman(r.kind)) skip_reason_[i] = podman_unavailable_reason(r.kind);
    if (skip_reason_[i].empty() && r.load) any_load = true;
  }
  if (any_load && find_in_path("stress-ng").empty())
    unsupported_error(
        "stress-ng not found: apt-get install stress-ng, or pass --no-load to run the idle rows only");
}

// What `rtcell check --cpus CPUS --json` prints, for the report: the same
// rules and the same renderer, called in-process.
void Runner::collect_checks() {
  if (!opt_.run_checks) {
    run_.checks_note = "not run (--no-check)";
    return;
  }
  try {
    host::CheckOptions o;
    o.rt_cpus = opt_.cpus;
    report::CheckReport r{o.root, host::read_host_facts(o.root).kernel_release, o.rt_cpus,
                          host::run_checks(o)};
    run_.checks = report::check_json(r);
  } catch (const Error& e) {
    run_.checks_note = std::string("rtcell check failed: ") + e.what();
  }
}

void Runner::start_load() {
  SpawnOptions o;
  o.argv.push_back("stress-ng");
  for (const auto& a : opt_.load_args) o.argv.push_back(a);
  // stress-ng's hdd workers write their files here, inside our private
  // directory, so an interrupted run leaves nothing in the caller's cwd.
  o.argv.push_back("--temp-path");
  o.argv.push_back(opt_.work_dir);
  o.stdout_path = opt_.work_dir + "/stress-ng.log";
  o.stderr_path = opt_.work_dir + "/stress-ng.err";
  o.affinity = opt_.load_cpus;
  o.cwd = opt_.work_dir;
  load_ = Child::spawn(o);
  log("load: stress-ng " + opt_.load_description + " on CPUs " + opt_.load_cpus.to_string() +
      " (process group " + std::to_string(load_.pid()) + ")");
}

void Runner::stop_load() {
  if (load_.pid() <= 0) return;
  bool was_running = load_.running();
  load_.stop_group(sp_, kLoadStopGraceMs);
  if (was_running) log("load: stopped (process group " + std::to_string(load_.pid()) + " empty)");
  load_ = Child();
}

std::vector<std::string> Runner::row_command(const RowSpec& spec, const std::string& json_file,
                                             bool& json_on_stdout, const std::string& container_name) const {
  std::vector<std::string> argv;
  json_on_stdout = spec.kind != RowKind::Native;
  const std::string prio = std::to_string(opt_.priority);
  switch (spec.kind) {
    case RowKind::Native:
      argv.push_back(opt_.rtcell_bin);
      for (auto& a : latency_args(opt_, json_file)) argv.push_back(a);
      return argv;
    case RowKind::Cell:
    case RowKind::CellNetns:
      // The cell's stdout is the probe's stdout: the JSON comes back on it.
      // IPC_LOCK: the probe locks its memory (mlockall) as it does natively,
      // and the 8 MiB RLIMIT_MEMLOCK default is far below what it maps.
      argv = {opt_.rtcell_bin,       "run",     "--cap-add=IPC_LOCK", "--cpus",
              opt_.cpus.to_string(), "--sched", "fifo:" + prio,       "-q"};
      // The "cell" row keeps the host's network (what a DDS node needs, and
      // what the rows compare against); "cell-netns" has its own.
      argv.emplace_back("--net");
      argv.emplace_back(spec.kind == RowKind::CellNetns ? "none" : "host");
      argv.emplace_back("--");
      argv.push_back(opt_.rtcell_bin);
      for (auto& a : latency_args(opt_, "-")) argv.push_back(a);
      return argv;
    case RowKind::PodmanRunc:
    case RowKind::PodmanCrun:
    case RowKind::PodmanRtcell:
      return containers_->command(spec.kind, container_name, opt_);
  }
  return argv;
}

void Runner::run_one(const Plan& p, int step, int steps, int64_t remaining_after_ns) {
  const RowSpec& spec = opt_.rows[p.row];
  report::RowResult& row = run_.rows[p.row];
  const std::string tag = spec.id + (opt_.repeat > 1 ? " repeat " + std::to_string(p.repeat) : "");
  const std::string json_file = opt_.work_dir + "/" + spec.id + "-" + std::to_string(p.repeat) + ".json";
  const std::string err_file = opt_.work_dir + "/" + spec.id + "-" + std::to_string(p.repeat) + ".err";
  const std::string container_name =
      "rtcell-bench-" + std::to_string(::getpid()) + "-" + spec.id + "-" + std::to_string(p.repeat);
  const bool podman = is_podman(spec.kind);
  if (podman) {
    if (std::string why = containers_->prepare(spec.kind, opt_, sp_); !why.empty()) {
      skip_reason_[p.row] = why;
      row.reason = why;
      log("row " + spec.id + ": skipped: " + why);
      return;
    }
  }
  bool json_on_stdout = false;
  SpawnOptions o;
  o.argv = row_command(spec, json_file, json_on_stdout, container_name);
  std::string trace_dir;
  if (!opt_.trace_dir.empty()) {
    if (spec.kind == RowKind::Native) {
      const std::string dir = opt_.trace_dir + "/" + spec.id + "-" + std::to_string(p.repeat);
      trace_dir = dir;
      o.argv.emplace_back("--trace");
      o.argv.push_back(dir);
      log("row " + spec.id + ": traced into " + dir + " (rtcell explain " + dir + ")");
    } else {
      log("row " + spec.id + ": not traced (--trace records native rows only: no tracefs in a cell)");
    }
  }
  o.stdout_path = json_on_stdout ? json_file : opt_.work_dir + "/" + spec.id + ".out";
  o.stderr_path = err_file;
  row.command = join_args(o.argv);

  Child child;
  try {
    child = Child::spawn(o);
  } catch (const Error& e) {
    ++failures_[p.row];
    row.reason = e.what();
    log("row " + tag + ": failed: " + row.reason);
    return;
  }
  log("row " + std::to_string(step) + "/" + std::to_string(steps) + " " + tag + " (" + spec.label +
      "): started, " + seconds(opt_.duration_ns) + " on CPUs " + opt_.cpus.to_string() + " (process group " +
      std::to_string(child.pid()) + ")");
  const int64_t start = monotonic_ns();
  bool forwarded = false;
  bool killed = false;
  while (!child.poll()) {
    if (SignalPipe::stop_signal() && !forwarded) {
      // The probe stops on SIGINT and still writes what it measured.
      child.signal_group(SIGINT);
      if (podman) containers_->remove(container_name, sp_, opt_.work_dir);
      forwarded = true;
      interrupted_ = true;
      log("interrupted by " + signal_name(SignalPipe::stop_signal()) + ": stopping row " + tag);
    }
    const int64_t elapsed = monotonic_ns() - start;
    if (!killed && elapsed > opt_.duration_ns + kProbeSlackNs) {
      child.signal_group(SIGKILL);
      killed = true;
    }
    if (hooks_.progress && hooks_.progress_ms > 0) {
      Progress pr;
      pr.row_label = spec.label + (opt_.repeat > 1 ? " #" + std::to_string(p.repeat) : "");
      pr.step = step;
      pr.steps = steps;
      pr.row_elapsed_ns = elapsed;
      pr.row_ns = opt_.duration_ns;
      pr.remaining_ns = std::max<int64_t>(0, opt_.duration_ns - elapsed) + remaining_after_ns;
      pr.max_so_far_ns = max_so_far_ns_;
      hooks_.progress(pr);
    }
    sp_.wait(hooks_.progress_ms > 0 ? hooks_.progress_ms : 1000);
  }
  const int status = *child.status();
  const std::string err_text = sys::try_read_file(err_file).value_or("");
  std::optional<std::string> text = sys::try_read_file(json_file);
  std::string parse_error;
  if (text && !text->empty()) {
    try {
      report::LatencyRun lr = report::parse_latency_json(*text);
      if (!trace_dir.empty()) lr.trace = trace_summary(trace_dir);
      const bool partial = forwarded || lr.stopped_by == "signal";
      if (partial) ++partials_[p.row];
      if (lr.total.samples > 0) max_so_far_ns_ = std::max(max_so_far_ns_, lr.total.max_ns);
      log("row " + tag + ": " + (partial ? "partial" : "done") + ", " + std::to_string(lr.total.samples) +
          " samples, max " + report::us(static_cast<double>(lr.total.max_ns)) + " us");
      row.repeats.push_back(std::move(lr));
      if (load_failed_ && spec.load) {
        ++failures_[p.row];
        row.reason = load_failure_;
      }
      return;
    } catch (const Error& e) {
      parse_error = e.what();
    }
  }
  ++failures_[p.row];
  std::string why = last_line(err_text);
  if (killed)
    row.reason = "probe did not finish within " + seconds(opt_.duration_ns + kProbeSlackNs) + "; killed";
  else if (!why.empty())
    row.reason = why;
  else if (!parse_error.empty())
    row.reason = parse_error;
  else
    row.reason = "probe " + describe_status(status) + " without output";
  if (forwarded)
    row.reason = "interrupted before the probe wrote results" + (why.empty() ? "" : " (" + why + ")");
  log("row " + tag + ": failed (" + describe_status(status) + "): " + row.reason);
}

report::BenchRun Runner::run() {
  become_subreaper();
  run_.rtcell_version = "0.1.0";
  run_.started_at = iso_utc_now();
  run_.config = {
      {"cpus", opt_.cpus.to_string()},
      {"load_cpus", opt_.load_cpus.to_string()},
      {"load", opt_.no_load ? "" : opt_.load_description},
      {"load_description", opt_.no_load ? "none (--no-load)" : "stress-ng " + opt_.load_description},
      {"no_load", opt_.no_load},
      {"duration_ns", opt_.duration_ns},
      {"duration_s", static_cast<double>(opt_.duration_ns) / 1e9},
      {"interval_ns", opt_.interval_ns},
      {"interval_us", opt_.interval_ns / 1000},
      {"priority", opt_.priority},
      {"policy", "fifo:" + std::to_string(opt_.priority)},
      {"repeat", opt_.repeat},
      {"probe", "rtcell latency"}};
  json ids = json::array();
  for (const auto& r : opt_.rows) ids.push_back(r.id);
  run_.config["rows"] = ids;
  run_.config["trace_dir"] =
      opt_.trace_dir.empty() ? nlohmann::json(nullptr) : nlohmann::json(opt_.trace_dir);
  run_.host = bench_host_json(opt_.cpus);

  check_prerequisites();
  // Hold the PM-QoS request at 0 for the whole run, as a cell supervisor
  // should (DESIGN.md: without it a container's wake-ups pay for deep idle
  // states and "the container cost" is an idle-state cost). Natively the
  // probe holds it too; inside a cell the device is root-only and missing.
  try {
    dma_ = measure::DmaLatencyRequest::hold(0);
    run_.config["dma_latency"] = "held at 0 us by rtcell bench for every row";
  } catch (const Error& e) {
    run_.config["dma_latency"] = std::string("not held: ") + e.what();
    log(std::string("note: /dev/cpu_dma_latency not held: ") + e.what());
  }
  for (const auto& r : opt_.rows)
    if (is_podman(r.kind)) {
      if (!containers_) containers_ = std::make_unique<ContainerHost>();
    }
  failures_.assign(opt_.rows.size(), 0);
  partials_.assign(opt_.rows.size(), 0);
  for (size_t i = 0; i < opt_.rows.size(); ++i) {
    const RowSpec& s = opt_.rows[i];
    report::RowResult r;
    r.id = s.id;
    r.label = s.label;
    r.kind = to_string(s.kind);
    r.load = s.load;
    r.baseline = s.baseline;
    r.status = report::RowStatus::Skipped;
    r.reason = skip_reason_[i];
    run_.rows.push_back(std::move(r));
  }
  for (size_t i = 0; i < opt_.rows.size(); ++i)
    if (!skip_reason_[i].empty()) log("row " + opt_.rows[i].id + ": skipped: " + skip_reason_[i]);

  collect_checks();

  std::vector<Plan> plan;
  for (int pass = 0; pass < 2; ++pass)
    for (int rep = 1; rep <= opt_.repeat; ++rep)
      for (size_t i = 0; i < opt_.rows.size(); ++i)
        if (skip_reason_[i].empty() && opt_.rows[i].load == (pass == 1)) plan.push_back({i, rep});

  const int steps = static_cast<int>(plan.size());
  try {
    for (int k = 0; k < steps; ++k) {
      if (SignalPipe::stop_signal()) {
        interrupted_ = true;
        break;
      }
      const Plan& p = plan[static_cast<size_t>(k)];
      if (opt_.rows[p.row].load && load_.pid() <= 0 && !load_failed_) start_load();
      run_one(p, k + 1, steps, opt_.duration_ns * (steps - k - 1));
      if (opt_.rows[p.row].load && !load_failed_ && load_.poll()) {
        std::string why = last_line(sys::try_read_file(opt_.work_dir + "/stress-ng.err").value_or(""));
        load_failed_ = true;
        load_failure_ = "the load stopped during the row: stress-ng " + describe_status(*load_.status()) +
                        (why.empty() ? "" : ": " + why);
        ++failures_[p.row];
        run_.rows[p.row].reason = load_failure_;
        log("load: " + load_failure_);
      }
    }
  } catch (...) {
    stop_load();
    if (containers_) containers_->finish();
    throw;
  }
  stop_load();
  if (containers_) containers_->finish();

  for (size_t i = 0; i < opt_.rows.size(); ++i) {
    report::RowResult& r = run_.rows[i];
    if (!skip_reason_[i].empty()) continue;
    r.summary = report::summarize(r.repeats);
    if (r.repeats.empty()) {
      if (failures_[i]) {
        r.status = report::RowStatus::Failed;
      } else {
        r.status = report::RowStatus::Skipped;
        r.reason = "not reached: interrupted";
      }
    } else if (failures_[i] && r.reason.find("load stopped") != std::string::npos) {
      r.status = report::RowStatus::Failed;
    } else if (partials_[i] || static_cast<int>(r.repeats.size()) < opt_.repeat) {
      r.status = report::RowStatus::Partial;
      if (r.reason.empty())
        r.reason = partials_[i] ? "interrupted"
                                : std::to_string(opt_.repeat - static_cast<int>(r.repeats.size())) + " of " +
                                      std::to_string(opt_.repeat) + " repeats missing";
    } else {
      r.status = report::RowStatus::Ok;
    }
  }
  run_.partial = interrupted_;
  if (interrupted_) run_.interrupted_by = signal_name(SignalPipe::stop_signal());
  run_.finished_at = iso_utc_now();
  return std::move(run_);
}

}  // namespace

std::string iso_utc_now() {
  std::time_t t = std::time(nullptr);
  struct tm tm;
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string find_in_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  size_t pos = 0;
  while (pos <= p.size()) {
    size_t end = p.find(':', pos);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(pos, end - pos);
    if (dir.empty()) dir = ".";
    std::string full = std::move(dir);
    full += '/';
    full += name;
    struct stat st;
    if (::stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(full.c_str(), X_OK) == 0)
      return full;
    pos = end + 1;
  }
  return "";
}

json bench_host_json(const CpuSet& measured) {
  json h = report::host_facts_json(host::read_host_facts("/"));
  h["hostname"] = sys::trim(sys::try_read_file("/proc/sys/kernel/hostname").value_or(""));
  // The governor decides how fast a woken CPU runs: part of every latency
  // figure. A VM or a board without cpufreq has none.
  std::string governor;
  bool mixed = false;
  for (int cpu : measured.cpus()) {
    auto g =
        sys::try_read_file("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cpufreq/scaling_governor");
    std::string v = g ? sys::trim(*g) : "";
    if (governor.empty())
      governor = v;
    else if (v != governor)
      mixed = true;
  }
  if (mixed) {
    governor.clear();
    for (int cpu : measured.cpus()) {
      auto g = sys::try_read_file("/sys/devices/system/cpu/cpu" + std::to_string(cpu) +
                                  "/cpufreq/scaling_governor");
      governor += (governor.empty() ? "" : ",") + std::to_string(cpu) + "=" + (g ? sys::trim(*g) : "none");
    }
  }
  h["governor"] = governor.empty() ? "none (no cpufreq)" : governor;
  return h;
}

report::BenchRun run_bench(BenchOptions opt, const Hooks& hooks) {
  if (opt.rows.empty()) usage_error("no rows to run (see --rows)");
  if (opt.repeat < 1) usage_error("--repeat must be at least 1");
  // A private work directory for probe output and stress-ng's files; removed
  // afterwards whatever happens.
  std::string tmpl =
      (std::getenv("TMPDIR") && *std::getenv("TMPDIR") ? std::string(std::getenv("TMPDIR")) : "/tmp") +
      "/rtcell-bench-XXXXXX";
  if (!::mkdtemp(tmpl.data())) sys_error("cannot create a work directory from " + tmpl, errno);
  opt.work_dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{tmpl};
  Runner r(std::move(opt), hooks);
  return r.run();
}

}  // namespace rtcell::benchrun
