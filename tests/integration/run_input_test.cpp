// `rtcell run` given hostile or careless input (issue 11, items 9-13): every
// bad path, file or value fails before anything exists with one line and
// exit 2 (3 for a privilege rtcell lacks) naming what the user typed, never
// rtcell's internal /oldroot or /newroot; paths that are fine but go
// through symlinks work the way the cell sees them; dangerous grants print
// what they give away; nothing is left behind (cgroups, /run/rtcell).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "integration/run_support.hpp"

namespace rtcell::test {
namespace {

namespace fs = std::filesystem;

class RunInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "rtcell run needs root (namespaces, cgroups)";
    if (!path_exists(kProbe)) GTEST_SKIP() << "probe not built: " << kProbe;
  }
};

bool state_left(const std::string& name) {
  return path_exists("/run/rtcell/" + name);
}

// A root holding the static probe, /proc and /dev.
struct ProbeRoot : TempDir {
  ProbeRoot() {
    fs::create_directories(path + "/proc");
    fs::create_directories(path + "/dev");
    fs::create_directories(path + "/run");
    fs::create_directories(path + "/mnt");
    fs::copy_file(kProbe, path + "/probe");
  }
};

struct Case {
  std::vector<std::string> flags;
  int code;
  std::string says;  // in the one line of stderr
};

void expect_refused(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    const std::string name = unique_name("input");
    std::vector<std::string> args{"run", "--name", name};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    if (std::find(c.flags.begin(), c.flags.end(), "-f") == c.flags.end())
      args.insert(args.end(), {"--", "/bin/true"});
    std::string shown;
    for (const auto& f : c.flags) shown += f + " ";
    Result r = run(args);
    EXPECT_EQ(r.code, c.code) << shown << r.err;
    EXPECT_TRUE(only_line(r.err)) << shown << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << shown << "want '" << c.says << "' in: " << r.err;
    EXPECT_EQ(r.err.find("/oldroot"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("/newroot"), std::string::npos) << r.err;
    EXPECT_TRUE(leftover_cgroups(name).empty()) << shown;
    EXPECT_FALSE(state_left(name)) << shown;
  }
}

TEST_F(RunInputs, BadValuesAreOneLineBeforeAnythingExists) {
  TempDir d;
  std::ofstream(d.path + "/errno0.json") << R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":0})";
  {
    // ~7000 BPF instructions: past the kernel's 4096.
    std::ofstream big(d.path + "/big.json");
    big << R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[)";
    for (int i = 0; i < 1000; ++i)
      big << (i ? "," : "") << R"({"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":)"
          << 1000 + i << R"(,"op":"SCMP_CMP_EQ"},{"index":2,"value":)" << 70'000'000'000 + i
          << R"(,"op":"SCMP_CMP_GT"}]})";
    big << "]}";
  }
  {
    std::ofstream m(d.path + "/many.yaml");
    m << "cells:\n";
    for (int i = 0; i < 500; ++i) m << "  - name: cell" << i << "\n    command: [/bin/true]\n";
  }
  expect_refused({
      {{"--pids-max", "1"}, 2, "--pids-max 1"},
      {{"--hostname", "evil\nline"}, 2, "--hostname holds a control character"},
      {{"--mems", "-1"}, 2, "memory node"},
      {{"--seccomp", d.path + "/errno0.json"}, 2, "defaultErrnoRet 0"},
      {{"--seccomp", d.path + "/big.json"}, 2, "at most 4096"},
      {{"-f", d.path + "/many.yaml", "nope"}, 2, "and 490 more"},
  });
}

TEST_F(RunInputs, InputFilesMustBeRegularAndSmall) {
  TempDir d;
  const std::string fifo = d.path + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Each returns at once: no hang on a FIFO with no writer, no endless read.
  expect_refused({
      {{"--seccomp", fifo}, 2, "--seccomp " + fifo + " is a FIFO"},
      {{"-f", fifo, "cell"}, 2, "manifest " + fifo + " is a FIFO"},
      {{"--seccomp", "/dev/zero"}, 2, "--seccomp /dev/zero is a character device"},
      {{"-f", "/dev/zero", "cell"}, 2, "4 MiB"},
  });
}

TEST_F(RunInputs, BadPathsNameTheUsersPath) {
  ProbeRoot root;
  ProbeRoot proc_to_root;
  fs::remove(proc_to_root.path + "/proc");
  fs::create_symlink("/", proc_to_root.path + "/proc");
  TempDir d;
  std::ofstream(d.path + "/file") << "x";
  expect_refused({
      {{"--rootfs", proc_to_root.path}, 2, "proc is a symlink (to /)"},
      {{"-v", d.path + "/file:/mnt"}, 2, "the source is a file but the target is a directory"},
      {{"-v", d.path + ":/etc/hostname"}, 2, "the source is a directory"},
      {{"-v", d.path + "/missing:/mnt"}, 2, "--volume source " + d.path + "/missing"},
  });
}

TEST_F(RunInputs, SymlinkedPathsWorkAsTheCellSeesThem) {
  TempDir d;
  fs::create_directories(d.path + "/real");
  std::ofstream(d.path + "/real/hello") << "hi\n";
  fs::create_symlink(d.path + "/real", d.path + "/link");  // absolute, on the host
  // An absolute symlink as a source: the host's target is bound.
  Result r = run({"run", "-q", "-v", d.path + "/link:/mnt", "--", "/bin/cat", "/mnt/hello"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "hi\n");
  if (fs::is_symlink("/var/run")) {
    r = run({"run", "-q", "-v", "/var/run:/mnt", "--", "/bin/true"});
    EXPECT_EQ(r.code, 0) << r.err;
  }
  // A destination through an absolute symlink in --rootfs lands inside
  // that root (its /run), never on the host's.
  ProbeRoot root;
  fs::create_directories(root.path + "/var");
  fs::create_symlink("/run", root.path + "/var/run");
  r = run({"run", "-q", "--rootfs", root.path, "-v", d.path + "/real:/var/run:ro", "--", "/probe", "try",
           "open", "/run/hello"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "try=open result=ok\n") << r.err;
  // A device named through /dev/fd (an absolute symlink to /proc/self/fd):
  // the node it names, not a crash after the pivot.
  Result dev = run_shell(kRtcell + " run -q --device /dev/fd/0 -- /bin/true </dev/null");
  EXPECT_EQ(dev.code, 0) << dev.err;
  // A command under /tmp (hidden behind the cell's tmpfs) is bound in
  // alone; named through an absolute symlink, the file it leads to is.
  {
    std::ofstream script(d.path + "/real/cmd");
    script << "#!/bin/sh\necho ran\n";
  }
  fs::permissions(d.path + "/real/cmd", fs::perms::owner_all | fs::perms::group_exec |
                                            fs::perms::others_exec | fs::perms::group_read |
                                            fs::perms::others_read);
  fs::create_symlink(d.path + "/real/cmd", d.path + "/cmd-link");
  for (const char* name : {"/real/cmd", "/cmd-link"}) {
    Result c = run({"run", "-q", "--", d.path + name});
    EXPECT_EQ(c.code, 0) << name << ": " << c.err;
    EXPECT_EQ(c.out, "ran\n") << name;
  }
}

TEST_F(RunInputs, ErrorsInsideTheCellNameTheCellsPath) {
  // An option only the kernel refuses: the mount fails in the init.
  Result r = run({"run", "--tmpfs", "/mnt:size=banana", "--", "/bin/true"});
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(only_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("/mnt"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("/newroot"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("/oldroot"), std::string::npos) << r.err;
}

TEST_F(RunInputs, DangerousGrantsSayWhatTheyGiveAway) {
  Result r = run_probe({"--cap-add", "SYS_PTRACE", "--cap-add", "DAC_READ_SEARCH"}, {"exit", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: --cap-add SYS_PTRACE lets the cell"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warning: --cap-add DAC_READ_SEARCH lets the cell"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("open_by_handle_at"), std::string::npos) << r.err;
  TempDir d;
  std::ofstream(d.path + "/allow.json") << R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]})";
  r = run_probe({"--seccomp", d.path + "/allow.json"}, {"exit", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("defaultAction allows every syscall"), std::string::npos) << r.err;
  r = run_probe({}, {"exit", "0"});
  EXPECT_EQ(r.err.find("lets the cell"), std::string::npos) << r.err;
}

TEST_F(RunInputs, CapabilityRtcellLacksIsRefusedBeforeTheCell) {
  if (!path_exists("/usr/bin/setpriv")) GTEST_SKIP() << "no setpriv to run rtcell without CAP_SYS_MODULE";
  const std::string name = unique_name("lacks");
  // rtcell as root, but with SYS_MODULE out of its bounding set (so out of
  // its permitted and effective sets after exec).
  Result r = run_shell("/usr/bin/setpriv --bounding-set -sys_module -- " + kRtcell + " run --name " + name +
                       " --cap-add SYS_MODULE -- /bin/true");
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_TRUE(only_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("CAP_SYS_MODULE"), std::string::npos) << r.err;
  EXPECT_TRUE(leftover_cgroups(name).empty());
  EXPECT_FALSE(state_left(name));
}

TEST_F(RunInputs, DefaultSeccompDeniesTiocsti) {
  // fd 0 is /dev/null, no terminal: ENOTTY from the kernel, EPERM from the
  // filter before the kernel looks.
  Result r = run_shell(kRtcell + " run -q -- " + kProbe + " try tiocsti </dev/null");
  EXPECT_EQ(r.out, "try=tiocsti result=fail errno=EPERM\n") << r.err;
  r = run_shell(kRtcell + " run -q --seccomp unconfined -- " + kProbe + " try tiocsti </dev/null");
  EXPECT_EQ(r.out, "try=tiocsti result=fail errno=ENOTTY\n") << r.err;
}

// Signals are blocked only once every check passed (a FIFO or a slow file
// can no longer leave rtcell unkillable), yet a SIGTERM that arrives while
// the cell is being made still tears it down: exit 128+15, the command never
// runs, nothing is left. The hook sends SIGTERM at each phase of create.
TEST_F(RunInputs, StopWhileTheCellIsMadeTearsDown) {
  TempDir d;
  chmod(d.path.c_str(), 0777);  // the cell's uid 0 is the host's nobody
  const std::string marker = d.path + "/ran";
  for (const char* phase : {"prepared", "claim", "cgroup:1", "cgroups", "clone", "recorded", "ready"}) {
    SCOPED_TRACE(phase);
    const std::string name = unique_name("stop");
    Result r = run_argv({"/usr/bin/env", std::string("RTCELL_TEST_KILL_AT=") + phase,
                         "RTCELL_TEST_KILL_SIGNAL=TERM", kRtcell, "run", "-q", "--name", name, "-v",
                         d.path + ":/mnt", "-u", "0", "--", "/bin/touch", "/mnt/ran"});
    EXPECT_EQ(r.code, 128 + SIGTERM) << r.err;
    EXPECT_FALSE(path_exists(marker)) << "the command ran";
    EXPECT_TRUE(leftover_cgroups(name).empty());
    EXPECT_FALSE(state_left(name));
  }
  // And the same command runs when nothing stops it (the test can fail).
  Result r = run({"run", "-q", "-v", d.path + ":/mnt", "-u", "0", "--", "/bin/touch", "/mnt/ran"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(path_exists(marker));
}

}  // namespace
}  // namespace rtcell::test

// An unknown verb fails the same way with or without --help (CLI11 alone
// printed the main help and exited 0 for `rtcell frob --help`); rtcell's
// own help still exits 0.
TEST(RtcellCommandLine, UnknownVerbFailsEvenWithHelp) {
  for (const auto& args : {std::vector<std::string>{"frob"}, std::vector<std::string>{"frob", "--help"}}) {
    rtcell::test::Result r = rtcell::test::run(args);
    EXPECT_EQ(r.code, 2) << args.size();
    EXPECT_TRUE(rtcell::test::only_line(r.err)) << r.err;
    EXPECT_NE(r.err.find("'frob' is not an rtcell command (see rtcell --help)"), std::string::npos) << r.err;
  }
  EXPECT_EQ(rtcell::test::run({"--help"}).code, 0);
  EXPECT_EQ(rtcell::test::run({"run", "--help"}).code, 0);
}
