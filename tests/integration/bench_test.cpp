// `rtcell bench` end to end: the real binary, real stress-ng, the real
// scheduler. Rows last one second. Assertions are on exit codes, stored
// history rows, row statuses and leftover processes; never on latency values
// or elapsed time. Synchronisation is on the bench's log lines and waitpid(),
// never on sleeps.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "report/history.hpp"
#include "sys/file.hpp"

namespace {

struct Proc {
  pid_t pid = -1;
  int err = -1;  // the bench's stderr (its log)
};

Proc spawn(const std::vector<std::string>& args) {
  int e[2];
  if (pipe2(e, O_CLOEXEC) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(e[1], 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(e[1]);
  return {pid, e[0]};
}

// Reads the log until a line containing all of `needles` arrives; returns it,
// or "" at EOF.
std::string read_until(int fd, std::string& buffer, const std::vector<std::string>& needles) {
  for (;;) {
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      bool all = true;
      for (const auto& n : needles) all = all && line.find(n) != std::string::npos;
      if (all) return line;
    }
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return "";
    buffer.append(buf, static_cast<size_t>(n));
  }
}

void drain(int fd, std::string& buffer) {
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) buffer.append(buf, static_cast<size_t>(n));
}

int wait_exit(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

pid_t group_of(const std::string& line) {
  size_t at = line.find("process group ");
  if (at == std::string::npos) return -1;
  return static_cast<pid_t>(std::atoi(line.c_str() + at + 14));
}

bool group_alive(pid_t pgid) {
  return kill(-pgid, 0) == 0 || errno == EPERM;
}

bool have(const char* program) {
  std::string cmd = std::string("command -v ") + program + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// Every rtcell* cgroup directory directly under a v1 hierarchy or the
// unified one.
std::set<std::string> rtcell_cgroups() {
  std::set<std::string> out;
  for (const auto& h : std::filesystem::directory_iterator("/sys/fs/cgroup")) {
    std::error_code ec;
    for (const auto& d : std::filesystem::recursive_directory_iterator(h.path(), ec)) {
      if (!d.is_directory(ec)) continue;
      if (d.path().filename().string().rfind("rtcell", 0) == 0) out.insert(d.path().string());
    }
  }
  return out;
}

bool rtcell_has_verb(const std::string& verb) {
  std::string cmd = std::string(RTCELL_BIN) + " --help | grep -q '^  " + verb + " '";
  return std::system(cmd.c_str()) == 0;
}

class BenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (SCHED_FIFO probe, stress-ng placement)";
    if (!have("stress-ng")) GTEST_SKIP() << "stress-ng not installed (scripts/install-deps)";
    std::string tmpl = ::testing::TempDir() + "rtcell-bench-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(BenchTest, TwoRowsEndToEndStoreAHistoryRow) {
  const std::string db = dir_ + "/history.db";
  Proc p = spawn({RTCELL_BIN, "bench", "--rows", "native-idle,native-load", "-D", "1s", "--load=--cpu 1",
                  "--db", db, "--json", dir_ + "/run.json", "--html", dir_ + "/html", "--no-check"});
  ASSERT_GT(p.pid, 0);
  std::string log;
  drain(p.err, log);
  close(p.err);
  ASSERT_EQ(wait_exit(p.pid), 0) << log;
  EXPECT_NE(log.find("load: stress-ng --cpu 1 on CPUs"), std::string::npos) << log;
  EXPECT_NE(log.find("load: stopped"), std::string::npos) << log;

  rtcell::report::History h = rtcell::report::History::open(db);
  auto runs = h.list();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_FALSE(runs[0].partial);
  EXPECT_EQ(runs[0].rows, 2);
  EXPECT_EQ(runs[0].rows_ok, 2);
  auto run = h.load(runs[0].id);
  ASSERT_EQ(run.rows.size(), 2u);
  for (const auto& r : run.rows) {
    EXPECT_EQ(r.status, rtcell::report::RowStatus::Ok) << r.id << ": " << r.reason;
    ASSERT_TRUE(r.summary) << r.id;
    EXPECT_GT(r.summary->samples, 0u);
  }
  // The JSON file was written too, and the report.
  auto json = rtcell::sys::try_read_file(dir_ + "/run.json");
  ASSERT_TRUE(json);
  EXPECT_NE(json->find("\"schema\": \"rtcell.bench/1\""), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/html/index.html"));

  // report list/show/compare work on what the bench stored.
  std::string list = "'" + std::string(RTCELL_BIN) + "' report --db '" + db + "' list | grep -q '^    1 '";
  EXPECT_EQ(std::system(list.c_str()), 0);
  std::string compare = "'" + std::string(RTCELL_BIN) + "' report compare --db '" + db + "' 1 1 >/dev/null";
  EXPECT_EQ(std::system(compare.c_str()), 0);  // a run never regresses against itself
}

TEST_F(BenchTest, CtrlCLeavesNoLoadOrCellBehindAndStoresThePartialRun) {
  const std::string db = dir_ + "/history.db";
  const bool cells = rtcell_has_verb("run");
  const std::set<std::string> cgroups_before = rtcell_cgroups();
  // The interrupted row: the cell row when cells exist (so a cell is running
  // at the interrupt), else the native load row.
  const std::string victim = cells ? "cell-load" : "native-load";
  Proc p =
      spawn({RTCELL_BIN, "bench", "--rows", victim, "-D", "30s", "--load=--cpu 1", "--db", db, "--no-check"});
  ASSERT_GT(p.pid, 0);
  std::string buffer;
  std::string load_line = read_until(p.err, buffer, {"load: stress-ng", "process group"});
  ASSERT_FALSE(load_line.empty()) << buffer;
  const pid_t load_group = group_of(load_line);
  ASSERT_GT(load_group, 0) << load_line;
  std::string started = read_until(p.err, buffer, {victim, "started"});
  ASSERT_FALSE(started.empty()) << buffer;
  const pid_t row_group = group_of(started);
  ASSERT_GT(row_group, 0) << started;

  ASSERT_EQ(kill(p.pid, SIGINT), 0);
  drain(p.err, buffer);
  close(p.err);
  EXPECT_EQ(wait_exit(p.pid), 128 + SIGINT) << buffer;

  // Nothing of the load or of the interrupted row is left.
  EXPECT_FALSE(group_alive(load_group)) << "stress-ng process group " << load_group << " still has members";
  EXPECT_FALSE(group_alive(row_group)) << "the row's process group " << row_group << " still has members";
  if (cells) {
    std::set<std::string> left;
    for (const auto& c : rtcell_cgroups())
      if (!cgroups_before.count(c)) left.insert(c);
    EXPECT_TRUE(left.empty()) << "cgroup left behind: " << *left.begin();
  }

  // The partial run is stored and marked partial.
  rtcell::report::History h = rtcell::report::History::open(db);
  auto runs = h.list();
  ASSERT_EQ(runs.size(), 1u) << buffer;
  EXPECT_TRUE(runs[0].partial);
  auto run = h.load(runs[0].id);
  EXPECT_EQ(run.interrupted_by, "SIGINT");
  const auto* row = run.find_row(victim);
  ASSERT_NE(row, nullptr);
  // The probe may be stopped before or after its first sample: either it
  // wrote partial figures or the row says it was interrupted.
  EXPECT_TRUE(row->status == rtcell::report::RowStatus::Partial ||
              row->status == rtcell::report::RowStatus::Failed)
      << rtcell::report::to_string(row->status) << ": " << row->reason;
  if (row->status == rtcell::report::RowStatus::Failed) {
    EXPECT_NE(row->reason.find("interrupted"), std::string::npos);
  }
}

TEST_F(BenchTest, BadInputIsOneLineAndExit2) {
  Proc p = spawn({RTCELL_BIN, "bench", "--rows", "native-idle,bogus", "--no-history"});
  std::string log;
  drain(p.err, log);
  close(p.err);
  EXPECT_EQ(wait_exit(p.pid), 2);
  EXPECT_NE(log.find("unknown row \"bogus\""), std::string::npos) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;

  p = spawn({RTCELL_BIN, "bench", "--cpus", "4000", "--no-history"});
  log.clear();
  drain(p.err, log);
  close(p.err);
  EXPECT_EQ(wait_exit(p.pid), 2);
  EXPECT_NE(log.find("not online"), std::string::npos) << log;
}

TEST_F(BenchTest, LockedHistoryKeepsTheRunOnDisk) {
  const std::string db = dir_ + "/history.db";
  rtcell::report::History::open(db);  // create it
  // Hold the write lock for the whole run, as another rtcell would.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE;", nullptr, nullptr, nullptr), SQLITE_OK);
  Proc p = spawn({RTCELL_BIN, "bench", "--rows", "native-idle", "-D", "1s", "--db", db, "--no-check"});
  std::string log;
  drain(p.err, log);
  close(p.err);
  const int rc = wait_exit(p.pid);
  sqlite3_exec(other, "ROLLBACK;", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_EQ(rc, 4) << log;
  EXPECT_NE(log.find("is locked by another process"), std::string::npos) << log;
  size_t at = log.find("the run is saved in ");
  ASSERT_NE(at, std::string::npos) << log;
  std::string saved = log.substr(at + 20, log.find(';', at) - at - 20);
  ASSERT_TRUE(std::filesystem::exists(saved)) << saved;
  // And it can be imported once the lock is gone.
  std::string import =
      "'" + std::string(RTCELL_BIN) + "' report --db '" + db + "' import '" + saved + "' >/dev/null";
  EXPECT_EQ(std::system(import.c_str()), 0);
  EXPECT_EQ(rtcell::report::History::open(db).list().size(), 1u);
}

}  // namespace

TEST_F(BenchTest, TraceKeepsOneCaptureForEachNativeRowAndLeavesNoInstance) {
  if (access("/sys/kernel/tracing", F_OK) != 0)
    GTEST_SKIP() << "no /sys/kernel/tracing (kernel without tracefs)";
  const std::string trace = dir_ + "/trace";
  Proc p = spawn({RTCELL_BIN, "bench", "--rows", "native-idle", "-D", "1s", "--no-history", "--no-check",
                  "--json", dir_ + "/run.json", "--trace", trace});
  ASSERT_GT(p.pid, 0);
  std::string log;
  drain(p.err, log);
  close(p.err);
  ASSERT_EQ(wait_exit(p.pid), 0) << log;
  EXPECT_NE(log.find("row native-idle: traced into " + trace + "/native-idle-"), std::string::npos) << log;
  // One capture and its explanation, named by row and repeat.
  int captures = 0;
  for (const auto& d : std::filesystem::directory_iterator(trace)) {
    EXPECT_EQ(d.path().filename().string().rfind("native-idle-", 0), 0u) << d.path();
    EXPECT_TRUE(std::filesystem::exists(d.path() / "trace.txt")) << d.path();
    EXPECT_TRUE(std::filesystem::exists(d.path() / "explain.json")) << d.path();
    ++captures;
  }
  EXPECT_EQ(captures, 1);
  auto json = rtcell::sys::try_read_file(dir_ + "/run.json");
  ASSERT_TRUE(json);
  EXPECT_NE(json->find("\"trace_dir\": \"" + trace + "\""), std::string::npos);
  // The repeat carries its capture and the spikes' verdicts (or why none)
  // for the report.
  const nlohmann::json run = nlohmann::json::parse(*json, nullptr, false);
  ASSERT_TRUE(run.is_object());
  const nlohmann::json& t = run["rows"][0]["repeats"][0]["trace"];
  ASSERT_TRUE(t.is_object()) << run["rows"][0]["repeats"][0].dump();
  EXPECT_EQ(t["dir"], trace + "/native-idle-1") << "repeats count from 1";
  ASSERT_TRUE(t["spikes"].is_array());
  EXPECT_TRUE(!t["spikes"].empty() || t.contains("note")) << t.dump();
  for (const auto& s : t["spikes"]) EXPECT_FALSE(s["verdict"].get<std::string>().empty()) << t.dump();
  // No instance left (tracefs is unmounted again when rtcell mounted it).
  std::error_code ec;
  for (const auto& d : std::filesystem::directory_iterator("/sys/kernel/tracing/instances", ec))
    EXPECT_NE(d.path().filename().string().rfind("rtcell-", 0), 0u) << "left " << d.path();
}
