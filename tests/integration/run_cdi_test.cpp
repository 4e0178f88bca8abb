// `rtcell run --device vendor.com/class=name` on the real kernel: a CDI spec
// written here, for a device this host has, reaches the cell as a node at the
// spec's container path that the device cgroup lets through (with the
// spec's permissions), a read-only bind mount, an env var and hooks run at
// their OCI steps.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <fstream>

#include "integration/run_support.hpp"

namespace rtcell::test {
namespace {

class RunCdi : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "rtcell run needs root (namespaces, cgroups)";
    if (!path_exists(kProbe)) GTEST_SKIP() << "probe not built: " << kProbe;
    // A node outside the cell's minimal /dev, so only the spec's rule opens it.
    for (const char* d : {"/dev/net/tun", "/dev/fuse", "/dev/loop-control"})
      if (path_exists(d)) {
        dev_ = d;
        break;
      }
    if (dev_.empty()) GTEST_SKIP() << "host has none of /dev/net/tun, /dev/fuse, /dev/loop-control";
  }

  // One spec with a device "dev" (node, mount, env, hooks) and "wo" (the
  // same node, write-only in the device cgroup).
  void write_spec(const std::string& cdi_dir, const std::string& vol, const std::string& out) const {
    std::ofstream(cdi_dir + "/test.yaml")
        << "cdiVersion: 0.6.0\n"
           "kind: rtcell.test/dev\n"
           "devices:\n"
           "- name: dev\n"
           "  containerEdits:\n"
           "    deviceNodes: [{path: /dev/cdi-dev, hostPath: "
        << dev_
        << ", permissions: rw}]\n"
           "    mounts: [{hostPath: "
        << vol
        << ", containerPath: /mnt, options: [bind]}]\n"
           "    env: [CDI_TEST=from-spec]\n"
           "    hooks:\n"
           "    - {hookName: createContainer, path: /bin/sh, args: [sh, -c, 'cat > "
        << out
        << "/created.json']}\n"
           "    - {hookName: poststop, path: /bin/sh, args: [sh, -c, 'cat > "
        << out
        << "/stopped.json']}\n"
           "- name: wo\n"
           "  containerEdits:\n"
           "    deviceNodes: [{path: /dev/cdi-dev, hostPath: "
        << dev_ << ", permissions: w}]\n";
  }

  std::string dev_;
};

TEST_F(RunCdi, CellSeesTheSpecsNodeMountAndEnvAndRunsItsHooks) {
  TempDir d;
  const std::string cdi = d.path + "/cdi", vol = d.path + "/vol", out = d.path + "/out";
  for (const auto& p : {cdi, vol, out}) ::mkdir(p.c_str(), 0755);
  std::ofstream(vol + "/file") << "in-volume\n";
  write_spec(cdi, vol, out);
  const std::vector<std::string> base{"-q", "-u", "0", "--host-root", "--cdi-spec-dir", cdi};

  std::vector<std::string> args{"run"};
  args.insert(args.end(), base.begin(), base.end());
  const std::string name = unique_name("cdi");
  args.insert(args.end(), {"--name", name, "--device", "rtcell.test/dev=dev", "--", "/bin/sh", "-c",
                           "echo env=$CDI_TEST; cat /mnt/file; test -c /dev/cdi-dev && echo node=yes; "
                           "echo x > /mnt/w 2>/dev/null || echo mount=ro"});
  Result r = run(args);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "env=from-spec\nin-volume\nnode=yes\nmount=ro\n") << r.err;
  // The hooks ran at their steps with the cell's state on stdin.
  EXPECT_NE(slurp(out + "/created.json").find("\"id\":\"" + name + "\""), std::string::npos);
  EXPECT_NE(slurp(out + "/created.json").find("\"status\":\"creating\""), std::string::npos);
  EXPECT_NE(slurp(out + "/stopped.json").find("\"status\":\"stopped\""), std::string::npos);
  EXPECT_TRUE(leftover_cgroups(name).empty());

  // The device cgroup allows the node with the spec's permissions: rw opens
  // it, w alone does not (EPERM from the cgroup, not the file mode: the
  // cell is the host's root).
  std::vector<std::string> flags = base;
  flags.insert(flags.end(), {"--device", "rtcell.test/dev=dev"});
  Result rw = run_probe(flags, {"try", "open", "/dev/cdi-dev"});
  EXPECT_EQ(rw.out, "try=open result=ok\n") << rw.err;
  flags = base;
  flags.insert(flags.end(), {"--device", "rtcell.test/dev=wo"});
  Result wo = run_probe(flags, {"try", "open", "/dev/cdi-dev"});
  EXPECT_EQ(wo.out, "try=open result=fail errno=EPERM\n") << wo.err;
}

TEST_F(RunCdi, SpecDirsFromTheEnvironment) {
  TempDir d;
  const std::string cdi = d.path + "/cdi";
  ::mkdir(cdi.c_str(), 0755);
  std::ofstream(cdi + "/env.json") << R"({"cdiVersion": "0.6.0", "kind": "rtcell.test/env",
      "devices": [{"name": "a", "containerEdits": {"env": ["CDI_ENV=a"]}}]})";
  Result r = run_argv({"/usr/bin/env", "RTCELL_CDI_SPEC_DIRS=/no/such/dir:" + cdi, kRtcell, "run", "-q",
                       "--device", "rtcell.test/env=a", "--", "/bin/sh", "-c", "echo $CDI_ENV"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "a\n") << r.err;
}

TEST_F(RunCdi, BadRequestsAreOneLineAndCreateNothing) {
  TempDir d;
  const std::string cdi = d.path + "/cdi", vol = d.path + "/vol", out = d.path + "/out";
  for (const auto& p : {cdi, vol, out}) ::mkdir(p.c_str(), 0755);
  write_spec(cdi, vol, out);
  std::ofstream(d.path + "/broken.yaml") << "cdiVersion: [\n";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--cdi-spec-dir", cdi, "--device", "rtcell.test/gpu=0"}, "kinds found: rtcell.test/dev"},
      {{"--cdi-spec-dir", cdi, "--device", "rtcell.test/dev=9"}, "it has dev and wo"},
      {{"--cdi-spec-dir", d.path, "--device", "rtcell.test/dev=dev"}, "broken.yaml:"},
      {{"--cdi-spec-dir", cdi, "--device", "rtcell.test/dev=dev", "--device", "rtcell.test/dev=wo"},
       "both define the device node /dev/cdi-dev"},
  };
  for (const auto& [flags, says] : cases) {
    const std::string name = unique_name("cdi-bad");
    std::vector<std::string> args{"run", "--name", name};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"--", "/bin/true"});
    Result r = run(args);
    EXPECT_EQ(r.code, 2) << says << ": " << r.err;
    EXPECT_TRUE(only_line(r.err)) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << says << " in: " << r.err;
    EXPECT_TRUE(leftover_cgroups(name).empty());
  }
  // rtcell create cannot carry hooks past itself (rtcell start runs none).
  Result c = run({"create", unique_name("cdi-create"), "--cdi-spec-dir", cdi, "--device",
                  "rtcell.test/dev=dev", "--", "/bin/true"});
  EXPECT_EQ(c.code, 2) << c.err;
  EXPECT_NE(c.err.find("use rtcell run"), std::string::npos) << c.err;
}

// `rtcell cdi generate` for a node configuration's device class writes a
// spec that `rtcell run --device rtcell.io/CLASS=NAME` resolves: the node
// and the env reach the cell (what rtcell-device-plugin's CDI names need).
TEST_F(RunCdi, GeneratedSpecResolvesForRun) {
  TempDir d;
  const std::string cdi = d.path + "/cdi";
  ::mkdir(cdi.c_str(), 0755);
  std::ofstream(d.path + "/node.yaml") << "devices:\n  - name: ctl\n    globs: [" << dev_ << "]\n";
  Result g = run({"cdi", "generate", "-c", d.path + "/node.yaml", "-o", cdi});
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_NE(g.out.find(cdi + "/rtcell-ctl.json (rtcell.io/ctl, 1 devices)"), std::string::npos) << g.out;
  const std::string id = dev_.substr(dev_.rfind('/') + 1);
  std::string var = "RTCELL_DEVICE_CTL_" + id;
  for (char& ch : var)
    ch = std::isalnum(static_cast<unsigned char>(ch)) ? static_cast<char>(std::toupper(ch)) : '_';
  Result r = run({"run", "-q", "-u", "0", "--host-root", "--cdi-spec-dir", cdi, "--name",
                  unique_name("cdi-gen"), "--device", "rtcell.io/ctl=" + id, "--", "/bin/sh", "-c",
                  "test -c " + dev_ + " && echo node=yes; echo env=$" + var});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "node=yes\nenv=" + dev_ + "\n") << r.err;
  // Bad input to generate: one line, exit 2.
  Result bad = run({"cdi", "generate", "-c", d.path + "/node.yaml", "-o", d.path + "/none"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_TRUE(only_line(bad.err)) << bad.err;
}

}  // namespace
}  // namespace rtcell::test
