// The OCI front door: a bundle's config.json (runtime-spec 1.0-1.2, as
// Podman, Docker and containerd write it) becomes one cell::Spec. Every
// field rtcell cannot honour is an error naming it (`linux.resources.
// blockIO: not supported ...`), never dropped; fields rtcell applies
// differently are listed in `notes` (the runtime logs them).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cell/spec.hpp"

namespace rtcell::front {

struct OciConfig {
  cell::Spec spec;
  std::vector<std::string> notes;
};

// Parses `json` (the text of BUNDLE/config.json); a relative root.path
// counts from `bundle`. Throws rtcell::Error Usage naming the field.
OciConfig parse_oci_config(std::string_view json, const std::string& bundle);

// An OCI process object alone (runc exec --process FILE); `base` gives what
// the file leaves out (env, capabilities: the container's).
cell::Process parse_oci_process(std::string_view json, const cell::Process& base);

// A LinuxResources object alone (runc update --resources FILE, as
// containerd-shim-runc-v2 passes it): unset and zero fields mean unchanged;
// what rtcell cannot set is an error naming the field, as at create.
cell::Resources parse_oci_resources(std::string_view json, std::vector<std::string>& notes);

// Reads BUNDLE/config.json (a regular file of at most 4 MiB) and parses it.
OciConfig load_oci_bundle(const std::string& bundle);

// runc's cgroupsPath forms: "/parent/.../name" or "parent/name" (cgroupfs);
// "slice:prefix:name" is the systemd driver's, refused with what to do.
// Sets resources.cgroup_parent and cgroup_name; "" keeps rtcell's default
// (rtcell/<id>).
void apply_cgroups_path(cell::Spec& s, const std::string& path);

}  // namespace rtcell::front
