// rtcell bench: the native-vs-cell latency matrix under load (docs/bench.md).
// Parses flags, hands them to benchrun::run_bench, hands the run to
// report::save_bench_run (the JSON first, so a history failure never loses
// the run; then the history database), renders the table and the HTML report.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "benchrun/runner.hpp"
#include "benchrun/spec.hpp"
#include "cli/command.hpp"
#include "host/facts.hpp"
#include "report/bench_store.hpp"
#include "report/history.hpp"
#include "report/render.hpp"
#include "rtcell/error.hpp"
#include "util/units.hpp"

namespace rtcell::cli {

namespace {

struct BenchFlags {
  std::string cpus;
  std::string rows;
  std::string duration = "15s";
  std::string interval = "200us";
  int priority = 80;
  bool allow_prio_99 = false;
  int repeat = 1;
  std::string load;
  bool no_load = false;
  bool load_everywhere = false;
  std::string json;
  std::string html;
  std::string trace;
  std::string db;
  bool no_history = false;
  bool no_check = false;
  bool list_rows = false;
};

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) sys_error("readlink /proc/self/exe", errno);
  return std::string(buf, static_cast<size_t>(n));
}

std::string mmss(int64_t ns) {
  int64_t s = (ns + 999'999'999) / 1'000'000'000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                static_cast<long long>(s % 60));
  return buf;
}

// The terminal display: a progress line rewritten in place on stderr, with
// log lines scrolling above it.
class Display {
 public:
  explicit Display(bool tty) : tty_(tty) {}
  void log(const std::string& line) {
    if (tty_) std::cerr << "\r\033[K";
    std::cerr << "rtcell bench: " << line << '\n';
    if (tty_ && !bar_.empty()) std::cerr << bar_ << std::flush;
  }
  void progress(const benchrun::Progress& p) {
    const int width = 20;
    double frac = p.row_ns > 0
                      ? std::min(1.0, static_cast<double>(p.row_elapsed_ns) / static_cast<double>(p.row_ns))
                      : 0;
    int filled = static_cast<int>(frac * width);
    char buf[256];
    std::snprintf(
        buf, sizeof buf, "[%s%s] %d/%d %s  %.1f/%.0f s  left %s  max so far %s",
        std::string(static_cast<size_t>(filled), '#').c_str(),
        std::string(static_cast<size_t>(width - filled), '.').c_str(), p.step, p.steps, p.row_label.c_str(),
        static_cast<double>(p.row_elapsed_ns) / 1e9, static_cast<double>(p.row_ns) / 1e9,
        mmss(p.remaining_ns).c_str(),
        p.max_so_far_ns < 0 ? "-" : (report::us(static_cast<double>(p.max_so_far_ns)) + " µs").c_str());
    bar_ = std::string("\r\033[K") + buf;
    std::cerr << bar_ << std::flush;
  }
  void done() {
    if (tty_ && !bar_.empty()) std::cerr << "\r\033[K" << std::flush;
    bar_.clear();
  }

 private:
  bool tty_;
  std::string bar_;
};

int run_bench_verb(const BenchFlags& f) {
  if (f.list_rows) {
    for (const auto& r : benchrun::all_rows())
      std::cout << r.id << "\t" << r.label << (r.baseline.empty() ? "" : "\tvs " + r.baseline) << '\n';
    return kExitOk;
  }
  if (f.no_load && !f.load.empty()) usage_error("--load and --no-load contradict each other: pick one");
  if (f.no_history && !f.db.empty()) usage_error("--db and --no-history contradict each other: pick one");
  if (f.priority == 99 && !f.allow_prio_99)
    usage_error(
        "priority 99 competes with kernel watchdogs and migration threads; pass --allow-prio-99 to insist");
  if (f.priority < 1 || f.priority > 99) usage_error("--priority must be 1..99 (default 80)");
  if (f.repeat < 1 || f.repeat > 100) usage_error("--repeat must be 1..100");

  benchrun::BenchOptions opt;
  opt.rtcell_bin = self_exe();
  opt.rows = benchrun::select_rows(f.rows);
  opt.duration_ns = util::parse_duration_ns(f.duration);
  if (opt.duration_ns < 1'000'000 || opt.duration_ns % 1'000'000 != 0)
    usage_error("--duration must be a whole number of milliseconds, at least 1ms (e.g. 15s, 500ms)");
  opt.interval_ns = util::parse_time_ns(f.interval, "us");
  if (opt.interval_ns < 1000 || opt.interval_ns % 1000 != 0)
    usage_error("--interval must be a whole number of microseconds, at least 1us (default 200us)");
  opt.priority = f.priority;
  opt.allow_prio_99 = f.allow_prio_99;
  opt.repeat = f.repeat;
  opt.no_load = f.no_load;
  opt.run_checks = !f.no_check;

  const CpuSet online = host::read_host_facts("/").online_cpus;
  opt.cpus = f.cpus.empty() ? benchrun::default_measure_cpus(online) : CpuSet::parse(f.cpus);
  if (opt.cpus.empty()) usage_error("--cpus is empty: name at least one CPU, e.g. --cpus 1");
  if (!online.contains(opt.cpus))
    usage_error("--cpus " + opt.cpus.to_string() + ": CPUs " + opt.cpus.minus(online).to_string() +
                " are not online (online: " + online.to_string() + ")");
  opt.load_cpus = benchrun::default_load_cpus(online, opt.cpus, f.load_everywhere);
  if (!f.load_everywhere && opt.load_cpus == online && !opt.no_load)
    note("every online CPU is measured: the load runs on the measured CPUs too");
  opt.load_args = f.load.empty() ? benchrun::default_load_args(opt.load_cpus) : benchrun::split_args(f.load);
  if (!f.load.empty() && opt.load_args.empty())
    usage_error("--load is empty: give stress-ng arguments or use --no-load");
  opt.load_description = benchrun::join_args(opt.load_args);

  // Output places are checked before the run: a typo must not cost the
  // measurements.
  auto check_dir = [](const std::string& path, const char* flag) {
    std::string dir =
        path.rfind('/') == std::string::npos ? "." : path.substr(0, std::max<size_t>(1, path.rfind('/')));
    if (::access(dir.c_str(), W_OK) != 0)
      usage_error(std::string(flag) + " " + path + ": directory " + dir +
                  " does not exist or is not writable");
  };
  if (!f.json.empty() && f.json != "-") check_dir(f.json, "--json");
  if (!f.html.empty()) check_dir(f.html, "--html");
  if (!f.trace.empty()) {
    if (::mkdir(f.trace.c_str(), 0755) != 0 && errno != EEXIST)
      usage_error("--trace " + f.trace + ": cannot create the directory (" + std::strerror(errno) + ")");
    char* abs = ::realpath(f.trace.c_str(), nullptr);
    if (abs == nullptr || ::access(abs, W_OK) != 0) {
      std::free(abs);
      usage_error("--trace " + f.trace + ": not a writable directory");
    }
    opt.trace_dir = abs;
    std::free(abs);
  }
  const std::string db_path = f.no_history ? "" : (f.db.empty() ? report::default_history_path() : f.db);

  Display display(stderr_is_tty());
  benchrun::Hooks hooks;
  hooks.log = [&](const std::string& line) { display.log(line); };
  if (stderr_is_tty()) {
    hooks.progress = [&](const benchrun::Progress& p) { display.progress(p); };
    hooks.progress_ms = 250;
  }
  report::BenchRun run = benchrun::run_bench(opt, hooks);
  display.done();

  // report::save_bench_run decides where the run goes and in which order
  // (the JSON first); here we only tell what happened.
  report::BenchSaved saved = report::save_bench_run(run, {f.json == "-" ? "" : f.json, db_path});
  if (!saved.pending_error.empty()) warn("could not save the run before storing it: " + saved.pending_error);
  if (!saved.stored()) {
    std::cerr << "rtcell bench: " << saved.store_error->what() << '\n';
    if (!saved.saved_in.empty())
      std::cerr << "rtcell bench: the run is saved in " << saved.saved_in
                << "; store it later with: rtcell report import " << saved.saved_in << '\n';
    if (f.json == "-") std::cout << report::bench_to_json(run).dump(2) << '\n';
    return saved.store_error->exit_code();
  }
  if (!db_path.empty()) display.log("stored as run " + std::to_string(run.id) + " in " + db_path);

  if (f.json == "-") {
    std::cout << report::bench_to_json(run).dump(2) << '\n';
    std::cerr << report::render_table(run);
  } else {
    std::cout << report::render_host_lines(run) << '\n' << report::render_table(run);
  }
  if (!f.html.empty()) {
    std::string index = report::write_html_report(f.html, run);
    (f.json == "-" ? std::cerr : std::cout) << "report: " << index << '\n';
  }
  if (run.partial)
    return 128 + (run.interrupted_by == "SIGTERM"  ? SIGTERM
                  : run.interrupted_by == "SIGHUP" ? SIGHUP
                                                   : SIGINT);
  bool any = false;
  for (const auto& r : run.rows) any = any || r.summary.has_value();
  if (!any) {
    std::cerr << "rtcell bench: no row produced figures; the reasons are in the table above\n";
    return kExitSystem;
  }
  return kExitOk;
}

Run setup(CLI::App& app) {
  auto f = std::make_shared<BenchFlags>();
  app.add_option("--cpus", f->cpus, "measured CPUs (default: all but CPU 0 when there are several)");
  app.add_option("--rows", f->rows, "rows to run, comma-separated (default: all; see --list-rows)");
  app.add_flag("--list-rows", f->list_rows, "list the rows of the matrix and exit");
  app.add_option("-D,--duration", f->duration, "length of each row: 15s, 500ms, 1m (default 15s)");
  app.add_option("-i,--interval", f->interval, "probe interval (default 200us)");
  app.add_option("-p,--priority", f->priority, "SCHED_FIFO priority of the probe (default 80)");
  app.add_flag("--allow-prio-99", f->allow_prio_99, "allow priority 99 (competes with kernel watchdogs)");
  app.add_option("--repeat", f->repeat, "run every row N times and report medians (default 1)");
  app.add_option("--load", f->load, "stress-ng arguments replacing the default mix (docs/bench.md)");
  app.add_flag("--no-load", f->no_load, "no stress-ng: load rows are skipped");
  app.add_flag("--load-everywhere", f->load_everywhere, "run the load on every CPU, the measured ones too");
  app.add_option("--json", f->json, "write the whole run as JSON to FILE, or - for stdout");
  app.add_option("--html", f->html, "write a self-contained HTML report into DIR");
  app.add_option("--db", f->db, "history database (default ~/.local/share/rtcell/history.db)");
  app.add_flag("--no-history", f->no_history, "do not store the run in the history database");
  app.add_option("--trace", f->trace,
                 "trace the native rows (rtcell latency --trace): one capture and explanation per row and "
                 "repeat under DIR");
  app.add_flag("--no-check", f->no_check, "do not run the host checks (rtcell check) for the report");
  return [f] { return run_bench_verb(*f); };
}

const Registrar reg{
    {"bench", "measure latency natively and in cells, idle and under load (Table 3)", 60, setup}};

}  // namespace

}  // namespace rtcell::cli
