// Board files are YAML, walked by hand like the manifest (manifest.cpp):
// unknown keys are refused, every value is checked and every error carries
// FILE:LINE:COL.
#include "emit/board.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <span>

#include "rtcell/error.hpp"
#include "sys/file.hpp"
#include "util/units.hpp"

namespace rtcell::emit {

namespace {

constexpr const char* kBoardKeys[] = {"name", "description", "verified", "cpus", "clusters",
                                      "ram",  "cell_ram",    "gic",      "uart", "uart_type"};
constexpr const char* kRangeKeys[] = {"start", "size"};

class BoardParser {
 public:
  explicit BoardParser(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Mark& m, const std::string& msg) const {
    usage_error(file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " + msg);
  }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const { fail(n.Mark(), msg); }

  std::string scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key + " must be a single value");
    return n.Scalar();
  }

  // 0x... hex or decimal, or a size with a unit (1G) where `sizes`.
  uint64_t number(const YAML::Node& n, const std::string& key, bool sizes = false) const {
    std::string s = scalar(n, key);
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      if (s.size() > 18 || s.find_first_not_of("0123456789abcdefABCDEF", 2) != std::string::npos)
        fail(n, key + ": '" + s + "' is not a 64-bit hex number");
      return std::stoull(s.substr(2), nullptr, 16);
    }
    if (!sizes) {
      if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
        fail(n, key + ": '" + s + "' is not a number (use 0x... or decimal)");
      return std::stoull(s);
    }
    uint64_t v = 0;
    try {
      v = util::parse_bytes(s);
    } catch (const Error& e) {
      fail(n, key + ": " + e.what());
    }
    return v;
  }

  void keys(const YAML::Node& n, std::span<const char* const> allowed, const std::string& what) const {
    if (!n.IsMap()) fail(n, what + " must be a map of key: value");
    std::set<std::string> seen;
    for (const auto& kv : n) {
      std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; }) ==
          allowed.end())
        fail(kv.first, std::string("unknown key '").append(k).append("' in ").append(what));
      if (!seen.insert(k).second)
        fail(kv.first, std::string("duplicate key '").append(k).append("' in ").append(what));
    }
  }

  MemRange range(const YAML::Node& n, const std::string& what) const {
    keys(n, kRangeKeys, what);
    if (!n["start"] || !n["size"]) fail(n, what + " needs start: and size:");
    MemRange r{number(n["start"], what + " start"), number(n["size"], what + " size", true)};
    if (r.size == 0) fail(n, what + " size must be greater than 0");
    if (r.start + r.size < r.start) fail(n, what + " wraps past the end of the 64-bit address space");
    return r;
  }

  CpuSet cpus(const YAML::Node& n, const std::string& key) const {
    std::string s = scalar(n, key);
    CpuSet c;
    try {
      c = CpuSet::parse(s);
    } catch (const Error& e) {
      fail(n, key + ": " + e.what());
    }
    if (c.empty()) fail(n, key + " must name at least one CPU");
    return c;
  }

  Board board(const YAML::Node& root) const {
    if (!root || root.IsNull()) usage_error(file_ + ":1:1: empty board file");
    keys(root, kBoardKeys, "board");
    Board b;
    for (const char* required : {"name", "verified", "cpus", "ram", "cell_ram", "gic", "uart"})
      if (!root[required]) fail(root, std::string("board has no ") + required + ":");
    b.name = scalar(root["name"], "name");
    if (b.name.empty()) fail(root["name"], "name must not be empty");
    if (root["description"]) b.description = scalar(root["description"], "description");
    std::string v = scalar(root["verified"], "verified");
    if (v != "true" && v != "false") fail(root["verified"], "verified must be true or false");
    b.verified = v == "true";
    b.cpus = cpus(root["cpus"], "cpus");
    if (const YAML::Node cl = root["clusters"]) {
      if (!cl.IsSequence()) fail(cl, "clusters must be a list of CPU lists, e.g. [\"0-3\", \"4-7\"]");
      for (const auto& c : cl) {
        CpuSet s = cpus(c, "cluster");
        if (!b.cpus.contains(s))
          fail(c, "cluster " + s.to_string() + " has CPUs the board's cpus do not list");
        b.clusters.push_back(std::move(s));
      }
    }
    b.ram = range(root["ram"], "ram");
    b.cell_ram = range(root["cell_ram"], "cell_ram");
    if (b.cell_ram.start < b.ram.start || b.cell_ram.end() > b.ram.end())
      fail(root["cell_ram"], "cell_ram must lie inside ram");
    b.gic = number(root["gic"], "gic");
    b.uart = number(root["uart"], "uart");
    if (const YAML::Node t = root["uart_type"]) {
      std::string s = scalar(t, "uart_type");
      if (s == "pl011")
        b.uart_type = UartType::Pl011;
      else if (s == "8250")
        b.uart_type = UartType::Ns8250;
      else
        fail(t, "uart_type must be pl011 or 8250, not '" + s + "'");
    }
    return b;
  }

 private:
  std::string file_;
};

// yaml-cpp recurses per nesting level; a board file is flat.
void check_depth(std::string_view text, const std::string& file) {
  int depth = 0;
  for (char c : text) {
    if (c == '[' || c == '{') ++depth;
    if (c == ']' || c == '}') depth = std::max(0, depth - 1);
    if (depth > 16) usage_error(file + ":1:1: nesting too deep for a board file");
  }
}

}  // namespace

Board parse_board(std::string_view text, const std::string& filename) {
  if (text.size() > (1u << 20)) usage_error(filename + ": board file larger than 1 MiB");
  check_depth(text, filename);
  BoardParser p(filename);
  try {
    return p.board(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    p.fail(e.mark, e.msg);
  }
}

Board load_board(const std::string& name_or_path, const std::vector<std::string>& dirs) {
  namespace fs = std::filesystem;
  bool is_path = name_or_path.find('/') != std::string::npos ||
                 (name_or_path.size() > 5 && name_or_path.substr(name_or_path.size() - 5) == ".yaml");
  if (is_path) return parse_board(sys::read_input_file(name_or_path, "board " + name_or_path), name_or_path);
  std::set<std::string> known;
  for (const auto& d : dirs) {
    std::string p = d;
    p.append("/").append(name_or_path).append(".yaml");
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return parse_board(sys::read_input_file(p, "board " + p), p);
    for (const auto& e : fs::directory_iterator(d, ec))
      if (e.path().extension() == ".yaml") known.insert(e.path().stem().string());
  }
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  usage_error("no board '" + name_or_path + "' (known: " + (list.empty() ? "none found" : list) +
              "); or give a board file's path");
}

}  // namespace rtcell::emit
