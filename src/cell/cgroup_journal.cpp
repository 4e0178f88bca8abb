// The cgroup journal's JSON form, read back by a process other than the one
// that wrote it (rtcell delete, rtcell gc). The reader trusts nothing: every
// field is checked for its type, and every path must lie under the journal's
// root with no "." or ".." component, because destroy() removes what the
// journal names.
//
//   {"version": 1, "layout": "hybrid", "root": "/sys/fs/cgroup",
//    "made": [{"path": "...", "rtcell_owned": true, "leaf": false}],
//    "rt_leaf": "...",
//    "grown": [{"path": "...", "before_us": 0, "after_us": 100000}],
//    "enabled": [{"path": "...", "controller": "memory"}]}
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cell/cgroup_internal.hpp"
#include "rtcell/error.hpp"

namespace rtcell::cell {

namespace {

constexpr int kJournalVersion = 1;

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw Error(ErrorKind::System, "cgroup journal: " + field + ": " + why);
}

const nlohmann::json& member(const nlohmann::json& obj, const std::string& where, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) bad(where.empty() ? key : where + "." + key, "missing");
  return *it;
}

std::string field_name(const std::string& where, const char* key) {
  return where.empty() ? std::string(key) : where + "." + key;
}

std::string get_string(const nlohmann::json& obj, const std::string& where, const char* key) {
  const auto& v = member(obj, where, key);
  if (!v.is_string()) bad(field_name(where, key), "want a string");
  return v.get<std::string>();
}

bool get_bool(const nlohmann::json& obj, const std::string& where, const char* key) {
  const auto& v = member(obj, where, key);
  if (!v.is_boolean()) bad(field_name(where, key), "want true or false");
  return v.get<bool>();
}

int64_t get_i64(const nlohmann::json& obj, const std::string& where, const char* key) {
  const auto& v = member(obj, where, key);
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    bad(field_name(where, key), "out of range");
  }
  if (!v.is_number_integer()) bad(field_name(where, key), "want an integer");
  return v.get<int64_t>();
}

const nlohmann::json& get_array(const nlohmann::json& obj, const char* key) {
  const auto& v = member(obj, "", key);
  if (!v.is_array()) bad(key, "want an array");
  return v;
}

std::string item(const char* key, size_t i) {
  return std::string(key) + "[" + std::to_string(i) + "]";
}

void want_object(const nlohmann::json& v, const std::string& where) {
  if (!v.is_object()) bad(where, "want an object");
}

// An absolute path without empty, "." or ".." components.
bool clean_absolute(std::string_view p) {
  if (p.empty() || p[0] != '/') return false;
  if (p.size() == 1) return true;
  size_t i = 1;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view part = p.substr(i, j - i);
    if (part.empty() || part == "." || part == "..") return false;
    i = j + 1;
  }
  return true;
}

// A group path: strictly under the root (or the root itself, where allowed).
void check_path(const std::string& root, const std::string& path, const std::string& field, bool root_ok) {
  if (!clean_absolute(path)) bad(field, "'" + path + "' is not a clean absolute path");
  if (root_ok && path == root) return;
  std::string prefix = root == "/" ? root : root + "/";
  if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0) {
    bad(field, "'" + path + "' is not under the root " + root);
  }
}

bool controller_name(const std::string& c) {
  if (c.empty() || c.size() > 32) return false;
  for (char ch : c)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
  return true;
}

}  // namespace

nlohmann::json journal_to_json(const CgroupJournal& j) {
  nlohmann::json out;
  out["version"] = kJournalVersion;
  out["layout"] = to_string(j.layout);
  out["root"] = j.root;
  out["made"] = nlohmann::json::array();
  for (const auto& m : j.made) {
    out["made"].push_back({{"path", m.path}, {"rtcell_owned", m.rtcell_owned}, {"leaf", m.leaf}});
  }
  out["rt_leaf"] = j.rt_leaf;
  out["grown"] = nlohmann::json::array();
  for (const auto& g : j.grown) {
    out["grown"].push_back({{"path", g.path}, {"before_us", g.before_us}, {"after_us", g.after_us}});
  }
  out["enabled"] = nlohmann::json::array();
  for (const auto& [path, controller] : j.enabled) {
    out["enabled"].push_back({{"path", path}, {"controller", controller}});
  }
  return out;
}

CgroupJournal journal_from_json(const nlohmann::json& in) {
  if (!in.is_object()) bad("(top)", "want an object");
  if (get_i64(in, "", "version") != kJournalVersion) {
    bad("version", "want " + std::to_string(kJournalVersion) + " (written by another rtcell version?)");
  }
  CgroupJournal j;
  std::string layout = get_string(in, "", "layout");
  if (layout == "v1") {
    j.layout = CgroupLayout::V1;
  } else if (layout == "hybrid") {
    j.layout = CgroupLayout::Hybrid;
  } else if (layout == "v2") {
    j.layout = CgroupLayout::V2;
  } else {
    bad("layout", "'" + layout + "' is not v1, hybrid or v2");
  }
  j.root = get_string(in, "", "root");

  const auto& made = get_array(in, "made");
  for (size_t i = 0; i < made.size(); ++i) {
    std::string where = item("made", i);
    want_object(made[i], where);
    CgroupJournal::Made m;
    m.path = get_string(made[i], where, "path");
    m.rtcell_owned = get_bool(made[i], where, "rtcell_owned");
    m.leaf = get_bool(made[i], where, "leaf");
    j.made.push_back(std::move(m));
  }
  j.rt_leaf = get_string(in, "", "rt_leaf");

  const auto& grown = get_array(in, "grown");
  for (size_t i = 0; i < grown.size(); ++i) {
    std::string where = item("grown", i);
    want_object(grown[i], where);
    CgroupJournal::Grown g;
    g.path = get_string(grown[i], where, "path");
    g.before_us = get_i64(grown[i], where, "before_us");
    g.after_us = get_i64(grown[i], where, "after_us");
    j.grown.push_back(std::move(g));
  }

  const auto& enabled = get_array(in, "enabled");
  for (size_t i = 0; i < enabled.size(); ++i) {
    std::string where = item("enabled", i);
    want_object(enabled[i], where);
    std::string path = get_string(enabled[i], where, "path");
    std::string controller = get_string(enabled[i], where, "controller");
    j.enabled.emplace_back(std::move(path), std::move(controller));
  }
  detail::validate_journal(j);
  return j;
}

void detail::validate_journal(const CgroupJournal& j) {
  if (!clean_absolute(j.root)) bad("root", "'" + j.root + "' is not a clean absolute path");
  for (size_t i = 0; i < j.made.size(); ++i)
    check_path(j.root, j.made[i].path, item("made", i) + ".path", false);
  if (!j.rt_leaf.empty()) check_path(j.root, j.rt_leaf, "rt_leaf", false);
  for (size_t i = 0; i < j.grown.size(); ++i) {
    const auto& g = j.grown[i];
    std::string where = item("grown", i);
    check_path(j.root, g.path, where + ".path", false);
    // rtcell only ever raises a finite runtime.
    if (g.before_us < 0) bad(where + ".before_us", "must be 0 or more");
    if (g.after_us <= g.before_us) bad(where + ".after_us", "must be more than before_us");
  }
  for (size_t i = 0; i < j.enabled.size(); ++i) {
    std::string where = item("enabled", i);
    check_path(j.root, j.enabled[i].first, where + ".path", true);
    if (!controller_name(j.enabled[i].second)) {
      bad(where + ".controller", "'" + j.enabled[i].second + "' is not a controller");
    }
  }
}

}  // namespace rtcell::cell
