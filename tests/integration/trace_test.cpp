// `rtcell latency --trace` and `rtcell explain` end to end, as root on the
// real kernel: a planted SCHED_FIFO spinner of higher priority on the
// measured CPU must be named as having run before the measuring thread, and
// every run (a failing, a signalled and a SIGKILLed one included) must leave
// the host's tracing as it found it: no rtcell-* instance, the global
// tracing_on and enabled events unchanged, tracefs mounted only if it was.
// Synchronisation is on pipes and the child's output, never on sleeps; no
// assertion is on a latency value.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/support.hpp"
#include "rtcell/cpuset.hpp"
#include "rtcell/rt/sched.hpp"
#include "sys/tracefs.hpp"

using nlohmann::json;
using rtcell::test::Result;

namespace {

const char* kTracefs = "/sys/kernel/tracing";

struct TraceState {
  bool mounted = false;
  std::string tracing_on;
  std::string set_event;
  std::string current_tracer;
  std::string osnoise_cpus;  // "" where the kernel has no osnoise tracer
  std::vector<std::string> rtcell_instances;
};

TraceState snapshot() {
  TraceState s;
  s.mounted = rtcell::sys::is_tracefs(kTracefs);
  if (!s.mounted) return s;
  s.tracing_on = rtcell::test::slurp(std::string(kTracefs) + "/tracing_on");
  s.set_event = rtcell::test::slurp(std::string(kTracefs) + "/set_event");
  s.current_tracer = rtcell::test::slurp(std::string(kTracefs) + "/current_tracer");
  struct stat st {};
  if (stat((std::string(kTracefs) + "/osnoise/cpus").c_str(), &st) == 0)
    s.osnoise_cpus = rtcell::test::slurp(std::string(kTracefs) + "/osnoise/cpus");
  if (DIR* d = opendir((std::string(kTracefs) + "/instances").c_str())) {
    while (dirent* e = readdir(d))
      if (std::string(e->d_name).rfind("rtcell-", 0) == 0) s.rtcell_instances.emplace_back(e->d_name);
    closedir(d);
  }
  return s;
}

void expect_same_tracing(const TraceState& before) {
  const TraceState after = snapshot();
  EXPECT_EQ(after.mounted, before.mounted) << "tracefs mount left changed";
  EXPECT_EQ(after.tracing_on, before.tracing_on);
  EXPECT_EQ(after.set_event, before.set_event) << "global events changed";
  EXPECT_EQ(after.current_tracer, before.current_tracer) << "global tracer changed";
  EXPECT_EQ(after.osnoise_cpus, before.osnoise_cpus) << "osnoise/cpus not put back";
  EXPECT_TRUE(after.rtcell_instances.empty()) << "left an instance: " << after.rtcell_instances.front();
}

std::string skip_reason() {
  if (geteuid() != 0) return "needs root for tracefs, SCHED_FIFO and mlock";
  struct stat st {};
  if (stat(kTracefs, &st) != 0) return "no /sys/kernel/tracing (kernel without tracefs)";
  return "";
}

bool kernel_has_timerlat() {
  return rtcell::test::slurp(std::string(kTracefs) + "/available_tracers").find("timerlat") !=
         std::string::npos;
}

std::string make_dir() {
  char tmpl[] = "/tmp/rtcell-trace-test-XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "";
}

int last_cpu() {
  const auto cpus = rtcell::rt::get_affinity(0).cpus();
  return cpus.empty() ? 0 : cpus.back();
}

// A SCHED_FIFO 90 process on `cpu` that spins 5 ms of its own CPU time, then
// sleeps 1 ms, forever (5/6 of the CPU: under the default RT throttle of 0.95): any timer of a lower-priority
// thread that expires while it spins waits for the end of the spin. Ready once its pipe says so.
struct Spinner {
  pid_t pid = -1;
  // fifo_prio 0: SCHED_OTHER (nice 0) instead of SCHED_FIFO. bursts > 0:
  // that many spins of spin_ns, then it exits.
  explicit Spinner(int cpu, int fifo_prio = 90, int bursts = 0, long spin_ns = 5'000'000L) {
    int p[2];
    if (pipe(p) != 0) return;
    pid = fork();
    if (pid == 0) {
      close(p[0]);
      prctl(PR_SET_NAME, "rtcell-spin");
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      sched_param sp{};
      sp.sched_priority = fifo_prio;
      if (sched_setaffinity(0, sizeof set, &set) != 0 ||
          sched_setscheduler(0, fifo_prio > 0 ? SCHED_FIFO : SCHED_OTHER, &sp) != 0)
        _exit(3);
      if (write(p[1], "r", 1) != 1) _exit(4);
      close(p[1]);
      for (int n = 0; bursts == 0 || n < bursts; ++n) {
        timespec t0{}, t{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        do {
          clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        } while ((t.tv_sec - t0.tv_sec) * 1'000'000'000L + (t.tv_nsec - t0.tv_nsec) < spin_ns);
        // The duty cycle of the disturbance, not a synchronisation.
        const timespec rest{0, 1'000'000};
        nanosleep(&rest, nullptr);
      }
      _exit(0);
    }
    close(p[1]);
    char c = 0;
    const bool ready = read(p[0], &c, 1) == 1;
    close(p[0]);
    if (!ready) stop();
  }
  Spinner(const Spinner&) = delete;
  Spinner& operator=(const Spinner&) = delete;
  void stop() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      rtcell::test::wait_exit(pid);
      pid = -1;
    }
  }
  ~Spinner() { stop(); }
};

std::vector<std::string> latency(const std::vector<std::string>& more) {
  std::vector<std::string> a = {rtcell::test::rtcell_bin(), "latency"};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

}  // namespace

TEST(TraceCli, PlantedHigherPrioritySpinnerIsNamedBeforeTheMeasuredThread) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  const int cpu = last_cpu();
  // 100 periods of 1 ms with the spinner holding the CPU 5 ms of every 6:
  // most wake-ups wait for it. Not -b: the first sample over the threshold
  // may be something else on this VM (a stalled vCPU; or sample 0, whose
  // release by the main thread can itself be late), and every marked spike
  // is explained anyway.
  Spinner spin(cpu);
  ASSERT_GT(spin.pid, 0) << "spinner could not get SCHED_FIFO 90 on CPU " << cpu;
  Result r =
      rtcell::test::run_argv(latency({"-t", "1", "-a", std::to_string(cpu), "-p", "80", "-i", "1000", "-l",
                                      "100", "-q", "--trace", dir, "--trace-threshold", "1000"}));
  const pid_t spinner = spin.pid;
  spin.stop();
  EXPECT_EQ(r.code, 0) << r.err;
  const json ex = json::parse(rtcell::test::slurp(dir + "/explain.json"));
  ASSERT_EQ(ex["schema"], "rtcell.explain/1");
  ASSERT_GE(ex["markers"].get<int>(), 1) << r.out;
  int named = 0;
  for (const auto& s : ex["spikes"]) {
    if (s["status"] != "explained") continue;
    int64_t total = 0;
    for (const auto& p : s["parts"]) total += p["duration_ns"].get<int64_t>();
    EXPECT_EQ(total, s["latency_ns"].get<int64_t>()) << s.dump(2);
    for (const auto& p : s["parts"]) {
      if (p["kind"] != "thread" || p["pid"] != spinner) continue;
      ++named;
      EXPECT_EQ(p["name"], "rtcell-spin");
      EXPECT_EQ(p["policy"], "rt 90");
      EXPECT_EQ(p["role"], "higher_or_equal_priority");
      EXPECT_GT(p["duration_ns"].get<int64_t>(), 0);
      EXPECT_NE(s["verdict"].get<std::string>().find("rtcell-spin:" + std::to_string(spinner)),
                std::string::npos)
          << s["verdict"];
    }
  }
  EXPECT_GE(named, 1) << "the spinner (pid " << spinner << ") is named in no spike:\n" << ex.dump(2);
  expect_same_tracing(before);
  // explain re-runs the same analysis on the kept capture.
  Result e = rtcell::test::run_argv({rtcell::test::rtcell_bin(), "explain", dir, "--json", "-"});
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(json::parse(e.out)["spikes"], ex["spikes"]);
  // The HTML page: a timeline per explained spike, the spinner in it; the
  // same page again from the kept capture.
  const std::string html = rtcell::test::slurp(dir + "/explain.html");
  EXPECT_NE(html.find("<svg "), std::string::npos);
  EXPECT_NE(html.find("rtcell-spin:" + std::to_string(spinner)), std::string::npos);
  Result h =
      rtcell::test::run_argv({rtcell::test::rtcell_bin(), "explain", dir, "--html", dir + "/again.html"});
  ASSERT_EQ(h.code, 0) << h.err;
  EXPECT_EQ(rtcell::test::slurp(dir + "/again.html"), html);
  rtcell::test::run_shell("rm -rf " + dir);
}

TEST(TraceCli, WithoutBreaktraceTheWorstSamplesAreKept) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  const int cpu = last_cpu();
  // Most of 200 wake-ups wait for the spinner: far more spikes than kept.
  Spinner spin(cpu);
  ASSERT_GT(spin.pid, 0) << "spinner could not get SCHED_FIFO 90 on CPU " << cpu;
  Result r = rtcell::test::run_argv(
      latency({"-t", "1", "-a", std::to_string(cpu), "-p", "80", "-i", "1000", "-l", "200", "-q", "--json",
               dir + "/run.json", "--trace", dir, "--trace-threshold", "100", "--trace-keep", "2"}));
  spin.stop();
  ASSERT_EQ(r.code, 0) << r.err;
  const json run = json::parse(rtcell::test::slurp(dir + "/run.json"));
  const json ex = json::parse(rtcell::test::slurp(dir + "/explain.json"));
  ASSERT_LE(ex["spikes"].size(), 2u) << ex.dump(2);
  ASSERT_GE(ex["spikes"].size(), 1u) << ex.dump(2);
  // The thread marks only a sample that beats its 2nd worst so far, so far
  // fewer than the spikes; the run's own maximum is always among those kept.
  int64_t max_kept = 0;
  for (const auto& s : ex["spikes"]) max_kept = std::max(max_kept, s["latency_ns"].get<int64_t>());
  const auto& thread = run["threads"][0];
  EXPECT_EQ(max_kept, thread["max_ns"].get<int64_t>()) << "the worst sample's marker was not kept";
  // Samples over the 100 us threshold, from the 1 us histogram: at most that many markers.
  int64_t over = thread["overflows"]["count"].get<int64_t>();
  const auto& counts = thread["histogram"]["counts"];
  for (size_t i = 101; i < counts.size(); ++i) over += counts[i].get<int64_t>();
  EXPECT_LE(ex["markers"].get<int64_t>(), over);
  EXPECT_EQ(ex["not_kept"].get<int64_t>(),
            ex["markers"].get<int64_t>() - static_cast<int64_t>(ex["spikes"].size()));
  expect_same_tracing(before);
  Result bad = rtcell::test::run_argv(latency({"-l", "1", "--trace-keep", "3"}));
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--trace-keep needs --trace"), std::string::npos) << bad.err;
  rtcell::test::run_shell("rm -rf " + dir);
}

// Without -b the capture drains the ring while the run goes and keeps the
// windows of the worst spikes: with a 64 KiB ring, which 5 s of events
// overwrite many times, a spike planted at the start of the run (ten 10 ms
// spins of a SCHED_FIFO 90 process, begun once rtcell says it measures) is
// still explained at the end, its spinner named. With the ring alone (no
// drain) its window, and its marker, are long overwritten.
TEST(TraceCli, AnEarlySpikeIsExplainedAfterTheRingWrapped) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  const int cpu = last_cpu();
  // -i 4000: the keeper's window is W = 4 intervals + 20 ms = 36 ms, so
  // a spike of up to 32 ms has its whole window, even when an emulator
  // (the TCG guests) stretches a 10 ms spin to twice that. Spikes over
  // 2 ms are marked, and all of them kept (--trace-keep 0): a VM's own
  // larger stalls cannot push all of the spinner's out of the K worst,
  // and an emulator's many smaller ones do not fill the keeper's memory.
  auto child = rtcell::test::spawn(
      latency({"-t", "1", "-a", std::to_string(cpu), "-p", "80", "-i", "4000", "-D", "5s", "--trace", dir,
               "--trace-buffer-kb", "64", "--trace-threshold", "2000", "--trace-keep", "0"}));
  ASSERT_GT(child.pid, 0);
  std::string line;
  do {
    line = rtcell::test::read_line(child.err);
  } while (!line.empty() && line.find("measuring 1 thread") == std::string::npos);
  ASSERT_NE(line, "") << "rtcell exited before measuring";
  pid_t spinner = -1;
  {
    Spinner spin(cpu, 90, 10, 10'000'000L);
    ASSERT_GT(spin.pid, 0) << "spinner could not get SCHED_FIFO 90 on CPU " << cpu;
    spinner = spin.pid;
    // Reaped when it is done (the ten spins), not killed: it is waited for.
    rtcell::test::wait_exit(spin.pid);
    spin.pid = -1;
  }
  std::string out, err;
  rtcell::test::drain(child, out, err);
  ASSERT_EQ(rtcell::test::wait_exit(child.pid), 0) << err;
  const std::string text = rtcell::test::slurp(dir + "/trace.txt");
  // The reader read far more than the ring holds: 64 KiB is at most ~2700
  // events of one CPU (24 bytes the smallest), and it wrapped at least 3 times.
  const size_t at = text.find("drained from trace_pipe during the run (");
  EXPECT_NE(at, std::string::npos) << text.substr(0, 400);
  if (at != std::string::npos) {
    EXPECT_GT(std::stoll(text.substr(at + 40)), 3 * 2731) << text.substr(at, 120);
  }
  const json ex = json::parse(rtcell::test::slurp(dir + "/explain.json"));
  ASSERT_GE(ex["spikes"].size(), 1u) << err;
  int named = 0;
  for (const auto& s : ex["spikes"]) {
    // A spike shorter than W minus one interval (32 ms) has its whole
    // window (docs/explain.md, "Drain mode").
    if (s["latency_ns"].get<int64_t>() < 30'000'000) {
      EXPECT_EQ(s["reason"].get<std::string>().find("not in the buffer"), std::string::npos) << s.dump(2);
    }
    if (s["status"] != "explained") continue;
    for (const auto& p : s["parts"])
      // Named as the cause: its role is not checked here (a spinner that
      // turned SCHED_FIFO after its fork is sometimes given its old
      // SCHED_OTHER priority in a drained capture: docs/STATUS.md).
      if (p["kind"] == "thread" && p["pid"] == spinner) ++named;
  }
  EXPECT_GE(named, 1) << "the early spinner (pid " << spinner << ") is named in no kept spike:\n"
                      << ex.dump(2);
  EXPECT_FALSE(ex["ring_overwritten"].get<bool>());
  // rtcell explain DIR reads the drained capture as latency did.
  Result e =
      rtcell::test::run_argv({rtcell::test::rtcell_bin(), "explain", dir, "--keep", "0", "--json", "-"});
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(json::parse(e.out)["spikes"], ex["spikes"]);
  expect_same_tracing(before);
  Result bad = rtcell::test::run_argv(latency({"-l", "1", "--trace", dir, "--trace-buffer-kb", "1"}));
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--trace-buffer-kb 1: use 4 to 1048576 (KiB per CPU)"), std::string::npos)
      << bad.err;
  rtcell::test::run_shell("rm -rf " + dir);
}

TEST(TraceCli, SchedOtherHogIsNeverBlamedAsHigherPriority) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  const int cpu = last_cpu();
  Spinner hog(cpu, 0);
  ASSERT_GT(hog.pid, 0);
  // Threshold 1 us and --trace-keep 0: every sample is marked and explained. The hog is what
  // runs when the FIFO 80 thread sleeps, so it is running at most expiries:
  // it may be named as the blocking task (preempted at the wake-up), never
  // as a thread that ran first by priority.
  Result r = rtcell::test::run_argv(
      latency({"-t", "1", "-a", std::to_string(cpu), "-p", "80", "-i", "1000", "-l", "100", "-q", "--trace",
               dir, "--trace-threshold", "1", "--trace-keep", "0"}));
  const pid_t pid = hog.pid;
  hog.stop();
  EXPECT_EQ(r.code, 0) << r.err;
  const json ex = json::parse(rtcell::test::slurp(dir + "/explain.json"));
  EXPECT_EQ(ex["markers"], 100);
  int blocking = 0;
  for (const auto& s : ex["spikes"]) {
    if (s["status"] != "explained") continue;
    for (const auto& p : s["parts"]) {
      if (p["kind"] != "thread" || p["pid"] != pid) continue;
      EXPECT_EQ(p["policy"], "normal nice 0");
      EXPECT_NE(p["role"], "higher_or_equal_priority") << s.dump(2);
      if (p["role"] == "blocking") ++blocking;
      // Never blamed for more than the wake-up's preemption: what it is
      // given lies between the timer's handler and the switch onto the
      // thread (to the trace's resolution), not in the timer IRQ latency.
      const json& t = s["timer"];
      if (t.is_object() && !t["switch_untraced"].get<bool>()) {
        EXPECT_LE(p["duration_ns"].get<int64_t>(), t["switch_ts_ns"].get<int64_t>() -
                                                       t["expire_entry_now_ns"].get<int64_t>() +
                                                       s["resolution_ns"].get<int64_t>())
            << s.dump(2);
      }
    }
  }
  EXPECT_GE(blocking, 1) << "the hog (pid " << pid << ") was never the blocking task";
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir);
}

TEST(TraceCli, BreaktraceLeavesExactlyOneMarkerAndNoInstance) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  // 1 us: no wake-up on this kernel is that fast, so the first sample trips it.
  Result r = rtcell::test::run_argv(latency({"-t", "1", "-a", std::to_string(last_cpu()), "-i", "1000", "-l",
                                             "1000", "-b", "1", "-q", "--trace", dir}));
  EXPECT_EQ(r.code, 1) << r.err;
  const json ex = json::parse(rtcell::test::slurp(dir + "/explain.json"));
  EXPECT_EQ(ex["markers"], 1);
  ASSERT_EQ(ex["spikes"].size(), 1u);
  const json& s = ex["spikes"][0];
  // The window before the marker is in the buffer: the spike is explained,
  // and its parts add up to what the loop measured.
  EXPECT_EQ(s["status"], "explained") << s.dump(2);
  EXPECT_EQ(s["sum_ns"], s["latency_ns"]);
  EXPECT_NE(r.out.find("spike 1: thread 0"), std::string::npos) << r.out;
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir);
}

TEST(TraceCli, AFailingRunLeavesNoInstance) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  // SCHED_DEADLINE pinned to one CPU: the kernel refuses it in start(), after
  // the capture is up (exit 2, see docs/latency.md).
  Result r = rtcell::test::run_argv(latency({"-t", "1", "-a", std::to_string(last_cpu()), "--policy",
                                             "deadline", "-D", "1", "-q", "--trace", dir}));
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.code, 1) << r.err;
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir);
}

TEST(TraceCli, SigtermStopsReportsAndRemovesTheInstance) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  auto child = rtcell::test::spawn(latency({"-t", "1", "-i", "1000", "-D", "60", "--trace", dir}));
  ASSERT_GT(child.pid, 0);
  std::string line;
  do {
    line = rtcell::test::read_line(child.err);
  } while (!line.empty() && line.find("measuring 1 thread") == std::string::npos);
  ASSERT_NE(line, "") << "rtcell exited before measuring";
  kill(child.pid, SIGTERM);
  std::string out, err;
  rtcell::test::drain(child, out, err);
  EXPECT_EQ(rtcell::test::wait_exit(child.pid), 0) << err;
  EXPECT_TRUE(rtcell::test::path_exists(dir + "/trace.txt"));
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir);
}

TEST(TraceCli, AnInstanceLeftBySigkillIsRemovedByTheNextRun) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  auto child = rtcell::test::spawn(latency({"-t", "1", "-i", "1000", "-D", "60", "--trace", dir}));
  ASSERT_GT(child.pid, 0);
  std::string line;
  do {
    line = rtcell::test::read_line(child.err);
  } while (!line.empty() && line.find("measuring 1 thread") == std::string::npos);
  ASSERT_NE(line, "");
  const std::string left = "rtcell-" + std::to_string(child.pid);
  kill(child.pid, SIGKILL);
  std::string out, err;
  rtcell::test::drain(child, out, err);
  rtcell::test::wait_exit(child.pid);
  // SIGKILL cannot be caught: the instance (and a tracefs mount rtcell made)
  // stay until the next --trace run, which removes instances of dead rtcells.
  ASSERT_TRUE(rtcell::test::path_exists(std::string(kTracefs) + "/instances/" + left));
  Result r = rtcell::test::run_argv(latency({"-t", "1", "-i", "1000", "-l", "10", "--trace", dir}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("removed a stale trace instance " + left), std::string::npos) << r.err;
  const TraceState after = snapshot();
  EXPECT_TRUE(after.rtcell_instances.empty());
  if (!before.mounted) umount2(kTracefs, MNT_DETACH);  // the killed run's mount
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir);
}

// The same leftovers taken by `rtcell gc` instead of a next run: the
// instance, and (on a kernel with timerlat, where the killed run had
// narrowed it) the global osnoise/cpus put back from rtcell's journal.
TEST(TraceCli, WhatASigkilledRunLeftIsTakenByGc) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  auto child = rtcell::test::spawn(latency({"-t", "1", "-i", "1000", "-D", "60", "--trace", dir}));
  ASSERT_GT(child.pid, 0);
  std::string line;
  do {
    line = rtcell::test::read_line(child.err);
  } while (!line.empty() && line.find("measuring 1 thread") == std::string::npos);
  ASSERT_NE(line, "");
  const std::string left = "rtcell-" + std::to_string(child.pid);
  const bool narrowed = rtcell::test::path_exists("/run/rtcell-trace/" + std::to_string(child.pid));
  kill(child.pid, SIGKILL);
  std::string out, err;
  rtcell::test::drain(child, out, err);
  rtcell::test::wait_exit(child.pid);
  ASSERT_TRUE(rtcell::test::path_exists(std::string(kTracefs) + "/instances/" + left));
  const std::string state = make_dir();
  ASSERT_FALSE(state.empty());
  Result r = rtcell::test::run_argv(
      {rtcell::test::rtcell_bin(), "gc", "--root", state, "--cgroup-root", "rtcell-gc-trace-test"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("removed trace instance " + left), std::string::npos) << r.out;
  if (narrowed) {
    EXPECT_NE(r.out.find("put back " + std::string(kTracefs) + "/osnoise/cpus"), std::string::npos) << r.out;
  }
  EXPECT_FALSE(rtcell::test::path_exists("/run/rtcell-trace/" + std::to_string(child.pid)));
  const TraceState after = snapshot();
  EXPECT_TRUE(after.rtcell_instances.empty());
  if (!before.mounted) umount2(kTracefs, MNT_DETACH);  // the killed run's mount
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir + " " + state);
}

// rtcell trace record + rtcell explain --inversion on librtcell's
// priority-inversion demo (examples/pi-demo): three SCHED_FIFO threads on
// one CPU, the demo's main thread on another.
namespace {

std::string pi_demo() {
  return std::string(RTCELL_BUILD_DIR) + "/examples/pi-demo/rtcell-pi-demo";
}

struct DemoRun {
  Result record;
  int low = 0, medium = 0, high = 0;
  json scan;
};

DemoRun record_demo(const std::string& dir, const std::string& mutex) {
  DemoRun d;
  const std::string cpu = std::to_string(last_cpu());
  d.record = rtcell::test::run_argv({rtcell::test::rtcell_bin(), "trace", "record", "--cpus", cpu, "-o", dir,
                                     "-q", "--", pi_demo(), "--mutex", mutex, "--cpu", cpu});
  // "pi-low=TID pi-medium=TID pi-high=TID"
  std::sscanf(d.record.out.c_str(), "pi-low=%d pi-medium=%d pi-high=%d", &d.low, &d.medium, &d.high);
  Result e =
      rtcell::test::run_argv({rtcell::test::rtcell_bin(), "explain", "--inversion", dir, "--json", "-"});
  if (e.code == 0) d.scan = json::parse(e.out);
  return d;
}

const json* finding_for(const json& scan, int high) {
  if (!scan.contains("inversions")) return nullptr;
  for (const auto& i : scan["inversions"])
    if (i["high"]["pid"] == high) return &i;
  return nullptr;
}

std::string demo_skip_reason() {
  if (auto r = skip_reason(); !r.empty()) return r;
  if (rtcell::rt::get_affinity(0).cpus().size() < 2) return "the demo needs two CPUs: one for its RT threads";
  return "";
}

}  // namespace

TEST(TraceCli, PlainMutexDemoIsReportedAsAnInversionWithTheThreeThreads) {
  if (auto r = demo_skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  const DemoRun d = record_demo(dir, "plain");
  ASSERT_EQ(d.record.code, 0) << d.record.err;
  ASSERT_GT(d.high, 0) << d.record.out;
  EXPECT_NE(d.record.out.find("order: M L H"), std::string::npos)
      << "medium ran inside low's lock: " << d.record.out;
  const json* f = finding_for(d.scan, d.high);
  ASSERT_NE(f, nullptr) << "pi-high (" << d.high << ") not found:\n" << d.scan.dump(2);
  EXPECT_EQ((*f)["kind"], "inversion") << f->dump(2);
  EXPECT_EQ((*f)["high"]["comm"], "pi-high");
  EXPECT_EQ((*f)["high"]["policy"], "rt 30");
  EXPECT_EQ((*f)["holder"]["pid"], d.low);
  EXPECT_EQ((*f)["holder"]["comm"], "pi-low");
  EXPECT_EQ((*f)["holder"]["policy"], "rt 10");
  ASSERT_EQ((*f)["middle"].size(), 1u) << f->dump(2);
  EXPECT_EQ((*f)["middle"][0]["pid"], d.medium);
  EXPECT_EQ((*f)["middle"][0]["comm"], "pi-medium");
  EXPECT_EQ((*f)["middle"][0]["policy"], "rt 20");
  EXPECT_FALSE((*f)["boosted"].get<bool>());
  // What the high thread waited includes what medium ran; both are > 0.
  EXPECT_GT((*f)["middle_ns"].get<int64_t>(), 0);
  EXPECT_GE((*f)["waited_ns"].get<int64_t>(), (*f)["middle_ns"].get<int64_t>());
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir);
}

TEST(TraceCli, PiMutexDemoIsReportedAsBoostedAndBounded) {
  if (auto r = demo_skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  const DemoRun d = record_demo(dir, "pi");
  ASSERT_EQ(d.record.code, 0) << d.record.err;
  ASSERT_GT(d.high, 0) << d.record.out;
  const json* f = finding_for(d.scan, d.high);
  ASSERT_NE(f, nullptr) << "pi-high (" << d.high << ") not found:\n" << d.scan.dump(2);
  EXPECT_EQ((*f)["kind"], "boosted_bounded") << f->dump(2);
  EXPECT_EQ((*f)["holder"]["pid"], d.low);
  EXPECT_EQ((*f)["holder"]["policy"], "rt 10") << "the holder's own priority";
  EXPECT_TRUE((*f)["boosted"].get<bool>());
  EXPECT_EQ((*f)["boosted_to"], 69) << "boosted to pi-high's rt 30";
  EXPECT_TRUE((*f)["middle"].empty());
  EXPECT_NE((*f)["verdict"].get<std::string>().find("boosted and bounded"), std::string::npos);
  for (const auto& i : d.scan["inversions"])
    EXPECT_NE(i["middle"].size() > 0 ? i["holder"]["pid"].get<int>() : -1, d.low)
        << "pi-low was delayed by a middle thread under PI:\n"
        << i.dump(2);
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir);
}

TEST(TraceCli, RecordOfACommandThatCannotRunSaysSoAndLeavesNothing) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  Result r = rtcell::test::run_argv(
      {rtcell::test::rtcell_bin(), "trace", "record", "-q", "-o", dir, "--", dir + "/no-such-program"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("cannot run " + dir + "/no-such-program"), std::string::npos) << r.err;
  Result none = rtcell::test::run_argv({rtcell::test::rtcell_bin(), "trace", "record", "-o", dir});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("after --"), std::string::npos) << none.err;
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir);
}

TEST(TraceCli, RecordRelaysSigtermToTheCommandAndRemovesTheInstance) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  // The command says it runs, then waits to be signalled (sleep is its workload).
  auto child = rtcell::test::spawn({rtcell::test::rtcell_bin(), "trace", "record", "-q", "-o", dir, "--",
                                    "sh", "-c", "echo ready; exec sleep 1000"});
  ASSERT_GT(child.pid, 0);
  ASSERT_EQ(rtcell::test::read_line(child.out), "ready");
  kill(child.pid, SIGTERM);
  std::string out, err;
  rtcell::test::drain(child, out, err);
  EXPECT_EQ(rtcell::test::wait_exit(child.pid), 128 + SIGTERM) << "the command's status: " << err;
  EXPECT_TRUE(rtcell::test::path_exists(dir + "/trace.txt"));
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir);
}

// The kernel's timerlat tracer runs in the same private instance, and its
// sample nearest to each spike stands beside rtcell's explanation; after the
// run the global tracer and osnoise/cpus are as they were.
TEST(TraceCli, TimerlatVerdictStandsBesideEachSpike) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  if (!kernel_has_timerlat())
    GTEST_SKIP() << "this kernel has no timerlat tracer (CONFIG_TIMERLAT_TRACER; the RT guests have it)";
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  // 1 us: every sample is over it, so the worst of 300 is marked and explained.
  Result r =
      rtcell::test::run_argv(latency({"-t", "1", "-a", std::to_string(last_cpu()), "-i", "1000", "-l", "300",
                                      "--trace", dir, "--trace-threshold", "1", "--trace-keep", "1"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("timerlat runs beside rtcell on CPUs " + std::to_string(last_cpu())),
            std::string::npos)
      << r.err;
  EXPECT_NE(rtcell::test::slurp(dir + "/trace.txt").find("# tracer: timerlat"), std::string::npos);
  const json ex = json::parse(rtcell::test::slurp(dir + "/explain.json"));
  EXPECT_EQ(ex["timerlat"], true);
  ASSERT_EQ(ex["spikes"].size(), 1u) << ex.dump(2);
  const json& t = ex["spikes"][0]["timerlat"];
  ASSERT_TRUE(t.is_object()) << ex.dump(2);
  ASSERT_TRUE(t["nearest"].is_object()) << t.dump(2);
  EXPECT_GE(t["nearest"]["seq"].get<int64_t>(), 1);
  EXPECT_GE(t["nearest"]["irq_latency_ns"].get<int64_t>(), 0);
  EXPECT_TRUE(t["nearest"]["thread_latency_ns"].is_number()) << t.dump(2);
  // A thread's wake-up comes after its IRQ's.
  EXPECT_GE(t["nearest"]["thread_latency_ns"].get<int64_t>(), t["nearest"]["irq_latency_ns"].get<int64_t>());
  EXPECT_TRUE(t["noise"].is_array());
  EXPECT_NE(r.out.find("  timerlat: its sample #"), std::string::npos) << r.out;
  // rtcell explain DIR reads the same from the kept capture.
  Result e = rtcell::test::run_argv({rtcell::test::rtcell_bin(), "explain", dir});
  EXPECT_EQ(e.code, 0) << e.err;
  EXPECT_NE(e.out.find("  timerlat: its sample #" + std::to_string(t["nearest"]["seq"].get<int64_t>())),
            std::string::npos)
      << e.out;
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir);
}

TEST(TraceCli, NoTimerlatLeavesTheTracerOut) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  Result r = rtcell::test::run_argv(latency({"-t", "1", "-a", std::to_string(last_cpu()), "-i", "1000", "-l",
                                             "50", "--trace", dir, "--no-timerlat"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("timerlat"), std::string::npos) << r.err;
  EXPECT_NE(rtcell::test::slurp(dir + "/trace.txt").find("# tracer: nop"), std::string::npos);
  EXPECT_EQ(json::parse(rtcell::test::slurp(dir + "/explain.json"))["timerlat"], false);
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir);
}

TEST(TraceCli, KernelWithoutTimerlatSaysSoInOneLine) {
  if (auto r = skip_reason(); !r.empty()) GTEST_SKIP() << r;
  if (kernel_has_timerlat())
    GTEST_SKIP() << "this kernel has the timerlat tracer (TimerlatVerdict... covers it)";
  const TraceState before = snapshot();
  const std::string dir = make_dir();
  ASSERT_FALSE(dir.empty());
  Result r = rtcell::test::run_argv(
      latency({"-t", "1", "-a", std::to_string(last_cpu()), "-i", "1000", "-l", "50", "--trace", dir}));
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string line =
      "rtcell: note: --trace: this kernel has no timerlat tracer (CONFIG_TIMERLAT_TRACER)";
  const size_t at = r.err.find(line);
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("timerlat", at + line.size()), std::string::npos) << "said more than once: " << r.err;
  expect_same_tracing(before);
  rtcell::test::run_shell("rm -rf " + dir);
}

TEST(TraceCli, NoTimerlatWithoutTraceIsAUsageError) {
  Result r = rtcell::test::run_argv(latency({"-l", "1", "--no-timerlat"}));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--no-timerlat goes with --trace"), std::string::npos) << r.err;
}
