// `rtcell check --kconfig` and `rtcell kernel` through the real binary.
// - kernel status/use-rt/revert run on a COPY of a FAKE Jetson tree
//   (tests/fixtures/kernel/README.md: the images are text files holding only
//   a version banner), so no boot loader of this machine is touched;
// - check --kconfig runs on literal configs, on Debian's own kernel configs
//   (linux-config-6.1) and on this machine's /boot/config-$(uname -r) (else
//   /proc/config.gz) when they exist;
// - kernel config runs on Debian's linux-source 6.1 (configure only, never a
//   build). 6.1 predates PREEMPT_RT in mainline: the test asserts the
//   refusal without --rt-patch, then gives a STAND-IN patch made here that
//   only makes x86 select ARCH_SUPPORTS_RT (what the real RT patch does among
//   much else) and adds localversion-rt, so merge_config.sh, olddefconfig and
//   the rules run for real on the result. The real RT patch is not applied.
//   An arm64 cross run without any patch shows the rules catching a merge in
//   which PREEMPT_RT did not stick. The extraction (Makefiles, Kconfig files,
//   scripts/, defconfigs only) is cached under the build tree.
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "integration/support.hpp"

namespace fs = std::filesystem;
using rtcell::test::run_shell;
using rtcell::test::slurp;

namespace {

struct Out {
  int rc = -1;
  std::string text;
};

Out rc_run(const std::string& args) {
  auto r = run_shell(rtcell::test::rtcell_bin() + " " + args + " 2>&1");
  return {r.code, r.out};
}

int lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/rtcell-kernel-it-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TempDir() { fs::remove_all(path); }
};

void spit(const std::string& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

std::string severity_of(const std::string& json, const std::string& id) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded()) return "(bad json)";
  for (auto& c : doc["checks"])
    if (c["id"] == id) return c["severity"];
  return "(absent)";
}

}  // namespace

TEST(KernelCli, StatusUseRtRevertOnAFakeJetsonTree) {
  TempDir t;
  std::string root = t.path + "/tree";
  fs::copy(std::string(RTCELL_FIXTURES) + "/kernel/jetson-jp6-rt-pkg", root, fs::copy_options::recursive);
  const std::string conf = root + "/boot/extlinux/extlinux.conf";
  const std::string before = slurp(conf);

  Out s = rc_run("kernel status --root " + root);
  ASSERT_EQ(s.rc, 0) << s.text;
  EXPECT_NE(s.text.find("  * primary  /boot/Image"), std::string::npos) << s.text;
  EXPECT_NE(s.text.find("realtime  /boot/Image.rt  \"real-time kernel\"  [RT: image"), std::string::npos)
      << s.text;
  EXPECT_NE(s.text.find("installed: nvidia-l4t-rt-kernel nvidia-l4t-rt-kernel-oot-modules"),
            std::string::npos);
  EXPECT_NE(s.text.find("next: rtcell kernel use-rt"), std::string::npos) << s.text;

  Out u = rc_run("kernel use-rt --root " + root);
  ASSERT_EQ(u.rc, 0) << u.text;
  EXPECT_NE(u.text.find("DEFAULT primary -> realtime"), std::string::npos) << u.text;
  EXPECT_NE(slurp(conf).find("\nDEFAULT realtime\n"), std::string::npos);
  EXPECT_NE(rc_run("kernel status --root " + root).text.find("  * realtime"), std::string::npos);
  Out again = rc_run("kernel use-rt --root " + root);
  EXPECT_EQ(again.rc, 2) << again.text;
  EXPECT_EQ(lines(again.text), 1) << again.text;

  Out r = rc_run("kernel revert --root " + root);
  ASSERT_EQ(r.rc, 0) << r.text;
  EXPECT_EQ(slurp(conf), before);
  EXPECT_FALSE(fs::exists(root + "/var/lib/rtcell/kernel.json"));
  EXPECT_FALSE(fs::exists(root + "/var/lib/rtcell/extlinux.conf.orig"));
}

TEST(KernelCli, BadInputIsOneLineAndExitTwo) {
  for (const std::string args : {"kernel status --root /nonexistent", "kernel use-rt --root /nonexistent",
                                 "kernel config --source /nonexistent", "check --kconfig /nonexistent",
                                 "check --kconfig /etc/hostname", "check --kconfig /etc/hostname --cpus 0"}) {
    Out o = rc_run(args);
    EXPECT_EQ(o.rc, 2) << args << ": " << o.text;
    EXPECT_EQ(lines(o.text), 1) << args << ": " << o.text;
  }
}

TEST(CheckKconfig, LiteralConfigs) {
  TempDir t;
  spit(t.path + "/rt.config",
       "# Linux/arm64 5.15.148 Kernel "
       "Configuration\nCONFIG_PREEMPT_RT=y\nCONFIG_HZ=1000\nCONFIG_NO_HZ_FULL=y\n");
  spit(t.path + "/stock.config", "CONFIG_PREEMPT=y\nCONFIG_HZ=250\n# CONFIG_NO_HZ_FULL is not set\n");
  Out rt = rc_run("check --kconfig " + t.path + "/rt.config --json");
  EXPECT_EQ(rt.rc, 0) << rt.text;
  EXPECT_EQ(severity_of(rt.text, "kernel.preempt_rt"), "pass");
  EXPECT_EQ(severity_of(rt.text, "kernel.hz"), "pass");
  EXPECT_EQ(severity_of(rt.text, "boot.isolcpus"), "(absent)");  // only the config rules
  EXPECT_EQ(nlohmann::json::parse(rt.text)["kernel"], "5.15.148");
  Out st = rc_run("check --kconfig " + t.path + "/stock.config");
  EXPECT_EQ(st.rc, 1) << st.text;
  EXPECT_NE(st.text.find("preemption model 'full'"), std::string::npos) << st.text;
  // gzip, as /proc/config.gz
  ASSERT_EQ(run_shell("gzip -c " + t.path + "/rt.config > " + t.path + "/config.gz").code, 0);
  EXPECT_EQ(rc_run("check --kconfig " + t.path + "/config.gz").rc, 0);
}

TEST(CheckKconfig, DebianKernelConfigs) {
  const std::string dir = "/usr/src/linux-config-6.1";
  if (!fs::exists(dir + "/config.amd64_rt_amd64.xz")) GTEST_SKIP() << "linux-config-6.1 not installed";
  TempDir t;
  ASSERT_EQ(run_shell("xzcat " + dir + "/config.amd64_rt_amd64.xz > " + t.path + "/rt && xzcat " + dir +
                      "/config.amd64_none_amd64.xz > " + t.path + "/none")
                .code,
            0);
  Out rt = rc_run("check --kconfig " + t.path + "/rt --json");
  EXPECT_EQ(rt.rc, 0) << rt.text;
  EXPECT_EQ(severity_of(rt.text, "kernel.preempt_rt"), "pass");
  EXPECT_EQ(severity_of(rt.text, "kernel.hz"), "warn");  // Debian builds HZ=250
  EXPECT_EQ(severity_of(rt.text, "kernel.nohz_full"), "pass");
  Out none = rc_run("check --kconfig " + t.path + "/none --json");
  EXPECT_EQ(none.rc, 1) << none.text;
  EXPECT_EQ(severity_of(none.text, "kernel.preempt_rt"), "fail");
  // The package's own xz files are not read, and the one line says how to.
  Out xz = rc_run("check --kconfig " + dir + "/config.amd64_rt_amd64.xz");
  EXPECT_EQ(xz.rc, 2) << xz.text;
  EXPECT_EQ(lines(xz.text), 1) << xz.text;
  EXPECT_NE(xz.text.find("xz -dc"), std::string::npos) << xz.text;
}

TEST(CheckKconfig, ThisMachinesOwnConfig) {
  // /boot/config-$(uname -r), else /proc/config.gz (this VM has only the latter).
  utsname u{};
  ASSERT_EQ(::uname(&u), 0);
  std::string f = std::string("/boot/config-") + u.release;
  std::string text = slurp(f);
  if (!fs::exists(f)) {
    f = "/proc/config.gz";
    if (!fs::exists(f)) GTEST_SKIP() << "neither /boot/config-" << u.release << " nor /proc/config.gz exists";
    text = run_shell("zcat /proc/config.gz").out;
  }
  ASSERT_NE(text.find("CONFIG_"), std::string::npos) << f;
  Out o = rc_run("check --kconfig " + f + " --json");
  bool rt = text.find("\nCONFIG_PREEMPT_RT=y\n") != std::string::npos;
  bool hz1000 = text.find("\nCONFIG_HZ=1000\n") != std::string::npos;
  EXPECT_EQ(severity_of(o.text, "kernel.preempt_rt"), rt ? "pass" : "fail") << o.text;
  EXPECT_EQ(severity_of(o.text, "kernel.hz"), hz1000 ? "pass" : "warn") << o.text;
  EXPECT_EQ(o.rc, rt ? 0 : 1);
}

namespace {

// Debian's linux-source 6.1, extracted once per build tree (only what
// kconfig needs); "" when the package is not installed.
std::string linux_source_cache() {
  std::string tarball;
  if (fs::exists("/usr/src"))
    for (auto& e : fs::directory_iterator("/usr/src")) {
      std::string n = e.path().filename();
      if (n.rfind("linux-source-6.1", 0) == 0 && n.size() > 7 && n.substr(n.size() - 7) == ".tar.xz")
        tarball = e.path();
    }
  if (tarball.empty()) return {};
  std::string cache = std::string(RTCELL_BUILD_DIR) + "/linux-source-cache";
  std::string top = fs::path(tarball).filename().string();
  top = top.substr(0, top.size() - 7);
  if (!fs::exists(cache + "/done")) {
    fs::remove_all(cache);
    fs::create_directories(cache);
    auto r = run_shell(
        "tar -C " + cache + " -xJf " + tarball +
        " --wildcards '*/Makefile*' '*/Kconfig*' '*/scripts/*' '*/arch/*/configs/*' '*/arch/*/tools/*' "
        "'*/arch/x86/Kbuild' '*/arch/arm64/Kbuild' && touch " +
        cache + "/done");
    if (r.code != 0) return {};
  }
  return cache + "/" + top;
}

// A hard-linked copy of the cached tree (patch and make replace files by
// rename, so the cache is never changed).
std::string tree_copy(const std::string& cache, const std::string& dir) {
  std::string t = dir + "/linux";
  if (run_shell("cp -al " + cache + " " + t).code != 0) return {};
  return t;
}

}  // namespace

TEST(KernelConfig, LinuxSource61RefusedWithoutPatchThenConfiguredWithAStandIn) {
  std::string cache = linux_source_cache();
  if (cache.empty()) GTEST_SKIP() << "Debian's linux-source-6.1 is not installed (scripts/install-deps)";
  TempDir t;
  std::string src = tree_copy(cache, t.path);
  ASSERT_FALSE(src.empty());

  Out no = rc_run("kernel config --source " + src);
  EXPECT_EQ(no.rc, 2) << no.text;
  EXPECT_EQ(lines(no.text), 1) << no.text;
  EXPECT_NE(no.text.find("older than 6.12"), std::string::npos) << no.text;
  EXPECT_NE(no.text.find("--rt-patch"), std::string::npos);
  EXPECT_FALSE(fs::exists(src + "/rtcell-rt.config"));  // refused before writing anything

  // The stand-in patch (see the top comment), made with diff from this tree.
  std::string patch = t.path + "/standin-rt.patch";
  ASSERT_EQ(
      run_shell("cd " + t.path + " && mkdir -p a/arch/x86 b/arch/x86 && cp " + src +
                "/arch/x86/Kconfig a/arch/x86/Kconfig && sed '/^config X86$/,/def_bool y/ s/def_bool "
                "y/def_bool y\\n\\tselect "
                "ARCH_SUPPORTS_RT/' a/arch/x86/Kconfig > b/arch/x86/Kconfig && printf -- '-rt-standin\\n' > "
                "b/localversion-rt; diff -Nru a b > " +
                patch + "; test -s " + patch)
          .code,
      0);
  Out bad = rc_run("kernel config --source " + src + " --rt-patch /etc/hostname");
  EXPECT_EQ(bad.rc, 2) << bad.text;

  Out ok = rc_run("kernel config --source " + src + " --rt-patch " + patch +
                  " --localversion -x --running 6.1.0-x");
  ASSERT_EQ(ok.rc, 0) << ok.text << slurp(src + "/rtcell-kconfig.log");
  EXPECT_EQ(slurp(src + "/localversion-rt"), "-rt-standin\n");  // the stand-in was applied
  std::string cfg = slurp(src + "/.config");
  EXPECT_NE(cfg.find("\nCONFIG_PREEMPT_RT=y\n"), std::string::npos);
  EXPECT_NE(cfg.find("\nCONFIG_HZ=1000\n"), std::string::npos);
  EXPECT_NE(cfg.find("\nCONFIG_NO_HZ_FULL=y\n"), std::string::npos);
  EXPECT_NE(cfg.find("\nCONFIG_LOCALVERSION=\"-x\"\n"), std::string::npos);
  EXPECT_NE(ok.text.find("-rt-standin-x"), std::string::npos) << ok.text;  // the release it will report
  EXPECT_NE(ok.text.find("make -C " + src + " -j$(nproc)"), std::string::npos) << ok.text;
  EXPECT_EQ(rc_run("check --kconfig " + src + "/.config").rc, 0);
}

TEST(KernelConfig, Arm64CrossWithoutRtSupportFailsTheRules) {
  std::string cache = linux_source_cache();
  if (cache.empty()) GTEST_SKIP() << "Debian's linux-source-6.1 is not installed (scripts/install-deps)";
  if (std::system("command -v aarch64-linux-gnu-gcc >/dev/null") != 0)
    GTEST_SKIP() << "no aarch64-linux-gnu-gcc (gcc-aarch64-linux-gnu)";
  TempDir t;
  std::string src = tree_copy(cache, t.path);
  ASSERT_FALSE(src.empty());
  // localversion-rt marks the tree as patched, though nothing makes arm64
  // select ARCH_SUPPORTS_RT: PREEMPT_RT cannot stick, and the rules must say so.
  spit(src + "/localversion-rt", "-rt0\n");
  Out o = rc_run("kernel config --source " + src +
                 " --arch arm64 --localversion -tegra --running 5.15.148-tegra");
  EXPECT_EQ(o.rc, 1) << o.text << slurp(src + "/rtcell-kconfig.log");
  utsname u{};
  ASSERT_EQ(::uname(&u), 0);
  const bool cross = std::string(u.machine) != "aarch64";
  EXPECT_NE(o.text.find(cross ? "ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- olddefconfig"
                              : "ARCH=arm64 olddefconfig"),
            std::string::npos)
      << o.text;
  EXPECT_NE(o.text.find("kernel.preempt_rt"), std::string::npos) << o.text;
  EXPECT_NE(slurp(src + "/.config").find("CONFIG_ARM64=y"), std::string::npos);
}
