#include "host/parse.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "rtcell/error.hpp"

namespace rtcell::host {

// Splits text into lines without the '\n'.
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> words_of(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < s.size()) {
    while (pos < s.size() && is_space(s[pos])) ++pos;
    size_t end = pos;
    while (end < s.size() && !is_space(s[end])) ++end;
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

template <typename T>
std::optional<T> to_num(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool iequals_prefix(std::string_view s, std::string_view word) {
  if (s.size() < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(word[i])))
      return false;
  return s.size() == word.size() || is_space(s[word.size()]);
}

}  // namespace

Interrupts parse_interrupts(std::string_view text) {
  Interrupts out;
  auto lines = lines_of(text);
  if (lines.empty()) return out;
  for (auto w : words_of(lines[0])) {
    if (w.size() > 3 && w.substr(0, 3) == "CPU") {
      if (auto n = to_num<int>(w.substr(3)); n && *n >= 0 && *n <= CpuSet::kMaxCpu) out.cpus.push_back(*n);
    }
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    IrqRow row;
    row.irq = std::string(strip(line.substr(0, colon)));
    if (row.irq.empty()) continue;
    row.numeric = std::all_of(row.irq.begin(), row.irq.end(), [](char c) { return c >= '0' && c <= '9'; });
    std::string_view rest = line.substr(colon + 1);
    size_t pos = 0;
    // Up to one count per CPU column; rows such as "ERR: 0" carry just one.
    while (row.counts.size() < out.cpus.size()) {
      while (pos < rest.size() && is_space(rest[pos])) ++pos;
      size_t end = pos;
      while (end < rest.size() && !is_space(rest[end])) ++end;
      if (end == pos) break;
      auto n = to_num<uint64_t>(rest.substr(pos, end - pos));
      if (!n) break;
      row.counts.push_back(*n);
      pos = end;
    }
    row.desc = std::string(strip(rest.substr(std::min(pos, rest.size()))));
    out.rows.push_back(std::move(row));
  }
  return out;
}

std::vector<CmdlineArg> parse_cmdline(std::string_view cmdline) {
  std::vector<CmdlineArg> out;
  for (auto w : words_of(cmdline)) {
    if (w == "--") break;
    CmdlineArg a;
    size_t eq = w.find('=');
    if (eq == std::string_view::npos) {
      a.key = std::string(w);
    } else {
      a.key = std::string(w.substr(0, eq));
      a.value = std::string(w.substr(eq + 1));
      a.has_value = true;
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::optional<CpuSet> cmdline_cpus(std::string_view cmdline, std::string_view key) {
  std::optional<std::string> value;
  for (auto& a : parse_cmdline(cmdline))
    if (a.key == key && a.has_value) value = a.value;
  if (!value) return std::nullopt;
  std::string_view s = *value;
  // isolcpus=[flag,...,]list: flags are words; skip them.
  while (!s.empty() && !(s.front() >= '0' && s.front() <= '9')) {
    size_t comma = s.find(',');
    if (comma == std::string_view::npos) return std::nullopt;
    s.remove_prefix(comma + 1);
  }
  try {
    return CpuSet::parse(s);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string set_cmdline_args(std::string_view cmdline,
                             const std::vector<std::pair<std::string, std::string>>& args) {
  // Keep init's part ("-- ...") untouched after the kernel's own arguments.
  std::string_view kernel_part = cmdline;
  std::string_view init_part;
  for (size_t pos = 0; pos < cmdline.size();) {
    while (pos < cmdline.size() && is_space(cmdline[pos])) ++pos;
    size_t end = pos;
    while (end < cmdline.size() && !is_space(cmdline[end])) ++end;
    if (cmdline.substr(pos, end - pos) == "--") {
      kernel_part = cmdline.substr(0, pos);
      init_part = cmdline.substr(pos);
      break;
    }
    pos = end;
  }
  auto words = words_of(kernel_part);
  std::vector<std::string> out;
  std::vector<bool> done(args.size(), false);
  for (auto w : words) {
    std::string_view key = w.substr(0, w.find('='));
    bool replaced = false;
    for (size_t i = 0; i < args.size(); ++i) {
      if (key != args[i].first) continue;
      if (!done[i]) out.push_back(args[i].first + "=" + args[i].second);
      done[i] = true;
      replaced = true;
    }
    if (!replaced) out.emplace_back(w);
  }
  for (size_t i = 0; i < args.size(); ++i)
    if (!done[i]) out.push_back(args[i].first + "=" + args[i].second);
  std::string line;
  for (auto& w : out) {
    if (!line.empty()) line += ' ';
    line += w;
  }
  if (!init_part.empty()) line += " " + std::string(strip(init_part));
  return line;
}

KernelConfig parse_kconfig(std::string_view text) {
  KernelConfig out;
  for (auto line : lines_of(text)) {
    line = strip(line);
    if (line.empty()) continue;
    if (line.front() == '#') {
      constexpr std::string_view kNotSet = " is not set";
      size_t at = line.find("CONFIG_");
      if (at == std::string_view::npos || line.size() < kNotSet.size() ||
          line.substr(line.size() - kNotSet.size()) != kNotSet)
        continue;
      std::string_view name = strip(line.substr(at, line.size() - kNotSet.size() - at));
      if (!name.empty() && name.find(' ') == std::string_view::npos) out[std::string(name)] = "n";
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || line.substr(0, 7) != "CONFIG_") continue;
    std::string_view val = line.substr(eq + 1);
    if (val.size() >= 2 && val.front() == '"' && val.back() == '"') val = val.substr(1, val.size() - 2);
    out[std::string(line.substr(0, eq))] = std::string(val);
  }
  return out;
}

std::string kconfig_version(std::string_view text) {
  for (auto line : lines_of(text)) {
    line = strip(line);
    if (line.empty()) continue;
    if (line.front() != '#') break;  // the header comes before the first option
    constexpr std::string_view kTail = " Kernel Configuration";
    if (line.substr(0, 8) != "# Linux/" || line.size() <= kTail.size() ||
        line.substr(line.size() - kTail.size()) != kTail)
      continue;
    line = line.substr(8, line.size() - 8 - kTail.size());
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return {};
    return std::string(strip(line.substr(sp + 1)));
  }
  return {};
}

std::string L4tRelease::to_string() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::optional<L4tRelease> parse_nv_tegra_release(std::string_view text) {
  auto lines = lines_of(text);
  if (lines.empty()) return std::nullopt;
  std::string_view l = strip(lines[0]);
  if (l.substr(0, 3) != "# R") return std::nullopt;
  l.remove_prefix(3);
  size_t sp = l.find(' ');
  auto major = to_num<int>(l.substr(0, sp));
  if (!major || *major < 0) return std::nullopt;
  L4tRelease r;
  r.major = *major;
  size_t rev = l.find("REVISION:");
  if (rev == std::string_view::npos) return std::nullopt;
  std::string_view v = strip(l.substr(rev + 9));
  v = v.substr(0, v.find(','));
  size_t dot = v.find('.');
  auto minor = to_num<int>(v.substr(0, dot));
  if (!minor || *minor < 0) return std::nullopt;
  r.minor = *minor;
  if (dot != std::string_view::npos) {
    auto patch = to_num<int>(v.substr(dot + 1));
    if (!patch || *patch < 0) return std::nullopt;
    r.patch = *patch;
  }
  size_t board = l.find("BOARD:");
  if (board != std::string_view::npos) {
    std::string_view b = strip(l.substr(board + 6));
    r.board = std::string(strip(b.substr(0, b.find(','))));
  }
  return r;
}

std::optional<int> parse_nvpmodel_status(std::string_view text) {
  for (auto w : words_of(text)) {
    if (w.substr(0, 6) != "pmode:") continue;
    auto n = to_num<int>(w.substr(6));
    if (n && *n >= 0) return n;
    return std::nullopt;
  }
  return std::nullopt;
}

NvpmodelConf parse_nvpmodel_conf(std::string_view text) {
  NvpmodelConf out;
  for (auto line : lines_of(text)) {
    line = strip(line);
    if (line.size() < 2 || line.front() != '<' || line.back() != '>') continue;
    auto w = words_of(line.substr(1, line.size() - 2));
    if (w.empty()) continue;
    auto value_of = [&](std::string_view key) -> std::optional<std::string_view> {
      for (auto x : w)
        if (x.size() > key.size() && x.substr(0, key.size()) == key && x[key.size()] == '=')
          return x.substr(key.size() + 1);
      return std::nullopt;
    };
    if (w[0] == "POWER_MODEL") {
      auto id = value_of("ID");
      auto n = id ? to_num<int>(*id) : std::nullopt;
      if (!n) continue;
      auto name = value_of("NAME");
      out.modes[*n] = name ? std::string(*name) : std::string();
    } else if (w[0] == "PM_CONFIG") {
      auto d = value_of("DEFAULT");
      auto n = d ? to_num<int>(*d) : std::nullopt;
      if (n) out.default_mode = *n;
    }
  }
  return out;
}

std::map<std::string, std::string> parse_dpkg_status(std::string_view text) {
  std::map<std::string, std::string> out;
  std::string pkg, status;
  auto flush = [&] {
    if (!pkg.empty()) out[pkg] = status;
    pkg.clear();
    status.clear();
  };
  for (auto line : lines_of(text)) {
    if (strip(line).empty()) {
      flush();
      continue;
    }
    if (line.substr(0, 8) == "Package:") pkg = std::string(strip(line.substr(8)));
    if (line.substr(0, 7) == "Status:") status = std::string(strip(line.substr(7)));
  }
  flush();
  return out;
}

std::string parse_cgroup_layout(std::string_view mounts) {
  bool v1 = false, v2_root = false, v2_other = false;
  for (auto line : lines_of(mounts)) {
    auto w = words_of(line);
    if (w.size() < 3) continue;
    if (w[2] == "cgroup") v1 = true;
    if (w[2] == "cgroup2") (w[1] == "/sys/fs/cgroup" ? v2_root : v2_other) = true;
  }
  if (v2_root && !v1) return "v2";
  if (v1 && (v2_other || v2_root)) return "hybrid";
  if (v1) return "v1";
  if (v2_other) return "v2";
  return "none";
}

std::string mount_point_of(std::string_view mounts, std::string_view fstype) {
  for (auto line : lines_of(mounts)) {
    auto w = words_of(line);
    if (w.size() >= 3 && w[2] == fstype) return std::string(w[1]);
  }
  return {};
}

std::string parse_sysfs_choice(std::string_view text) {
  size_t open = text.find('[');
  if (open == std::string_view::npos) return {};
  size_t close = text.find(']', open);
  if (close == std::string_view::npos) return {};
  return std::string(text.substr(open + 1, close - open - 1));
}

std::string cpus_to_mask(const CpuSet& cpus) {
  if (cpus.empty()) return "0";
  int top = cpus.cpus().back();
  int words = top / 32 + 1;
  std::string out;
  for (int w = words - 1; w >= 0; --w) {
    uint32_t bits = 0;
    for (int c : cpus.cpus())
      if (c / 32 == w) bits |= 1U << (c % 32);
    char buf[9];
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = 7; i >= 0; --i) {
      buf[i] = kHex[bits & 0xf];
      bits >>= 4;
    }
    buf[8] = '\0';
    std::string part(buf);
    if (w == words - 1) {
      size_t nz = part.find_first_not_of('0');
      part = nz == std::string::npos ? "0" : part.substr(nz);
    }
    if (!out.empty()) out += ',';
    out += part;
  }
  return out;
}

namespace {

// Index of the APPEND line of the default label in extlinux.conf lines; -1 if none.
int extlinux_append_line(const std::vector<std::string_view>& lines) {
  std::string def;
  for (auto l : lines) {
    auto s = strip(l);
    if (iequals_prefix(s, "DEFAULT")) def = std::string(strip(s.substr(7)));
  }
  bool in_default = false;
  bool seen_label = false;
  int first_append = -1;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto s = strip(lines[i]);
    if (iequals_prefix(s, "LABEL")) {
      std::string label(strip(s.substr(5)));
      in_default = !def.empty() && label == def;
      if (!seen_label && def.empty()) in_default = true;
      seen_label = true;
      continue;
    }
    if (seen_label && iequals_prefix(s, "APPEND")) {
      if (in_default) return static_cast<int>(i);
      if (first_append < 0) first_append = static_cast<int>(i);
    }
  }
  return first_append;
}

}  // namespace

std::optional<std::string> extlinux_append(std::string_view conf) {
  auto lines = lines_of(conf);
  int i = extlinux_append_line(lines);
  if (i < 0) return std::nullopt;
  return std::string(strip(strip(lines[static_cast<size_t>(i)]).substr(6)));
}

std::string extlinux_set_args(std::string_view conf,
                              const std::vector<std::pair<std::string, std::string>>& args) {
  auto lines = lines_of(conf);
  int idx = extlinux_append_line(lines);
  if (idx < 0) usage_error("no APPEND line under a LABEL in extlinux.conf; add one first");
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (static_cast<int>(i) == idx) {
      std::string_view l = lines[i];
      size_t indent = 0;
      while (indent < l.size() && (l[indent] == ' ' || l[indent] == '\t')) ++indent;
      std::string_view s = strip(l);
      std::string keyword(s.substr(0, 6));
      out += std::string(l.substr(0, indent)) + keyword + " " + set_cmdline_args(strip(s.substr(6)), args);
    } else {
      out += std::string(lines[i]);
    }
    if (i + 1 < lines.size() || (!conf.empty() && conf.back() == '\n')) out += '\n';
  }
  return out;
}

namespace {

constexpr std::string_view kGrubKey = "GRUB_CMDLINE_LINUX=";

int grub_line(const std::vector<std::string_view>& lines) {
  int found = -1;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto s = strip(lines[i]);
    if (s.substr(0, kGrubKey.size()) == kGrubKey) found = static_cast<int>(i);  // last one wins in sh
  }
  return found;
}

}  // namespace

std::optional<std::string> grub_cmdline(std::string_view conf) {
  auto lines = lines_of(conf);
  int i = grub_line(lines);
  if (i < 0) return std::nullopt;
  std::string_view v = strip(strip(lines[static_cast<size_t>(i)]).substr(kGrubKey.size()));
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    v = v.substr(1, v.size() - 2);
  return std::string(v);
}

std::string grub_set_args(std::string_view conf,
                          const std::vector<std::pair<std::string, std::string>>& args) {
  auto lines = lines_of(conf);
  int idx = grub_line(lines);
  std::string value = set_cmdline_args(grub_cmdline(conf).value_or(""), args);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += static_cast<int>(i) == idx ? std::string(kGrubKey) + "\"" + value + "\"" : std::string(lines[i]);
    if (i + 1 < lines.size() || (!conf.empty() && conf.back() == '\n')) out += '\n';
  }
  if (idx < 0) {
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += std::string(kGrubKey) + "\"" + value + "\"\n";
  }
  return out;
}

}  // namespace rtcell::host
