// rtcell cdi generate: a CDI spec (cdiVersion 0.6.0) for each device class
// of a node configuration (the one rtcell-device-plugin reads), so that
// Podman, CRI-O and containerd resolve `--device rtcell.io/video=video0`
// for devices that no vendor describes (docs/k8s.md). The spec comes from
// k8s::cdi_spec; this file only picks where it goes.
#include <sys/stat.h>

#include <iostream>

#include "cli/command.hpp"
#include "k8s/devices.hpp"
#include "k8s/node_config.hpp"
#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::cli {
namespace {

struct CdiFlags {
  std::string config = "/etc/rtcell/node.yaml";
  std::string root = "/";
  std::string out;
  std::string cls;
};

int generate(const CdiFlags& f) {
  const k8s::NodeConfig c = k8s::load_node_config(f.config);
  if (c.devices.empty())
    usage_error(f.config + " declares no device classes (devices: [{name: video, globs: [/dev/video*]}])");
  std::vector<const k8s::DeviceClass*> classes;
  for (const auto& d : c.devices)
    if (f.cls.empty() || d.name == f.cls) classes.push_back(&d);
  if (classes.empty())
    usage_error("--class " + f.cls + ": " + f.config + " has no device class of that name");
  if (f.out.empty() && classes.size() > 1)
    usage_error(
        std::to_string(classes.size()) +
        " device classes: give -o DIR (e.g. /etc/cdi) for one file each, or --class NAME for one on stdout");
  if (!f.out.empty()) {
    struct stat st {};
    if (::stat(f.out.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      usage_error("-o " + f.out + " is not a directory (CDI reads /etc/cdi and /var/run/cdi)");
  }
  for (const auto* d : classes) {
    const auto devices = k8s::find_devices(f.root, *d);
    if (devices.empty()) {
      note("class " + d->name + ": no device matches its globs; no spec written");
      continue;
    }
    const std::string text = k8s::cdi_spec(c, *d, devices).dump(2) + "\n";
    if (f.out.empty()) {
      std::cout << text;
    } else {
      const std::string path = f.out + "/rtcell-" + d->name + ".json";
      sys::write_file_atomic(path, text);
      std::cout << path << " (" << k8s::class_resource(c, *d) << ", " << devices.size() << " devices)\n";
    }
  }
  return kExitOk;
}

const Registrar kCdi{Verb{
    "cdi", "Write CDI specs for the device classes of a node configuration", 60, [](CLI::App& app) -> Run {
      auto f = std::make_shared<CdiFlags>();
      CLI::App* g =
          app.add_subcommand("generate", "a CDI spec per device class (docs/k8s.md); stdout or -o DIR");
      g->add_option("-c,--config", f->config, "node configuration (default /etc/rtcell/node.yaml)");
      g->add_option("--root", f->root, "match device globs under this tree (default /)");
      g->add_option("-o,--output", f->out, "write DIR/rtcell-CLASS.json (e.g. /etc/cdi)");
      g->add_option("--class", f->cls, "only this device class");
      app.require_subcommand(1);
      return [f] { return generate(*f); };
    }}};

}  // namespace
}  // namespace rtcell::cli
