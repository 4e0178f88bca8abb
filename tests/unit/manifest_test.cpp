// Manifest parsing: values, defaults, and one located message per mistake.
#include "manifest/manifest.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "rtcell/error.hpp"

using namespace rtcell;
using namespace rtcell::manifest;

namespace {

// The message of the Usage error `text` provokes ("" if it parses).
std::string error_of(const std::string& text) {
  try {
    parse(text, "m.yaml");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Manifest, ParsesEveryCellKey) {
  auto m = parse(R"(version: 1
cells:
  - name: cam
    cpus: "2-3"
    mems: "0"
    memory: 256M
    pids_max: 64
    sched: fifo:70
    rtprio: 70
    cap_add: [SYS_NICE]
    cap_drop: [ALL]
    rt_runtime: 300
    rt_period: 1ms
    memlock: 8M
    net: host
    rootfs: /srv/rootfs
    devices: [/dev/video0]
    volumes: ["/data:/data:ro"]
    tmpfs: [/tmp]
    workdir: /app
    env: {ROS_DOMAIN_ID: "7"}
    hostname: cam
    user: "1000:1000"
    seccomp: default
    allow_prio_99: false
    command: [/app/cam, --fps, "30"]
    budget: {period: 10ms, runtime: 3ms, deadline: 8ms}
    tasks:
      - {name: grab, period: 33ms, wcet: 5ms, deadline: 30ms, jitter: 1ms, blocking: 100us, priority: 70, policy: fifo, cpu: 3}
)",
                 "m.yaml");
  ASSERT_EQ(m.cells.size(), 1u);
  const auto& c = m.cells[0];
  EXPECT_EQ(c.name, "cam");
  EXPECT_EQ(c.cpus->to_string(), "2-3");
  EXPECT_EQ(c.mems, "0");
  EXPECT_EQ(c.memory, 256u << 20);
  EXPECT_EQ(c.pids_max, 64);
  ASSERT_TRUE(c.sched);
  EXPECT_EQ(rt::to_string(*c.sched), "fifo:70");
  EXPECT_EQ(c.rtprio, 70);
  EXPECT_EQ(c.cap_add, std::vector<std::string>{"SYS_NICE"});
  EXPECT_EQ(c.rt_runtime_ns, 300'000);  // bare number: µs, as docker --cpu-rt-runtime
  EXPECT_EQ(c.rt_period_ns, 1'000'000);
  EXPECT_EQ(c.memlock, 8u << 20);
  EXPECT_EQ(c.net, Net::Host);
  EXPECT_EQ(c.rootfs, "/srv/rootfs");
  EXPECT_EQ(c.volumes, std::vector<std::string>{"/data:/data:ro"});
  EXPECT_EQ(c.env, (std::vector<std::pair<std::string, std::string>>{{"ROS_DOMAIN_ID", "7"}}));
  EXPECT_EQ(c.user, "1000:1000");
  EXPECT_EQ(c.command, (std::vector<std::string>{"/app/cam", "--fps", "30"}));
  ASSERT_TRUE(c.budget);
  EXPECT_EQ(c.budget->period_ns, 10'000'000);
  EXPECT_EQ(c.budget->runtime_ns, 3'000'000);
  EXPECT_EQ(c.budget->deadline_ns, 8'000'000);
  ASSERT_EQ(c.tasks.size(), 1u);
  const auto& t = c.tasks[0];
  EXPECT_EQ(t.period_ns, 33'000'000);
  EXPECT_EQ(t.wcet_ns, 5'000'000);
  EXPECT_EQ(t.deadline_ns, 30'000'000);
  EXPECT_EQ(t.jitter_ns, 1'000'000);
  EXPECT_EQ(t.blocking_ns, 100'000);
  EXPECT_EQ(t.priority, 80 - 10);
  EXPECT_EQ(t.cpu, 3);
  EXPECT_EQ(t.where.line, 29);
  EXPECT_TRUE(c.is_rt());
}

// hz: the target kernel's CONFIG_HZ, for the RT budgets (docs/analysis.md).
TEST(Manifest, TickOfTheTargetKernel) {
  auto m = parse("hz: 250\ncells:\n  - name: a\n    cpus: \"1\"\n", "m.yaml");
  ASSERT_TRUE(m.hz);
  EXPECT_EQ(*m.hz, 250);
  auto o = admit_options(m);
  EXPECT_EQ(o.hz, 250);
  EXPECT_NE(o.hz_source.find("m.yaml"), std::string::npos);
  EXPECT_FALSE(parse("cells: []\n", "m.yaml").hz);
  EXPECT_EQ(admit_options(parse("cells: []\n", "m.yaml")).hz, analysis::kDefaultHz);
  EXPECT_NE(error_of("hz: 0\ncells: []\n").find("m.yaml:1:5"), std::string::npos);
}

TEST(Manifest, UnknownKeySuggestsClosest) {
  auto msg = error_of("cells:\n  - name: a\n    cpu: \"1\"\n");
  EXPECT_EQ(msg, "m.yaml:3:5: unknown key 'cpu' in cell; did you mean 'cpus'?");
  msg = error_of(
      "cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n      - {name: t, perod: 1ms, wcet: 1us}\n");
  EXPECT_EQ(msg, "m.yaml:5:19: unknown key 'perod' in task; did you mean 'period'?");
  // Far from everything: list the valid keys instead of guessing.
  msg = error_of("cellz: []\nxylophone: 1\n");
  EXPECT_NE(msg.find("m.yaml:1:1: unknown key 'cellz' in manifest; did you mean 'cells'?"),
            std::string::npos);
  msg = error_of("cells: []\nxylophone: 1\n");
  EXPECT_NE(
      msg.find(
          "m.yaml:2:1: unknown key 'xylophone' in manifest (valid keys: version, cells, vms, partition, hz)"),
      std::string::npos);
}

TEST(Manifest, ValueErrorsCarryLocation) {
  EXPECT_EQ(
      error_of(
          "cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n      - {name: t, period: 1000, wcet: 1us}\n"),
      "m.yaml:5:27: period: '1000' needs a unit: ns, us, ms or s (e.g. 1000us)");
  EXPECT_EQ(
      error_of(
          "cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n      - {name: t, period: 0ms, wcet: 1us}\n"),
      "m.yaml:5:27: period must be greater than 0");
  EXPECT_NE(
      error_of(
          "cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n      - {name: t, period: -1ms, wcet: 1us}\n")
          .find("m.yaml:5:27: period: bad time '-1ms'"),
      std::string::npos);
  EXPECT_NE(error_of("cells:\n  - name: a\n    cpus: \"x\"\n").find("m.yaml:3:11: cpus: "),
            std::string::npos);
  EXPECT_EQ(error_of("cells:\n  - name: a\n    net: bridge\n"),
            "m.yaml:3:10: net must be host or none, not 'bridge'");
  EXPECT_EQ(error_of("cells:\n  - name: a\n    command: /bin/app\n"),
            "m.yaml:3:14: command must be a list, e.g. [/usr/bin/app, --flag]");
  EXPECT_EQ(error_of("cells:\n  - name: a/b\n"),
            "m.yaml:2:11: cell name 'a/b' must be 1-64 letters, digits, '_', '.' or '-' (it names a cgroup)");
}

TEST(Manifest, SemanticErrors) {
  EXPECT_EQ(error_of("cells:\n  - name: a\n  - name: a\n"), "m.yaml:3:5: duplicate cell name 'a'");
  EXPECT_EQ(error_of("cells:\n  - name: a\n    name: b\n"), "m.yaml:3:5: duplicate key 'name' in cell");
  EXPECT_NE(
      error_of("cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n      - {name: t, period: 1ms, wcet: 1us, "
               "priority: 99}\n")
          .find("priority 99 is refused unless the cell sets allow_prio_99: true"),
      std::string::npos);
  EXPECT_EQ(
      error_of("cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n      - {name: t, period: 1ms, wcet: 1us, "
               "cpu: 2}\n"),
      "m.yaml:5:9: task t names cpu 2, which is not in the cell's cpus 1");
  EXPECT_EQ(error_of("cells:\n  - name: a\n    tasks:\n      - {name: t, period: 1ms, wcet: 1us}\n"),
            "m.yaml:2:5: cell a has tasks but no cpus: add cpus: e.g. \"2-3\"");
  EXPECT_NE(
      error_of("cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n      - {name: t, period: 1ms, wcet: 1us, "
               "policy: deadline}\n      - {name: u, period: 1ms, wcet: 1us}\n")
          .find("mixes deadline and fifo/rr tasks"),
      std::string::npos);
  EXPECT_NE(
      error_of("cells:\n  - name: a\n    cpus: \"1\"\n    tasks:\n      - {name: t, period: 1ms, wcet: 1us, "
               "priority: 5}\n      - {name: u, period: 1ms, wcet: 1us}\n")
          .find("give every task a priority, or none"),
      std::string::npos);
  EXPECT_NE(error_of("cells:\n  - name: a\n    sched: fifo:99\n").find("m.yaml:3:12: sched: "),
            std::string::npos);
  EXPECT_EQ(error_of("cells:\n  - name: a\n    budget: {period: 1500ns}\n"),
            "m.yaml:3:22: budget period must be a whole number of microseconds (cgroup cpu.rt_period_us)");
  EXPECT_EQ(error_of("cells:\n  - name: a\n    budget: {period: 1ms, runtime: 2ms}\n"),
            "m.yaml:3:13: budget runtime must not exceed its deadline (or period)");
  // Issue 12, item 5: a cgroup runtime is never rounded (down, it would
  // apply less than declared).
  EXPECT_EQ(error_of("cells:\n  - name: a\n    rt_runtime: 1500ns\n"),
            "m.yaml:3:17: rt_runtime must be a whole number of microseconds (cgroup cpu.rt_runtime_us)");
}

TEST(Manifest, YamlSyntaxAndShapeErrors) {
  auto msg = error_of("cells:\n  - name: [a\n");
  EXPECT_EQ(msg.rfind("m.yaml:", 0), 0u) << msg;
  EXPECT_EQ(error_of(""), "m.yaml:1:1: empty manifest: expected a map with cells:");
  EXPECT_EQ(error_of("- a\n- b\n"), "m.yaml:1:1: manifest must be a map of key: value");
  EXPECT_EQ(error_of("version: 1\n"),
            "m.yaml:1:1: manifest has no cells: add cells: [ {name: ..., cpus: ...} ]");
  EXPECT_EQ(error_of("version: 2\ncells: []\n"),
            "m.yaml:1:10: unsupported version: this rtcell reads version 1");
  EXPECT_NE(error_of(std::string(200, '[')).find("nesting too deep"), std::string::npos);
}

TEST(Manifest, RtCpusAndSpecs) {
  auto m = parse(R"(cells:
  - {name: linux, cpus: "0-1", sched: other}
  - {name: dl, cpus: "2-3", sched: "deadline:100us/1ms/1ms", tasks: [{name: t, period: 1ms, wcet: 100us}]}
  - {name: prio, cpus: "4", rtprio: 50}
  - {name: rr, cpus: "5", sched: "rr:30", tasks: [{name: u, period: 2ms, wcet: 100us, deadline: 1ms}]}
)");
  EXPECT_EQ(rt_cpus(m).to_string(), "2-5");
  ASSERT_NE(find_cell(m, "rr"), nullptr);
  EXPECT_EQ(find_cell(m, "nope"), nullptr);
  auto specs = to_cell_specs(m);
  ASSERT_EQ(specs.size(), 4u);
  EXPECT_EQ(specs[1].tasks[0].policy, analysis::TaskPolicy::Deadline);
  EXPECT_EQ(specs[1].tasks[0].task.deadline, 1'000'000);  // default: the period
  EXPECT_EQ(specs[2].base_priority, 50);
  EXPECT_EQ(specs[3].tasks[0].policy, analysis::TaskPolicy::Rr);
  EXPECT_EQ(specs[3].base_priority, 30);
  EXPECT_EQ(specs[3].tasks[0].task.deadline, 1'000'000);
}

TEST(Manifest, EditDistance) {
  EXPECT_EQ(edit_distance("cpu", "cpus"), 1u);
  EXPECT_EQ(edit_distance("perod", "period"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Manifest, ShippedExamplesParse) {
  namespace fs = std::filesystem;
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(RTCELL_SOURCE_DIR) / "examples")) {
    if (e.path().extension() != ".yaml") continue;
    auto m = load(e.path().string());
    EXPECT_FALSE(m.cells.empty() && m.vms.empty()) << e.path();
    ++n;
  }
  EXPECT_GE(n, 3);
  auto robot = load(std::string(RTCELL_SOURCE_DIR) + "/examples/ros2-robot.yaml");
  const auto* control = find_cell(robot, "control");
  ASSERT_NE(control, nullptr);
  EXPECT_EQ(control->tasks.at(0).period_ns, 1'000'000);  // 1 kHz
}

TEST(Manifest, MissingFileIsUsageError) {
  try {
    load("/nonexistent/cells.yaml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cells.yaml"), std::string::npos);
  }
}

// supervise: a word or {action, grace}; off is a choice too.
TEST(Manifest, Supervise) {
  const std::string head = "cells:\n  - name: a\n    cpus: \"1\"\n";
  auto m = parse(head + "    supervise: kill\n");
  ASSERT_TRUE(m.cells[0].supervise);
  EXPECT_EQ(m.cells[0].supervise->action, analysis::OverrunAction::Kill);
  EXPECT_FALSE(m.cells[0].supervise->grace_ns);
  m = parse(head + "    supervise: {action: freeze, grace: 50ms}\n");
  EXPECT_EQ(m.cells[0].supervise->action, analysis::OverrunAction::Freeze);
  EXPECT_EQ(m.cells[0].supervise->grace_ns, 50'000'000);
  m = parse(head + "    supervise: off\n");
  ASSERT_TRUE(m.cells[0].supervise);
  EXPECT_FALSE(m.cells[0].supervise->action);
  EXPECT_FALSE(parse(head).cells[0].supervise);
  EXPECT_EQ(error_of(head + "    supervise: throttle\n"),
            "m.yaml:4:16: supervise must be off, warn, demote, freeze or kill, not 'throttle'");
  EXPECT_EQ(error_of(head + "    supervise: {grace: 5ms}\n"),
            "m.yaml:4:16: supervise has no action: add action: demote (or warn, freeze, kill, off)");
  EXPECT_NE(error_of(head + "    supervise: {action: kill, grace: 5}\n")
                .find("m.yaml:4:38: supervise grace: '5' needs a unit"),
            std::string::npos);
}

// ---- depends_on and required (rtcell up) ----

TEST(Manifest, DependsOnAndRequiredParseAndOrderTheStart) {
  auto m = parse(R"(cells:
  - name: app
    depends_on: [db, bus]
    required: true
  - name: bus
    depends_on: [db]
  - name: db
  - name: log
)",
                 "m.yaml");
  ASSERT_EQ(m.cells.size(), 4u);
  ASSERT_EQ(m.cells[0].depends_on.size(), 2u);
  EXPECT_EQ(m.cells[0].depends_on[0].cell, "db");
  EXPECT_EQ(m.cells[0].depends_on[1].where.to_string(), "m.yaml:3:22");
  EXPECT_TRUE(m.cells[0].required);
  EXPECT_FALSE(m.cells[1].required);
  // db first (bus and app wait for it), then bus, then app; log, free, keeps
  // its manifest place after the cells before it could start.
  std::vector<std::string> names;
  for (size_t i : start_order(m)) names.push_back(m.cells[i].name);
  EXPECT_EQ(names, (std::vector<std::string>{"db", "bus", "app", "log"}));
}

TEST(Manifest, StartOrderWithoutDependenciesIsTheManifestOrder) {
  auto m = parse("cells:\n  - name: b\n  - name: a\n", "m.yaml");
  EXPECT_EQ(start_order(m), (std::vector<size_t>{0, 1}));
}

TEST(Manifest, DependsOnMistakesAreOneLocatedLine) {
  EXPECT_EQ(error_of("cells:\n  - name: a\n    depends_on: [b]\n"),
            "m.yaml:3:18: cell a depends on 'b', which is not a cell of this manifest");
  EXPECT_EQ(error_of("cells:\n  - name: api\n    depends_on: [apx]\n  - name: apz\n"),
            "m.yaml:3:18: cell api depends on 'apx', which is not a cell of this manifest; did you mean "
            "'api'?");
  EXPECT_EQ(error_of("cells:\n  - name: a\n    depends_on: [a]\n"), "m.yaml:3:18: cell a depends on itself");
  EXPECT_EQ(error_of("cells:\n  - name: a\n    depends_on: b\n  - name: b\n"),
            "m.yaml:3:17: depends_on must be a list of cell names, e.g. [db, sensor]");
  EXPECT_EQ(error_of("cells:\n  - name: a\n    depends_on: [b, b]\n  - name: b\n"),
            "m.yaml:3:21: cell a names 'b' twice in depends_on");
  EXPECT_EQ(error_of("cells:\n  - name: a\n    required: maybe\n"),
            "m.yaml:3:15: required must be true or false");
}

TEST(Manifest, DependsOnCycleIsRefusedWithItsChain) {
  const std::string msg = error_of(R"(cells:
  - name: a
    depends_on: [c]
  - name: b
    depends_on: [a]
  - name: c
    depends_on: [b]
)");
  // Found from a: a -> c -> b, whose entry [a] (line 5) closes it.
  EXPECT_EQ(msg,
            "m.yaml:5:18: depends_on cycle: a -> c -> b -> a (rtcell up could start none of them; remove "
            "one of these entries)");
}

TEST(Manifest, StartOrderOfAHandMadeCycleThrows) {
  Manifest m;
  m.file = "x.yaml";
  m.cells.resize(2);
  m.cells[0].name = "a";
  m.cells[0].depends_on.push_back({"b", {}});
  m.cells[1].name = "b";
  m.cells[1].depends_on.push_back({"a", {}});
  EXPECT_THROW(start_order(m), Error);
}
