// CDI devices (front/cdi): the spec parser on literal JSON and YAML, the
// resolution of qualified names across spec directories written here, and
// build_spec() turning a resolved device into the cell's nodes, device
// rules, mounts, env and hooks. Nothing here needs root.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "front/cdi.hpp"
#include "front/flags.hpp"
#include "rtcell/error.hpp"
#include "unit/error_helpers.hpp"

namespace rtcell::front::cdi {
namespace {

using rtcell::test::kind_of;
using rtcell::test::message_of;

namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Spec directories written by the test, removed at its end.
struct SpecDirs {
  std::string path;
  SpecDirs() {
    char tmpl[] = "/tmp/rtcell-cdi-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  SpecDirs(const SpecDirs&) = delete;
  SpecDirs& operator=(const SpecDirs&) = delete;
  ~SpecDirs() { fs::remove_all(path); }
  std::string dir(const std::string& name) const {
    fs::create_directories(path + "/" + name);
    return path + "/" + name;
  }
  std::string write(const std::string& dir_name, const std::string& file, const std::string& text) const {
    const std::string p = dir(dir_name) + "/" + file;
    std::ofstream(p) << text;
    return p;
  }
};

// What `nvidia-ctk cdi generate --mode=csv` writes, cut down: a spec-wide
// edit, two devices and "all".
constexpr const char* kYaml = R"(cdiVersion: 0.5.0
kind: example.com/gpu
devices:
- name: "0"
  containerEdits:
    deviceNodes:
    - path: /dev/gpu0
      hostPath: /dev/null
      permissions: rw
- name: all
  containerEdits:
    deviceNodes:
    - path: /dev/gpu0
      hostPath: /dev/null
      permissions: rw
containerEdits:
  env:
  - GPU_VISIBLE=all
  mounts:
  - hostPath: /usr/lib/libgpu.so
    containerPath: /usr/lib/libgpu.so
    options: [ro, nosuid, nodev, bind]
  hooks:
  - hookName: createContainer
    path: /usr/bin/gpu-hook
    args: [gpu-hook, update-ldcache]
    timeout: 5
)";

constexpr const char* kJson = R"({"cdiVersion": "0.5.0", "kind": "example.com/gpu",
  "devices": [
    {"name": "0", "containerEdits": {"deviceNodes": [{"path": "/dev/gpu0", "hostPath": "/dev/null", "permissions": "rw"}]}},
    {"name": "all", "containerEdits": {"deviceNodes": [{"path": "/dev/gpu0", "hostPath": "/dev/null", "permissions": "rw"}]}}],
  "containerEdits": {"env": ["GPU_VISIBLE=all"],
    "mounts": [{"hostPath": "/usr/lib/libgpu.so", "containerPath": "/usr/lib/libgpu.so", "options": ["ro", "nosuid", "nodev", "bind"]}],
    "hooks": [{"hookName": "createContainer", "path": "/usr/bin/gpu-hook", "args": ["gpu-hook", "update-ldcache"], "timeout": 5}]}})";

void expect_example(const Spec& s) {
  EXPECT_EQ(s.version, "0.5.0");
  EXPECT_EQ(s.kind, "example.com/gpu");
  ASSERT_EQ(s.devices.size(), 2U);
  EXPECT_EQ(s.devices[0].name, "0");
  ASSERT_EQ(s.devices[0].edits.device_nodes.size(), 1U);
  const DeviceNode& n = s.devices[0].edits.device_nodes[0];
  EXPECT_EQ(n.path, "/dev/gpu0");
  EXPECT_EQ(n.host(), "/dev/null");
  EXPECT_EQ(n.permissions, "rw");
  EXPECT_FALSE(n.major.has_value());
  EXPECT_EQ(s.edits.env, std::vector<std::string>{"GPU_VISIBLE=all"});
  ASSERT_EQ(s.edits.mounts.size(), 1U);
  EXPECT_EQ(s.edits.mounts[0].options, (std::vector<std::string>{"ro", "nosuid", "nodev", "bind"}));
  ASSERT_EQ(s.edits.hooks.size(), 1U);
  EXPECT_EQ(s.edits.hooks[0].hook_name, "createContainer");
  EXPECT_EQ(s.edits.hooks[0].args, (std::vector<std::string>{"gpu-hook", "update-ldcache"}));
  EXPECT_EQ(s.edits.hooks[0].timeout_s, 5);
}

TEST(FrontCdi, YamlAndJsonSpecsReadTheSame) {
  expect_example(parse_spec(kYaml, "/etc/cdi/gpu.yaml"));
  expect_example(parse_spec(kJson, "/etc/cdi/gpu.json"));
  // Numbers as YAML writes them: a decimal, an octal mode.
  const Spec s = parse_spec(R"(cdiVersion: 0.6.0
kind: example.com/x
devices:
- name: a
  containerEdits:
    deviceNodes:
    - {path: /dev/x, type: c, major: 10, minor: 200, fileMode: 0o600, uid: 0, gid: 5}
)",
                            "x.yaml");
  const DeviceNode& n = s.devices.at(0).edits.device_nodes.at(0);
  EXPECT_EQ(n.type, 'c');
  EXPECT_EQ(n.major, 10);
  EXPECT_EQ(n.minor, 200);
  EXPECT_EQ(n.file_mode, static_cast<mode_t>(0600));
  EXPECT_EQ(n.gid, static_cast<gid_t>(5));
}

TEST(FrontCdi, QualifiedNames) {
  for (const char* ok :
       {"nvidia.com/gpu=0", "nvidia.com/gpu=all", "vendor.com/class=MIG-0:1", "a.b-c/x_y.z=n"})
    EXPECT_TRUE(is_qualified_name(ok)) << ok;
  for (const char* bad :
       {"nvidia.com/gpu", "gpu=0", "vendor.com/a/b=0", "-v.com/x=0", "v.com/x=", "v.com/x=a b", "v.com/x=-a"})
    EXPECT_FALSE(is_qualified_name(bad)) << bad;
  const front::Device d = parse_device("nvidia.com/gpu=0");
  EXPECT_EQ(d.cdi, "nvidia.com/gpu=0");
  EXPECT_TRUE(d.path.empty());
  EXPECT_TRUE(parse_device("/dev/null:rw").cdi.empty());
  const std::string m = message_of([] { parse_device("nvidia.com/gpu/x=0"); });
  EXPECT_TRUE(has(m, "vendor.com/class=name")) << m;
}

TEST(FrontCdi, MalformedSpecsAreOneLineNamingTheFile) {
  struct Case {
    const char* file;
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"/d/bad.yaml", "cdiVersion: 0.5.0\nkind: a.com/b\ndevices: [\n  - name: x\n", "/d/bad.yaml:"},
      {"/d/bad.json", "{\"cdiVersion\": \"0.5.0\",\n\"kind\": }", "/d/bad.json:2"},
      {"/d/v.yaml", "cdiVersion: 9.0.0\nkind: a.com/b\ndevices: [{name: x}]\n", "cdiVersion"},
      {"/d/k.yaml", "cdiVersion: 0.5.0\nkind: gpu\ndevices: [{name: x}]\n", "kind 'gpu'"},
      {"/d/n.yaml", "cdiVersion: 0.5.0\nkind: a.com/b\ndevices: []\n", "devices"},
      {"/d/f.yaml", "cdiVersion: 0.5.0\nkind: a.com/b\ndevices: [{name: x, containerEdits: {devcies: []}}]\n",
       "devices[0].containerEdits.devcies"},
      {"/d/g.yaml",
       "cdiVersion: 0.7.0\nkind: a.com/b\ndevices: [{name: x, containerEdits: {additionalGids: [5]}}]\n",
       "not supported by rtcell yet"},
      {"/d/h.yaml",
       "cdiVersion: 0.5.0\nkind: a.com/b\ndevices: [{name: x}]\ncontainerEdits: {hooks: [{hookName: boot, "
       "path: /x}]}\n",
       "'boot' is not an OCI hook"},
      {"/d/p.yaml",
       "cdiVersion: 0.5.0\nkind: a.com/b\ndevices: [{name: x, containerEdits: {deviceNodes: [{path: "
       "dev/x}]}}]\n",
       "must be an absolute path"},
      {"/d/e.yaml",
       "cdiVersion: 0.5.0\nkind: a.com/b\ndevices: [{name: x, containerEdits: {env: [NOVALUE]}}]\n",
       "KEY=VALUE"},
      {"/d/twice.yaml", "cdiVersion: 0.5.0\nkind: a.com/b\ndevices: [{name: x}, {name: x}]\n",
       "defined twice"},
  };
  for (const auto& c : cases) {
    const std::string m = message_of([&] { parse_spec(c.text, c.file); });
    EXPECT_TRUE(has(m, c.file)) << m;
    EXPECT_TRUE(has(m, c.says)) << c.says << " in: " << m;
    EXPECT_FALSE(has(m, "\n")) << m;
    EXPECT_EQ(kind_of([&] { parse_spec(c.text, c.file); }), ErrorKind::Usage);
  }
  // The YAML line is the one the parser stopped at (1-based).
  const std::string m = message_of([] { parse_spec("cdiVersion: 0.5.0\nkind: [a\n", "/d/l.yaml"); });
  EXPECT_TRUE(has(m, "/d/l.yaml:3") || has(m, "/d/l.yaml:2")) << m;
}

TEST(FrontCdi, SpecDirsFlagThenEnvThenDefaults) {
  EXPECT_EQ(spec_dirs({"/a", "/b"}, "/c:/d"), (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(spec_dirs({}, "/c::/d"), (std::vector<std::string>{"/c", "/d"}));
  EXPECT_EQ(spec_dirs({}, ""), (std::vector<std::string>{"/etc/cdi", "/var/run/cdi"}));
  EXPECT_EQ(spec_dirs({}, nullptr), (std::vector<std::string>{"/etc/cdi", "/var/run/cdi"}));
}

TEST(FrontCdi, ResolveMergesSpecAndDeviceEdits) {
  SpecDirs d;
  d.write("etc", "gpu.yaml", kYaml);
  d.write("etc", "README", "not a spec");  // other files are not read
  const Registry reg = load({d.path + "/etc", d.path + "/none"});
  ASSERT_EQ(reg.specs.size(), 1U);
  const Resolved r = resolve(reg, {"example.com/gpu=0"});
  EXPECT_EQ(r.edits.env, std::vector<std::string>{"GPU_VISIBLE=all"});
  EXPECT_EQ(r.edits.device_nodes.size(), 1U);
  EXPECT_EQ(r.edits.mounts.size(), 1U);
  EXPECT_EQ(r.edits.hooks.size(), 1U);
  ASSERT_EQ(r.from.size(), 1U);
  EXPECT_TRUE(has(r.from[0], "gpu.yaml"));
  // The same device twice, or "0" and "all" (the same node): once.
  const Resolved twice = resolve(reg, {"example.com/gpu=0", "example.com/gpu=all", "example.com/gpu=0"});
  EXPECT_EQ(twice.edits.device_nodes.size(), 1U);
  EXPECT_EQ(twice.edits.env.size(), 1U);
  EXPECT_EQ(twice.edits.hooks.size(), 1U);
}

TEST(FrontCdi, AllIsEveryDeviceOfTheKindUnlessTheSpecNamesOne) {
  SpecDirs d;
  d.write("etc", "x.json", R"({"cdiVersion": "0.6.0", "kind": "example.com/x", "devices": [
      {"name": "a", "containerEdits": {"env": ["A=1"]}},
      {"name": "b", "containerEdits": {"env": ["B=1"]}}]})");
  const Resolved r = resolve(load({d.path + "/etc"}), {"example.com/x=all"});
  EXPECT_EQ(r.edits.env, (std::vector<std::string>{"A=1", "B=1"}));
  EXPECT_EQ(r.from.size(), 2U);
}

TEST(FrontCdi, UnknownKindOrNameSaysWhatExists) {
  SpecDirs d;
  d.write("etc", "gpu.yaml", kYaml);
  const Registry reg = load({d.path + "/etc", d.path + "/run"});
  std::string m = message_of([&] { resolve(reg, {"example.com/fpga=0"}); });
  EXPECT_TRUE(has(m, "no CDI spec of kind example.com/fpga")) << m;
  EXPECT_TRUE(has(m, "kinds found: example.com/gpu")) << m;
  EXPECT_TRUE(has(m, d.path + "/etc:" + d.path + "/run")) << m;
  EXPECT_TRUE(has(m, "--cdi-spec-dir")) << m;
  m = message_of([&] { resolve(reg, {"example.com/gpu=7"}); });
  EXPECT_TRUE(has(m, "has no device '7' (it has 0 and all")) << m;
  EXPECT_EQ(kind_of([&] { resolve(reg, {"example.com/gpu=7"}); }), ErrorKind::Usage);
  // No directory at all: no kinds.
  m = message_of([&] { resolve(load({d.path + "/none"}), {"example.com/gpu=0"}); });
  EXPECT_TRUE(has(m, "kinds found: none")) << m;
  // A malformed file anywhere in the search is an error naming it.
  d.write("run", "broken.yaml", "cdiVersion: [\n");
  m = message_of([&] { load({d.path + "/etc", d.path + "/run"}); });
  EXPECT_TRUE(has(m, d.path + "/run/broken.yaml:")) << m;
}

TEST(FrontCdi, LaterDirectoryOverridesSameDirectoryConflicts) {
  SpecDirs d;
  const char* spec = R"({"cdiVersion": "0.6.0", "kind": "example.com/x",
      "devices": [{"name": "a", "containerEdits": {"env": ["FROM=%s"]}}]})";
  auto text = [&](const char* from) {
    std::string s = spec;
    s.replace(s.find("%s"), 2, from);
    return s;
  };
  d.write("etc", "x.json", text("etc"));
  d.write("run", "x.json", text("run"));
  Resolved r = resolve(load({d.path + "/etc", d.path + "/run"}), {"example.com/x=a"});
  EXPECT_EQ(r.edits.env, std::vector<std::string>{"FROM=run"});
  r = resolve(load({d.path + "/run", d.path + "/etc"}), {"example.com/x=a"});
  EXPECT_EQ(r.edits.env, std::vector<std::string>{"FROM=etc"});

  d.write("run", "y.json", text("run-again"));
  const std::string m = message_of([&] {
    resolve(load({d.path + "/etc", d.path + "/run"}), {"example.com/x=a"});
  });
  EXPECT_TRUE(has(m, "defined in both")) << m;
  EXPECT_TRUE(has(m, "/run/x.json") && has(m, "/run/y.json")) << m;
}

TEST(FrontCdi, EditsThatDisagreeAreRefused) {
  SpecDirs d;
  d.write("etc", "x.yaml", R"(cdiVersion: 0.6.0
kind: example.com/x
devices:
- name: a
  containerEdits:
    deviceNodes: [{path: /dev/x0, hostPath: /dev/null}]
    env: [MODE=a]
- name: b
  containerEdits:
    deviceNodes: [{path: /dev/x0, hostPath: /dev/zero}]
- name: c
  containerEdits:
    env: [MODE=c]
- name: d
  containerEdits:
    mounts: [{hostPath: /etc, containerPath: /mnt}]
- name: e
  containerEdits:
    mounts: [{hostPath: /usr, containerPath: /mnt}]
)");
  const Registry reg = load({d.path + "/etc"});
  std::string m = message_of([&] { resolve(reg, {"example.com/x=a", "example.com/x=b"}); });
  EXPECT_TRUE(has(m, "example.com/x=a and example.com/x=b both define the device node /dev/x0")) << m;
  m = message_of([&] { resolve(reg, {"example.com/x=a", "example.com/x=c"}); });
  EXPECT_TRUE(has(m, "env MODE")) << m;
  m = message_of([&] { resolve(reg, {"example.com/x=d", "example.com/x=e"}); });
  EXPECT_TRUE(has(m, "mount at /mnt")) << m;
}

// ---- build_spec(): a resolved device in the cell's spec ----

host::HostFacts facts() {
  host::HostFacts f;
  f.online_cpus = CpuSet::parse("0-1");
  return f;
}

RunFlags cdi_flags(const std::string& dir, std::vector<std::string> names) {
  RunFlags f;
  f.command = {"/bin/sh"};
  f.name = "cdi";
  f.seccomp = SeccompMode::Unconfined;
  f.cdi_spec_dirs = {dir};
  for (const auto& n : names) f.devices.push_back(parse_device(n));
  return f;
}

TEST(FrontCdi, BuildSpecBindsNodesMountsEnvAndHooks) {
  SpecDirs d;
  const std::string vol = d.dir("vol");
  d.write("etc", "t.yaml",
          "cdiVersion: 0.6.0\nkind: example.com/t\ndevices:\n- name: one\n  containerEdits:\n"
          "    deviceNodes: [{path: /dev/cdi-null, hostPath: /dev/null, permissions: rw}]\n"
          "    mounts: [{hostPath: " +
              vol +
              ", containerPath: /mnt, options: [bind, nosuid]}]\n"
              "    env: [CDI_TEST=yes, HOME=/cdi]\n"
              "    hooks: [{hookName: createContainer, path: /bin/true},"
              " {hookName: poststop, path: /bin/true}]\n");
  RunFlags f = cdi_flags(d.path + "/etc", {"example.com/t=one"});
  f.env = {"HOME=/flag"};
  const Built b = build_spec(f, facts());
  const cell::Spec& s = b.spec;
  struct stat null_st {};
  ASSERT_EQ(::stat("/dev/null", &null_st), 0);
  auto node = std::find_if(s.devices.begin(), s.devices.end(),
                           [](const auto& n) { return n.path == "/dev/cdi-null"; });
  ASSERT_NE(node, s.devices.end());
  EXPECT_EQ(node->host_path, "/dev/null");
  EXPECT_EQ(node->type, 'c');
  EXPECT_EQ(node->major, static_cast<int64_t>(major(null_st.st_rdev)));
  bool rule = false;
  for (const auto& r : s.resources.devices)
    rule = rule || (r.type == 'c' && r.major == static_cast<int>(major(null_st.st_rdev)) &&
                    r.minor == static_cast<int>(minor(null_st.st_rdev)) && r.access == "rw");
  EXPECT_TRUE(rule);
  auto mnt =
      std::find_if(s.mounts.begin(), s.mounts.end(), [](const auto& m) { return m.destination == "/mnt"; });
  ASSERT_NE(mnt, s.mounts.end());
  EXPECT_EQ(mnt->source, vol);
  EXPECT_TRUE(mnt->is_bind());
  EXPECT_NE(std::find(mnt->options.begin(), mnt->options.end(), "ro"), mnt->options.end());
  EXPECT_NE(std::find(mnt->options.begin(), mnt->options.end(), "nosuid"), mnt->options.end());
  auto& env = s.process.env;
  EXPECT_NE(std::find(env.begin(), env.end(), "CDI_TEST=yes"), env.end());
  // --env wins over what the spec sets.
  EXPECT_NE(std::find(env.begin(), env.end(), "HOME=/flag"), env.end());
  EXPECT_EQ(std::find(env.begin(), env.end(), "HOME=/cdi"), env.end());
  EXPECT_EQ(s.hooks.create_container.size(), 1U);
  EXPECT_EQ(s.hooks.poststop.size(), 1U);
  EXPECT_TRUE(
      std::any_of(b.notes.begin(), b.notes.end(), [](const auto& n) { return has(n, "example.com/t=one"); }));
}

TEST(FrontCdi, BuildSpecRefusesWhatTheHostCannotGive) {
  SpecDirs d;
  auto spec = [&](const std::string& edits) {
    d.write("etc", "t.yaml",
            "cdiVersion: 0.6.0\nkind: example.com/t\ndevices:\n- name: one\n  containerEdits:\n" + edits);
    return cdi_flags(d.path + "/etc", {"example.com/t=one"});
  };
  struct Case {
    std::string edits, says;
  };
  const Case cases[] = {
      {"    deviceNodes: [{path: /dev/rtcell-no-such-node}]\n", "no such device on this host"},
      {"    deviceNodes: [{path: /dev/x, hostPath: /dev/null, major: 7}]\n", "the spec's major 7"},
      {"    deviceNodes: [{path: /dev/x, hostPath: /dev/null, fileMode: 0o600}]\n", "fileMode 0600"},
      {"    deviceNodes: [{path: /dev/x, hostPath: /etc/hostname}]\n", "not a character or block device"},
      {"    mounts: [{hostPath: /no/such/dir, containerPath: /mnt}]\n", "does not exist"},
      {"    mounts: [{hostPath: /etc, containerPath: /mnt, type: tmpfs}]\n", "not a bind mount"},
      {"    mounts: [{hostPath: /etc, containerPath: /mnt, options: [suid]}]\n", "option suid"},
  };
  for (const auto& c : cases) {
    const RunFlags f = spec(c.edits);
    const std::string m = message_of([&] { build_spec(f, facts()); });
    EXPECT_TRUE(has(m, c.says)) << c.says << " in: " << m;
    EXPECT_FALSE(has(m, "\n")) << m;
    EXPECT_EQ(kind_of([&] { build_spec(f, facts()); }), ErrorKind::Usage);
  }
}

}  // namespace
}  // namespace rtcell::front::cdi
