#include "front/cdi.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "rtcell/error.hpp"
#include "sys/file.hpp"

namespace rtcell::front::cdi {

namespace {

using json = nlohmann::json;

bool alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// A name segment: alphanumeric at both ends, `inner` characters between.
bool segment_ok(std::string_view s, std::string_view inner, size_t max) {
  if (s.empty() || s.size() > max || !alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alnum(c) || inner.find(c) != std::string_view::npos; });
}

// SPEC.md "Kind": a DNS subdomain, '/', a class name of 63 characters at most.
bool kind_ok(std::string_view kind) {
  const size_t slash = kind.find('/');
  if (slash == std::string_view::npos || kind.size() - slash - 1 > 63) return false;
  const std::string_view vendor = kind.substr(0, slash);
  if (vendor.empty() || vendor.size() > 253) return false;
  for (size_t i = 0; i <= vendor.size();) {
    size_t j = vendor.find('.', i);
    if (j == std::string_view::npos) j = vendor.size();
    if (!segment_ok(vendor.substr(i, j - i), "-", 63)) return false;
    i = j + 1;
  }
  return segment_ok(kind.substr(slash + 1), "-_.", 63);
}

// Device names may hold ':' (MIG devices, "0:1").
bool device_name_ok(std::string_view name) {
  return segment_ok(name, "-_.:", 253);
}

// A plain YAML integer: decimal, 0x hex, or octal as YAML 1.1 (0644, which
// Go's yaml.v2 reads, and so CDI tools write) or 1.2 (0o644) spells it.
std::optional<int64_t> yaml_int(const std::string& s) {
  const bool neg = !s.empty() && s[0] == '-';
  std::string digits = s.substr(neg || (!s.empty() && s[0] == '+') ? 1 : 0);
  int base = 10;
  if (digits.rfind("0x", 0) == 0 || digits.rfind("0o", 0) == 0) {
    base = digits[1] == 'x' ? 16 : 8;
    digits = digits.substr(2);
  } else if (digits.size() > 1 && digits[0] == '0') {
    base = 8;
  }
  if (digits.empty()) return std::nullopt;
  int64_t v = 0;
  for (char c : digits) {
    const int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                  : (base == 16 && std::isxdigit(static_cast<unsigned char>(c)))
                      ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                      : 99;
    if (d >= base || v > (std::numeric_limits<int64_t>::max() - d) / base) return std::nullopt;
    v = v * base + d;
  }
  return neg ? -v : v;
}

// YAML scalars carry no type; a plain one that reads as an integer or a
// boolean becomes one, so that one walker serves both syntaxes.
json from_yaml(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json j = json::object();
      for (const auto& kv : n) j[kv.first.as<std::string>()] = from_yaml(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      json j = json::array();
      for (const auto& e : n) j.push_back(from_yaml(e));
      return j;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted
      if (s == "true" || s == "false") return s == "true";
      if (auto v = yaml_int(s)) return *v;
      return s;
    }
    default:
      return nullptr;
  }
}

// The 1-based line of byte `at` in `text`.
size_t line_of(std::string_view text, size_t at) {
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + std::min(at, text.size()), '\n'));
}

// Walks one parsed spec; every error names the file and the field.
class Walker {
 public:
  explicit Walker(const std::string& file) : file_(file) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    usage_error("CDI spec " + file_ + ": " + field + " " + what + ": fix or remove the file");
  }

  void only(const json& j, const std::string& field, std::initializer_list<const char*> known) const {
    if (!j.is_object()) fail(field, "must be a mapping");
    for (const auto& [k, v] : j.items()) {
      if (std::none_of(known.begin(), known.end(), [&k = k](const char* n) { return k == n; })) {
        std::string list;
        for (const char* n : known) list += (list.empty() ? "" : ", ") + std::string(n);
        std::string why = "is not supported by rtcell yet (docs/STATUS.md)";
        if (k != "additionalGids" && k != "intelRdt") {
          why = "is not a field rtcell knows (it reads ";
          why += list;
          why += ")";
        }
        std::string at_field = field;
        at_field += ".";
        at_field += k;
        fail(at_field, why);
      }
    }
  }

  std::string str(const json& j, const std::string& field, bool required) const {
    if (j.is_null() && !required) return "";
    if (j.is_number_integer()) return std::to_string(j.get<int64_t>());
    if (!j.is_string()) fail(field, j.is_null() ? "is missing" : "must be a string");
    return j.get<std::string>();
  }

  int64_t integer(const json& j, const std::string& field, int64_t lo, int64_t hi) const {
    int64_t v = 0;
    if (j.is_number_integer()) {
      v = j.get<int64_t>();
    } else if (j.is_string()) {
      // A YAML octal such as 0o666 or 0666 read as text.
      const std::string s = j.get<std::string>();
      size_t used = 0;
      try {
        v = std::stoll(s.rfind("0o", 0) == 0 ? s.substr(2) : s, &used, s.rfind("0o", 0) == 0 ? 8 : 0);
      } catch (const std::exception&) {
        used = std::string::npos;
      }
      if (used != s.size() - (s.rfind("0o", 0) == 0 ? 2 : 0)) fail(field, "must be an integer");
    } else {
      fail(field, "must be an integer");
    }
    if (v < lo || v > hi) fail(field, std::to_string(v) + " is out of range");
    return v;
  }

  std::vector<std::string> strings(const json& j, const std::string& field) const {
    std::vector<std::string> out;
    if (j.is_null()) return out;
    if (!j.is_array()) fail(field, "must be a list");
    for (size_t i = 0; i < j.size(); ++i)
      out.push_back(str(j[i], field + "[" + std::to_string(i) + "]", true));
    return out;
  }

  static const json& at(const json& j, const char* key) {
    static const json kNull;
    auto it = j.find(key);
    return it == j.end() ? kNull : *it;
  }

  std::string abs_path(const json& j, const std::string& field, bool required) const {
    std::string p = str(j, field, required);
    if (!p.empty() && p[0] != '/') fail(field, "'" + p + "' must be an absolute path");
    return p;
  }

  Edits edits(const json& j, const std::string& field) const {
    Edits e;
    if (j.is_null()) return e;
    only(j, field, {"env", "deviceNodes", "mounts", "hooks"});
    e.env = strings(at(j, "env"), field + ".env");
    for (size_t i = 0; i < e.env.size(); ++i) {
      const size_t eq = e.env[i].find('=');
      if (eq == 0 || eq == std::string::npos)
        fail(field + ".env[" + std::to_string(i) + "]", "'" + e.env[i] + "' must be KEY=VALUE");
    }
    const json& nodes = at(j, "deviceNodes");
    if (!nodes.is_null() && !nodes.is_array()) fail(field + ".deviceNodes", "must be a list");
    for (size_t i = 0; i < nodes.size(); ++i)
      e.device_nodes.push_back(node(nodes[i], indexed(field + ".deviceNodes", i)));
    const json& mounts = at(j, "mounts");
    if (!mounts.is_null() && !mounts.is_array()) fail(field + ".mounts", "must be a list");
    for (size_t i = 0; i < mounts.size(); ++i)
      e.mounts.push_back(mount(mounts[i], indexed(field + ".mounts", i)));
    const json& hooks = at(j, "hooks");
    if (!hooks.is_null() && !hooks.is_array()) fail(field + ".hooks", "must be a list");
    for (size_t i = 0; i < hooks.size(); ++i) e.hooks.push_back(hook(hooks[i], indexed(field + ".hooks", i)));
    return e;
  }

 private:
  static std::string indexed(const std::string& f, size_t i) { return f + "[" + std::to_string(i) + "]"; }

  DeviceNode node(const json& j, const std::string& f) const {
    only(j, f, {"path", "hostPath", "type", "major", "minor", "fileMode", "permissions", "uid", "gid"});
    DeviceNode d;
    d.path = abs_path(at(j, "path"), f + ".path", true);
    d.host_path = abs_path(at(j, "hostPath"), f + ".hostPath", false);
    const std::string type = str(at(j, "type"), f + ".type", false);
    if (!type.empty()) {
      if (type != "c" && type != "b" && type != "u")
        fail(f + ".type", "'" + type + "' must be c or b (rtcell passes character and block devices)");
      d.type = type == "b" ? 'b' : 'c';
    }
    if (!at(j, "major").is_null()) d.major = integer(at(j, "major"), f + ".major", 0, 0xfff);
    if (!at(j, "minor").is_null()) d.minor = integer(at(j, "minor"), f + ".minor", 0, 0xfffff);
    if (!at(j, "fileMode").is_null())
      d.file_mode = static_cast<mode_t>(integer(at(j, "fileMode"), f + ".fileMode", 0, 07777));
    d.permissions = str(at(j, "permissions"), f + ".permissions", false);
    if (d.permissions.find_first_not_of("rwm") != std::string::npos)
      fail(f + ".permissions", "'" + d.permissions + "' must be a combination of r, w and m");
    if (!at(j, "uid").is_null()) d.uid = static_cast<uid_t>(integer(at(j, "uid"), f + ".uid", 0, 0xfffffffe));
    if (!at(j, "gid").is_null()) d.gid = static_cast<gid_t>(integer(at(j, "gid"), f + ".gid", 0, 0xfffffffe));
    return d;
  }

  Mount mount(const json& j, const std::string& f) const {
    only(j, f, {"hostPath", "containerPath", "type", "options"});
    Mount m;
    m.host_path = abs_path(at(j, "hostPath"), f + ".hostPath", true);
    m.container_path = abs_path(at(j, "containerPath"), f + ".containerPath", true);
    m.type = str(at(j, "type"), f + ".type", false);
    m.options = strings(at(j, "options"), f + ".options");
    return m;
  }

  Hook hook(const json& j, const std::string& f) const {
    only(j, f, {"hookName", "path", "args", "env", "timeout"});
    Hook h;
    h.hook_name = str(at(j, "hookName"), f + ".hookName", true);
    static const char* const kNames[] = {"prestart",       "createRuntime", "createContainer",
                                         "startContainer", "poststart",     "poststop"};
    if (std::none_of(std::begin(kNames), std::end(kNames), [&](const char* n) { return h.hook_name == n; }))
      fail(f + ".hookName",
           "'" + h.hook_name +
               "' is not an OCI hook (prestart, createRuntime, createContainer, startContainer, poststart, "
               "poststop)");
    h.path = abs_path(at(j, "path"), f + ".path", true);
    h.args = strings(at(j, "args"), f + ".args");
    h.env = strings(at(j, "env"), f + ".env");
    if (!at(j, "timeout").is_null())
      h.timeout_s = static_cast<int>(integer(at(j, "timeout"), f + ".timeout", 1, 86'400));
    return h;
  }

  std::string file_;
};

bool has_suffix(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "a, b and c", or `none`.
std::string list_words(const std::vector<std::string>& v, const char* none) {
  if (v.empty()) return none;
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i == 0 ? "" : (i + 1 == v.size() ? " and " : ", ")) + v[i];
  return out;
}

// Appends `from` to `to`: an identical entry once, a conflicting one (same
// target, different definition) an error naming both devices.
class Merger {
 public:
  void add(const Edits& e, const std::string& who) {
    for (const auto& kv : e.env) {
      const std::string key = kv.substr(0, kv.find('='));
      if (!claim(env_, key, kv, who, "env " + key)) continue;
      out_.env.push_back(kv);
    }
    for (const auto& n : e.device_nodes) {
      const std::string def = n.host() + "|" + n.type.value_or('-') + "|" + opt(n.major) + ":" +
                              opt(n.minor) + "|" + opt(n.file_mode) + "|" + n.permissions + "|" + opt(n.uid) +
                              ":" + opt(n.gid);
      if (!claim(nodes_, n.path, def, who, "device node " + n.path)) continue;
      out_.device_nodes.push_back(n);
    }
    for (const auto& m : e.mounts) {
      std::string def = m.host_path + "|" + m.type;
      for (const auto& o : m.options) def += "|" + o;
      if (!claim(mounts_, m.container_path, def, who, "mount at " + m.container_path)) continue;
      out_.mounts.push_back(m);
    }
    for (const auto& h : e.hooks) {
      std::string def = h.hook_name + "|" + h.path + "|" + opt(h.timeout_s);
      for (const auto& a : h.args) def += "|" + a;
      for (const auto& v : h.env) def += "|=" + v;
      if (std::find(hooks_.begin(), hooks_.end(), def) != hooks_.end()) continue;
      hooks_.push_back(def);
      out_.hooks.push_back(h);
    }
  }
  Edits take() { return std::move(out_); }

 private:
  struct Seen {
    std::string def, who;
  };
  template <typename T>
  static std::string opt(const std::optional<T>& v) {
    return v ? std::to_string(*v) : "-";
  }
  // true: new; false: the same definition again; conflict: throws.
  static bool claim(std::map<std::string, Seen>& seen, const std::string& key, const std::string& def,
                    const std::string& who, const std::string& what) {
    auto [it, fresh] = seen.emplace(key, Seen{def, who});
    if (fresh) return true;
    if (it->second.def == def) return false;
    usage_error("CDI devices " + it->second.who + " and " + who + " both define the " + what +
                ", differently: request only one of them, or make their specs agree");
  }
  std::map<std::string, Seen> env_, nodes_, mounts_;
  std::vector<std::string> hooks_;
  Edits out_;
};

}  // namespace

bool is_qualified_name(std::string_view text) {
  const size_t eq = text.find('=');
  return eq != std::string_view::npos && kind_ok(text.substr(0, eq)) && device_name_ok(text.substr(eq + 1));
}

void split_name(std::string_view text, std::string& kind, std::string& name) {
  if (!is_qualified_name(text))
    usage_error(
        "--device '" + std::string(text) +
        "' is not a CDI device name: use vendor.com/class=name (e.g. nvidia.com/gpu=0) or /dev/NAME[:rwm]");
  const size_t eq = text.find('=');
  kind = text.substr(0, eq);
  name = text.substr(eq + 1);
}

Spec parse_spec(std::string_view text, const std::string& file) {
  json doc;
  if (has_suffix(file, ".json")) {
    try {
      doc = json::parse(text);
    } catch (const json::parse_error& e) {
      usage_error("CDI spec " + file + ":" + std::to_string(line_of(text, e.byte == 0 ? 0 : e.byte - 1)) +
                  ": not valid JSON (" + e.what() + "): fix or remove the file");
    }
  } else {
    try {
      doc = from_yaml(YAML::Load(std::string(text)));
    } catch (const YAML::Exception& e) {
      usage_error("CDI spec " + file + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML (" + e.msg +
                  "): fix or remove the file");
    }
  }
  const Walker w(file);
  w.only(doc, "the document", {"cdiVersion", "kind", "annotations", "devices", "containerEdits"});
  Spec s;
  s.file = file;
  s.version = w.str(Walker::at(doc, "cdiVersion"), "cdiVersion", true);
  // The versions of SPEC.md whose fields this parser reads; a newer one may
  // carry edits it would drop.
  static const char* const kVersions[] = {"0.3.0", "0.4.0", "0.5.0", "0.6.0",
                                          "0.7.0", "0.8.0", "1.0.0", "1.0.1"};
  if (std::none_of(std::begin(kVersions), std::end(kVersions), [&](const char* v) { return s.version == v; }))
    w.fail("cdiVersion", "'" + s.version + "' is not a version rtcell reads (0.3.0 to 1.0.1)");
  s.kind = w.str(Walker::at(doc, "kind"), "kind", true);
  if (!kind_ok(s.kind)) w.fail("kind", "'" + s.kind + "' is not vendor.com/class");
  const json& devices = Walker::at(doc, "devices");
  if (!devices.is_array() || devices.empty()) w.fail("devices", "must be a list of at least one device");
  for (size_t i = 0; i < devices.size(); ++i) {
    const std::string f = "devices[" + std::to_string(i) + "]";
    w.only(devices[i], f, {"name", "annotations", "containerEdits"});
    Device d;
    d.name = w.str(Walker::at(devices[i], "name"), f + ".name", true);
    if (!device_name_ok(d.name))
      w.fail(f + ".name",
             "'" + d.name + "' must be letters, digits, '-', '_', '.' or ':' between alphanumerics");
    for (const auto& other : s.devices)
      if (other.name == d.name) w.fail(f + ".name", "'" + d.name + "' is defined twice");
    d.edits = w.edits(Walker::at(devices[i], "containerEdits"), f + ".containerEdits");
    s.devices.push_back(std::move(d));
  }
  s.edits = w.edits(Walker::at(doc, "containerEdits"), "containerEdits");
  return s;
}

std::vector<std::string> spec_dirs(const std::vector<std::string>& given, const char* env_value) {
  if (!given.empty()) return given;
  std::vector<std::string> out;
  if (env_value != nullptr) {
    const std::string_view v(env_value);
    for (size_t i = 0; i <= v.size();) {
      size_t j = v.find(':', i);
      if (j == std::string_view::npos) j = v.size();
      if (j > i) out.emplace_back(v.substr(i, j - i));
      i = j + 1;
    }
  }
  if (out.empty()) out.assign(std::begin(kDefaultSpecDirs), std::end(kDefaultSpecDirs));
  return out;
}

Registry load(const std::vector<std::string>& dirs) {
  namespace fs = std::filesystem;
  Registry reg;
  reg.dirs = dirs;
  for (size_t d = 0; d < dirs.size(); ++d) {
    std::error_code ec;
    if (!fs::is_directory(dirs[d], ec)) continue;
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(dirs[d], ec)) {
      const std::string p = entry.path().string();
      if ((has_suffix(p, ".json") || has_suffix(p, ".yaml") || has_suffix(p, ".yml")) &&
          entry.is_regular_file(ec))
        files.push_back(p);
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      reg.specs.push_back(parse_spec(sys::read_input_file(f, "CDI spec " + f), f));
      reg.dir_of.push_back(d);
    }
  }
  return reg;
}

Resolved resolve(const Registry& reg, const std::vector<std::string>& names) {
  // kind=name -> (spec, device), the highest-priority directory's definition.
  struct Def {
    size_t spec;
    size_t device;
  };
  std::map<std::string, Def> defs;
  std::map<std::string, std::vector<std::string>> names_of;  // kind -> device names, in order
  for (size_t s = 0; s < reg.specs.size(); ++s) {
    const Spec& spec = reg.specs[s];
    for (size_t d = 0; d < spec.devices.size(); ++d) {
      const std::string q = spec.kind + "=" + spec.devices[d].name;
      auto [it, fresh] = defs.emplace(q, Def{s, d});
      if (fresh) {
        names_of[spec.kind].push_back(spec.devices[d].name);
        continue;
      }
      const size_t before = it->second.spec;
      if (reg.dir_of[before] == reg.dir_of[s])
        usage_error("CDI device " + q + " is defined in both " + reg.specs[before].file + " and " +
                    spec.file + " (the same directory): remove one of the two definitions");
      it->second = Def{s, d};  // a later directory overrides an earlier one
    }
  }

  Merger merged;
  Resolved out;
  std::vector<size_t> specs_applied;
  auto use = [&](const std::string& q) {
    const Def& def = defs.at(q);
    const Spec& spec = reg.specs[def.spec];
    if (std::find(specs_applied.begin(), specs_applied.end(), def.spec) == specs_applied.end()) {
      specs_applied.push_back(def.spec);
      merged.add(spec.edits, q);
    }
    merged.add(spec.devices[def.device].edits, q);
    out.from.push_back(q + " (" + spec.file + ")");
  };
  for (const auto& n : names) {
    std::string kind, name;
    split_name(n, kind, name);
    auto k = names_of.find(kind);
    if (k == names_of.end()) {
      std::vector<std::string> kinds;
      kinds.reserve(names_of.size());
      for (const auto& [found, unused] : names_of) kinds.push_back(found);
      std::string m = "--device " + n + ": no CDI spec of kind ";
      m += kind;
      m += " in ";
      for (size_t i = 0; i < reg.dirs.size(); ++i) m += (i == 0 ? "" : ":") + reg.dirs[i];
      m += " (kinds found: ";
      m += list_words(kinds, "none");
      m += "): install the vendor's spec there (e.g. nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml) "
           "or name its directory with --cdi-spec-dir or ";
      m += kSpecDirsEnv;
      usage_error(m);
    }
    if (name == "all" && defs.count(n) == 0) {
      for (const auto& each : k->second) {
        std::string q = kind;
        q += "=";
        q += each;
        use(q);
      }
      continue;
    }
    if (defs.count(n) == 0) {
      std::string m = "--device " + n + ": CDI kind ";
      m += kind;
      m += " has no device '";
      m += name;
      m += "' (it has ";
      m += list_words(k->second, "none");
      m += ", or all of them with ";
      m += kind;
      m += "=all)";
      usage_error(m);
    }
    use(n);
  }
  out.edits = merged.take();
  return out;
}

}  // namespace rtcell::front::cdi
