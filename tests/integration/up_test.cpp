// `rtcell up FILE` / `rtcell down FILE` (issue 15, part 3): every cell of a
// manifest at once, in depends_on order, in the foreground; a required
// cell's failure stops them all; down from another process stops an up;
// nothing is left behind (registry entry, ledger entry, cgroup).
//
// Each test has its own state root and ledger (RTCELL_LEDGER) under a temp
// dir, and a shared directory bound into the cells at /mnt for FIFO
// hand-shakes (a cell's /tmp is its own). up's output goes to files: its
// cells inherit it and some live until they are stopped.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "integration/run_support.hpp"

using namespace rtcell::test;

namespace {

class Up : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "rtcell up needs root (namespaces, cgroups)";
    char tmpl[] = "/tmp/rtcell-up-XXXXXX";
    dir_ = mkdtemp(tmpl);
    root_ = dir_ + "/state";
    ledger_ = dir_ + "/ledger";
    shared_ = dir_ + "/shared";
    ASSERT_EQ(mkdir(shared_.c_str(), 0777), 0);
    ASSERT_EQ(chmod(shared_.c_str(), 0777), 0);  // the cells run as 65534
    setenv("RTCELL_LEDGER", ledger_.c_str(), 1);
    stem_ = unique_name("up");
    file_ = dir_ + "/" + stem_ + ".yaml";
  }
  void TearDown() override {
    unsetenv("RTCELL_LEDGER");
    if (dir_.empty()) return;
    if (up_pid_ > 0) {
      kill(up_pid_, SIGKILL);
      wait_exit(up_pid_);
    }
    run({"gc", "--root", root_});
    run_shell("rm -rf " + dir_);
  }

  void write(const std::string& yaml) { std::ofstream(file_) << yaml; }
  void fifo(const std::string& name) {
    const std::string p = shared_ + "/" + name;
    ASSERT_EQ(mkfifo(p.c_str(), 0666), 0);
    ASSERT_EQ(chmod(p.c_str(), 0666), 0);
  }
  // The cell keys every test cell has: the shared directory at /mnt.
  std::string volume() const { return "    volumes: [\"" + shared_ + ":/mnt\"]\n"; }
  std::string id(const std::string& cell) const { return stem_ + "-" + cell; }

  // rtcell up in the foreground, output to files; err: up's stderr. An up
  // that would hang (a cell not stopped) gets SIGTERM after 120 s, so the
  // test fails on its exit code instead of hanging.
  Result up() {
    Result r = run_shell("timeout -k 10 120 " + up_line() + "; rc=$?; cat " + dir_ + "/up.err >&2; exit $rc");
    r.out = slurp(dir_ + "/up.out");
    return r;
  }
  std::string up_line() const {
    return kRtcell + " up --root " + root_ + " " + file_ + " </dev/null >" + dir_ + "/up.out 2>" + dir_ +
           "/up.err";
  }
  // rtcell up in the background; its pid.
  void start_up() {
    Spawned s = spawn({"/bin/sh", "-c", "exec " + up_line()});
    ASSERT_GT(s.pid, 0);
    std::string o, e;
    drain(s, o, e);  // EOF at once: the exec'd up writes to files
    up_pid_ = s.pid;
  }
  // Reads one line from FIFO `name` of the shared directory, waiting at
  // most `ms` for a writer (no sleep: poll on the FIFO).
  std::string read_fifo(const std::string& name, int ms = 60'000) {
    int fd = open((shared_ + "/" + name).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return "<open failed>";
    pollfd p{fd, POLLIN, 0};
    std::string line;
    if (poll(&p, 1, ms) > 0) line = read_line(fd);
    close(fd);
    return line.empty() ? "<nothing within " + std::to_string(ms) + " ms>" : line;
  }

  // What the cells of this test left: registry entries, ledger entries,
  // cgroups.
  std::vector<std::string> leftovers(const std::vector<std::string>& cells) const {
    std::vector<std::string> left;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root_, ec))
      if (e.is_directory()) left.push_back("state " + e.path().string());
    for (const auto& e : std::filesystem::directory_iterator(ledger_, ec))
      if (e.path().extension() == ".json") left.push_back("ledger " + e.path().string());
    for (const auto& c : cells)
      for (const auto& g : leftover_cgroups(id(c))) left.push_back("cgroup " + g);
    return left;
  }
  int ledger_entries() const {
    int n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(ledger_, ec))
      if (e.path().extension() == ".json") ++n;
    return n;
  }

  std::string dir_, root_, ledger_, shared_, stem_, file_;
  pid_t up_pid_ = -1;
};

// A cell with one admitted task on CPU 0, so that it has a ledger entry
// while it runs.
const std::string kAdmitted =
    "    cpus: \"0\"\n    sched: fifo:45\n    tasks:\n      - {name: loop, period: 100ms, wcet: 1ms}\n";

}  // namespace

// `second` is listed first and depends on `first`: up starts first, then
// second (each start returns once the command's execve succeeded), and the
// two talk through a FIFO in the shared volume while both run.
TEST_F(Up, StartsInDependsOnOrderAndReturnsWhenAllExited) {
  fifo("pipe");
  write("cells:\n  - name: second\n    depends_on: [first]\n" + volume() +
        "    command: [/bin/sh, -c, \"read x < /mnt/pipe; echo got-$x > /mnt/second.out\"]\n"
        "  - name: first\n" +
        volume() + "    command: [/bin/sh, -c, \"echo hello > /mnt/pipe; echo first-out\"]\n");
  Result r = up();
  ASSERT_EQ(r.code, 0) << r.err;
  const size_t a = r.err.find("started cell first as " + id("first"));
  const size_t b = r.err.find("started cell second as " + id("second"));
  ASSERT_NE(a, std::string::npos) << r.err;
  ASSERT_NE(b, std::string::npos) << r.err;
  EXPECT_LT(a, b) << "second started before the cell it depends on:\n" << r.err;
  EXPECT_EQ(slurp_value(shared_ + "/second.out"), "got-hello");
  // Output is inherited: the cells write to up's stdout.
  EXPECT_NE(r.out.find("first-out"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("cell first (" + id("first") + ") exited with 0"), std::string::npos) << r.err;
  EXPECT_EQ(leftovers({"first", "second"}), std::vector<std::string>{});
}

// A required cell that exits non-zero stops the others (here one blocked on
// a FIFO nobody writes), up exits with its code, and nothing is left.
TEST_F(Up, RequiredCellFailureStopsEveryCell) {
  fifo("ready");
  fifo("never");
  write("cells:\n  - name: waiter\n" + kAdmitted + volume() +
        "    command: [/bin/sh, -c, \"echo ready > /mnt/ready; exec cat /mnt/never\"]\n"
        "  - name: failer\n    required: true\n    depends_on: [waiter]\n" +
        volume() + "    command: [/bin/sh, -c, \"read x < /mnt/ready; echo failer-saw-$x; exit 3\"]\n");
  Result r = up();
  EXPECT_EQ(r.code, 3) << r.err;
  // The failer read the waiter's line: the waiter was running when it failed.
  EXPECT_NE(r.out.find("failer-saw-ready"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("cell failer is required: stopping every cell"), std::string::npos) << r.err;
  EXPECT_EQ(leftovers({"waiter", "failer"}), std::vector<std::string>{});
}

// A cell that is not required may fail: the others run on to their end.
TEST_F(Up, OptionalCellFailureStopsNothing) {
  fifo("pipe");
  write("cells:\n  - name: flaky\n" + volume() +
        "    command: [/bin/sh, -c, \"echo x > /mnt/pipe; exit 5\"]\n"
        "  - name: steady\n" +
        volume() + "    command: [/bin/sh, -c, \"read x < /mnt/pipe; echo steady-done\"]\n");
  Result r = up();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("steady-done"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("cell flaky (" + id("flaky") + ") exited with 5"), std::string::npos) << r.err;
  EXPECT_EQ(leftovers({"flaky", "steady"}), std::vector<std::string>{});
}

// rtcell down FILE from another process stops a running up: its cells are
// in ps and the ledger while they run, and gone afterwards.
TEST_F(Up, DownFromAnotherProcessStopsARunningUp) {
  fifo("ready");
  fifo("never");
  write("cells:\n  - name: svc\n" + kAdmitted + volume() +
        "    command: [/bin/sh, -c, \"echo ready > /mnt/ready; exec cat /mnt/never\"]\n");
  start_up();
  ASSERT_EQ(read_fifo("ready"), "ready") << slurp(dir_ + "/up.err");
  Result ps = run({"ps", "--root", root_});
  EXPECT_NE(ps.out.find(id("svc")), std::string::npos) << ps.out << ps.err;
  EXPECT_EQ(ledger_entries(), 1);
  Result d = run({"down", "--root", root_, file_});
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_NE(d.err.find("stopped 1 cell(s)"), std::string::npos) << d.err;
  const int code = wait_exit(up_pid_);
  up_pid_ = -1;
  EXPECT_EQ(code, 143) << slurp(dir_ + "/up.err");  // down sends up SIGTERM
  EXPECT_EQ(leftovers({"svc"}), std::vector<std::string>{});
  // A second down finds nothing, and says so.
  Result again = run({"down", "--root", root_, file_});
  EXPECT_EQ(again.code, 0);
  EXPECT_NE(again.err.find("no cell of"), std::string::npos) << again.err;
}

// Ctrl-C (SIGINT) reaches every cell and up exits 130 with nothing left.
TEST_F(Up, InterruptStopsEveryCell) {
  fifo("ready");
  fifo("never");
  write("cells:\n  - name: one\n" + kAdmitted + volume() +
        "    command: [/bin/sh, -c, \"echo ready > /mnt/ready; exec cat /mnt/never\"]\n"
        "  - name: two\n" +
        volume() + "    command: [/bin/sh, -c, \"exec cat /mnt/never\"]\n");
  start_up();
  ASSERT_EQ(read_fifo("ready"), "ready") << slurp(dir_ + "/up.err");
  ASSERT_EQ(kill(up_pid_, SIGINT), 0);
  const int code = wait_exit(up_pid_);
  up_pid_ = -1;
  EXPECT_EQ(code, 130) << slurp(dir_ + "/up.err");
  EXPECT_EQ(leftovers({"one", "two"}), std::vector<std::string>{});
}

// A depends_on cycle is refused in one line with its location, exit 2,
// and no cell is made or started.
TEST_F(Up, DependsOnCycleIsRefused) {
  write("cells:\n  - name: a\n    depends_on: [b]\n" + volume() +
        "    command: [/bin/sh, -c, \"echo ran > /mnt/a.out\"]\n"
        "  - name: b\n    depends_on: [a]\n" +
        volume() + "    command: [/bin/sh, -c, \"echo ran > /mnt/b.out\"]\n");
  Result r = up();
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(only_line(r.err)) << r.err;
  EXPECT_NE(r.err.find(file_ + ":7:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("depends_on cycle: a -> b -> a"), std::string::npos) << r.err;
  EXPECT_FALSE(path_exists(shared_ + "/a.out"));
  EXPECT_FALSE(path_exists(shared_ + "/b.out"));
  EXPECT_EQ(leftovers({"a", "b"}), std::vector<std::string>{});
}

// up starts only cells with a command: one without is one line, exit 2.
TEST_F(Up, CellWithoutCommandIsRefused) {
  write("cells:\n  - name: a\n    command: [/bin/true]\n  - name: b\n    cpus: \"0\"\n");
  Result r = up();
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(only_line(r.err)) << r.err;
  EXPECT_NE(r.err.find(file_ + ":4:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cell b has no command"), std::string::npos) << r.err;
  EXPECT_EQ(leftovers({"a", "b"}), std::vector<std::string>{});
}

// A cell that cannot be made while another is already made (here a
// cgroup of its id exists: Cell::create refuses it, after every check of
// prepare passed): the made one is given back (no state, ledger entry or
// cgroup), nothing starts, and up exits with the error's code.
TEST_F(Up, CreateFailureGivesBackTheCellsMade) {
  write("cells:\n  - name: good\n" + kAdmitted +
        "    command: [/bin/true]\n"
        "  - name: bad\n    depends_on: [good]\n    command: [/bin/true]\n");
  const std::string squatter = cell_group("pids", id("bad"));
  std::error_code ec;
  std::filesystem::create_directories(squatter, ec);
  ASSERT_FALSE(ec) << squatter << ": " << ec.message();
  Result r = up();
  rmdir(squatter.c_str());
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("started cell"), std::string::npos) << r.err;
  EXPECT_EQ(leftovers({"good"}), std::vector<std::string>{});
}

// At each cell's end up prints its tasks against what they were admitted
// with, as rtcell run does, and keeps them in the history; a task that
// lies about its WCET (declares 100 us, runs 300 us) is a broken promise,
// exit 6 under --strict.
TEST_F(Up, BrokenPromiseIsReportedKeptAndFailsStrict) {
  const std::string loop = std::string(RTCELL_BUILD_DIR) + "/examples/control-loop/rtcell-control-loop";
  if (access(loop.c_str(), X_OK) != 0) GTEST_SKIP() << "example not built: " << loop;
  const std::string build = RTCELL_BUILD_DIR;
  // The build tree comes into the cell by a volume: a checkout under /tmp
  // is hidden by the cell's private /tmp.
  write(
      "cells:\n  - name: ctl\n    cpus: \"0\"\n    sched: fifo:45\n    user: \"1000:1000\"\n"
      "    volumes: [\"" +
      build + ":" + build +
      ":ro\"]\n"
      "    tasks:\n      - {name: loop, period: 1ms, wcet: 100us}\n"
      "    command: [\"" +
      loop + "\", --duration, \"0.05\", --no-mlock, --busy-us, \"300\"]\n");
  const std::string db = dir_ + "/history.db";
  Result r = run_shell("timeout -k 10 120 " + kRtcell + " up --strict --db " + db + " --root " + root_ + " " +
                       file_ + " </dev/null >/dev/null 2>" + dir_ + "/up.err; rc=$?; cat " + dir_ +
                       "/up.err >&2; exit $rc");
  EXPECT_EQ(r.code, 6) << r.err;
  EXPECT_NE(r.err.find("tasks of cell 'ctl', measured vs admitted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("more than its declared WCET of 100.0 us"), std::string::npos) << r.err;
  Result kept = run({"report", "promises", "--db", db, "--broken"});
  EXPECT_EQ(kept.code, 0) << kept.err;
  EXPECT_NE(kept.out.find(id("ctl")), std::string::npos) << kept.out;
  EXPECT_NE(kept.out.find("BROKEN"), std::string::npos) << kept.out;
  EXPECT_EQ(leftovers({"ctl"}), std::vector<std::string>{});
}
