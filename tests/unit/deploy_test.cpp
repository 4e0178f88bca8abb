// Every manifest under deploy/ (docs/k8s.md) parses, has the fields the
// API server and the kubelet require, and agrees with the others: the
// RuntimeClass handler is the runtime that the containerd and k3s snippets
// define, whose BinaryName is rtcell-runtime; the ConfigMap's node.yaml is
// a node configuration the plugin accepts; the example pod asks for the
// plugin's resource through the RuntimeClass.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "k8s/node_config.hpp"

namespace {

namespace fs = std::filesystem;
const fs::path kDeploy = fs::path(RTCELL_SOURCE_DIR) / "deploy";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// kind -> documents, from every *.yaml under deploy/.
std::multimap<std::string, YAML::Node> documents() {
  std::multimap<std::string, YAML::Node> out;
  for (const auto& e : fs::directory_iterator(kDeploy)) {
    if (e.path().extension() != ".yaml") continue;
    std::vector<YAML::Node> docs;
    EXPECT_NO_THROW(docs = YAML::LoadAllFromFile(e.path().string())) << e.path();
    for (const auto& d : docs) {
      EXPECT_TRUE(d["apiVersion"] && d["apiVersion"].IsScalar()) << e.path() << ": apiVersion";
      EXPECT_TRUE(d["kind"] && d["kind"].IsScalar()) << e.path() << ": kind";
      if (!d["kind"]) continue;
      const std::string kind = d["kind"].as<std::string>();
      if (kind != "KubeletConfiguration") {
        EXPECT_TRUE(d["metadata"] && d["metadata"]["name"]) << e.path() << ": metadata.name";
      }
      out.emplace(kind, d);
    }
  }
  return out;
}

YAML::Node one(const std::multimap<std::string, YAML::Node>& docs, const std::string& kind) {
  EXPECT_EQ(docs.count(kind), 1u) << kind;
  auto it = docs.find(kind);
  return it == docs.end() ? YAML::Node() : it->second;
}

// The runtimes a containerd CRI configuration defines: name -> BinaryName.
std::map<std::string, std::string> runtimes(const std::string& toml) {
  std::map<std::string, std::string> out;
  const std::regex table(
      R"re(\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.([A-Za-z0-9_-]+)(\.options)?\])re");
  const std::regex binary(R"re(^\s*BinaryName\s*=\s*"([^"]+)")re");
  std::string current;
  std::istringstream in(toml);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, table)) {
      current = m[1];
      out.emplace(current, "");
    } else if (!line.empty() && line.find('[') == 0) {
      current.clear();
    } else if (!current.empty() && std::regex_search(line, m, binary)) {
      out[current] = m[1];
    }
  }
  return out;
}

TEST(Deploy, ManifestsParseWithRequiredFields) {
  auto docs = documents();
  for (const char* kind : {"ConfigMap", "DaemonSet", "RuntimeClass", "KubeletConfiguration", "Pod"})
    EXPECT_EQ(docs.count(kind), 1u) << kind;
}

TEST(Deploy, RuntimeClassHandlerIsTheContainerdRuntime) {
  auto docs = documents();
  YAML::Node rc = one(docs, "RuntimeClass");
  ASSERT_TRUE(rc["handler"]);
  const std::string handler = rc["handler"].as<std::string>();
  EXPECT_EQ(rc["apiVersion"].as<std::string>(), "node.k8s.io/v1");
  for (const char* file : {"containerd-config.toml", "k3s-config.toml.tmpl"}) {
    auto r = runtimes(slurp(kDeploy / file));
    ASSERT_TRUE(r.count(handler)) << file << " defines no runtime '" << handler << "'";
    EXPECT_EQ(fs::path(r[handler]).filename(), "rtcell-runtime") << file;
    const std::string text = slurp(kDeploy / file);
    EXPECT_NE(text.find("runtime_type = \"io.containerd.runc.v2\""), std::string::npos) << file;
    EXPECT_NE(text.find("container_annotations = [\"rtcell.io/*\"]"), std::string::npos) << file;
  }
  EXPECT_EQ(slurp(kDeploy / "k3s-config.toml.tmpl").rfind("{{ template \"base\" . }}", 0), 0u);
}

TEST(Deploy, DaemonSetRunsThePluginWithTheKubeletDirectoryAndAValidConfig) {
  auto docs = documents();
  YAML::Node ds = one(docs, "DaemonSet");
  YAML::Node spec = ds["spec"]["template"]["spec"];
  ASSERT_TRUE(spec["containers"] && spec["containers"].size() == 1);
  YAML::Node c = spec["containers"][0];
  EXPECT_EQ(fs::path(c["command"][0].as<std::string>()).filename(), "rtcell-device-plugin");
  EXPECT_EQ(YAML::Dump(ds["spec"]["selector"]["matchLabels"]),
            YAML::Dump(ds["spec"]["template"]["metadata"]["labels"]));
  std::map<std::string, std::string> mounts;
  for (const auto& m : c["volumeMounts"])
    mounts[m["name"].as<std::string>()] = m["mountPath"].as<std::string>();
  std::map<std::string, YAML::Node> volumes;
  for (const auto& v : spec["volumes"])
    volumes[v["name"].as<std::string>()] = static_cast<const YAML::Node&>(v);
  for (const auto& [name, path] : mounts) EXPECT_TRUE(volumes.count(name)) << "volume " << name;
  EXPECT_EQ(mounts["device-plugins"], "/var/lib/kubelet/device-plugins");
  EXPECT_EQ(volumes["device-plugins"]["hostPath"]["path"].as<std::string>(),
            "/var/lib/kubelet/device-plugins");
  // The ConfigMap it mounts holds a node configuration the plugin accepts,
  // at the path its --config names.
  YAML::Node cm = one(docs, "ConfigMap");
  EXPECT_EQ(volumes["config"]["configMap"]["name"].as<std::string>(),
            cm["metadata"]["name"].as<std::string>());
  ASSERT_TRUE(cm["data"]["node.yaml"]);
  EXPECT_EQ(c["command"][2].as<std::string>(), mounts["config"] + "/node.yaml");
  rtcell::k8s::NodeConfig nc;
  ASSERT_NO_THROW(nc =
                      rtcell::k8s::parse_node_config(cm["data"]["node.yaml"].as<std::string>(), "node.yaml"));
  EXPECT_EQ(nc.socket_dir, "/var/lib/kubelet/device-plugins");
  EXPECT_FALSE(nc.devices.empty());
}

TEST(Deploy, KubeletProfileAndExamplePod) {
  auto docs = documents();
  YAML::Node k = one(docs, "KubeletConfiguration");
  EXPECT_EQ(k["cpuManagerPolicy"].as<std::string>(), "static");
  EXPECT_FALSE(k["reservedSystemCPUs"].as<std::string>().empty());
  YAML::Node pod = one(docs, "Pod");
  EXPECT_EQ(pod["spec"]["runtimeClassName"].as<std::string>(),
            one(docs, "RuntimeClass")["metadata"]["name"].as<std::string>());
  YAML::Node limits = pod["spec"]["containers"][0]["resources"]["limits"];
  ASSERT_TRUE(limits["rtcell.io/rt-cpu"]);
  EXPECT_EQ(limits["rtcell.io/rt-cpu"].as<int>(), 1);
  // Extended resources: requests, if given, must equal limits; Guaranteed
  // QoS (requests == limits for cpu and memory) for the static CPU manager.
  YAML::Node requests = pod["spec"]["containers"][0]["resources"]["requests"];
  EXPECT_EQ(requests["cpu"].as<std::string>(), limits["cpu"].as<std::string>());
  EXPECT_EQ(requests["memory"].as<std::string>(), limits["memory"].as<std::string>());
  YAML::Node ann = pod["metadata"]["annotations"];
  EXPECT_TRUE(ann["rtcell.io/manifest"] && ann["rtcell.io/cell"]);
}

}  // namespace
