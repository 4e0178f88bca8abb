// Container Device Interface (CDI): `--device vendor.com/class=name` names a
// device that a vendor describes in a spec file (JSON or YAML) under
// /etc/cdi or /var/run/cdi, such as the one `nvidia-ctk cdi generate
// --mode=csv` writes on a Jetson. A spec lists devices, each with edits to
// make to a container (device nodes, bind mounts, env, OCI hooks), and
// edits of its own that come with any of its devices.
//
// This file is the CDI half of build_spec(): the parser is pure (text in,
// typed spec out, every error naming the file and, for YAML syntax, the
// line), load() reads the directories, and resolve() picks the requested
// devices and merges their edits the way the CDI library that Podman uses
// does: directories later in the list override earlier ones (/etc/cdi,
// then /var/run/cdi); two definitions of one device in the same directory,
// or two edits that disagree (one container path, two host nodes), are
// errors. build_spec() turns the merged edits into the cell's spec exactly
// as it turns --device, --volume and --env.
//
// Reference: cncf-tags/container-device-interface SPEC.md (spec 0.8).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtcell::front::cdi {

// The default directories, lowest priority first.
inline constexpr const char* kDefaultSpecDirs[] = {"/etc/cdi", "/var/run/cdi"};
inline constexpr const char* kSpecDirsEnv = "RTCELL_CDI_SPEC_DIRS";

// containerEdits.deviceNodes[]: `path` in the container, `host_path` on the
// host (empty: `path`); unset fields come from the host's node.
struct DeviceNode {
  std::string path;
  std::string host_path;
  std::optional<char> type;  // 'c' or 'b'
  std::optional<int64_t> major, minor;
  std::optional<mode_t> file_mode;
  std::string permissions;  // cgroup access; empty: "rwm"
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  const std::string& host() const { return host_path.empty() ? path : host_path; }
};

// containerEdits.mounts[]: a bind mount (the only type rtcell takes).
struct Mount {
  std::string host_path;
  std::string container_path;
  std::string type;
  std::vector<std::string> options;
};

// containerEdits.hooks[]: an OCI hook; hook_name is its OCI kind
// ("createContainer", ...).
struct Hook {
  std::string hook_name;
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout_s;
};

struct Edits {
  std::vector<std::string> env;  // KEY=VALUE
  std::vector<DeviceNode> device_nodes;
  std::vector<Mount> mounts;
  std::vector<Hook> hooks;
  bool empty() const { return env.empty() && device_nodes.empty() && mounts.empty() && hooks.empty(); }
};

struct Device {
  std::string name;
  Edits edits;
};

struct Spec {
  std::string file;  // where it was read (errors name it)
  std::string version;
  std::string kind;  // "vendor.com/class"
  std::vector<Device> devices;
  Edits edits;  // applied once with any of its devices
};

// "vendor.com/class=name" with a valid kind and name (SPEC.md "Kind").
bool is_qualified_name(std::string_view text);
// Splits a qualified name; throws Usage naming `text` when it is not one.
void split_name(std::string_view text, std::string& kind, std::string& name);

// One spec file's text; `file` decides the syntax (*.json: JSON, else YAML)
// and is named in every error (with the line of a YAML syntax error).
// Throws Usage.
Spec parse_spec(std::string_view text, const std::string& file);

// The directories to search: `given` (--cdi-spec-dir) if any, else the
// colon-separated `env_value` (RTCELL_CDI_SPEC_DIRS) if set and not empty,
// else the defaults. Lowest priority first.
std::vector<std::string> spec_dirs(const std::vector<std::string>& given, const char* env_value);

// Every spec found.
struct Registry {
  std::vector<std::string> dirs;  // searched, lowest priority first
  std::vector<Spec> specs;        // in the order of `dirs`, then file name
  std::vector<size_t> dir_of;     // index into `dirs` for each spec
};

// Reads *.json, *.yaml and *.yml in each directory (one that does not exist
// is skipped). A malformed file is an error: the CDI library would drop it
// and its devices silently.
Registry load(const std::vector<std::string>& dirs);

// The edits of the requested devices (qualified names, in order), merged:
// each spec's own edits once, then each device's; identical entries once.
// `name` "all" is every device of the kind unless the kind defines a device
// named "all" itself. Throws Usage for an unknown kind or name, a device
// defined twice in one directory, and edits that conflict.
struct Resolved {
  Edits edits;
  std::vector<std::string> from;  // "kind=name (file)" for each device used
};
Resolved resolve(const Registry& reg, const std::vector<std::string>& names);

}  // namespace rtcell::front::cdi
