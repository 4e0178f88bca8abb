// A 1 kHz control loop written with librtcell: a PI(D) controller on a
// simulated DC motor, the way an RT application should be structured
// (seeds/002):
//   start-up:  lock memory, create every thread and buffer, set the policy
//              and affinity (rt::PeriodicTask::start does the last two);
//   RT loop:   read the setpoint from a Mailbox, step the controller and the
//              plant, push a sample into an SpscQueue; nothing else: no
//              allocation, no I/O, no lock;
//   non-RT:    a logger thread drains the queue (and writes CSV if asked);
//              the main thread changes the setpoint halfway and waits for
//              the end or a signal;
//   exit:      stop, join, print latency / execution-time / miss statistics.
//
//   rtcell-control-loop                      # 5 s, fifo:80, whole machine
//   rtcell-control-loop --cpus 1 --duration 10 --csv /tmp/loop.csv
//   rtcell-control-loop --policy other --no-mlock   # without any privilege
//   rtcell run -f examples/control.yaml control -- rtcell-control-loop
//       # in a manifest's cell: period, deadline, policy and CPU of task
//       # "loop" as admitted (RTCELL_TASKS); the flags above override them
// Exit codes as in rtcell: 2 bad flag, 3 missing privilege, 4 system error.
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "rtcell/rt.hpp"

namespace rt = rtcell::rt;

namespace {

// dx/dt = (gain * u - x) / tau: motor speed x for input voltage u.
struct Motor {
  double gain = 2.0;
  double tau_s = 0.05;
  double x = 0.0;
  void step(double u, double dt) { x += dt * (gain * u - x) / tau_s; }
};

// PI with derivative on the measurement, output clamp and conditional
// integration as anti-windup.
struct Pid {
  double kp = 1.2, ki = 25.0, kd = 0.001;
  double u_min = -12.0, u_max = 12.0;
  double integral = 0.0, prev_y = 0.0;
  double update(double setpoint, double y, double dt) {
    const double e = setpoint - y;
    const double d = -(y - prev_y) / dt;
    prev_y = y;
    const double u_free = kp * e + ki * integral + kd * d;
    const double u = std::clamp(u_free, u_min, u_max);
    if (u == u_free) integral += e * dt;  // integrate only while not saturated
    return u;
  }
};

struct Sample {
  uint64_t cycle;
  double setpoint, y, u;
  int64_t latency_ns;
};

constexpr size_t kQueue = 4096;  // 4 s of samples at 1 kHz before the logger must have run

std::string us(int64_t ns) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f us", static_cast<double>(ns) / 1000.0);
  return b;
}

std::string pct(const rt::Histogram& h, double q) {
  auto p = h.percentile(q);
  if (!p) return "-";
  return (p->in_overflow && !p->exact ? ">" : "") + us(p->value_ns);
}

int run(int argc, char** argv) {
  double duration_s = 5.0;
  int64_t period_us = 1000;
  std::string policy_text = "fifo:80", cpus_text, csv, task_name = "loop";
  bool no_mlock = false, allow_99 = false, guard = rt::kDebugBuild;
  int64_t busy_us = 0;
  CLI::App app{"1 kHz PID control loop on a simulated motor, built on librtcell"};
  app.add_option("--duration", duration_s, "seconds to run (default 5)")->check(CLI::Range(0.01, 86400.0));
  app.add_option("--period-us", period_us, "loop period in microseconds (default 1000 = 1 kHz)")
      ->check(CLI::Range(int64_t{50}, int64_t{1'000'000}));
  app.add_option("--policy", policy_text, "fifo:N, rr:N, deadline:R/D/P or other (default fifo:80)");
  app.add_option("--cpus", cpus_text, "CPUs for the RT thread, e.g. 1 or 2-3 (default: inherited)");
  app.add_option("--task", task_name, "the manifest task this loop is, in a manifest's cell (default loop)");
  app.add_option("--csv", csv, "write every sample to this CSV file (from the non-RT logger)");
  app.add_option("--busy-us", busy_us,
                 "spin this long in every cycle on top of the controller (to see a task outrun its WCET)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}));
  app.add_flag("--no-mlock", no_mlock, "do not lock memory (for an unprivileged trial run)");
  app.add_flag("--allow-prio-99", allow_99, "accept priority 99 (competes with kernel watchdogs)");
  app.add_flag("--guard,!--no-guard", guard,
               "count allocations/page faults in the loop (default: debug builds)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : rtcell::kExitUsage;
  }

  // Every thread inherits this mask; the main thread takes the signals with sigtimedwait.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  // --- start-up: everything that can fail or allocate happens here --------
  // In a cell started from a manifest the admitted parameters are the
  // default: the code runs what the analysis checked. Flags override.
  rt::TaskThreadConfig tc;
  int64_t deadline_ns = 0;
  std::string source = "flags", publish_name;
  if (rt::in_admitted_cell()) {
    const rt::AdmittedTask t = rt::admitted_task(task_name);
    source = std::string(t.admitted ? "admitted" : "declared (not admitted)") + " task '" + t.name +
             "' of cell '" + t.cell + "'";
    tc = t.thread_config();
    if (app.count("--period-us") == 0) period_us = t.period_ns / 1000;
    deadline_ns = t.deadline_ns;
    publish_name = t.task_config().publish_name;  // rtcell reads the counters back
  }
  if (!tc.policy || app.count("--policy") > 0) tc.policy = rt::parse_policy(policy_text);
  tc.policy_options.allow_prio_99 = allow_99;
  rt::validate_policy(*tc.policy, tc.policy_options);
  if (!cpus_text.empty()) tc.cpus = rtcell::CpuSet::parse(cpus_text);
  std::printf("control-loop: %s: %s, period %lld us%s%s\n", source.c_str(), rt::to_string(*tc.policy).c_str(),
              static_cast<long long>(period_us), tc.cpus ? ", CPUs " : "",
              tc.cpus ? tc.cpus->to_string().c_str() : "");
  std::fflush(stdout);
  // Small stacks: under mlockall every mapping counts against RLIMIT_MEMLOCK,
  // which is 8 MiB in a default container or cell, and this process already
  // maps ~6 MiB of shared libraries.
  tc.stack_bytes = 512 << 10;
  tc.prefault_stack_bytes = 128 << 10;
  if (!no_mlock) rt::lock_memory();
  rt::prefault_heap(256 << 10);  // the loop allocates nothing; the logger's CSV stream may

  static rt::SpscQueue<Sample, kQueue> queue;  // static: 160 KiB off the stack
  rt::Mailbox<double> setpoint(1.0);
  std::atomic<uint64_t> dropped{0};
  Motor motor;
  Pid pid;
  const double dt = static_cast<double>(period_us) * 1e-6;

  rt::PeriodicTaskConfig cfg;
  cfg.period_ns = period_us * 1000;
  if (app.count("--period-us") == 0) cfg.deadline_ns = deadline_ns;
  cfg.publish_name = publish_name;
  cfg.overrun = rt::OverrunPolicy::Skip;  // a late control output is worth less than a fresh one
  cfg.guard_hot_path = guard;
  cfg.histogram_buckets = 10'000;  // 0.1 us resolution up to 1 ms: execution times are sub-microsecond
  cfg.bucket_ns = 100;
  rt::PeriodicTask task(cfg, [&](const rt::Cycle& c) {
    if (busy_us > 0) {
      const int64_t until = c.wake_ns + busy_us * 1000;
      while (rt::now_ns() < until) {
      }
    }
    const double sp = setpoint.latest();
    const double y = motor.x;
    const double u = pid.update(sp, y, dt);
    motor.step(u, dt);
    if (!queue.try_push(Sample{c.index, sp, y, u, c.wake_ns - c.release_ns}))
      dropped.fetch_add(1, std::memory_order_relaxed);
  });

  // Start the RT thread first: if its set-up fails (EPERM for the policy) we
  // exit before any other thread exists. The queue holds seconds of samples,
  // so the logger starting a moment later loses nothing.
  task.start(tc);

  // The non-RT logger: drains the queue, never touches the RT thread.
  std::atomic<bool> logger_stop{false};
  uint64_t logged = 0;
  double last_y = 0, last_sp = 0, err2_tail = 0;
  uint64_t tail_n = 0;
  std::ofstream out;
  if (!csv.empty()) {
    out.open(csv);
    if (!out) rtcell::usage_error("cannot write " + csv + ": choose a writable path for --csv");
    out << "cycle,setpoint,y,u,latency_ns\n";
  }
  auto logger_body = [&] {
    // Threads inherit the creator's policy: under `rtcell run --sched fifo:80`
    // that is FIFO 80, which a logger must not have. Lowering is always allowed.
    try {
      rt::set_policy(rt::Other{});
    } catch (const rtcell::Error&) {
    }
    const auto tail_from = static_cast<uint64_t>(duration_s * 1e6 / static_cast<double>(period_us) * 0.9);
    for (;;) {
      bool got = false;
      while (auto s = queue.try_pop()) {
        got = true;
        ++logged;
        last_y = s->y;
        last_sp = s->setpoint;
        if (s->cycle >= tail_from) {  // settling error over the last 10 %
          err2_tail += (s->setpoint - s->y) * (s->setpoint - s->y);
          ++tail_n;
        }
        if (out)
          out << s->cycle << ',' << s->setpoint << ',' << s->y << ',' << s->u << ',' << s->latency_ns << '\n';
      }
      if (!got) {
        if (logger_stop.load()) break;
        // Non-RT side: poll at a relaxed pace, never making the RT side wait.
        timespec ts{0, 5'000'000};
        nanosleep(&ts, nullptr);
      }
    }
  };

  // Not std::thread: its 8 MiB default stack is locked whole under
  // mlockall(MCL_FUTURE) and would not fit an 8 MiB RLIMIT_MEMLOCK.
  pthread_t logger;
  {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    auto trampoline = [](void* f) -> void* {
      (*static_cast<decltype(logger_body)*>(f))();
      return nullptr;
    };
    const int rc = pthread_create(&logger, &attr, trampoline, &logger_body);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      task.stop();
      rtcell::sys_error("cannot create the logger thread", rc);
    }
  }

  // --- run: step the setpoint halfway, stop at the end or on a signal ------
  auto wait = [&](double seconds) {
    timespec ts{static_cast<time_t>(seconds), static_cast<long>((seconds - std::floor(seconds)) * 1e9)};
    return sigtimedwait(&sigs, nullptr, &ts) > 0;  // true: a signal arrived
  };
  bool interrupted = wait(duration_s / 2);
  if (!interrupted) {
    setpoint.publish(2.0);
    interrupted = wait(duration_s / 2);
  }
  task.stop();
  logger_stop = true;
  pthread_join(logger, nullptr);

  // --- report -------------------------------------------------------------
  const rt::TaskSnapshot snap = task.snapshot();
  const rt::TaskStats& s = snap.stats;
  std::printf("control-loop: %llu cycles at %.0f Hz (%s%s%s)%s\n", static_cast<unsigned long long>(s.cycles),
              1e6 / static_cast<double>(period_us), rt::to_string(*tc.policy).c_str(),
              tc.cpus ? ", CPUs " : "", tc.cpus ? tc.cpus->to_string().c_str() : "",
              interrupted ? ", interrupted" : "");
  std::printf("deadline misses: %llu, overruns: %llu, skipped releases: %llu\n",
              static_cast<unsigned long long>(s.deadline_misses), static_cast<unsigned long long>(s.overruns),
              static_cast<unsigned long long>(s.skipped_releases));
  auto line = [&](const char* what, const rt::Histogram& h) {
    std::printf("%-16s min %s, avg %s, p50 %s, p99 %s, p99.9 %s, max %s\n", what, us(h.min_ns()).c_str(),
                us(static_cast<int64_t>(h.avg_ns())).c_str(), pct(h, 0.5).c_str(), pct(h, 0.99).c_str(),
                pct(h, 0.999).c_str(), us(h.max_ns()).c_str());
  };
  line("wake-up latency:", snap.latency);
  line("execution time:", snap.exec);
  std::printf("observed WCET (execution max): %s; worst response (end - release): %s\n",
              us(s.exec_max_ns).c_str(), us(s.response_max_ns).c_str());
  std::printf("control: setpoint %.2f, final speed %.4f, RMS error over the last 10%% %.5f\n", last_sp,
              last_y, tail_n ? std::sqrt(err2_tail / static_cast<double>(tail_n)) : 0.0);
  std::printf("logger: %llu samples, %llu dropped (queue full)\n", static_cast<unsigned long long>(logged),
              static_cast<unsigned long long>(dropped.load()));
  if (guard)
    std::printf("hot-path guard: %llu allocations, %llu page faults in %llu cycles\n",
                static_cast<unsigned long long>(s.guard_allocations),
                static_cast<unsigned long long>(s.guard_page_faults),
                static_cast<unsigned long long>(s.guard_violation_cycles));
  else
    std::printf("hot-path guard: off (release build; --guard turns it on)\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const rtcell::Error& e) {
    std::fprintf(stderr, "rtcell-control-loop: %s\n", e.what());
    return e.exit_code();
  }
}
