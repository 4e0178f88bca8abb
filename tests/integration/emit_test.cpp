// `rtcell admit` and `rtcell emit xen` on VM manifests, end to end: exit
// codes (0 admitted / written, 1 a VM rejected by admit, 2 emit refused) and
// nothing left behind by a refusal. Needs no root: admission is analysis,
// the emitters only write files.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/support.hpp"

namespace fs = std::filesystem;

namespace {

struct Dir {
  std::string path;
  Dir() {
    std::string t = (fs::temp_directory_path() / "rtcell-emit-it-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name) << text;
    return path + "/" + name;
  }
  size_t entries() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(path)) ++n;
    return n;
  }
};

rtcell::test::Result rtcell_run(const std::string& args, const std::string& env = "") {
  return rtcell::test::run_shell(env + (env.empty() ? "" : " ") + rtcell::test::rtcell_bin() + " " + args +
                                 " 2>&1");
}

const std::string kExample = std::string(RTCELL_SOURCE_DIR) + "/examples/vm-partitions.yaml";

}  // namespace

TEST(AdmitVms, ExampleIsAdmittedWithServersPerVcpu) {
  auto r = rtcell_run("admit --json " + kExample);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("vms")) << r.out;
  EXPECT_TRUE(j["vms"]["admitted"].get<bool>());
  for (const auto& vm : j["vms"]["vms"]) {
    for (const auto& c : vm["vcpus"]) {
      EXPECT_EQ(c["budget_ns"].get<int64_t>() % 1000, 0);
      EXPECT_EQ(c["worst_gap_ns"].get<int64_t>(),
                2 * (c["period_ns"].get<int64_t>() - c["budget_ns"].get<int64_t>()));
    }
  }
  for (const auto& p : j["vms"]["pcpus"]) EXPECT_LE(p["bandwidth"].get<double>(), 1.0);
  auto t = rtcell_run("admit " + kExample);
  EXPECT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("vm motor: admitted"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("bandwidth per physical CPU"), std::string::npos) << t.out;
}

TEST(AdmitVms, ARejectedVmIsExitOne) {
  Dir d;
  std::string m = d.write("m.yaml",
                          "vms:\n  - {name: big, memory: 64, vcpus: [\"1\"], tasks: [{name: a, period: 1ms, "
                          "wcet: 1ms}, {name: b, period: 1ms, wcet: 1ms}]}\n");
  auto r = rtcell_run("admit " + m);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("vm big: REJECTED"), std::string::npos) << r.out;
}

TEST(EmitXen, WritesTheDirectory) {
  Dir d;
  auto r = rtcell_run("emit xen " + kExample + " -o " + d.path + "/out");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* f : {"motor.cfg", "vision.cfg", "rtcell.pool", "apply.sh"})
    EXPECT_TRUE(fs::exists(d.path + "/out/" + f)) << f;
  EXPECT_EQ(d.entries(), 1u);  // no temporary directory left beside it
}

TEST(EmitXen, RefusalIsOneLineExitTwoAndWritesNothing) {
  Dir d;
  std::string m = d.write("m.yaml",
                          "vms:\n  - {name: tiny, memory: 64, vcpus: [\"1\"], tasks: [{name: a, period: 1ms, "
                          "wcet: 5us}]}\n");
  auto r = rtcell_run("emit xen " + m + " -o " + d.path + "/out");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.out.find("under Xen RTDS's 10 us minimum"), std::string::npos) << r.out;
  EXPECT_EQ(d.entries(), 1u);  // only m.yaml
}

TEST(EmitJailhouse, WritesCellsForABoardNamedByNameOrPath) {
  Dir d;
  std::string boards = std::string(RTCELL_SOURCE_DIR) + "/data/boards";
  auto r = rtcell_run("emit jailhouse " + kExample + " --board " + boards + "/qemu-arm64-virt.yaml -o " +
                      d.path + "/a");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* f : {"motor.c", "vision.c", "commands.sh"})
    EXPECT_TRUE(fs::exists(d.path + "/a/" + f)) << f;
  auto orin = rtcell_run("emit jailhouse " + kExample + " --board orin-agx-64gb -o " + d.path + "/b",
                         "RTCELL_BOARDS_DIR=" + boards);
  ASSERT_EQ(orin.code, 0) << orin.out;
  EXPECT_NE(orin.out.find("memory map not verified"), std::string::npos) << orin.out;
  auto none = rtcell_run("emit jailhouse " + kExample + " --board nosuch -o " + d.path + "/c",
                         "RTCELL_BOARDS_DIR=" + boards);
  EXPECT_EQ(none.code, 2) << none.out;
  EXPECT_FALSE(fs::exists(d.path + "/c"));
}
