// rtcell emit xen: the files read back by Xen's own config parser
// (libxlutil's xlu_cfg_*, as `xl create` and `xl cpupool-create` read them),
// and every refusal as one line with nothing written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "emit/xen.hpp"
#include "rtcell/error.hpp"
#include "sys/dir_write.hpp"

#ifdef RTCELL_HAVE_XLUTIL
extern "C" {
#include <libxlutil.h>
}
#endif

using namespace rtcell;
namespace fs = std::filesystem;

namespace {

const char* kTwoVms = R"(vms:
  - name: motor
    memory: 256
    period: 500us
    kernel: /boot/vmlinuz-guest
    vcpus: ["2"]
    tasks:
      - {name: current, period: 1ms, wcet: 100us}
      - {name: speed, period: 5ms, wcet: 600us}
  - name: vision
    memory: 1G
    sched: edf
    vcpus: ["2-3", {cpus: "3", period: 2ms}]
    tasks:
      - {name: capture, period: 10ms, wcet: 2ms}
      - {name: detect, period: 20ms, wcet: 5ms, deadline: 15ms, vcpu: 1}
)";

std::vector<sys::FileEntry> emit_text(const std::string& text) {
  manifest::Manifest m = manifest::parse(text, "vms.yaml");
  return emit::emit_xen(m, analysis::admit_vms(manifest::to_vm_specs(m)));
}

std::map<std::string, std::string> by_name(const std::vector<sys::FileEntry>& files) {
  std::map<std::string, std::string> out;
  for (const auto& f : files) out[f.name] = f.text;
  return out;
}

std::string refusal(const std::string& text) {
  try {
    emit_text(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    return e.what();
  }
  return "(no error)";
}

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "rtcell-emit-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

TEST(EmitXen, WritesOneConfigPerVmAPoolAndTheApplyScript) {
  auto files = by_name(emit_text(kTwoVms));
  ASSERT_EQ(files.size(), 4u);
  ASSERT_TRUE(files.count("motor.cfg"));
  ASSERT_TRUE(files.count("vision.cfg"));
  ASSERT_TRUE(files.count("rtcell.pool"));
  const std::string& apply = files["apply.sh"];
  // In order: free the CPUs, the pool, then each domain paused, its servers, unpause.
  size_t remove = apply.find("xl cpupool-cpu-remove Pool-0 2\n");
  size_t pool = apply.find("xl cpupool-create rtcell.pool\n");
  size_t create = apply.find("xl create -p motor.cfg\n");
  size_t rtds = apply.find("xl sched-rtds -d motor -v 0 -p 500 -b ");
  size_t unpause = apply.find("xl unpause motor\n");
  ASSERT_NE(remove, std::string::npos) << apply;
  ASSERT_NE(unpause, std::string::npos) << apply;
  EXPECT_LT(remove, pool);
  EXPECT_LT(pool, create);
  EXPECT_LT(create, rtds);
  EXPECT_LT(rtds, unpause);
  EXPECT_NE(apply.find("xl sched-rtds -d vision -v 1 -p 2000 -b "), std::string::npos) << apply;
  EXPECT_EQ(apply.rfind("#!/bin/sh\n", 0), 0u);
}

TEST(EmitXen, XlutilParsesWhatWasWritten) {
#ifndef RTCELL_HAVE_XLUTIL
  GTEST_SKIP() << "libxlutil (Debian libxen-dev) was not found when this test was built: "
                  "install libxen-dev (scripts/install-deps) and reconfigure";
#else
  TempDir dir;
  std::string out = dir.path() + "/xen";
  sys::write_dir_atomic(out, emit_text(kTwoVms));

  FILE* report = std::tmpfile();
  ASSERT_NE(report, nullptr);
  auto read = [&](const std::string& name) {
    XLU_Config* cfg = xlu_cfg_init(report, name.c_str());
    EXPECT_NE(cfg, nullptr);
    EXPECT_EQ(xlu_cfg_readfile(cfg, (out + "/" + name).c_str()), 0) << name;
    return cfg;
  };
  auto list = [](XLU_Config* cfg, const char* key) {
    XLU_ConfigList* l = nullptr;
    int n = 0;
    std::vector<std::string> items;
    if (xlu_cfg_get_list(cfg, key, &l, &n, 0) != 0) return items;
    for (int i = 0; i < n; ++i) items.emplace_back(xlu_cfg_get_listitem(l, i));
    return items;
  };
  auto string = [](XLU_Config* cfg, const char* key) {
    const char* v = nullptr;
    return xlu_cfg_get_string(cfg, key, &v, 0) == 0 ? std::string(v) : std::string("(missing)");
  };
  auto number = [](XLU_Config* cfg, const char* key) {
    long v = -1;
    return xlu_cfg_get_long(cfg, key, &v, 0) == 0 ? v : -1;
  };

  XLU_Config* vision = read("vision.cfg");
  EXPECT_EQ(string(vision, "name"), "vision");
  EXPECT_EQ(string(vision, "type"), "pvh");
  EXPECT_EQ(string(vision, "pool"), "rtcell");
  EXPECT_EQ(number(vision, "memory"), 1024);
  EXPECT_EQ(number(vision, "vcpus"), 2);
  // vCPU 0 went to CPU 2 (first fit beside motor), vCPU 1 to CPU 3.
  EXPECT_EQ(list(vision, "cpus"), (std::vector<std::string>{"2", "3"}));
  xlu_cfg_destroy(vision);

  XLU_Config* motor = read("motor.cfg");
  EXPECT_EQ(string(motor, "kernel"), "/boot/vmlinuz-guest");
  EXPECT_EQ(list(motor, "cpus"), (std::vector<std::string>{"2"}));
  xlu_cfg_destroy(motor);

  XLU_Config* pool = read("rtcell.pool");
  EXPECT_EQ(string(pool, "name"), "rtcell");
  EXPECT_EQ(string(pool, "sched"), "rtds");
  EXPECT_EQ(list(pool, "cpus"), (std::vector<std::string>{"2", "3"}));
  xlu_cfg_destroy(pool);
  std::fclose(report);

  EXPECT_TRUE(fs::perms::owner_exec == (fs::status(out + "/apply.sh").permissions() & fs::perms::owner_exec));
#endif
}

TEST(EmitXen, RefusesWhatXenCannotDoInOneLine) {
  // A VM the analysis rejects.
  EXPECT_EQ(refusal("vms:\n  - {name: big, memory: 64, vcpus: [\"1\"], tasks: [{name: a, period: 1ms, wcet: "
                    "1ms}, {name: b, period: 1ms, wcet: 1ms}]}\n"),
            "vm big is not admitted (run rtcell admit vms.yaml to see why); nothing written");
  // A budget under RTDS_MIN_BUDGET: a 5 µs task needs 5 µs per 500 µs.
  EXPECT_EQ(
      refusal("vms:\n  - {name: tiny, memory: 64, vcpus: [\"1\"], tasks: [{name: a, period: 1ms, wcet: "
              "5us}]}\n"),
      "vm tiny vCPU 0: budget 5 us is under Xen RTDS's 10 us minimum (RTDS_MIN_BUDGET); give the vCPU a "
      "task or a longer period, or remove it");
  // More vCPUs than the pool has CPUs: both vCPUs land on CPU 1.
  EXPECT_EQ(
      refusal("vms:\n  - {name: two, memory: 64, vcpus: [\"1\", \"1\"], tasks: [{name: a, period: 1ms, "
              "wcet: 100us}, {name: b, period: 1ms, wcet: 100us, vcpu: 1}]}\n"),
      "vm two has 2 vCPUs but its cpupool rtcell only 1 physical CPUs; give its vCPUs distinct CPUs or use "
      "fewer vCPUs");
  // Two pools on one CPU.
  EXPECT_EQ(
      refusal("vms:\n  - {name: a, memory: 64, pool: p, vcpus: [\"1\"], tasks: [{name: a, period: 1ms, "
              "wcet: 100us}]}\n  - {name: b, memory: 64, pool: q, vcpus: [\"1\"], tasks: [{name: b, "
              "period: 1ms, wcet: 100us}]}\n"),
      "cpupools p and q both need CPU 1 (a CPU belongs to one Xen cpupool); give their VMs the same pool: or "
      "other CPUs");
}

TEST(EmitXen, NothingIsLeftBehindWhenTheDirectoryIsInTheWay) {
  TempDir dir;
  std::string out = dir.path() + "/xen";
  fs::create_directories(out);
  {
    std::FILE* f = std::fopen((out + "/keep").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  EXPECT_THROW(sys::write_dir_atomic(out, emit_text(kTwoVms)), Error);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir.path())) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"xen"});  // no temporary directory beside it
  EXPECT_FALSE(fs::exists(out + "/apply.sh"));
}
