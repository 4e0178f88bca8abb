// The vms: section of a manifest: values, defaults, located errors.
#include <gtest/gtest.h>

#include "manifest/manifest.hpp"
#include "rtcell/error.hpp"

using namespace rtcell;
using namespace rtcell::manifest;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse(text, "m.yaml");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    return e.what();
  }
  return "";
}

const char* kVm = R"(vms:
  - name: ctrl
    memory: 512
    sched: edf
    period: 500us
    pool: rt
    type: hvm
    kernel: /boot/guest
    vcpus: ["2", {cpus: "3-4", period: 2ms}]
    tasks:
      - {name: a, period: 1ms, wcet: 100us}
      - {name: b, period: 10ms, wcet: 1ms, deadline: 8ms, vcpu: 1}
)";

}  // namespace

TEST(ManifestVm, ParsesEveryKey) {
  Manifest m = parse(kVm, "m.yaml");
  EXPECT_TRUE(m.cells.empty());
  ASSERT_EQ(m.vms.size(), 1u);
  const VmDecl& v = m.vms[0];
  EXPECT_EQ(v.name, "ctrl");
  EXPECT_EQ(v.memory_mib, 512u);
  EXPECT_EQ(v.sched, analysis::LocalScheduler::Edf);
  EXPECT_EQ(v.period_ns, 500'000);
  EXPECT_EQ(v.pool, "rt");
  EXPECT_EQ(v.type, "hvm");
  EXPECT_EQ(v.kernel, "/boot/guest");
  ASSERT_EQ(v.vcpus.size(), 2u);
  EXPECT_EQ(v.vcpus[0].pcpus.to_string(), "2");
  EXPECT_FALSE(v.vcpus[0].period_ns);
  EXPECT_EQ(v.vcpus[1].pcpus.to_string(), "3-4");
  EXPECT_EQ(v.vcpus[1].period_ns, 2'000'000);
  ASSERT_EQ(v.tasks.size(), 2u);
  EXPECT_EQ(v.tasks[0].vcpu, 0);
  EXPECT_EQ(v.tasks[1].vcpu, 1);

  auto specs = to_vm_specs(m);
  ASSERT_EQ(specs.size(), 1u);
  ASSERT_EQ(specs[0].vcpus.size(), 2u);
  ASSERT_EQ(specs[0].vcpus[1].tasks.size(), 1u);
  EXPECT_EQ(specs[0].vcpus[1].tasks[0].deadline, 8'000'000);
  EXPECT_EQ(specs[0].vcpus[0].tasks[0].deadline, 1'000'000);  // defaults to the period
}

TEST(ManifestVm, MemoryTakesMibOrAUnit) {
  Manifest m = parse("vms:\n  - {name: a, memory: 1G, vcpus: [\"0\"]}\n", "m.yaml");
  EXPECT_EQ(m.vms[0].memory_mib, 1024u);
  EXPECT_EQ(m.vms[0].sched, analysis::LocalScheduler::FixedPriority);
  EXPECT_EQ(m.vms[0].type, "pvh");
  EXPECT_EQ(error_of("vms:\n  - {name: a, memory: 1500K, vcpus: [\"0\"]}\n"),
            "m.yaml:2:23: memory must be a whole number of MiB greater than 0, e.g. 512 or 1G");
}

TEST(ManifestVm, EachMistakeIsOneLocatedLine) {
  EXPECT_EQ(error_of("vms:\n  - {name: a, memroy: 1, vcpus: [\"0\"]}\n"),
            "m.yaml:2:15: unknown key 'memroy' in vm; did you mean 'memory'?");
  EXPECT_EQ(error_of("vms:\n  - {name: a, vcpus: [\"0\"]}\n"),
            "m.yaml:2:5: vm a has no memory: add memory: e.g. 512 (MiB)");
  EXPECT_EQ(error_of("vms:\n  - {name: a, memory: 1}\n"),
            "m.yaml:2:5: vm a has no vcpus: add vcpus: [\"2\", \"3\"] (a physical CPU list each)");
  EXPECT_EQ(error_of("vms:\n  - {name: a, memory: 1, sched: rr, vcpus: [\"0\"]}\n"),
            "m.yaml:2:33: vm sched must be fp or edf (the guest's scheduler), not 'rr'");
  EXPECT_EQ(error_of("vms:\n  - {name: a, memory: 1, vcpus: [\"0\"], tasks: [{name: t, period: 1ms, wcet: "
                     "1us, vcpu: 1}]}\n"),
            "m.yaml:2:48: task t names vcpu 1, but vm a has 1 (numbered from 0)");
  EXPECT_EQ(error_of("vms:\n  - {name: a, memory: 1, vcpus: [\"0\"], tasks: [{name: t, period: 1ms, wcet: "
                     "1us, cpu: 1}]}\n"),
            "m.yaml:2:82: unknown key 'cpu' in task; did you mean 'vcpu'?");
  EXPECT_EQ(error_of("vms:\n  - {name: a, memory: 1, period: 1500ns, vcpus: [\"0\"]}\n"),
            "m.yaml:2:34: vm period must be a whole number of microseconds (xl sched-rtds -p takes us)");
  EXPECT_EQ(error_of("vms:\n  - {name: a, memory: 1, vcpus: [{period: 1ms}]}\n"),
            "m.yaml:2:34: vcpu has no cpus: add cpus: e.g. \"2\" (the physical CPUs it may run on)");
  EXPECT_EQ(error_of("vms:\n  - {name: a, memory: 1, vcpus: []}\n"),
            "m.yaml:2:33: vcpus must be a list with one entry per vCPU, e.g. [\"2\", \"3\"]");
  EXPECT_EQ(
      error_of("vms:\n  - {name: a, memory: 1, vcpus: [\"0\"]}\n  - {name: a, memory: 1, vcpus: [\"0\"]}\n"),
      "m.yaml:3:5: duplicate vm name 'a'");
  EXPECT_EQ(error_of("vms:\n  - {name: a, memory: 1, vcpus: [\"0\"], tasks: [{name: t, period: 1ms, wcet: "
                     "1us, priority: 3}, {name: u, period: 1ms, wcet: 1us}]}\n"),
            "m.yaml:2:47: vm a: give every task a priority, or none (then deadline-monotonic)");
}
