// `rtcell latency` end to end: the real binary, the real scheduler. Runs are
// kept to about a second. Assertions are on counts, fields and exit codes,
// never on latency values or elapsed time; synchronisation is on the
// child's output and waitpid(), never on sleeps.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/support.hpp"
#include "rtcell/cpuset.hpp"
#include "rtcell/rt/sched.hpp"

using nlohmann::json;

namespace {

using rtcell::test::Result;
using Child = rtcell::test::Spawned;
using rtcell::test::drain;
using rtcell::test::spawn;

int wait_code(pid_t pid) {
  return rtcell::test::wait_exit(pid);
}

Result run(const std::vector<std::string>& args) {
  return rtcell::test::run_argv(args);
}

std::vector<std::string> latency(std::initializer_list<std::string> more) {
  std::vector<std::string> a = {rtcell::test::rtcell_bin(), "latency"};
  a.insert(a.end(), more);
  return a;
}

bool is_root() {
  return geteuid() == 0;
}

}  // namespace

TEST(LatencyCli, FifoOnEveryCpuForOneSecondGivesTheExpectedSampleCount) {
  if (!is_root()) GTEST_SKIP() << "needs root for SCHED_FIFO and mlock";
  Result r = run(latency({"-S", "-d", "0", "-i", "1000", "-D", "1", "-q", "--json", "-"}));
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  const auto cpus = rtcell::rt::get_affinity(0);
  ASSERT_EQ(j["threads"].size(), cpus.size());
  EXPECT_EQ(j["stopped_by"], "duration");
  // 1 s at 1 ms: periods at t0, t0+1ms, ..., t0+1s. A wake-up more than a
  // period late skips the periods it overran (counted as "missed"), so the
  // periods accounted for are samples + missed.
  const double expected = 1001;
  uint64_t total = 0;
  for (const auto& t : j["threads"]) {
    const auto periods = t["samples"].get<uint64_t>() + t["missed"].get<uint64_t>();
    EXPECT_NEAR(static_cast<double>(periods), expected, expected * 0.02) << t.dump();
    EXPECT_TRUE(t["cpu"].is_number());
    EXPECT_EQ(t["policy"], "fifo:80");
    total += t["samples"].get<uint64_t>();
  }
  EXPECT_EQ(j["total"]["samples"].get<uint64_t>(), total);
}

TEST(LatencyCli, JsonFileRoundTripsAndIsConsistent) {
  if (!is_root()) GTEST_SKIP() << "needs root for SCHED_FIFO and mlock";
  char path[] = "/tmp/rtcell-latency-XXXXXX.json";
  int fd = mkstemps(path, 5);
  ASSERT_GE(fd, 0);
  close(fd);
  Result r = run(latency({"-t", "2", "-i", "500", "-l", "300", "-h", "200", "-q", "--json", path}));
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(path);
  json j = json::parse(in);
  unlink(path);
  EXPECT_EQ(j["schema"], "rtcell.latency/1");
  EXPECT_EQ(j["config"]["threads"], 2);
  EXPECT_EQ(j["config"]["interval_ns"], 500'000);
  EXPECT_EQ(j["config"]["distance_ns"], 0);  // -h forces distance 0, as in cyclictest
  EXPECT_EQ(j["config"]["histogram_buckets"], 200);
  EXPECT_EQ(j["stopped_by"], "loops");
  EXPECT_FALSE(j["host"]["kernel_release"].get<std::string>().empty());
  for (const auto& t : j["threads"]) {
    EXPECT_EQ(t["samples"], 300);
    EXPECT_EQ(t["histogram"]["counts"].size(), 200u);
    uint64_t binned = 0;
    for (const auto& c : t["histogram"]["counts"]) binned += c.get<uint64_t>();
    EXPECT_EQ(binned + t["overflows"]["count"].get<uint64_t>(), 300u);
    EXPECT_LE(t["min_ns"].get<int64_t>(), t["avg_ns"].get<double>());
    EXPECT_LE(t["avg_ns"].get<double>(), t["max_ns"].get<int64_t>());
    int64_t prev = 0;
    for (const char* p : {"p50", "p90", "p99", "p99.9", "p99.99"}) {
      EXPECT_GE(t["percentiles"][p].get<int64_t>(), prev) << p;
      prev = t["percentiles"][p].get<int64_t>();
    }
    EXPECT_LE(prev, t["max_ns"].get<int64_t>());
  }
  EXPECT_EQ(j["total"]["samples"], 600);
  // Serialising what we parsed gives the same document back.
  EXPECT_EQ(json::parse(j.dump()), j);
}

TEST(LatencyCli, BreaktraceStopsAndSaysWhere) {
  if (!is_root()) GTEST_SKIP() << "needs root for SCHED_FIFO and mlock";
  // 1 us: no wake-up on this kernel is that fast, so the first sample trips it.
  Result r = run(latency({"-t", "1", "-i", "1000", "-l", "1000", "-b", "1", "-q", "--json", "-"}));
  EXPECT_EQ(r.code, 1) << r.err;  // a "no" answer: the bound was not met
  json j = json::parse(r.out);
  EXPECT_EQ(j["stopped_by"], "breaktrace");
  ASSERT_TRUE(j["breaktrace"].is_object());
  EXPECT_EQ(j["breaktrace"]["thread"], 0);
  EXPECT_GT(j["breaktrace"]["value_ns"].get<int64_t>(), 1000);
  EXPECT_EQ(j["breaktrace"]["sample"].get<uint64_t>() + 1, j["threads"][0]["samples"].get<uint64_t>());
  EXPECT_LT(j["threads"][0]["samples"].get<uint64_t>(), 1000u);

  Result ct = run(latency({"-t", "1", "-l", "1000", "-b", "1", "-q", "--cyclictest-output"}));
  EXPECT_EQ(ct.code, 1);
  EXPECT_NE(ct.out.find("# Break thread: "), std::string::npos) << ct.out;
  EXPECT_NE(ct.out.find("# Break value: "), std::string::npos);
}

TEST(LatencyCli, SigintStillWritesTheResults) {
  if (!is_root()) GTEST_SKIP() << "needs root for SCHED_FIFO and mlock";
  Child c = spawn(latency({"-t", "1", "-i", "1000", "-D", "60", "--json", "-"}));
  ASSERT_GT(c.pid, 0);
  // Readiness: the start note on stderr comes after every thread is measuring.
  std::string err;
  char buf[4096];
  while (err.find("measuring") == std::string::npos) {
    ssize_t n = read(c.err, buf, sizeof buf);
    ASSERT_GT(n, 0) << "rtcell exited before measuring: " << err;
    err.append(buf, static_cast<size_t>(n));
  }
  kill(c.pid, SIGINT);
  std::string out, rest;
  drain(c, out, rest);
  EXPECT_EQ(wait_code(c.pid), 0) << err << rest;
  json j = json::parse(out);
  EXPECT_EQ(j["stopped_by"], "signal");
  EXPECT_EQ(j["threads"].size(), 1u);
  EXPECT_EQ(j["total"]["samples"], j["threads"][0]["samples"]);
}

TEST(LatencyCli, WithoutCapSysNiceSaysWhatToGrant) {
  if (!is_root()) GTEST_SKIP() << "needs root to drop to an unprivileged user with setpriv";
  if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "setpriv (util-linux) not installed";
  const std::vector<std::string> drop = {
      "/usr/bin/setpriv",   "--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps=-all",
      "--bounding-set=-all"};
  auto as_nobody = [&](std::vector<std::string> args) {
    std::vector<std::string> a = drop;
    a.insert(a.end(), args.begin(), args.end());
    return run(a);
  };
  Result probe = as_nobody({rtcell::test::rtcell_bin(), "--version"});
  if (probe.code != 0)
    GTEST_SKIP() << "uid 65534 cannot execute " << rtcell::test::rtcell_bin()
                 << " (build dir not world-readable)";
  if (rlimit rl{}; getrlimit(RLIMIT_RTPRIO, &rl) == 0 && rl.rlim_max >= 80)
    GTEST_SKIP() << "hard RLIMIT_RTPRIO allows priority 80 without privilege here";
  Result r = as_nobody({rtcell::test::rtcell_bin(), "latency", "-t", "1", "-l", "10", "--no-mlock", "-q"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("CAP_SYS_NICE"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("RLIMIT_RTPRIO"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(LatencyCli, BadInputIsOneLineAndExitTwo) {
  const std::vector<std::vector<std::string>> bad = {
      latency({"-i", "0"}),           latency({"-i", "5"}),
      latency({"-a", "4000"}),        latency({"-p", "99"}),
      latency({"-p", "0"}),           latency({"-h", "0"}),
      latency({"-D", "10x"}),         latency({"--policy", "deadline", "--dl-runtime", "2ms", "-i", "1000"}),
      latency({"--policy", "bogus"}), latency({"--json", "/nonexistent-dir/x.json"}),
  };
  for (const auto& args : bad) {
    Result r = run(args);
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    EXPECT_EQ(r.code, 2) << cmd << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << cmd << r.err;
    EXPECT_TRUE(r.out.empty()) << cmd;
  }
}

TEST(LatencyCli, CpuOutsideTheAllowedSetIsRefused) {
  const auto cpus = rtcell::rt::get_affinity(0);
  if (cpus.size() < 2) GTEST_SKIP() << "needs two allowed CPUs";
  const std::string first = std::to_string(cpus.cpus()[0]);
  const std::string second = std::to_string(cpus.cpus()[1]);
  Result r = run({"taskset", "-c", first, rtcell::test::rtcell_bin(), "latency", "-a", second, "-l", "1"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("outside"), std::string::npos) << r.err;
}

TEST(LatencyCli, DeadlinePolicyMeasuresUnpinnedAndExplainsPinned) {
  if (!is_root()) GTEST_SKIP() << "needs root for SCHED_DEADLINE";
  Result r = run(latency(
      {"--policy", "deadline", "--dl-runtime", "100us", "-i", "1000", "-l", "50", "-q", "--json", "-"}));
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["config"]["policy"], "deadline:100us/1000us/1000us");
  EXPECT_EQ(j["threads"][0]["samples"], 50);

  const auto cpus = rtcell::rt::get_affinity(0);
  if (cpus.size() < 2) GTEST_SKIP() << "pinning refusal needs a root domain of two or more CPUs";
  Result pinned = run(latency({"--policy", "deadline", "-S", "-l", "5", "-q"}));
  EXPECT_EQ(pinned.code, 2) << pinned.err;
  EXPECT_NE(pinned.err.find("root domain"), std::string::npos) << pinned.err;
}

TEST(LatencyCli, MlockOverTheLimitSaysWhatToGrant) {
  if (!is_root()) GTEST_SKIP() << "needs root to drop to an unprivileged user with setpriv";
  if (access("/usr/bin/setpriv", X_OK) != 0 || access("/usr/bin/prlimit", X_OK) != 0)
    GTEST_SKIP() << "setpriv/prlimit (util-linux) not installed";
  // 64 KiB of RLIMIT_MEMLOCK cannot hold the process; SCHED_OTHER needs no privilege.
  Result r = run({"/usr/bin/prlimit", "--memlock=65536:65536", "/usr/bin/setpriv", "--reuid", "65534",
                  "--regid", "65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                  rtcell::test::rtcell_bin(), "latency", "--policy", "other", "-l", "10", "-q"});
  if (r.code == 126 || r.code == 127)
    GTEST_SKIP() << "uid 65534 cannot execute " << rtcell::test::rtcell_bin();
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("RLIMIT_MEMLOCK"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CAP_IPC_LOCK"), std::string::npos) << r.err;
}
