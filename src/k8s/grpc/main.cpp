// rtcell-device-plugin: a program of its own rather than an `rtcell` verb.
// A DaemonSet runs exactly one long-lived process per node, and this one
// needs gRPC and protobuf, shared libraries of a few MB that every
// `rtcell run` would otherwise load and resolve at launch (rtcell links
// statically for launch speed: CMakeLists.txt, docs/performance.md). The
// configuration parser and `rtcell cdi generate` stay in librtcell_k8s,
// shared by both programs.
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "front/cdi.hpp"
#include "k8s/grpc/plugin.hpp"
#include "rtcell/error.hpp"

int main(int argc, char** argv) {
  using namespace rtcell;
  // Before gRPC starts a thread: run() takes these through a signalfd.
  sigset_t sigs = k8s::plugin_signals();
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  CLI::App app{
      "rtcell-device-plugin: the kubelet device plugin for real-time CPUs and devices (docs/k8s.md)"};
  std::string config = "/etc/rtcell/node.yaml";
  std::string root = "/";
  std::string socket_dir;
  std::vector<std::string> cdi_dirs;
  app.add_option("-c,--config", config,
                 "node configuration (YAML, docs/k8s.md); default /etc/rtcell/node.yaml");
  app.add_option("--root", root, "read /proc, /sys and device nodes under this tree (default /)");
  app.add_option("--socket-dir", socket_dir, "the kubelet's device-plugin directory (overrides socket_dir)");
  app.add_option("--cdi-spec-dir", cdi_dirs,
                 "CDI spec directory (repeatable; default RTCELL_CDI_SPEC_DIRS or /etc/cdi, /var/run/cdi)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "rtcell-device-plugin: " << e.what() << " (see rtcell-device-plugin --help)\n";
    return kExitUsage;
  }
  try {
    k8s::PluginOptions o;
    o.config = k8s::load_node_config(config);
    if (!socket_dir.empty()) {
      if (socket_dir.front() != '/' || socket_dir.size() > 60)
        usage_error("--socket-dir '" + socket_dir + "' must be an absolute directory of at most 60 bytes");
      o.config.socket_dir = socket_dir;
    }
    o.root = root;
    o.cdi_dirs = front::cdi::spec_dirs(cdi_dirs, std::getenv(front::cdi::kSpecDirsEnv));
    k8s::Plugin plugin(std::move(o));
    plugin.run();
    return kExitOk;
  } catch (const Error& e) {
    std::cerr << "rtcell-device-plugin: " << e.what() << '\n';
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "rtcell-device-plugin: internal error: " << e.what() << '\n';
    return kExitSystem;
  }
}
