// rtcell-device-plugin: one kubelet device plugin (API v1beta1) per
// resource of the node configuration (`rtcell.io/rt-cpu`, `rtcell.io/<class>`),
// each a gRPC server on its own socket in the kubelet's directory, registered
// on that directory's kubelet.sock.
//
// One thread (run()) owns everything that changes: it polls a signalfd
// (SIGTERM/SIGINT stop, SIGHUP re-evaluates health now), a timerfd (health
// every health_interval) and inotify on the socket directory. The kubelet,
// when it restarts, removes the plugins' sockets and creates kubelet.sock
// anew (pkg/kubelet/cm/devicemanager): a deleted socket of ours is served
// again, and a created kubelet.sock is registered with again. The gRPC
// threads only read the devices under each resource's mutex; ListAndWatch
// waits on its condition variable for a new version of the list.
#pragma once

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "k8s/node_config.hpp"

namespace rtcell::k8s {

struct PluginOptions {
  NodeConfig config;
  std::string root = "/";             // /proc, /sys and device globs are read under it
  std::vector<std::string> cdi_dirs;  // where CDI specs are looked up (front::cdi::spec_dirs)
};

// The signals run() takes through its signalfd: block them in the calling
// thread before any other thread starts (gRPC's included).
sigset_t plugin_signals();

class Plugin {
 public:
  explicit Plugin(PluginOptions o);
  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  // Serves every resource, registers with the kubelet, and runs until
  // SIGTERM or SIGINT; then stops the servers and removes their sockets.
  // Throws rtcell::Error when a socket cannot be served.
  void run();

  struct Resource;

 private:
  PluginOptions opts_;
  std::vector<std::unique_ptr<Resource>> resources_;
};

}  // namespace rtcell::k8s
