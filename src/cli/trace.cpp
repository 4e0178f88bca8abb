// rtcell trace record [--cpus LIST] [-o DIR] -- CMD ARGS: runs CMD under a
// private ftrace instance (trace/capture.hpp: the same events as
// `rtcell latency --trace`, never the global buffer) and keeps the capture
// in DIR/trace.txt for `rtcell explain --inversion DIR` (or plain
// `rtcell explain`, for a CMD that writes rtcell-spike markers).
//
// The instance goes on every path: an exception unwinds through the
// Capture; SIGINT, SIGTERM and SIGHUP are blocked here and relayed to CMD,
// so rtcell outlives CMD and removes the instance itself. Exits with CMD's
// exit code (128 + signal when it was killed).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "rtcell/cpuset.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "sys/process.hpp"
#include "trace/capture.hpp"

namespace rtcell::cli {

namespace {

struct RecordFlags {
  std::string cpus;
  std::string dir = "rtcell-trace";
  uint32_t buffer_kb = 8192;
  bool quiet = false;
};

CpuSet allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) sys_error("sched_getaffinity", errno);
  return CpuSet::from_cpu_set(set);
}

// Blocks the signals rtcell relays for as long as it lives; restores the mask on scope exit.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&set_, s);
    ::sigprocmask(SIG_BLOCK, &set_, &old_);
  }
  ~BlockedSignals() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  const sigset_t& set() const { return set_; }
  const sigset_t& old() const { return old_; }

 private:
  sigset_t set_{}, old_{};
};

// Runs argv to its end, relaying terminating signals; returns its wait status.
int run_command(const std::vector<std::string>& argv, const BlockedSignals& sigs) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // A pipe closed on exec tells the parent whether exec worked.
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) sys_error("pipe2", errno);
  const pid_t pid = ::fork();
  if (pid < 0) sys_error("fork", errno);
  if (pid == 0) {
    ::close(p[0]);
    ::sigprocmask(SIG_SETMASK, &sigs.old(), nullptr);
    ::execvp(args[0], args.data());
    const int e = errno;
    [[maybe_unused]] ssize_t n = ::write(p[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(p[1]);
  int exec_errno = 0;
  const ssize_t got = ::read(p[0], &exec_errno, sizeof exec_errno);
  ::close(p[0]);
  int status = 0;
  for (;;) {
    siginfo_t si{};
    const int sig = ::sigwaitinfo(&sigs.set(), &si);
    if (sig < 0) {
      if (errno == EINTR) continue;
      sys_error("sigwaitinfo", errno);
    }
    if (sig != SIGCHLD) {
      ::kill(pid, sig);
      continue;
    }
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) sys_error("waitpid", errno);
  }
  if (got == static_cast<ssize_t>(sizeof exec_errno))
    usage_error("cannot run " + argv[0] + ": " + std::strerror(exec_errno) +
                " (give a program in PATH or a path)");
  return status;
}

int run_record(const RecordFlags& f) {
  const auto& command = trailing_args();
  if (command.empty()) usage_error("give the command to trace after --: rtcell trace record -- CMD ARGS");
  if (f.buffer_kb < 64) usage_error("--buffer-kb " + std::to_string(f.buffer_kb) + ": use at least 64");
  if (::mkdir(f.dir.c_str(), 0755) != 0 && errno != EEXIST)
    usage_error("-o " + f.dir + ": cannot create the directory (" + std::strerror(errno) + ")");
  if (::access(f.dir.c_str(), W_OK) != 0) usage_error("-o " + f.dir + ": directory is not writable");
  trace::CaptureConfig tc;
  tc.cpus = f.cpus.empty() ? allowed_cpus() : CpuSet::parse(f.cpus);
  tc.buffer_kb = f.buffer_kb;
  // Blocked before the instance exists, so no signal can end rtcell with it in place.
  BlockedSignals sigs;
  trace::Capture capture = trace::Capture::start(tc);
  for (const auto& name : capture.stale_removed()) warn("removed a stale trace instance " + name);
  for (const auto& path : capture.stale_restored())
    warn("put back " + path + ", left changed by a killed rtcell");
  if (!f.quiet)
    note("recording CPUs " + tc.cpus.to_string() + " in " + capture.instance_dir() + " while " + command[0] +
         " runs");
  const int status = run_command(command, sigs);
  const std::string text = capture.stop_and_read();
  capture.close();
  sys::write_file_atomic(f.dir + "/trace.txt", text);
  if (!f.quiet)
    note("kept in " + f.dir + "/trace.txt; rtcell explain --inversion " + f.dir +
         " looks for priority inversion");
  return sys::exit_code_of(status);
}

Run setup(CLI::App& app) {
  auto f = std::make_shared<RecordFlags>();
  app.require_subcommand(1, 1);
  CLI::App* rec =
      app.add_subcommand("record", "run -- CMD under a private ftrace instance and keep the capture");
  rec->add_option("--cpus", f->cpus, "the CPUs to record (default: every CPU rtcell may use)");
  rec->add_option("-o,--output", f->dir, "keep the capture in DIR/trace.txt (default ./rtcell-trace)");
  rec->add_option("--buffer-kb", f->buffer_kb,
                  "ring buffer per CPU in KiB (default 8192): the oldest events go first");
  rec->add_flag("-q,--quiet", f->quiet, "no notes on stderr");
  return [f] { return run_record(*f); };
}

const Registrar kTrace{
    Verb{"trace", "record a private ftrace capture while a command runs", 42, setup, true}};

}  // namespace

}  // namespace rtcell::cli
