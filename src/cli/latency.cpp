// rtcell latency: cyclictest-compatible flags in, measure::LatencyRun in the
// middle, a table / JSON / cyclictest text out. SIGINT and SIGTERM stop the
// run and the results gathered so far are still printed and written.
#include "measure/latency.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>

#include "cli/command.hpp"
#include "host/facts.hpp"
#include "measure/signal_wait.hpp"
#include "report/explain.hpp"
#include "report/latency_json.hpp"
#include "report/latency_text.hpp"
#include "report/timeline.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "trace/capture.hpp"
#include "trace/explain.hpp"
#include "trace/text_parser.hpp"
#include "util/units.hpp"

namespace rtcell::cli {

namespace {

struct LatencyFlags {
  int threads = 1;
  std::string affinity;
  bool smp = false;
  int priority = rt::kDefaultPriority;
  std::string policy = "fifo";
  std::string dl_runtime, dl_deadline, dl_period;
  bool allow_prio_99 = false;
  std::string interval = "1000";
  std::string distance = "500";
  std::string duration = "0";
  uint64_t loops = 0;
  bool mlock_flag = false;
  bool no_mlock = false;
  int32_t latency = 0;
  bool default_system = false;
  std::string breaktrace;
  bool quiet = false;
  uint32_t histogram = 1000;
  std::string json;
  bool cyclictest_output = false;
  bool force = false;
  bool aligned = false;
  uint32_t overflow_samples = 10'000;
  std::string trace_dir;
  std::string trace_threshold;
  uint32_t trace_keep = trace::kDefaultKeep;
  bool trace_keep_given = false;
  bool no_timerlat = false;
  uint32_t trace_buffer_kb = 0;  // 0: not given (trace::CaptureConfig's default)
  bool trace_buffer_given = false;
};

constexpr const char* kDefaultTraceDir = "rtcell-trace";
constexpr int64_t kDefaultTraceThresholdNs = 100'000;
constexpr uint32_t kMinTraceBufferKb = 4;
constexpr uint32_t kMaxTraceBufferKb = 1U << 20;  // 1 GiB per CPU

// The CPUs to trace: those the threads are pinned to, or every CPU this
// process may use when one of them is not pinned.
CpuSet traced_cpus(const std::vector<measure::ThreadPlan>& plans) {
  std::vector<int> cpus;
  for (const auto& p : plans) {
    if (!p.cpu) return rt::get_affinity(0);
    cpus.push_back(*p.cpu);
  }
  return CpuSet(cpus);
}

// Makes DIR (one level) before measuring, so a bad path fails first.
void prepare_trace_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    usage_error("--trace " + dir + ": cannot create the directory (" + std::strerror(errno) + ")");
  if (::access(dir.c_str(), W_OK) != 0) usage_error("--trace " + dir + ": directory is not writable");
}

int current_nice() {
  errno = 0;
  const int n = ::getpriority(PRIO_PROCESS, 0);
  return errno == 0 ? n : 0;
}

constexpr int64_t kRefreshNs = 100'000'000;  // live display: at most 10 times a second

rt::Policy make_policy(const LatencyFlags& f, bool priority_given, int64_t interval_ns) {
  if (f.policy == "fifo") return rt::Fifo{f.priority};
  if (f.policy == "rr") return rt::Rr{f.priority};
  if (priority_given)
    usage_error("--priority applies to --policy fifo or rr, not " + f.policy +
                "; drop it or change the policy");
  // Keep the nice value we run at: lowering it would need CAP_SYS_NICE.
  if (f.policy == "other") return rt::Other{current_nice()};
  if (f.policy == "deadline") {
    rt::Deadline d;
    d.period_ns =
        static_cast<uint64_t>(f.dl_period.empty() ? interval_ns : util::parse_time_ns(f.dl_period, "us"));
    d.deadline_ns =
        f.dl_deadline.empty() ? d.period_ns : static_cast<uint64_t>(util::parse_time_ns(f.dl_deadline, "us"));
    d.runtime_ns = f.dl_runtime.empty() ? d.period_ns / 10
                                        : static_cast<uint64_t>(util::parse_time_ns(f.dl_runtime, "us"));
    return d;
  }
  usage_error("unknown --policy '" + f.policy + "': use fifo, rr, deadline or other");
}

// Fails before measuring, not after, when the JSON file cannot be written.
void check_output_path(const std::string& path) {
  if (path.empty() || path == "-") return;
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (::access(dir.c_str(), W_OK) != 0)
    usage_error("cannot write --json " + path + ": directory " + dir + " does not exist or is not writable");
}

int run_latency_verb(const LatencyFlags& f, bool priority_given, bool histogram_given, bool distance_given,
                     bool latency_given, bool trace) {
  const int64_t interval_ns = util::parse_time_ns(f.interval, "us");
  measure::validate_interval(interval_ns, f.force);
  int64_t distance_ns = util::parse_time_ns(f.distance, "us");
  if (histogram_given) {
    // cyclictest: "distance is ignored and set to 0, if histogram enabled".
    if (distance_given && distance_ns != 0) warn("--distance is ignored with --histogram, as in cyclictest");
    distance_ns = 0;
  }
  if (f.histogram == 0) usage_error("--histogram 0: use at least 1 (us), e.g. --histogram 1000");
  if (f.latency < 0)
    usage_error("--latency " + std::to_string(f.latency) + " is negative: use 0 or more (us)");
  if (f.mlock_flag && f.no_mlock) usage_error("--mlockall and --no-mlock contradict each other: pick one");
  check_output_path(f.json);

  measure::LatencyConfig cfg;
  cfg.policy = make_policy(f, priority_given, interval_ns);
  cfg.policy_options.allow_prio_99 = f.allow_prio_99;
  rt::validate_policy(cfg.policy, cfg.policy_options);
  const CpuSet affinity = CpuSet::parse(f.affinity);
  if (!f.affinity.empty() && affinity.empty()) usage_error("--affinity '" + f.affinity + "' names no CPU");
  cfg.threads = measure::plan_threads_for_host(f.threads, affinity, f.smp, interval_ns, distance_ns);
  cfg.duration_ns = util::parse_duration_ns(f.duration);
  cfg.loops = f.loops;
  cfg.mlock = !f.no_mlock;
  cfg.dma_latency_us = f.default_system ? std::nullopt : std::optional<int32_t>(f.latency);
  // An explicit --latency must be honoured; the default is best effort.
  cfg.dma_latency_required = latency_given;
  cfg.histogram_buckets = f.histogram;
  cfg.overflow_capacity = f.overflow_samples;
  cfg.aligned = f.aligned;
  cfg.breaktrace_ns = f.breaktrace.empty() ? 0 : util::parse_time_ns(f.breaktrace, "us");
  if (!f.breaktrace.empty() && cfg.breaktrace_ns == 0)
    usage_error("--breaktrace 0: use a positive limit in us");
  const host::HostFacts facts = host::read_host_facts("/");

  const bool json_to_stdout = f.json == "-";
  const bool live = !f.quiet && !json_to_stdout && stdout_is_tty();

  measure::StopSignals signals;  // before start(): the measuring threads inherit the blocked mask
  // The capture comes after the signals are blocked: a Ctrl-C from here on
  // stops the run and still removes the trace instance.
  std::optional<trace::Capture> capture;
  const std::string trace_dir = f.trace_dir.empty() ? kDefaultTraceDir : f.trace_dir;
  if (!trace && !f.trace_threshold.empty()) usage_error("--trace-threshold needs --trace");
  if (!trace && f.trace_keep_given) usage_error("--trace-keep needs --trace");
  if (!trace && f.no_timerlat) usage_error("--no-timerlat goes with --trace; drop it or add --trace");
  if (!trace && f.trace_buffer_given) usage_error("--trace-buffer-kb needs --trace");
  if (f.trace_buffer_given &&
      (f.trace_buffer_kb < kMinTraceBufferKb || f.trace_buffer_kb > kMaxTraceBufferKb))
    usage_error("--trace-buffer-kb " + std::to_string(f.trace_buffer_kb) + ": use " +
                std::to_string(kMinTraceBufferKb) + " to " + std::to_string(kMaxTraceBufferKb) +
                " (KiB per CPU)");
  if (f.trace_keep > measure::WorstK::kMax)
    usage_error("--trace-keep " + std::to_string(f.trace_keep) + ": use 0 (every spike) to " +
                std::to_string(measure::WorstK::kMax));
  if (trace) {
    cfg.trace_threshold_ns = !f.trace_threshold.empty() ? util::parse_time_ns(f.trace_threshold, "us")
                             : cfg.breaktrace_ns > 0    ? cfg.breaktrace_ns
                                                        : kDefaultTraceThresholdNs;
    if (cfg.trace_threshold_ns <= 0) usage_error("--trace-threshold: use a positive limit in us");
    prepare_trace_dir(trace_dir);
    trace::CaptureConfig tc;
    tc.cpus = traced_cpus(cfg.threads);
    tc.timerlat = !f.no_timerlat;
    if (f.trace_buffer_given) tc.buffer_kb = f.trace_buffer_kb;
    // Without -b the run may outlast the ring many times over: a reader
    // drains it and keeps the windows of the worst K markers. -b stops at the
    // first spike, whose window the ring still holds.
    tc.drain = cfg.breaktrace_ns == 0;
    if (tc.drain) {
      int64_t slowest = 0;
      for (const auto& p : cfg.threads) slowest = std::max(slowest, p.interval_ns);
      tc.window.before_ns = trace::drain_window_ns(slowest);
      tc.window.keep = f.trace_keep;
      tc.reader_cpus = rt::get_affinity(0).intersect(facts.online_cpus).minus(tc.cpus);
    }
    capture = trace::Capture::start(tc);
    for (const auto& name : capture->stale_removed()) warn("removed a stale trace instance " + name);
    for (const auto& path : capture->stale_restored())
      warn("put back " + path + ", left changed by a killed rtcell");
    if (!f.quiet && !capture->timerlat_reason().empty()) note("--trace: " + capture->timerlat_reason());
    if (!capture->missing().empty()) {
      std::string list;
      for (const auto& e : capture->missing()) list += (list.empty() ? "" : ", ") + e;
      if (!f.quiet) note("--trace: this kernel lacks " + list + " (not recorded)");
    }
    cfg.trace_marker_fd = capture->marker_fd();
    cfg.trace_keep = f.trace_keep;
    if (!f.quiet)
      note("--trace: recording CPUs " + tc.cpus.to_string() + " in " + capture->instance_dir() +
           "; a sample over " + util::format_time_ns(cfg.trace_threshold_ns) + " is marked");
    if (!f.quiet && tc.drain)
      note("--trace: a reader on CPUs " +
           (tc.reader_cpus.empty() ? std::string("any (none is left unmeasured)")
                                   : tc.reader_cpus.to_string()) +
           " drains the ring and keeps " + util::format_time_ns(tc.window.before_ns) +
           " before each of the " +
           (f.trace_keep == 0 ? std::string("marked spikes") : std::to_string(f.trace_keep) + " worst"));
  }

  measure::LatencyRun run(cfg);
  run.start();
  for (const auto& w : run.warnings()) warn(w);
  if (!f.quiet)
    note("measuring " + std::to_string(cfg.threads.size()) + " thread" +
         (cfg.threads.size() == 1 ? "" : "s") + " (" + rt::to_string(cfg.policy) + ", interval " +
         util::format_time_ns(interval_ns) +
         (cfg.duration_ns ? ", for " + util::format_time_ns(cfg.duration_ns) : std::string()) +
         "); Ctrl-C stops and still reports");

  size_t shown_lines = 0;
  while (!run.finished()) {
    if (live) {
      std::string out;
      if (shown_lines) out += "\033[" + std::to_string(shown_lines) + "A";
      out += report::live_lines(cfg, run.live());
      shown_lines = cfg.threads.size();
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
    }
    if (signals.wait(kRefreshNs) != 0) run.stop(measure::StopReason::Signal);
  }
  measure::LatencyResult result = run.finish();
  if (shown_lines) {
    std::printf("\033[%zuA\033[J", shown_lines);
    std::fflush(stdout);
  }

  if (!f.json.empty()) {
    const std::string text = report::latency_json(cfg, result, facts).dump(2) + "\n";
    if (json_to_stdout)
      std::fwrite(text.data(), 1, text.size(), stdout);
    else
      sys::write_file_atomic(f.json, text);
  }
  if (!json_to_stdout) {
    const std::string text = f.cyclictest_output
                                 ? report::cyclictest_output(cfg, result, histogram_given, f.quiet)
                                 : report::latency_table(cfg, result);
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  std::fflush(stdout);
  if (capture) {
    const std::string text = capture->stop_and_read();
    if (!capture->drain_error().empty())
      warn("--trace: the reader stopped early (" + capture->drain_error() + "); later spikes are not in " +
           trace_dir + "/trace.txt");
    capture->close();  // no instance left, whatever happens next
    capture.reset();
    sys::write_file_atomic(trace_dir + "/trace.txt", text);
    const trace::ParsedTrace parsed = trace::parse_trace_text(text);
    trace::Explanation ex = trace::explain(parsed);
    if (cfg.breaktrace_ns == 0) trace::keep_worst(ex, f.trace_keep);
    sys::write_file_atomic(trace_dir + "/explain.json", report::explain_json(ex).dump(2) + "\n");
    sys::write_file_atomic(trace_dir + "/explain.html", report::explain_html(parsed, ex));
    const std::string out = report::explain_text(ex);
    std::fwrite(out.data(), 1, out.size(), json_to_stdout ? stderr : stdout);
    if (!f.quiet)
      note("--trace: kept in " + trace_dir + " (trace.txt, explain.json, explain.html); rtcell explain " +
           trace_dir);
  }
  std::fflush(stdout);
  if (result.breaktrace && !f.cyclictest_output && json_to_stdout)
    note("breaktrace: thread " + std::to_string(result.breaktrace->thread) + " sample " +
         std::to_string(result.breaktrace->sample) + " took " +
         util::format_time_ns(result.breaktrace->value_ns));
  // A tripped breaktrace is a "no" answer: the latency bound was not met.
  return result.breaktrace ? kExitNegative : kExitOk;
}

Run setup(CLI::App& app) {
  auto f = std::make_shared<LatencyFlags>();
  // -h is cyclictest's --histogram, so help is --help only.
  app.set_help_flag("--help", "Print this help message and exit");
  app.add_option("-t,--threads", f->threads, "number of measuring threads (default 1)");
  app.add_option("-a,--affinity", f->affinity, "CPU list to pin threads to, round-robin (e.g. 2-3)");
  app.add_flag("-S,--smp", f->smp, "one thread per allowed CPU (or per --affinity CPU), pinned");
  auto* prio = app.add_option("-p,--priority", f->priority,
                              "RT priority for fifo/rr (default 80; 99 needs --allow-prio-99)");
  app.add_option("--policy", f->policy, "fifo (default), rr, deadline or other");
  app.add_option("--dl-runtime", f->dl_runtime,
                 "SCHED_DEADLINE runtime (us or with unit; default period/10)");
  app.add_option("--dl-deadline", f->dl_deadline, "SCHED_DEADLINE deadline (default = period)");
  app.add_option("--dl-period", f->dl_period, "SCHED_DEADLINE period (default = interval)");
  app.add_flag("--allow-prio-99", f->allow_prio_99, "allow priority 99 (competes with kernel watchdogs)");
  app.add_option("-i,--interval", f->interval, "base period in us, or with a unit (default 1000)");
  auto* dist = app.add_option("-d,--distance", f->distance,
                              "added to the interval per thread, us (default 500; 0 with -h)");
  app.add_option("-D,--duration", f->duration, "run length: 10 (s), 10s, 5m, 2h, 1d (default: until Ctrl-C)");
  app.add_option("-l,--loops", f->loops, "samples per thread (default: unlimited)");
  app.add_flag("-m,--mlockall", f->mlock_flag, "lock memory (the default)");
  app.add_flag("--no-mlock", f->no_mlock, "do not lock memory");
  app.add_option("--latency", f->latency,
                 "hold /dev/cpu_dma_latency at this many us during the run (default 0)");
  app.add_flag("--default-system", f->default_system,
               "leave the system's idle states alone (no /dev/cpu_dma_latency)");
  app.add_option("-b,--breaktrace", f->breaktrace,
                 "stop when a latency exceeds this (us) and say where; exit 1");
  app.add_flag("-q,--quiet", f->quiet, "no live display or start note; print only the summary at the end");
  auto* hist =
      app.add_option("-h,--histogram", f->histogram, "histogram range in us, 1 us buckets (default 1000)");
  app.add_option("--json", f->json,
                 "write the results as JSON to FILE, or - for stdout (schema: docs/latency.md)");
  app.add_flag("--cyclictest-output", f->cyclictest_output, "print cyclictest's T: lines / --histogram text");
  app.add_flag("--force", f->force, "allow an interval below 10 us");
  app.add_flag("--aligned", f->aligned,
               "wake every thread at the same instants (default: staggered by interval/threads)");
  app.add_option("--overflow-samples", f->overflow_samples,
                 "overflow samples kept per thread (default 10000)");
  auto* trace_opt = app.add_option("--trace", f->trace_dir,
                                   "record a private ftrace instance on the measured CPUs and explain every "
                                   "sample over the trace threshold; kept in DIR (default ./rtcell-trace)")
                        ->expected(0, 1);
  app.add_option("--trace-threshold", f->trace_threshold,
                 "mark samples over this (us) in the trace (default: -b, else 100)");
  app.add_option("--trace-keep", f->trace_keep,
                 "without -b, mark and explain only the worst K samples (default 5, 0: every one over the "
                 "threshold); rtcell explain --keep K shows the same")
      ->each([f](const std::string&) { f->trace_keep_given = true; });
  // Advanced, for tests and tight memory: the ring's size per CPU.
  app.add_option("--trace-buffer-kb", f->trace_buffer_kb,
                 "with --trace: the ring buffer per traced CPU, KiB (default 8192); without -b a reader "
                 "drains it, so it only has to hold a few milliseconds of events")
      ->each([f](const std::string&) { f->trace_buffer_given = true; })
      ->group("");
  app.add_flag("--no-timerlat", f->no_timerlat,
               "with --trace: do not run the kernel's timerlat tracer beside rtcell (it runs by default "
               "where the kernel has it, and its verdict is shown beside each spike's)");
  auto* latency_opt = app.get_option("--latency");
  return [f, prio, hist, dist, latency_opt, trace_opt] {
    if (f->default_system && latency_opt->count() > 0)
      usage_error("--latency and --default-system contradict each other: pick one");
    return run_latency_verb(*f, prio->count() > 0, hist->count() > 0, dist->count() > 0,
                            latency_opt->count() > 0, trace_opt->count() > 0);
  };
}

const Registrar kLatency{
    Verb{"latency", "measure wake-up latency like cyclictest, with exact percentiles", 40, setup}};

}  // namespace

}  // namespace rtcell::cli
